"""Open WebUI holds a virtual key, not the master key (issue 20, item 5). Asserted on what Argo CD
applies (the real `helm template` of the pinned charts, tests/applied_objects.py) and on the
rendered CloudFormation: Open WebUI reads only its own key, which CloudFormation generates and two
ExternalSecrets deliver; a PreSync hook Job of Open WebUI's Application registers it with LiteLLM,
in namespace litellm, limited to the models LiteLLM serves; a master-key rotation rolls LiteLLM,
never Open WebUI."""

from __future__ import annotations

import dataclasses
import json

import pytest
import yaml

import applied_objects
from conftest import REPO
from generator import argocd, naming
from generator.components import open_webui, openwebui_key, reloader, secret_store
from generator.environment import deep_merge, load_environment

ENVIRONMENTS = ("dev", "prod")


def _one(objects: list[dict], kind: str, name: str) -> dict:
    [found] = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


def _secret_refs(workload: dict) -> set[tuple[str, str]]:
    """(Secret, key) of every Secret value the pod template reads, env and volumes."""
    spec = workload["spec"]["template"]["spec"]
    found: set[tuple[str, str]] = set()
    for container in spec.get("containers", []) + spec.get("initContainers", []):
        for var in container.get("env") or []:
            if ref := (var.get("valueFrom") or {}).get("secretKeyRef"):
                found.add((ref["name"], ref["key"]))
        assert not [s for s in container.get("envFrom") or [] if s.get("secretRef")]
    for volume in spec.get("volumes") or []:
        sources = [volume] + (volume.get("projected") or {}).get("sources", [])
        for source in sources:
            if secret := source.get("secret"):
                found |= {(secret.get("secretName") or secret["name"], item["key"]) for item in secret["items"]}
    return found


def _external_secret(env: str, namespace: str, name: str) -> dict:
    found = [o for o in applied_objects.objects(env, "secret-store")
             if o["kind"] == "ExternalSecret" and (o["metadata"]["namespace"], o["metadata"]["name"]) == (namespace, name)]
    assert len(found) == 1, (namespace, name)
    return found[0]


def _sources(external_secret: dict) -> dict[str, str]:
    """Template variable -> Secrets Manager secret name."""
    return {d["secretKey"]: d["remoteRef"]["key"] for d in external_secret["spec"]["data"]}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_open_webui_reads_its_own_key_and_never_the_master_key(env):
    environment = load_environment(REPO / "environments", env)
    statefulset = _one(applied_objects.objects(env, "open-webui"), "StatefulSet", "open-webui")
    assert _secret_refs(statefulset) == {("openwebui-secrets", "OPENAI_API_KEY"), ("openwebui-secrets", "WEBUI_SECRET_KEY")}
    owned = _external_secret(env, "open-webui", "openwebui-secrets")
    sources = _sources(owned)
    assert environment.secret_name(naming.MASTER_KEY.key) not in sources.values()
    assert sources == {"OPENWEBUI_LITELLM_KEY": environment.secret_name("openWebuiKey"),
                       "WEBUI_SECRET_KEY": environment.secret_name("webuiSecretKey")}
    # LiteLLM takes only `sk-` keys: the template prefixes the generated value, as for the master key.
    template = owned["spec"]["target"]["template"]["data"]["OPENAI_API_KEY"]
    assert template == ('{{ if hasPrefix "sk-" .OPENWEBUI_LITELLM_KEY }}{{ .OPENWEBUI_LITELLM_KEY }}'
                        '{{ else }}sk-{{ .OPENWEBUI_LITELLM_KEY }}{{ end }}')
    # and no object Open WebUI's namespace receives names the master key's Secret
    for obj in applied_objects.objects(env, "open-webui") + applied_objects.objects(env, "secret-store"):
        if obj["metadata"].get("namespace") == "open-webui":
            assert "LITELLM_MASTER_KEY" not in json.dumps(obj) and "litellm-secrets" not in json.dumps(obj), obj["kind"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_a_master_key_rotation_rolls_litellm_and_not_open_webui(env):
    statefulset = _one(applied_objects.objects(env, "open-webui"), "StatefulSet", "open-webui")
    assert statefulset["metadata"]["annotations"][reloader.RELOAD_ANNOTATION] == "openwebui-secrets"
    deployment = _one(applied_objects.objects(env, "litellm"), "Deployment", "litellm")
    assert deployment["metadata"]["annotations"][reloader.RELOAD_ANNOTATION] == "litellm-secrets"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_cloudformation_generates_the_key_and_both_external_secrets_read_it(env):
    environment = load_environment(REPO / "environments", env)
    template = yaml.safe_load((REPO / "rendered" / env / "cloudformation" / "secrets.yaml").read_text())
    secret = template["Resources"]["OpenWebuiKeySecret"]
    assert secret["Properties"]["Name"] == environment.secret_name("openWebuiKey")
    assert secret["Properties"]["GenerateSecretString"]["ExcludePunctuation"] is True
    assert secret["DeletionPolicy"] == secret["UpdateReplacePolicy"] == "Retain"
    for_job = _external_secret(env, "litellm", "openwebui-key")
    assert _sources(for_job) == {"OPENWEBUI_LITELLM_KEY": environment.secret_name("openWebuiKey")}
    # the Job registers exactly the value Open WebUI sends: same source, same prefix rule
    for_open_webui = _external_secret(env, "open-webui", "openwebui-secrets")["spec"]["target"]["template"]["data"]
    assert for_job["spec"]["target"]["template"]["data"] == {"OPENWEBUI_LITELLM_KEY": for_open_webui["OPENAI_API_KEY"]}
    # External Secrets' role may read it: the role's policy covers every secret of secrets.names.
    roles = (REPO / "rendered" / env / "cloudformation" / "irsa-roles.yaml").read_text()
    assert f"secret:{environment.secret_name('openWebuiKey')}-??????" in roles


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_registration_job_is_a_presync_hook_of_open_webui_in_litellms_namespace(env):
    environment = load_environment(REPO / "environments", env)
    job = _one(applied_objects.objects(env, "open-webui"), "Job", openwebui_key.JOB_NAME)
    assert job["metadata"]["namespace"] == "litellm"
    assert job["metadata"]["annotations"] == {"argocd.argoproj.io/hook": "PreSync",
                                              "argocd.argoproj.io/hook-delete-policy": "BeforeHookCreation,HookSucceeded"}
    assert job["spec"]["backoffLimit"] == openwebui_key.BACKOFF_LIMIT >= 1
    # bounded by the wave budget the root's sync timeout counts on (argocd.WAVE_BUDGET_SECONDS)
    assert job["spec"]["activeDeadlineSeconds"] == argocd.WAVE_BUDGET_SECONDS
    # the master key and Open WebUI's key, as files, from Secrets in its own namespace
    assert _secret_refs(job) == {("litellm-secrets", "LITELLM_MASTER_KEY"), ("openwebui-key", "OPENWEBUI_LITELLM_KEY")}
    [container] = job["spec"]["template"]["spec"]["containers"]
    env_vars = {v["name"]: v.get("value") for v in container["env"]}
    assert env_vars["LITELLM_URL"] == "http://litellm.litellm.svc.cluster.local:4000"
    # limited to the models LiteLLM serves, read from LiteLLM's own applied config
    config = _one(applied_objects.objects(env, "litellm"), "ConfigMap", "litellm-config")
    served = [m["model_name"] for m in yaml.safe_load(config["data"]["config.yaml"])["model_list"]]
    assert json.loads(env_vars["MODELS_JSON"]) == served and served
    assert env_vars["KEY_ALIAS"] == openwebui_key.KEY_ALIAS
    assert container["command"][:2] == ["/bin/sh", "-c"] and container["command"][2] == openwebui_key.SCRIPT
    # its pods carry the label the NetworkPolicy flow to LiteLLM:4000 selects, and not LiteLLM's
    labels = job["spec"]["template"]["metadata"]["labels"]
    assert labels == {"app.kubernetes.io/name": openwebui_key.JOB_NAME}
    assert environment.component("open-webui")  # enabled in both environments


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_network_policies_let_the_job_reach_litellm_and_nothing_else(env):
    policies = [o for o in applied_objects.objects(env, "namespaces") if o["kind"] == "NetworkPolicy"]
    selected = {"matchLabels": {"app.kubernetes.io/name": openwebui_key.JOB_NAME}}
    egress = [p for p in policies if p["spec"]["podSelector"] == selected]
    assert [p["metadata"]["name"] for p in egress] == ["allow-openwebui-key-litellm-egress"]
    [rule] = egress[0]["spec"]["egress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 4000}]
    [peer] = rule["to"]
    assert peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == "litellm"
    ingress = _one(policies, "NetworkPolicy", "allow-openwebui-key-litellm-ingress")
    assert ingress["spec"]["ingress"][0]["from"][0]["podSelector"] == selected


def test_changing_the_models_changes_open_webuis_statefulset_so_the_hook_runs_again():
    """Hooks do not make an Application OutOfSync: the digest on the StatefulSet does, without a
    rollout (it is not in the pod template)."""
    env = load_environment(REPO / "environments", "dev")
    models = env.component("litellm")["models"]
    more = dataclasses.replace(env, config=deep_merge(env.config, {"components": {"litellm": {
        "models": models + [{"name": "another-model", "model": "anthropic.claude-3-haiku-20240307-v1:0"}]}}}))
    before, after = open_webui.values(env), open_webui.values(more)
    assert before["annotations"][openwebui_key.MODELS_ANNOTATION] != after["annotations"][openwebui_key.MODELS_ANNOTATION]
    assert "another-model" in json.dumps(after["extraResources"])


@pytest.mark.parametrize(("state", "registers"), [("external", True), ("disabled", False)])
def test_the_job_exists_while_some_litellm_does(state, registers):
    """A LiteLLM managed elsewhere still needs Open WebUI's key registered; without one, nothing does."""
    env = load_environment(REPO / "environments", "dev")
    env = dataclasses.replace(env, config=deep_merge(env.config, {"components": {"litellm": {"state": state}}}))
    assert openwebui_key.wanted(env) is registers
    assert ("Job" in json.dumps(open_webui.values(env)["extraResources"])) is registers
    assert ("externalsecret-openwebui-key.yaml" in dict(secret_store.objects(env))) is registers
