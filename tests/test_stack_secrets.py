"""Phase 8 and the no-secrets-in-Git rule: the ClusterSecretStore and ExternalSecrets say every
field the operator would default (no permanent OutOfSync), map the right Secrets Manager names,
prefix the master key with sk-, and nothing that looks like a credential is in rendered/ or
environments/ (the scanner itself is tested with planted values)."""

from __future__ import annotations

import dataclasses
import re

import pytest
import yaml

from conftest import REPO, SHARED
from generator import naming
from generator.components import secret_store
from generator.environment import deep_merge, load_environment
from generator.render import render_environment
from generator.secretscan import scan_text, scan_tree


def env(name: str):
    return load_environment(REPO / "environments", name)


def manifests(name: str) -> dict[str, dict]:
    files = render_environment(env(name)).files
    prefix = "manifests/secret-store/"
    return {path.removeprefix(prefix): yaml.safe_load(text) for path, text in files.items() if path.startswith(prefix)}


def crd_defaults(crd_file: str) -> dict[str, object]:
    """Dotted path -> default of every field the v1 CRD schema defaults (array items as [])."""
    crd = yaml.safe_load((SHARED / "crds" / crd_file).read_text())
    version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1")
    found: dict[str, object] = {}

    def walk(schema: dict, path: str) -> None:
        if "default" in schema and path:
            found[path] = schema["default"]
        for key, sub in schema.get("properties", {}).items():
            walk(sub, f"{path}.{key}" if path else key)
        if "items" in schema:
            walk(schema["items"], path + "[]")

    walk(version["schema"]["openAPIV3Schema"], "")
    return found


def values_at(obj, path: str) -> list:
    """Every value at a dotted path with [] for list items; empty when the path is absent."""
    current = [obj]
    for part in path.split("."):
        is_list = part.endswith("[]")
        key = part.removesuffix("[]")
        current = [c[key] for c in current if isinstance(c, dict) and key in c]
        if is_list:
            current = [item for c in current for item in c]
    return current


def parents_present(obj, path: str) -> bool:
    return bool(values_at(obj, path.rsplit(".", 1)[0])) if "." in path else True


CRD_FILES = {"ExternalSecret": "external-secrets.io_externalsecrets.yaml",
             "ClusterSecretStore": "external-secrets.io_clustersecretstores.yaml"}


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_the_store_and_external_secrets_write_out_every_crd_default(name):
    defaults = {kind: crd_defaults(file) for kind, file in CRD_FILES.items()}
    objects = manifests(name)
    assert set(CRD_FILES) <= {obj["kind"] for obj in objects.values()}
    for file, obj in objects.items():
        if obj["kind"] not in CRD_FILES:
            continue
        for path, default in defaults[obj["kind"]].items():
            if path.startswith("status") or not parents_present(obj, path) or isinstance(default, dict):
                continue
            found = values_at(obj, path)
            assert found, f"{file}: {path} is left to the CRD default {default!r}"
        if obj["kind"] != "ExternalSecret":
            continue
        spec = obj["spec"]
        for item in spec["data"]:
            ref = item["remoteRef"]
            assert (ref["conversionStrategy"], ref["decodingStrategy"], ref["metadataPolicy"]) == ("Default", "None", "None")
        assert spec["secretStoreRef"]["kind"] == "ClusterSecretStore"
        assert spec["refreshPolicy"] == "Periodic"


def test_the_cluster_secret_store_reads_secrets_manager_in_the_region_with_pod_identity():
    store = manifests("prod")["clustersecretstore-aws-secrets-manager.yaml"]
    assert store["apiVersion"] == "external-secrets.io/v1"
    assert store["metadata"]["name"] == "aws-secrets-manager"
    aws = store["spec"]["provider"]["aws"]
    assert aws["service"] == "SecretsManager" and aws["region"] == "eu-west-1"
    assert "auth" not in aws, "the controller's IRSA identity is used, no jwt/secretRef auth"
    assert aws["sessionTagsPolicy"] == "None"
    assert store["spec"]["conditions"] == [{"namespaces": ["litellm", "open-webui", "monitoring"]}]


def test_litellm_secrets_maps_the_four_secrets_manager_names():
    es = manifests("prod")["externalsecret-litellm-secrets.yaml"]
    assert es["metadata"]["namespace"] == "litellm"
    assert es["spec"]["target"]["name"] == "litellm-secrets"
    mapping = {d["secretKey"]: d["remoteRef"]["key"] for d in es["spec"]["data"]}
    assert mapping == {
        "LITELLM_MASTER_KEY": "prod/litellm/master-key",
        "LITELLM_SALT_KEY": "prod/litellm/salt-key",
        "REDIS_PASSWORD": "prod/litellm/redis-password",
        "DATABASE_URL": "prod/litellm/database-url",
    }
    template = es["spec"]["target"]["template"]
    assert (template["engineVersion"], template["mergePolicy"]) == ("v2", "Replace")
    assert set(template["data"]) == {s.env_var for s in naming.STACK_SECRETS}
    assert template["data"]["LITELLM_SALT_KEY"] == "{{ .LITELLM_SALT_KEY }}"


def render_template(template: str, values: dict[str, str]) -> str:
    """Evaluate the one construct the master key template uses: if hasPrefix / else / end."""
    match = re.fullmatch(r'\{\{ if hasPrefix "(?P<p>[^"]+)" \.(?P<v>\w+) \}\}(?P<a>.*)\{\{ else \}\}(?P<b>.*)\{\{ end \}\}',
                         template)
    assert match, template
    branch = match["a"] if values[match["v"]].startswith(match["p"]) else match["b"]
    return re.sub(r"\{\{ \.(\w+) \}\}", lambda m: values[m.group(1)], branch)


@pytest.mark.parametrize("stored, expected", [("abc123", "sk-abc123"), ("sk-abc123", "sk-abc123")])
def test_the_master_key_and_open_webuis_key_always_start_with_sk(stored, expected):
    """LiteLLM accepts only `sk-` keys: the master key, and Open WebUI's virtual key in both of the
    Secrets that hold it (Open WebUI's, and the registration Job's in litellm)."""
    prod = manifests("prod")
    templates = [(prod["externalsecret-litellm-secrets.yaml"], "LITELLM_MASTER_KEY", "LITELLM_MASTER_KEY"),
                 (prod["externalsecret-openwebui-secrets.yaml"], "OPENAI_API_KEY", "OPENWEBUI_LITELLM_KEY"),
                 (prod["externalsecret-openwebui-key.yaml"], "OPENWEBUI_LITELLM_KEY", "OPENWEBUI_LITELLM_KEY")]
    for es, key, variable in templates:
        assert render_template(es["spec"]["target"]["template"]["data"][key], {variable: stored}) == expected


def test_openwebui_secrets_hold_its_own_api_key_and_session_key_never_the_master_key():
    es = manifests("prod")["externalsecret-openwebui-secrets.yaml"]
    assert es["metadata"]["namespace"] == "open-webui"
    assert es["spec"]["target"]["name"] == "openwebui-secrets"
    assert set(es["spec"]["target"]["template"]["data"]) == {"OPENAI_API_KEY", "WEBUI_SECRET_KEY"}
    mapping = {d["secretKey"]: d["remoteRef"]["key"] for d in es["spec"]["data"]}
    assert mapping == {"OPENWEBUI_LITELLM_KEY": "prod/open-webui/litellm-key",
                       "WEBUI_SECRET_KEY": "prod/open-webui/webui-secret-key"}
    job_copy = manifests("prod")["externalsecret-openwebui-key.yaml"]
    assert (job_copy["metadata"]["namespace"], job_copy["spec"]["target"]["name"]) == ("litellm", "openwebui-key")
    assert [d["remoteRef"]["key"] for d in job_copy["spec"]["data"]] == ["prod/open-webui/litellm-key"]


def test_grafana_and_jaeger_credentials_are_external_secrets_in_monitoring():
    prod = manifests("prod")
    grafana = prod["externalsecret-grafana-admin.yaml"]
    assert grafana["metadata"]["namespace"] == "monitoring"
    assert set(grafana["spec"]["target"]["template"]["data"]) == {"admin-user", "admin-password"}
    assert grafana["spec"]["data"][0]["remoteRef"]["key"] == "prod/monitoring/grafana-admin-password"
    jaeger = prod["externalsecret-jaeger-elasticsearch.yaml"]
    assert jaeger["spec"]["data"][0]["remoteRef"]["key"] == "prod/monitoring/jaeger-elasticsearch-password"
    assert "externalsecret-jaeger-elasticsearch.yaml" not in manifests("dev"), "dev keeps traces in memory"


def test_the_litellm_service_account_exists_before_the_charts_presync_migration():
    account = manifests("prod")["serviceaccount-litellm.yaml"]
    assert account["metadata"]["namespace"] == "litellm" and account["metadata"]["name"] == "litellm"
    assert account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == \
        "arn:aws:iam::444455556666:role/prod-litellm-bedrock-role"
    assert int(account["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]) < 13
    assert account["automountServiceAccountToken"] is False


def test_objects_for_disabled_components_are_left_out():
    base = env("dev")
    bare = dataclasses.replace(base, config=deep_merge(base.config, {"components": {"open-webui": {"state": "disabled"}}}))
    names = [file for file, _ in secret_store.objects(bare)]
    assert "externalsecret-openwebui-secrets.yaml" not in names
    assert "externalsecret-openwebui-key.yaml" not in names, "no Open WebUI: no key to register"
    assert "externalsecret-litellm-secrets.yaml" in names


def test_nothing_secret_in_rendered_or_environments(repo_root):
    findings = scan_tree(repo_root, ("rendered", "environments"))
    assert not findings, "\n".join(map(str, findings))


@pytest.mark.parametrize("planted, kind", [
    ("aws_access_key_id: AKIAIOSFODNN7EXAMPLE", "AWS access key id"),
    ("aws_secret_access_key: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "AWS secret access key"),
    ("LITELLM_MASTER_KEY: sk-4f9Kq2LmZ7xR1vB8nT3wY6", "API key (sk-...)"),
    ("-----BEGIN OPENSSH PRIVATE KEY-----", "private key"),
    ("url: postgresql://litellm:s3cr3tPass@db.internal:5432/litellm", "password in a URL"),
    ("token: ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5", "GitHub token"),
    ("salt: Zx8v1QpL0mR7tYc2Kd9Wf3Hs6Jb4Ne5A", "high-entropy string"),
])
def test_the_scanner_catches_a_planted_secret(tmp_path, planted, kind):
    (tmp_path / "rendered" / "dev").mkdir(parents=True)
    (tmp_path / "rendered" / "dev" / "leak.yaml").write_text(f"a: 1\n{planted}\n")
    findings = scan_tree(tmp_path, ("rendered",))
    assert any(f.kind == kind and f.line == 2 and f.path == "rendered/dev/leak.yaml" for f in findings), findings
    assert all(planted.split(": ", 1)[-1] not in str(f) for f in findings), "a finding must not echo the value"


@pytest.mark.parametrize("harmless", [
    "url: postgresql://USER:PASSWORD@HOST:5432/litellm",
    "issuer: https://oidc.eks.eu-west-1.amazonaws.com/id/A91C3E5F7B2D4068C1E3A5B7D9F02468",
    "model: bedrock/us.anthropic.claude-3-5-haiku-20241022-v1:0",
    "LITELLM_MASTER_KEY: '{{ if hasPrefix \"sk-\" .LITELLM_MASTER_KEY }}{{ .LITELLM_MASTER_KEY }}{{ end }}'",
    "key: prod/litellm/master-key",
])
def test_the_scanner_leaves_names_and_placeholders_alone(harmless):
    assert scan_text(harmless, "x.yaml") == []
