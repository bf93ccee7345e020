"""Hub mode (generator.fleet): a scratch repository with the three hub environments of
examples/hub-fleet/ beside the standalone dev and prod, rendered with the real command.

Checked: standalone environments render exactly as committed; the ApplicationSet validates
against Argo CD's CRD schema and generates, as Argo CD's generator would (generator.appset,
evaluated here), one root per hub environment in the stated rollout order; every AppProject
admits only its own environment's cluster and namespaces (Argo CD's destination matching,
applied to every pair of project and Application); the cluster registrations carry AWS
authentication and no credential (generator.secretscan); the IAM role trusts only the hub's
management role, has no permission and is mapped into the cluster by an access entry, cfn-lint
clean against CloudFormation's resource schemas; bad hub configurations are refused (exit 2)."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from cfnlint.api import ManualArgs, lint

from aws_support import aws, edit_environment, moto_endpoint  # noqa: F401 (fixtures)
from generator import appset, fleet
from generator.cli import main
from generator.errors import InputError
from generator.guard.tree import load_tree
from generator.phases import NAMESPACES
from generator.secretscan import scan_text, scan_tree
from generator.validate.runner import Options, validate

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent.parent / "examples" / "hub-fleet"
HUB_ENVS = ("eu-dev", "eu-prod", "eu-staging")
HUB_ROLE = "arn:aws:iam::999988887777:role/argocd-hub-management"


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def tree(root: Path, folder: str) -> dict[str, bytes]:
    base = root / folder
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(base.rglob("*")) if p.is_file()}


@pytest.fixture
def hub_repo(scratch_repo: Path) -> Path:
    for env in FIXTURES.iterdir():
        shutil.copytree(env, scratch_repo / "environments" / env.name)
    assert main(["render", "--root", str(scratch_repo)]) == 0
    return scratch_repo


@pytest.fixture
def hub_dir(hub_repo: Path) -> Path:
    return hub_repo / "rendered" / "fleet" / "central"


def generated(hub_repo: Path, progressive_syncs: bool = False) -> list[dict]:
    """The roots the hub's ApplicationSet generates from the rendered tree, as Argo CD would."""
    app_set = load(hub_repo / "rendered/fleet/central/hub/applicationset.yaml")
    return appset.generate(app_set, tree(hub_repo, "rendered"), progressive_syncs=progressive_syncs)


def upstream_validator(shared_dir: Path, kind: str) -> jsonschema.Draft7Validator:
    schema = json.loads((shared_dir / "schemas-upstream" / "argoproj.io" / f"{kind}_v1alpha1.json").read_text())
    return jsonschema.Draft7Validator(schema)


def errors(validator: jsonschema.Draft7Validator, document: dict) -> list[str]:
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


# --- standalone stays as it was -------------------------------------------------------------------

def test_standalone_environments_render_exactly_as_committed(hub_repo):
    for env in ("dev", "prod"):
        assert tree(hub_repo, f"rendered/{env}") == {k.replace(str(REPO), ""): v for k, v in tree(REPO, f"rendered/{env}").items()}
    assert main(["render", "--check", "--root", str(hub_repo)]) == 0


def test_a_hub_environment_has_no_hand_applied_root_and_targets_its_cluster_by_name(hub_repo):
    rendered = hub_repo / "rendered" / "eu-dev"
    assert not (rendered / "bootstrap").exists()
    assert not list((rendered / "apps").glob("05-*"))  # project and repositories live on the hub
    apps = [load(p) for p in sorted((rendered / "apps").glob("*.yaml"))]
    assert len(apps) == 12
    for app in apps:
        assert set(app["spec"]["destination"]) <= {"name", "namespace"}
        assert app["spec"]["destination"]["name"] == "eu-dev"
        assert app["spec"]["project"] == "litellm-eu-dev"
    assert "rendered/fleet/central/README.md" in (rendered / "README.md").read_text().replace("../fleet", "rendered/fleet")


# --- the ApplicationSet, evaluated ------------------------------------------------------------------

def test_the_applicationset_is_valid_and_generates_one_root_per_hub_environment(hub_repo, shared_dir):
    app_set = load(hub_repo / "rendered/fleet/central/hub/applicationset.yaml")
    assert errors(upstream_validator(shared_dir, "applicationset"), app_set) == []
    roots = generated(hub_repo)
    assert [r["metadata"]["name"] for r in roots] == [f"{e}-root" for e in HUB_ENVS]
    application = upstream_validator(shared_dir, "application")
    for root in roots:
        env = root["metadata"]["labels"]["litellm-gitops/environment"]
        assert errors(application, root) == []
        assert root["metadata"]["namespace"] == "argocd"
        assert root["metadata"].get("finalizers") is None  # preserveResourcesOnDeletion: never cascades
        assert "Delete=false" in root["spec"]["syncPolicy"]["syncOptions"]  # nor when deleted by hand
        source = root["spec"]["source"]
        assert source["path"] == f"rendered/{env}/apps" and (hub_repo / source["path"]).is_dir()
        assert source["repoURL"] == "https://github.com/example-org/llm-gateway-gitops.git"
        assert source["targetRevision"] == "main"
        # The root lives in Argo CD's namespace; its children in the environment's own.
        assert root["spec"]["destination"] == {"server": "https://kubernetes.default.svc", "namespace": f"argocd-{env}"}
        assert root["spec"]["project"] == f"fleet-central-root-{env}"
        assert root["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    # Standalone environments are not the hub's.
    assert not any(r["metadata"]["name"] in ("dev-root", "prod-root") for r in roots)


def test_roots_roll_out_dev_then_staging_then_prod(hub_repo):
    app_set = load(hub_repo / "rendered/fleet/central/hub/applicationset.yaml")
    roots = generated(hub_repo, progressive_syncs=True)
    assert appset.rollout_steps(app_set, roots) == [["eu-dev-root"], ["eu-staging-root"], ["eu-prod-root"]]
    # With progressive syncs on, the controller syncs the roots itself, step by step.
    assert all(r["spec"]["syncPolicy"]["automated"]["enabled"] is False for r in roots)


def test_a_new_hub_environment_is_picked_up_from_the_tree_without_touching_the_applicationset(hub_repo):
    before = (hub_repo / "rendered/fleet/central/hub/applicationset.yaml").read_bytes()
    assert main(["env", "new", "eu-qa", "--from", "eu-staging", "--account", "222233334444", "--region", "eu-west-1",
                 "--cluster", "llm-eu-qa", "--root", str(hub_repo)]) == 0  # its own cluster: a copy would collide
    assert main(["render", "--root", str(hub_repo)]) == 0
    assert (hub_repo / "rendered/fleet/central/hub/applicationset.yaml").read_bytes() == before
    app_set = load(hub_repo / "rendered/fleet/central/hub/applicationset.yaml")
    roots = generated(hub_repo)
    assert "eu-qa-root" in [r["metadata"]["name"] for r in roots]
    assert appset.rollout_steps(app_set, roots)[1] == ["eu-qa-root", "eu-staging-root"]


def test_the_evaluator_follows_argo_cd_on_what_the_template_cannot_use(hub_repo):
    app_set = load(hub_repo / "rendered/fleet/central/hub/applicationset.yaml")
    files = tree(hub_repo, "rendered")
    files["rendered/fleet/central/environments/broken.json"] = b'{"environment": "x"}'
    with pytest.raises(appset.TemplateError, match="stage"):  # missingkey=error
        appset.generate(app_set, files)
    app_set["spec"]["template"]["metadata"]["name"] = "{{ .environment | upper }}"
    with pytest.raises(appset.Unsupported):
        appset.generate(app_set, tree(hub_repo, "rendered"))


def test_the_evaluator_matches_argo_cds_own_examples():
    """applicationset/generators/git_test.go-style inputs: path parameters, list files, flat mode."""
    gen = {"git": {"repoURL": "r", "revision": "main", "files": [{"path": "cluster-config/**/config.json"},
                                                                 {"path": "cluster-config/staging/**", "exclude": True}]}}
    files = {"cluster-config/production/config.json": b'{"cluster": {"owner": "john.doe@example.com", "name": "production"}}',
             "cluster-config/staging/config.json": b'{"cluster": {"name": "staging"}}',
             "other/config.json": b"{}"}
    [go] = appset.git_files_parameters(gen, files, go_template=True)
    assert go["cluster"]["name"] == "production"
    assert go["path"] == {"path": "cluster-config/production", "basename": "production", "filename": "config.json",
                          "basenameNormalized": "production", "filenameNormalized": "config.json",
                          "segments": ["cluster-config", "production"]}
    [flat] = appset.git_files_parameters(gen, files, go_template=False)
    assert flat["cluster.owner"] == "john.doe@example.com" and flat["path[1]"] == "production"
    assert appset.replace("{{cluster.name}}-{{ nope }}", flat, False, []) == "production-{{ nope }}"
    assert appset.replace("{{.cluster.nope}}", go, True, []) == "<no value>"
    listed = {"git": {"files": [{"path": "a/*.yaml"}]}}
    assert len(appset.git_files_parameters(listed, {"a/x.yaml": b"- {k: 1}\n- {k: 2}\n"}, True)) == 2


# --- isolation ---------------------------------------------------------------------------------

def destination_permitted(project: dict, cluster: dict, namespace: str, clusters: list[dict]) -> bool:
    """AppProject.IsDestinationPermitted (pkg/apis/application/v1alpha1/app_project_types.go,
    v3.5.1) for exact (glob-free) destinations: the cluster's server or name and the namespace
    match one destination; with permitOnlyProjectScopedClusters the cluster must be scoped to it."""
    matched = any((d.get("server") == cluster["server"] or d.get("name") == cluster["name"]) and d.get("namespace") == namespace
                  for d in project["spec"]["destinations"])
    if matched and project["spec"].get("permitOnlyProjectScopedClusters"):
        scoped = [c for c in clusters if c.get("project") == project["metadata"]["name"]]
        return any(c["name"] == cluster["name"] or c["server"] == cluster["server"] for c in scoped)
    return matched


def test_each_project_admits_only_its_own_environments_cluster_and_namespaces(hub_repo, hub_dir, shared_dir):
    projects = {e: load(hub_dir / "hub" / e / "project.yaml") for e in HUB_ENVS}
    clusters = {e: load(hub_dir / "hub" / e / "cluster.yaml")["stringData"] for e in HUB_ENVS}
    validator = upstream_validator(shared_dir, "appproject")
    for env, project in projects.items():
        assert errors(validator, project) == []
        assert project["metadata"]["name"] == f"litellm-{env}"
        assert {d["server"] for d in project["spec"]["destinations"]} == {clusters[env]["server"]}
        assert sorted(d["namespace"] for d in project["spec"]["destinations"]) == sorted(NAMESPACES)
        assert not any(ch in value for d in project["spec"]["destinations"] for value in d.values() for ch in "*!?[")
    checked = 0
    for app_env in HUB_ENVS:
        for path in sorted((hub_repo / "rendered" / app_env / "apps").glob("*.yaml")):
            app = load(path)
            cluster = next(c for c in clusters.values() if c["name"] == app["spec"]["destination"]["name"])
            namespace = app["spec"]["destination"].get("namespace", "")
            for project_env, project in projects.items():
                allowed = destination_permitted(project, cluster, namespace, list(clusters.values()))
                assert allowed == (project_env == app_env and namespace in NAMESPACES), (path, project_env)
                checked += 1
    assert checked == 3 * 12 * 3
    for env in HUB_ENVS:
        roots = load(hub_dir / "hub" / env / "root-project.yaml")
        assert errors(validator, roots) == []
        assert roots["spec"]["namespaceResourceWhitelist"] == [{"group": "argoproj.io", "kind": "Application"}]
        assert roots["spec"]["destinations"] == [{"server": "https://kubernetes.default.svc", "namespace": f"argocd-{env}"}]


# --- applications in any namespace: each environment's Applications in its own namespace --------

def test_the_hub_enables_exactly_its_environments_namespaces(hub_repo, hub_dir, shared_dir):
    """application.namespaces lists every environment's namespace by name (no glob admitting
    others), each project admits only its own, and the hub's root creates the namespaces."""
    from generator import appnamespaces

    params = load(hub_dir / "bootstrap" / "argocd-cmd-params-cm.yaml")
    assert sorted(params["data"]) == ["application.namespaces", "applicationsetcontroller.enable.new.git.file.globbing",
                                      "controller.sync.timeout.seconds"]  # one ConfigMap, extended
    enabled = appnamespaces.enabled_namespaces(params)
    assert enabled == [f"argocd-{e}" for e in HUB_ENVS]
    assert not appnamespaces.match_in_list(enabled, "argocd-eu-other") and not appnamespaces.match_in_list(enabled, "argocd")
    hub_project = load(hub_dir / "bootstrap" / "project.yaml")
    assert hub_project["spec"]["clusterResourceWhitelist"] == [{"group": "", "kind": "Namespace"}]
    for env in HUB_ENVS:
        namespace = load(hub_dir / "hub" / env / "namespace.yaml")
        assert namespace["metadata"]["name"] == f"argocd-{env}" and "namespace" not in namespace["metadata"]
        assert load(hub_dir / "hub" / env / "project.yaml")["spec"]["sourceNamespaces"] == [f"argocd-{env}"]
        for path in (hub_repo / "rendered" / env / "apps").glob("*.yaml"):
            assert load(path)["metadata"]["namespace"] == f"argocd-{env}", path
    # Standalone environments keep every Application in Argo CD's own namespace.
    assert load(hub_repo / "rendered/dev/apps/13-litellm.yaml")["metadata"]["namespace"] == "argocd"
    assert "sourceNamespaces" not in load(hub_repo / "rendered/dev/apps/05-project.yaml")["spec"]


def test_an_environment_whose_hub_namespace_is_too_long_is_refused(hub_repo, capsys):
    """<argocd.namespace>-<env> must be a DNS label: a 60-character environment name leaves no room."""
    long_name = "eu-" + "x" * 57
    shutil.move(hub_repo / "environments" / "eu-dev", hub_repo / "environments" / long_name)
    before = tree(hub_repo, "rendered")
    capsys.readouterr()
    assert main(["render", "--root", str(hub_repo)]) == 2
    err = capsys.readouterr().err
    # named where argocd.namespace is set (defaults.yaml), with the environment and the namespace
    assert "environments/defaults.yaml:" in err and f"namespace 'argocd-{long_name}'" in err, err
    assert "not a DNS-1123 label (67 characters, at most 63)" in err and "Traceback" not in err
    assert tree(hub_repo, "rendered") == before  # nothing written


def test_argo_cds_namespace_rules_as_upstream_states_them():
    """util/glob/glob.go MatchStringInList (REGEXP) and AppProject.IsAppNamespacePermitted, with the
    examples of docs/operator-manual/app-any-namespace.md (v3.5.1)."""
    from generator.appnamespaces import ArgoCD, match_in_list

    assert match_in_list(["app-team-*"], "app-team-one") and match_in_list(["app-team-*"], "app-team-two")
    assert match_in_list(["*"], "anything") and not match_in_list([], "argocd-x")
    assert match_in_list(["/^((?!not-allowed).)*$/"], "allowed") and not match_in_list(["/^((?!not-allowed).)*$/"], "not-allowed")
    projects = [{"kind": "AppProject", "metadata": {"name": f"project-{n}", "namespace": "argocd"},
                 "spec": {"sourceNamespaces": [f"namespace-{n}"]}} for n in ("one", "two")]
    params = {"kind": "ConfigMap", "metadata": {"name": "argocd-cmd-params-cm", "namespace": "argocd"},
              "data": {"application.namespaces": "namespace-one, namespace-two"}}
    argo = ArgoCD.of("argocd", projects + [params])

    def app(namespace: str, project: str) -> dict:
        return {"kind": "Application", "metadata": {"name": "some-app", "namespace": namespace}, "spec": {"project": project}}

    assert argo.refusal(app("namespace-one", "project-one")) is None
    assert argo.refusal(app("argocd", "project-two")) is None  # the control plane's namespace may use any project
    assert "sourceNamespaces" in argo.refusal(app("namespace-two", "project-one"))
    assert "sourceNamespaces" in argo.refusal(app("namespace-one", "project-two"))
    assert "application.namespaces" in argo.refusal(app("namespace-three", "project-one"))


def test_hydrate_refuses_an_application_in_another_environments_namespace(hub_repo, charts_dir, _shared_hydrate_cache):
    """hydrate judges each child as the hub's Argo CD would: eu-dev's root may place Applications
    only in argocd-eu-dev, and an Application there may only use eu-dev's project."""
    from generator.applied import Hydrator
    from generator.applied.build import hydrate_environment

    def state():
        return hydrate_environment(hub_repo, "eu-dev", "1.33", Hydrator(charts=charts_dir, cache_dir=_shared_hydrate_cache))

    assert state().refused == {}
    app = hub_repo / "rendered/eu-dev/apps/13-litellm.yaml"
    original = app.read_text()
    app.write_text(original.replace("project: litellm-eu-dev", "project: litellm-eu-prod"))
    assert "AppProject litellm-eu-prod lists ['argocd-eu-prod'] sourceNamespaces, not argocd-eu-dev" in state().refused["eu-dev-litellm"]
    app.write_text(original.replace("namespace: argocd-eu-dev", "namespace: argocd-eu-prod"))
    assert ("its root's AppProject fleet-central-root-eu-dev does not permit namespace argocd-eu-prod"
            in state().refused["eu-dev-litellm"])


# --- cluster registration: AWS authentication, no credential --------------------------------------

def test_cluster_secrets_use_aws_authentication_and_hold_no_credential(hub_repo, hub_dir):
    for env in HUB_ENVS:
        secret = load(hub_dir / "hub" / env / "cluster.yaml")
        config = load(hub_repo / "environments" / env / "environment.yaml")
        assert secret["metadata"]["labels"]["argocd.argoproj.io/secret-type"] == "cluster"
        assert set(secret) == {"apiVersion", "kind", "metadata", "type", "stringData"}  # no data: nothing opaque
        data = secret["stringData"]
        assert data["name"] == env and data["server"] == config["cluster"]["server"]
        assert data["project"] == f"litellm-{env}"
        settings = json.loads(data["config"])
        assert settings == {
            "awsAuthConfig": {"clusterName": config["cluster"]["name"],
                              "roleARN": f"arn:aws:iam::{config['aws']['accountId']}:role/{env}-argocd-hub-role"},
            "tlsClientConfig": {"insecure": False, "caData": config["hub"]["caData"]},
        }
        assert base64.b64decode(settings["tlsClientConfig"]["caData"]).startswith(b"-----BEGIN CERTIFICATE-----")
    assert scan_tree(hub_repo, ("rendered", "environments")) == []


def test_the_scanner_still_catches_a_key_hidden_next_to_a_certificate(hub_dir):
    secret = (hub_dir / "hub" / "eu-dev" / "cluster.yaml").read_text()
    ca = json.loads(load(hub_dir / "hub" / "eu-dev" / "cluster.yaml")["stringData"]["config"])["tlsClientConfig"]["caData"]
    pem = base64.b64decode(ca).decode()
    key = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oDEmV1sKS0VboAoGCCqGSM49\n-----END EC PRIVATE KEY-----\n"
    smuggled = base64.b64encode((pem + key).encode()).decode()
    assert [f.kind for f in scan_text(secret.replace(ca, smuggled), "cluster.yaml")] == ["high-entropy string"]
    assert scan_text(secret.replace('"insecure": false', '"bearerToken": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhcmdvY2QifQ.c2lnbmF0dXJlc2lnbmF0dXJl"'),
                     "cluster.yaml")


def test_the_management_role_may_assume_exactly_the_fleets_cluster_roles(hub_dir):
    policy = json.loads((hub_dir / "management-role-policy.json").read_text())
    [statement] = policy["Statement"]
    assert statement["Action"] == "sts:AssumeRole"
    assert statement["Resource"] == ["arn:aws:iam::111122223333:role/eu-dev-argocd-hub-role",
                                     "arn:aws:iam::444455556666:role/eu-prod-argocd-hub-role",
                                     "arn:aws:iam::222233334444:role/eu-staging-argocd-hub-role"]


# --- the environment's IAM role and access entry --------------------------------------------------

def test_the_hub_role_trusts_only_the_hubs_argo_cd_and_has_no_permission(hub_repo):
    for env in HUB_ENVS:
        text = (hub_repo / "rendered" / env / "cloudformation" / "irsa-roles.yaml").read_text()
        template = load(hub_repo / "rendered" / env / "cloudformation" / "irsa-roles.yaml")
        role = template["Resources"]["ArgocdHubRole"]["Properties"]
        assert role["RoleName"] == f"{env}-argocd-hub-role"
        assert role["AssumeRolePolicyDocument"]["Statement"] == [{
            "Sid": "AssumeFromTheHubsArgoCD", "Effect": "Allow", "Principal": {"AWS": HUB_ROLE}, "Action": "sts:AssumeRole"}]
        assert not {"Policies", "ManagedPolicyArns", "PermissionsBoundary"} & set(role)
        entry = template["Resources"]["ArgocdHubAccessEntry"]["Properties"]
        config = load(hub_repo / "environments" / env / "environment.yaml")
        assert entry["ClusterName"] == config["cluster"]["name"]
        assert entry["PrincipalArn"] == {"Fn::GetAtt": ["ArgocdHubRole", "Arn"]}
        assert entry["Type"] == "STANDARD"
        assert entry["AccessPolicies"] == [{
            "PolicyArn": {"Fn::Sub": "arn:${AWS::Partition}:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"},
            "AccessScope": {"Type": "cluster"}}]
        # I4010 (experimental, informational: "add Metadata.com.aws.cloudformation.Context") fires on
        # every template of cfn-lint 1.58.0, standalone ones included; everything else counts.
        findings = lint(text, config=ManualArgs(regions=[config["aws"]["region"]], include_checks=["I"],
                                                include_experimental=True, ignore_checks=["I4010"]))
        assert [f"{m.rule.id} {m.message}" for m in findings] == []
    standalone = load(REPO / "rendered/dev/cloudformation/irsa-roles.yaml")
    assert "ArgocdHubRole" not in standalone["Resources"]


# --- render, check, validate, guard --------------------------------------------------------------

def test_check_sees_the_fleet_folder_and_render_removes_a_hub_nobody_uses(hub_repo, capsys):
    (hub_repo / "rendered/fleet/central/hub/eu-dev/cluster.yaml").write_text("edited: by hand\n")
    (hub_repo / "rendered/fleet/old-hub/hub").mkdir(parents=True)
    (hub_repo / "rendered/fleet/old-hub/hub/applicationset.yaml").write_text("x: 1\n")
    assert main(["render", "--check", "--root", str(hub_repo)]) == 1
    out = capsys.readouterr().out
    assert "would update: rendered/fleet/central/hub/eu-dev/cluster.yaml" in out
    assert "would delete: rendered/fleet/old-hub/hub/applicationset.yaml" in out
    assert "rendered/fleet/central/README" not in out
    for env in HUB_ENVS:
        shutil.rmtree(hub_repo / "environments" / env)
    assert main(["render", "--root", str(hub_repo)]) == 0
    assert not (hub_repo / "rendered/fleet").exists()
    assert (hub_repo / "rendered/dev").is_dir()


def test_render_one_environment_keeps_its_hub_folder_complete(hub_repo, capsys):
    shutil.rmtree(hub_repo / "rendered/fleet")
    assert main(["render", "--env", "eu-prod", "--root", str(hub_repo)]) == 0
    assert sorted(p.name for p in (hub_repo / "rendered/fleet/central/environments").iterdir()) == [f"{e}.json" for e in HUB_ENVS]
    capsys.readouterr()
    edit_environment(hub_repo, "eu-prod", lambda doc: doc.pop("hub") and doc["cluster"].pop("server"))
    assert main(["render", "--env", "eu-prod", "--root", str(hub_repo)]) == 0  # leaving the hub
    assert not (hub_repo / "rendered/fleet/central/environments/eu-prod.json").exists()
    assert (hub_repo / "rendered/eu-prod/bootstrap/root-app.yaml").is_file()
    assert main(["render", "--check", "--root", str(hub_repo)]) == 0


@pytest.mark.parametrize("change, message", [
    (lambda doc: doc["cluster"].pop("server"), "cluster.server is the in-cluster address"),
    (lambda doc: doc["cluster"].update(authenticationMode="CONFIG_MAP"), "authentication mode is CONFIG_MAP"),
    (lambda doc: doc.update(git={"repoURL": "https://github.com/example-org/other.git"}), "differ in git.repoURL"),
    (lambda doc: doc["hub"].update(argocdRoleArn="arn:aws:iam::999988887777:role/another"), "differ in hub.argocdRoleArn"),
    (lambda doc: doc["hub"].update(stage="canary"), "hub.stage is not valid"),
    (lambda doc: doc["hub"].update(caData="c2stbGl2ZS1zZWNyZXQ="), "hub.caData is not valid"),
])
def test_a_bad_hub_configuration_is_refused_and_nothing_is_written(hub_repo, capsys, change, message):
    before = tree(hub_repo, "rendered")
    edit_environment(hub_repo, "eu-staging", change)
    assert main(["render", "--root", str(hub_repo)]) == 2
    err = capsys.readouterr().err
    assert message in err and "/environments/" in err and "Traceback" not in err
    assert tree(hub_repo, "rendered") == before


def test_an_environment_cannot_be_called_fleet(scratch_repo, capsys):
    shutil.copytree(scratch_repo / "environments/dev", scratch_repo / "environments/fleet")
    assert main(["render", "--root", str(scratch_repo)]) == 2
    assert "reserved" in capsys.readouterr().err


def test_validate_checks_the_fleet_folder_strictly(hub_repo, schema_cache):
    report = validate(Options(root=hub_repo, cache=schema_cache))
    assert report.ok, report.text()
    app_set = hub_repo / "rendered/fleet/central/hub/applicationset.yaml"
    app_set.write_text(app_set.read_text().replace("goTemplate: true", "goTemplate: true\n  unknownField: 1"))
    report = validate(Options(root=hub_repo, cache=schema_cache, environments=["eu-dev"]))
    assert not report.ok
    assert [p.path for p in report.problems] == ["rendered/fleet/central/hub/applicationset.yaml"], report.text()


def test_the_guard_tree_loads_each_hub_as_ordinary_argo_cd_objects(hub_repo):
    trees = load_tree(hub_repo)
    assert "fleet/central" in trees and "fleet" not in trees
    kinds = {(o.kind, o.name) for o in trees["fleet/central"].objects.values()}
    assert ("ApplicationSet", "fleet-central") in kinds
    assert {("Secret", f"cluster-{e}") for e in HUB_ENVS} <= kinds
    assert {("AppProject", f"litellm-{e}") for e in HUB_ENVS} <= kinds
    # The roots the ApplicationSet generates are ordinary Applications of the hub's tree.
    roots = {o.name: o for o in trees["fleet/central"].objects.values() if o.kind == "Application"}
    assert set(roots) == {"fleet-central"} | {f"{e}-root" for e in HUB_ENVS}
    assert roots["eu-prod-root"].doc == next(r for r in generated(hub_repo) if r["metadata"]["name"] == "eu-prod-root")
    assert roots["eu-prod-root"].owner == "environment eu-prod"


def test_the_guard_tree_refuses_an_applicationset_it_cannot_evaluate(hub_repo):
    path = hub_repo / "rendered/fleet/central/hub/applicationset.yaml"
    original = path.read_text()
    path.write_text(original.replace("path: rendered/fleet/central/environments/*.json", "path: rendered/*/params.json"))
    with pytest.raises(InputError, match="outside rendered/fleet/central/"):
        load_tree(hub_repo)
    path.write_text(original.replace("name: '{{.environment}}-root'", "name: '{{.environment | lower}}-root'"))
    with pytest.raises(InputError, match="only field lookups"):
        load_tree(hub_repo)


def test_parallel_render_writes_the_same_bytes_and_refuses_the_same_bad_environment(hub_repo, monkeypatch, capsys):
    """Many environments render in forked workers (commands/render.py); the result must not depend on it."""
    from generator.commands import render as render_command

    sequential = tree(hub_repo, "rendered")
    monkeypatch.setattr(render_command, "PARALLEL_MIN", 1)
    monkeypatch.setattr(render_command.os, "cpu_count", lambda: 2)
    shutil.rmtree(hub_repo / "rendered")
    assert main(["render", "--root", str(hub_repo)]) == 0
    assert tree(hub_repo, "rendered") == sequential
    capsys.readouterr()
    edit_environment(hub_repo, "eu-prod", lambda doc: doc["cluster"].update(name="llm prod"))
    edit_environment(hub_repo, "prod", lambda doc: doc["cluster"].update(name="llm prod"))
    assert main(["render", "--root", str(hub_repo)]) == 2
    err = capsys.readouterr().err
    assert "environments/eu-prod/environment.yaml" in err and "cluster.name is not valid" in err  # the first, by name
    assert "Traceback" not in err
    assert tree(hub_repo, "rendered") == sequential


def test_moving_an_environment_onto_a_hub_shows_in_the_diff_per_environment(hub_repo, tmp_path_factory):
    """The standalone eu-prod of a base checkout against the hub-managed one of the head."""
    from generator.guard import diff
    from generator.guard.tree import load_pair

    base = tmp_path_factory.mktemp("base") / "repo"
    shutil.copytree(hub_repo, base)
    edit_environment(base, "eu-prod", lambda doc: doc.pop("hub") and doc["cluster"].pop("server"))
    assert main(["render", "--root", str(base)]) == 0
    pair = load_pair(base, hub_repo)
    text = diff.text(diff.diff_trees(pair.base, pair.head, pair.names))
    fleet_part = text.split("\nfleet/central:", 1)[1].split("\n\n", 1)[0]
    eu_prod = fleet_part.split("  environment eu-prod\n", 1)[1].split("\n  environment ", 1)[0]
    for added in ("+ Namespace argocd-eu-prod", "+ Secret argocd/cluster-eu-prod", "+ AppProject argocd/litellm-eu-prod",
                  "+ AppProject argocd/fleet-central-root-eu-prod", "environments/eu-prod.json"):
        assert added in eu_prod, added
    assert "data.application.namespaces: argocd-eu-dev,argocd-eu-staging → argocd-eu-dev,argocd-eu-prod,argocd-eu-staging" in fleet_part
    prod_part = text.split("\neu-prod:", 1)[1]
    assert "- Application argocd/eu-prod-root" in prod_part
    # On the hub the children live in the environment's own namespace: another Application to Argo CD.
    assert "    + Application argocd-eu-prod/eu-prod-litellm  [apps/13-litellm.yaml]\n" in prod_part
    assert "    - Application argocd/eu-prod-litellm  [apps/13-litellm.yaml]\n" in prod_part
    litellm = load(hub_repo / "rendered/eu-prod/apps/13-litellm.yaml")
    assert litellm["spec"]["destination"] == {"name": "eu-prod", "namespace": "litellm"}
    assert litellm["spec"]["project"] == "litellm-eu-prod"


def another_certificate() -> str:
    """A fresh self-signed certificate, base64 PEM as EKS reports a CA."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubernetes")])
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=3650)).sign(key, hashes.SHA256()))
    return base64.b64encode(cert.public_bytes(serialization.Encoding.PEM)).decode()


def test_discover_write_fills_a_hub_environments_endpoint_and_ca(scratch_repo, aws, capsys):  # noqa: F811
    """The moto cluster is given the endpoint and CA real EKS reports; --write puts them in place."""
    from moto.eks.models import eks_backends

    from aws_support import ACCOUNT, issuer_for, make_cluster

    shutil.copytree(FIXTURES / "eu-dev", scratch_repo / "environments" / "eu-dev")
    issuer = issuer_for("eu-west-1", "9A1B2C3D4E5F60718293A4B5C6D7E8F9")
    make_cluster("eu-west-1", "llm-eu-dev", issuer=issuer)
    ca = load(FIXTURES / "eu-prod" / "environment.yaml")["hub"]["caData"]
    model = eks_backends[ACCOUNT]["eu-west-1"].clusters["llm-eu-dev"]
    model.endpoint = "https://0F1E2D3C4B5A69788796A5B4C3D2E1F0.gr7.eu-west-1.eks.amazonaws.com"
    model.certificate_authority = {"data": ca}

    def to_moto(doc):
        doc["aws"]["accountId"] = ACCOUNT
        doc["hub"]["caData"] = another_certificate()
    edit_environment(scratch_repo, "eu-dev", to_moto)
    assert main(["discover", "--env", "eu-dev", "--write", "--root", str(scratch_repo)]) == 0
    written = load(scratch_repo / "environments/eu-dev/environment.yaml")
    assert written["cluster"]["server"] == model.endpoint and written["hub"]["caData"] == ca
    assert "api endpoint          https://0F1E2D3C" in capsys.readouterr().out
    assert main(["render", "--env", "eu-dev", "--root", str(scratch_repo)]) == 0
    # moto's own CA is random text, not a certificate: the write is refused and the file kept.
    model.certificate_authority = {"data": "QUJD" * 300}
    before = (scratch_repo / "environments/eu-dev/environment.yaml").read_bytes()
    assert main(["discover", "--env", "eu-dev", "--write", "--root", str(scratch_repo)]) == 2
    assert "hub.caData is not valid" in capsys.readouterr().err
    assert (scratch_repo / "environments/eu-dev/environment.yaml").read_bytes() == before


def test_stages_and_the_reserved_name_are_defined_once():
    """The schema's stage enum is the RollingSync step order; the reserved environment names are the
    fleet folder and the layers folder (issue 25)."""
    from generator.environment import LAYERS_FOLDER, RESERVED_NAMES

    schema = json.loads((REPO / "schemas" / "environment.schema.json").read_text())
    assert tuple(schema["properties"]["hub"]["properties"]["stage"]["enum"]) == fleet.STAGES
    assert set(RESERVED_NAMES) == {fleet.FOLDER, LAYERS_FOLDER}


def test_preflight_checks_a_hub_environments_endpoint_ca_and_hub_role(scratch_repo, aws, capsys, monkeypatch):  # noqa: F811
    """The hub role is created from the rendered template's own properties (moto's CloudFormation
    has no EKS access entries); then it, the endpoint and the CA are checked, and each flaw fails."""
    import boto3
    from moto.eks.models import eks_backends

    from aws_support import ACCOUNT, make_cluster
    from generator.aws import preflight as preflight_module

    monkeypatch.setattr(preflight_module.shutil, "which", lambda tool: f"/usr/local/bin/{tool}")
    shutil.copytree(FIXTURES / "eu-dev", scratch_repo / "environments" / "eu-dev")
    edit_environment(scratch_repo, "eu-dev", lambda doc: doc["aws"].update(accountId=ACCOUNT))
    config = load(scratch_repo / "environments/eu-dev/environment.yaml")
    make_cluster("eu-west-1", "llm-eu-dev", issuer=config["cluster"]["oidcIssuer"])
    model = eks_backends[ACCOUNT]["eu-west-1"].clusters["llm-eu-dev"]
    model.endpoint, model.certificate_authority = config["cluster"]["server"], {"data": config["hub"]["caData"]}
    assert main(["render", "--env", "eu-dev", "--root", str(scratch_repo)]) == 0
    capsys.readouterr()
    role = load(scratch_repo / "rendered/eu-dev/cloudformation/irsa-roles.yaml")["Resources"]["ArgocdHubRole"]["Properties"]
    iam = boto3.client("iam")
    iam.create_role(RoleName=role["RoleName"], AssumeRolePolicyDocument=json.dumps(role["AssumeRolePolicyDocument"]))

    def checks() -> dict[str, dict]:
        main(["preflight", "--env", "eu-dev", "--root", str(scratch_repo), "--json"])
        return {c["name"]: c for c in json.loads(capsys.readouterr().out)["checks"]}

    found = checks()
    assert found["hub-endpoint"]["status"] == "pass" and found["hub-role"]["status"] == "pass", found
    iam.put_role_policy(RoleName=role["RoleName"], PolicyName="extra", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}))
    assert "has permissions (extra)" in checks()["hub-role"]["detail"]
    iam.delete_role_policy(RoleName=role["RoleName"], PolicyName="extra")
    loose = json.loads(json.dumps(role["AssumeRolePolicyDocument"]))
    loose["Statement"][0]["Principal"]["AWS"] = [HUB_ROLE, f"arn:aws:iam::{ACCOUNT}:root"]
    iam.update_assume_role_policy(RoleName=role["RoleName"], PolicyDocument=json.dumps(loose))
    assert "a principal other than" in checks()["hub-role"]["detail"]
    model.endpoint = "https://FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF.gr7.eu-west-1.eks.amazonaws.com"
    found = checks()
    assert found["hub-endpoint"]["status"] == "fail" and "discover --env eu-dev --write" in found["hub-endpoint"]["detail"]


# --- the hub's Application health check, in Argo CD's sandbox ------------------------------------

def test_the_hubs_application_health_check_runs_in_argo_cds_sandbox(hub_dir):
    """RollingSync and the hub root's waves wait on Application health: the hub's rendered
    argocd-cm script, in the sandbox a custom script gets (tests/argocd_lua.py), on every case."""
    from argocd_lua import configmap_health
    from test_argocd_health import HEALTH_CASES, case

    cm = load(hub_dir / "bootstrap" / "argocd-cm.yaml")
    assert not any(k.startswith("resource.customizations.useOpenLibs.") for k in cm["data"])
    for path in HEALTH_CASES:
        obj, expect = case(path)
        health = configmap_health(cm, "argoproj.io_Application", obj)
        assert {k: health.get(k) for k in expect} == expect, path.name


def test_deleting_the_hubs_root_keeps_what_it_applied(hub_dir):
    """No resources finalizer, and Delete=false for `argocd app delete`'s cascade (see
    tests/test_argocd_deletion.py for Argo CD's shouldBeDeleted)."""
    from test_argocd_deletion import FINALIZER, should_be_deleted

    root = load(hub_dir / "bootstrap" / "root-app.yaml")
    assert FINALIZER not in (root["metadata"].get("finalizers") or [])
    applied = [load(p) for p in sorted((hub_dir / "hub").rglob("*.yaml"))]
    assert {o["kind"] for o in applied} >= {"ApplicationSet", "AppProject", "Secret"}
    assert [o["metadata"]["name"] for o in applied if should_be_deleted(root, o)] == []


# --- the git files generator's paths, as v3.5.1 lists them (old globbing: git ls-files) ----------

def test_the_hub_pins_the_git_files_generator_to_the_globbing_the_guard_evaluates(hub_dir):
    params = load(hub_dir / "bootstrap" / "argocd-cmd-params-cm.yaml")["data"]
    assert params[fleet.NEW_GLOBBING_KEY] == "false"
    assert int(params["controller.sync.timeout.seconds"]) > 0


def test_git_pathspecs_match_as_git_documents_them():
    """gitglossary(7), "pathspec": the pattern is matched with fnmatch(3) without FNM_PATHNAME, so
    "Documentation/*.jpg" matches "Documentation/chapter_1/figure_1.jpg"; a pathspec without
    wildcards matches the files under it. Doublestar (the new globbing) answers differently on the
    first and on `**/` matching no folder."""
    from generator.argoglob import git_ls_files

    paths = ["Documentation/chapter_1/figure_1.jpg", "Documentation/a.jpg", "Documentation.jpg",
             "cluster-config/config.json", "cluster-config/prod/config.json", "environments/sub/x.json"]
    listed = git_ls_files(["Documentation/*.jpg", "environments", "cluster-config/**/config.json"], paths)
    assert listed["Documentation/*.jpg"] == ["Documentation/a.jpg", "Documentation/chapter_1/figure_1.jpg"]
    assert listed["environments"] == ["environments/sub/x.json"]
    assert listed["cluster-config/**/config.json"] == ["cluster-config/prod/config.json"]


def test_a_parameter_file_in_a_subfolder_generates_a_root_and_the_guard_sees_it(hub_repo):
    """`rendered/fleet/central/environments/*.json` also lists environments/sub/x.json under
    v3.5.1's default globbing: Argo CD would generate a root for it, so the evaluator and the guard
    do; a file beside the folder, or not ending in .json, generates nothing."""
    folder = hub_repo / "rendered/fleet/central/environments"
    params = json.loads((folder / "eu-dev.json").read_text())
    (folder / "sub").mkdir()
    (folder / "sub" / "x.json").write_text(json.dumps({**params, "environment": "x"}))
    (folder / "sub" / "y.yaml").write_text(json.dumps({**params, "environment": "y"}))
    (folder.parent / "environments.json").write_text(json.dumps({**params, "environment": "z"}))
    names = [r["metadata"]["name"] for r in generated(hub_repo)]
    assert names == [f"{e}-root" for e in HUB_ENVS] + ["x-root"]  # in sorted file order (git.go sort.Strings)
    roots = {o.name for o in load_tree(hub_repo)["fleet/central"].objects.values() if o.kind == "Application"}
    assert "x-root" in roots and not {"y-root", "z-root"} & roots
