"""`litellm-gitops validate`: each check catches a planted violation with the right path, kind,
name and field; a document with no schema is an error; exit codes and output formats; and the
real rendered tree of every environment is clean."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest

from conftest import REPO, UPSTREAM_SCHEMAS
from generator.cli import main
from generator.errors import InputError
from generator.validate import kubernetes as kube
from generator.validate.runner import Options, validate

APP = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: dev-external-secrets
  namespace: argocd
spec:
  project: litellm
  destination:
    server: https://kubernetes.default.svc
    namespace: external-secrets
  sources:
  - repoURL: https://charts.external-secrets.io
    chart: external-secrets
    targetRevision: {version}
    helm:
      valueFiles:
      - $values/rendered/dev/values/external-secrets.yaml
  - repoURL: https://github.com/example-org/llm-gateway-gitops.git
    targetRevision: main
    ref: values
"""
NAMESPACE = """\
apiVersion: v1
kind: Namespace
metadata:
  name: litellm
  labels:
    litellm-gitops/environment: dev
"""
DASHBOARD = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: dashboard-litellm
  namespace: monitoring
  labels:
    grafana_dashboard: "1"
data:
  litellm.json: '{"title": "LiteLLM", "panels": []}'
"""
EXTERNAL_SECRET = """\
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: litellm-secrets
  namespace: litellm
spec:
  refreshInterval: 1h
  secretStoreRef:
    kind: ClusterSecretStore
    name: aws-secrets-manager
  target:
    name: litellm-secrets
  data:
  - secretKey: LITELLM_MASTER_KEY
    remoteRef:
      key: dev/litellm/master-key
"""
TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Resources:
  LiteLLMRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: '2012-10-17'
        Statement:
        - Effect: Allow
          Principal: {Service: ec2.amazonaws.com}
          Action: sts:AssumeRole
"""


@pytest.fixture
def repo(scratch_repo: Path) -> Path:
    """The real environments, with a small synthetic, valid rendered/dev/ (no prod)."""
    shutil.rmtree(scratch_repo / "rendered", ignore_errors=True)
    files = {
        "apps/07-external-secrets.yaml": APP.format(version="2.9.0"),
        "manifests/namespaces/namespace-litellm.yaml": NAMESPACE,
        "manifests/grafana-dashboards/litellm.yaml": DASHBOARD,
        "manifests/secret-store/externalsecret.yaml": EXTERNAL_SECRET,
        "values/external-secrets.yaml": "installCRDs: true\nreplicaCount: 1\n",
        "cloudformation/irsa-roles.yaml": TEMPLATE,
        "bootstrap/README.md": "not a Kubernetes document\n",
    }
    for rel, text in files.items():
        write(scratch_repo, rel, text)
    return scratch_repo


def write(root: Path, rel: str, text: str, env: str = "dev") -> Path:
    path = root / "rendered" / env / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def run(root: Path, cache: Path, **kwargs):
    kwargs.setdefault("hydrate", False)  # file-level checks here; the applied state: test_validate_hydrated.py
    return validate(Options(root=root, environments=kwargs.pop("environments", ["dev"]), cache=cache, **kwargs))


def only(report, **expected):
    """The single problem of `report`, checked field by field."""
    assert len(report.problems) == 1, report.text()
    problem = report.problems[0]
    for key, value in expected.items():
        assert getattr(problem, key) == value, report.text()
    return problem


def test_the_synthetic_tree_is_clean(repo, schema_cache):
    report = run(repo, schema_cache)
    assert report.ok, report.text()
    assert report.documents == {"environment": 1, "kubernetes": 4, "dashboard": 1, "values": 1, "cloudformation": 1}


def test_an_unknown_field_in_a_core_kind_is_caught(repo, schema_cache):
    write(repo, "manifests/namespaces/namespace-litellm.yaml", NAMESPACE.replace("  labels:", "  labelz:"))
    problem = only(run(repo, schema_cache), path="rendered/dev/manifests/namespaces/namespace-litellm.yaml",
                   kind="Namespace", name="litellm", field="metadata.labelz", check="kubernetes")
    assert problem.line() == ("rendered/dev/manifests/namespaces/namespace-litellm.yaml: Namespace/litellm: "
                              "metadata.labelz: unknown field 'labelz' (not in the schema)")


def test_a_wrong_type_in_a_core_kind_is_caught(repo, schema_cache):
    write(repo, "manifests/grafana-dashboards/litellm.yaml", DASHBOARD + "immutable: sometimes\n")
    problem = only(run(repo, schema_cache), kind="ConfigMap", name="dashboard-litellm", field="immutable")
    assert "not of type" in problem.message


def test_a_custom_kind_is_checked_against_its_crd_schema(repo, schema_cache):
    write(repo, "manifests/secret-store/externalsecret.yaml", EXTERNAL_SECRET.replace("refreshInterval:", "refreshIntervall:"))
    only(run(repo, schema_cache), path="rendered/dev/manifests/secret-store/externalsecret.yaml",
         kind="ExternalSecret", name="litellm-secrets", field="spec.refreshIntervall")


def test_a_missing_required_field_is_reported_at_the_field(repo, schema_cache):
    write(repo, "apps/07-external-secrets.yaml", APP.format(version="2.9.0").replace("  project: litellm\n", ""))
    only(run(repo, schema_cache), kind="Application", name="dev-external-secrets", field="spec.project")


def test_a_document_with_no_schema_is_an_error_not_a_skip(repo, schema_cache):
    write(repo, "manifests/extra/widget.yaml", "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n")
    problem = only(run(repo, schema_cache), path="rendered/dev/manifests/extra/widget.yaml", kind="Widget", name="w")
    assert problem.message.startswith("no schema for example.com/v1 Widget")
    assert "example.com/widget_v1.json" in problem.message


def test_a_custom_group_named_like_a_core_group_is_not_a_core_kind(repo, schema_cache):
    """apps.example.com/v1 Deployment maps to the same file name as apps/v1 Deployment in kubernetes-validate."""
    write(repo, "manifests/extra/d.yaml", "apiVersion: apps.example.com/v1\nkind: Deployment\nmetadata:\n  name: d\n")
    assert only(run(repo, schema_cache), kind="Deployment").message.startswith("no schema for apps.example.com/v1")


def test_documents_of_a_multi_document_file_are_numbered(repo, schema_cache):
    write(repo, "manifests/namespaces/all.yaml", NAMESPACE + "---\n" + NAMESPACE.replace("name: litellm", "name: x\n  bogus: 1"))
    problem = only(run(repo, schema_cache), document=2, name="x", field="metadata.bogus")
    assert problem.line().startswith("rendered/dev/manifests/namespaces/all.yaml:2: Namespace/x: metadata.bogus: ")


def test_a_document_that_is_not_a_kubernetes_object_is_caught(repo, schema_cache):
    write(repo, "manifests/extra/x.yaml", "kind: Namespace\nmetadata:\n  name: n\n")
    only(run(repo, schema_cache), kind="Namespace", name="n", field="apiVersion")


def test_helm_values_are_checked_against_the_charts_values_schema(repo, schema_cache):
    write(repo, "values/external-secrets.yaml", "installCRDs: 'yes'\nreplicaCount: 1\n")
    problem = only(run(repo, schema_cache), path="rendered/dev/values/external-secrets.yaml", kind="HelmValues",
                   name="external-secrets@2.9.0", field="installCRDs", check="values")
    assert "boolean" in problem.message


def test_a_chart_version_missing_from_the_lock_is_a_problem(repo, schema_cache):
    write(repo, "apps/07-external-secrets.yaml", APP.format(version="9.9.9"))
    problem = only(run(repo, schema_cache), kind="HelmValues", name="external-secrets@9.9.9", check="values")
    assert "not in upstream.lock.json" in problem.message


def test_a_dashboard_that_is_not_json_is_caught(repo, schema_cache):
    write(repo, "manifests/grafana-dashboards/litellm.yaml",
          DASHBOARD.replace('{"title": "LiteLLM", "panels": []}', '{"title": "LiteLLM", "panels": [}'))
    problem = only(run(repo, schema_cache), path="rendered/dev/manifests/grafana-dashboards/litellm.yaml",
                   kind="ConfigMap", name="dashboard-litellm", field="data.litellm.json", check="dashboard")
    assert problem.message.startswith("not valid JSON")


def test_a_cloudformation_error_is_caught_with_cfn_lint(repo, schema_cache):
    write(repo, "cloudformation/irsa-roles.yaml", TEMPLATE + "      Bogus: 1\n")
    problem = only(run(repo, schema_cache), path="rendered/dev/cloudformation/irsa-roles.yaml", kind="AWS::IAM::Role",
                   name="LiteLLMRole", field="Resources.LiteLLMRole.Properties.Bogus", check="cloudformation")
    assert problem.message.startswith("E3002 ")


def test_cloudformation_parameters_must_match_the_template(repo, schema_cache):
    template = (TEMPLATE.replace("Resources:", "Parameters:\n  EnvironmentName:\n    Type: String\nResources:")
                + "      RoleName: !Sub litellm-${EnvironmentName}\n")
    write(repo, "cloudformation/irsa-roles.yaml", template)
    write(repo, "cloudformation/irsa-roles.parameters.json", '["EnvironmentName=dev"]')
    assert run(repo, schema_cache).ok
    write(repo, "cloudformation/irsa-roles.parameters.json", '["EnvironmentNmae=dev"]')
    problems = {(p.path, p.kind, p.field) for p in run(repo, schema_cache).problems}
    assert problems == {("rendered/dev/cloudformation/irsa-roles.parameters.json", "Parameters", "EnvironmentNmae"),
                        ("rendered/dev/cloudformation/irsa-roles.parameters.json", "Parameters", "EnvironmentName")}


def test_a_deploy_manifest_beside_the_templates_is_not_linted_but_its_files_must_exist(repo, schema_cache):
    manifest = {"environment": "dev", "stacks": [{"name": "s", "template": "irsa-roles.yaml", "parameters": "missing.json"}]}
    write(repo, "cloudformation/deploy.json", json.dumps(manifest))
    only(run(repo, schema_cache), path="rendered/dev/cloudformation/deploy.json", kind="Manifest",
         field="stacks[0].parameters", check="cloudformation")
    write(repo, "cloudformation/template.json", json.dumps({"Resources": {"B": {"Type": "AWS::S3::Bucket", "Properties": {"Bogus": 1}}}}))
    manifest["stacks"][0]["parameters"] = "template.json"
    write(repo, "cloudformation/deploy.json", json.dumps(manifest))
    only(run(repo, schema_cache), path="rendered/dev/cloudformation/template.json", kind="AWS::S3::Bucket", name="B")


def test_a_bad_environment_is_reported_as_a_problem(repo, schema_cache):
    env_file = repo / "environments" / "dev" / "environment.yaml"
    env_file.write_text(env_file.read_text() + "\nunknownTopLevelKey: 1\n")
    problem = only(run(repo, schema_cache), path="environments/dev/environment.yaml", kind="Environment", name="dev",
                   check="environment")
    assert "unknownTopLevelKey" in problem.message


def test_an_environment_that_was_never_rendered_is_a_problem(repo, schema_cache):
    only(run(repo, schema_cache, environments=["prod"]), kind="Environment", name="prod", check="environment")


def test_parallel_and_serial_runs_agree(repo, schema_cache):
    write(repo, "manifests/namespaces/namespace-litellm.yaml", NAMESPACE.replace("  labels:", "  labelz:"))
    write(repo, "cloudformation/irsa-roles.yaml", TEMPLATE + "      Bogus: 1\n")
    serial = run(repo, schema_cache, jobs=1)
    parallel = run(repo, schema_cache, jobs=2)
    assert len(serial.problems) == 2
    assert serial.text() == parallel.text()


def test_each_core_schema_is_compiled_once(monkeypatch):
    compiled = []
    real = jsonschema.Draft202012Validator

    def counting(schema, **kwargs):
        compiled.append(schema["$id"])
        return real(schema, **kwargs)

    monkeypatch.setattr(jsonschema, "Draft202012Validator", counting)  # kube loads jsonschema when it compiles
    core = kube.CoreSchemas("1.33")
    first = core.lookup("v1", "Namespace")
    assert core.lookup("v1", "Namespace") is first and core.lookup("v1", "ConfigMap") is not None
    assert len(compiled) == 2


def test_the_kubernetes_version_picks_the_bundled_strict_schemas():
    assert kube.strict_schema_dir("1.33").name == "v1.33.0-local-strict"
    with pytest.raises(InputError, match="no schemas for Kubernetes '1.2'"):
        kube.strict_schema_dir("1.2")


def test_schema_locations_work_like_kubeconforms(repo, schema_cache, shared_dir, tmp_path):
    catalog = str(shared_dir / "schemas-upstream")
    template = catalog + "/{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json"
    assert run(repo, schema_cache, schema_locations=[catalog]).ok
    assert run(repo, schema_cache, schema_locations=[template]).ok
    empty = tmp_path / "empty"
    empty.mkdir()
    report = run(repo, schema_cache, schema_locations=[str(empty)])
    assert {(p.kind, p.message.split(" (")[0]) for p in report.problems} == {
        ("Application", "no schema for argoproj.io/v1alpha1 Application"),
        ("ExternalSecret", "no schema for external-secrets.io/v1 ExternalSecret")}
    with pytest.raises(InputError, match="remote"):
        run(repo, schema_cache, schema_locations=["https://example.com/{{.Group}}.json"])


def test_a_tampered_schema_cache_is_refused(repo, schema_cache, tmp_path):
    cache = tmp_path / "cache"
    shutil.copytree(schema_cache, cache)
    target = cache / "argoproj.io" / "application_v1alpha1.json"
    target.write_text(target.read_text().replace('"additionalProperties": false', '"additionalProperties": true', 1))
    with pytest.raises(InputError, match="does not match upstream.lock.json"):
        run(repo, cache)


def test_the_command_prints_one_line_per_problem_and_exits_1(repo, schema_cache, capsys):
    write(repo, "manifests/namespaces/namespace-litellm.yaml", NAMESPACE.replace("  labels:", "  labelz:"))
    args = ["validate", "--root", str(repo), "--env", "dev", "--cache", str(schema_cache), "--no-hydrate"]
    assert main(args) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == ("rendered/dev/manifests/namespaces/namespace-litellm.yaml: Namespace/litellm: metadata.labelz: "
                      "unknown field 'labelz' (not in the schema)")
    assert out[-1].endswith(": 1 problem(s)") and len(out) == 2

    assert main(args + ["--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is False and data["problems"][0]["field"] == "metadata.labelz"
    assert data["problems"][0]["kind"] == "Namespace" and data["problems"][0]["name"] == "litellm"


def test_the_command_exits_0_when_clean_and_2_on_bad_input(repo, schema_cache, tmp_path, capsys, monkeypatch):
    from generator import autosync

    base = ["validate", "--root", str(repo), "--cache", str(schema_cache), "--no-hydrate"]
    assert main(base + ["--env", "dev"]) == 0
    assert main(base + ["--env", "nosuchenv"]) == 2
    assert "no environment named 'nosuchenv'" in capsys.readouterr().err
    # A cache never synced, with nothing to fill it from (else it fills itself: autosync).
    monkeypatch.setenv("LITELLM_GITOPS_SHARED", str(tmp_path / "nowhere"))
    monkeypatch.setattr(autosync, "url_fetcher", lambda: lambda pinned: f"download from {pinned.url} failed: offline")
    assert main(["validate", "--root", str(repo), "--env", "dev", "--cache", str(tmp_path / "never-synced"), "--no-hydrate"]) == 2
    assert "schemas sync" in capsys.readouterr().err


def test_the_real_rendered_tree_is_valid(schema_cache):
    """dev and prod as committed, strictly: custom kinds against ../shared/schemas-upstream read by
    path, core kinds against kubernetes-validate's schemas, Helm values, CloudFormation, dashboards."""
    report = validate(Options(root=REPO, cache=schema_cache, schema_locations=[str(UPSTREAM_SCHEMAS)], hydrate=True))
    assert report.ok, report.text()
    assert set(report.environments) >= {"dev", "prod"}
    assert report.documents["hydrated"] > 400  # the applied state was checked too


# --- an empty schema cache fills itself (generator/autosync.py) --------------------------

def test_an_empty_cache_is_filled_from_the_reference_folder(repo, shared_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LITELLM_GITOPS_SHARED", str(shared_dir))
    cache = tmp_path / "empty-cache"
    report = run(repo, cache)
    assert report.ok, report.text()
    said = capsys.readouterr().err.strip().splitlines()
    assert len(said) == 1 and said[0].startswith(f"schema cache was empty: filled {cache} with ")
    assert f"from {shared_dir}" in said[0] and "every sha256 matches" in said[0]
    assert (cache / "argoproj.io" / "application_v1alpha1.json").is_file()
    run(repo, cache)
    assert capsys.readouterr().err == ""  # filled once, then used as it is


def test_offline_without_a_reference_folder_names_the_command(repo, tmp_path, monkeypatch):
    from generator import autosync

    monkeypatch.setenv("LITELLM_GITOPS_SHARED", str(tmp_path / "nowhere"))
    monkeypatch.setattr(autosync, "url_fetcher", lambda: lambda pinned: f"download from {pinned.url} failed: offline")
    cache = tmp_path / "empty-cache"
    with pytest.raises(InputError) as caught:
        run(repo, cache)
    assert "schema cache is empty and could not be filled" in caught.value.message
    assert "litellm-gitops schemas sync --from" in caught.value.hint
    assert not cache.exists()  # nothing written


def test_a_reference_folder_that_does_not_match_the_lock_is_not_trusted(repo, shared_dir, tmp_path, monkeypatch):
    from generator import autosync

    forged = tmp_path / "shared"
    shutil.copytree(shared_dir / "crds", forged / "crds")
    shutil.copytree(shared_dir / "chart-values", forged / "chart-values")
    crd = forged / "crds" / "argoproj.io_application.yaml"
    crd.write_text(crd.read_text() + "\n# edited\n")
    monkeypatch.setenv("LITELLM_GITOPS_SHARED", str(forged))
    monkeypatch.setattr(autosync, "url_fetcher", lambda: lambda pinned: "offline")
    with pytest.raises(InputError):
        run(repo, tmp_path / "cache")
    assert not (tmp_path / "cache").exists()


def test_an_empty_chart_cache_is_filled_from_the_reference_folder(scratch_repo, shared_dir, tmp_path, monkeypatch, capsys):
    from generator import autosync, chartlock

    monkeypatch.setenv("LITELLM_GITOPS_SHARED", str(shared_dir))
    monkeypatch.setenv("LITELLM_GITOPS_CHARTS", str(tmp_path / "charts"))
    folder = autosync.chart_folder(scratch_repo, None)
    said = capsys.readouterr().err
    assert folder == tmp_path / "charts" and said.startswith(f"chart cache was empty: filled {folder} with ")
    for locked in chartlock.load(scratch_repo).charts:
        chartlock.archive(locked, folder)  # there, and its sha256 pinned
    assert autosync.chart_folder(scratch_repo, None) == folder and capsys.readouterr().err == ""
    given = tmp_path / "elsewhere"
    assert autosync.chart_folder(scratch_repo, given) == given and not given.exists()  # --charts is taken as it is


def test_a_tampered_reference_chart_fills_nothing(scratch_repo, shared_dir, tmp_path, monkeypatch):
    from generator import autosync

    forged = tmp_path / "shared" / "charts"
    shutil.copytree(shared_dir / "charts", forged)
    archive = next(forged.glob("redis-ha-*.tgz"))
    archive.write_bytes(archive.read_bytes() + b"\0")
    monkeypatch.setenv("LITELLM_GITOPS_SHARED", str(tmp_path / "shared"))
    monkeypatch.setenv("LITELLM_GITOPS_CHARTS", str(tmp_path / "charts"))
    with pytest.raises(InputError, match="chart cache is empty and could not be filled"):
        autosync.chart_folder(scratch_repo, None)
    assert not (tmp_path / "charts").exists()
