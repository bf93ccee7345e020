"""The guard over the real rendered output: the environments in environments/ rendered by the
generator, then edited, or rendered again after a change to an environment or to the generator.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Callable

import pytest

from generator.environment import Environment, environment_names, load_environment
from generator.guard.tree import load_tree
from generator.render import render_environment
from test_guard import SALT_ROUTES, _set, approve_many, assert_needs_two_approvals, categories, guard
from guard_build import ENV, Rendered

REPO_ROOT = Path(__file__).resolve().parent.parent


def _environments() -> list[Environment]:
    root = REPO_ROOT / "environments"
    return [load_environment(root, name) for name in environment_names(root)]


def render_all(change: Callable[[Environment], Environment] | None = None) -> Rendered:
    envs = _environments()
    return Rendered.from_files({e.name: render_environment(change(e) if change else e).files for e in envs})


@pytest.fixture(scope="module")
def real() -> Rendered:
    rendered = render_all()
    prod = rendered.envs[ENV]
    assert any(p.startswith("cloudformation/") for p in prod), "rendered/prod has no cloudformation/"
    assert any(isinstance(d, dict) and d.get("kind") == "ExternalSecret" for d in prod.values()), \
        "rendered/prod has no ExternalSecrets"
    return rendered


def test_the_real_tree_against_itself_is_allowed(real: Rendered, tmp_path: Path) -> None:
    code, report = guard(tmp_path, real, real.copy())
    assert code == 0 and report["findings"] == []
    assert set(report["environments"]) >= {"dev", "prod"}


def test_the_guard_parses_every_committed_rendered_file() -> None:
    """Identical environments are skipped unparsed, and `real` went through yaml.safe_load: the
    strict loader (duplicate keys, CloudFormation tags) must accept the generator's own bytes."""
    tree = load_tree(REPO_ROOT)
    assert set(tree) >= {"dev", "prod"} and all(env.objects for env in tree.values())


@pytest.mark.parametrize("route", sorted(SALT_ROUTES))
def test_salt_key_routes_blocked_on_real_output(route: str, real: Rendered, tmp_path: Path, github) -> None:
    approve_many(github, 4)
    code, report = guard(tmp_path, real, real.edit(SALT_ROUTES[route]))
    assert code == 1, report
    assert "salt-key" in categories(report)


def _deploy_manifest(t: Rendered) -> dict[str, Any]:
    return next(c for p, c in t.envs[ENV].items() if p.startswith("cloudformation/") and isinstance(c, dict) and "stacks" in c)


def _stack_of(t: Rendered, logical_id: str) -> dict[str, Any]:
    path = next(p for p, c in t.envs[ENV].items() if isinstance(c, dict) and logical_id in (c.get("Resources") or {}))
    return next(s for s in _deploy_manifest(t)["stacks"] if path.endswith("/" + s["template"]))


def test_moving_the_salt_secret_to_another_stack_or_region_is_blocked(real: Rendered, tmp_path: Path) -> None:
    for change in (lambda t: _set(_stack_of(t, t.cfn_secret("LITELLM_SALT_KEY")[0]), "name", "litellm-prod-secrets-v2"),
                   lambda t: _set(_deploy_manifest(t), "region", "us-east-1")):
        code, report = guard(tmp_path, real, real.edit(change))
        assert code == 1 and "salt-key" in categories(report), report
        assert any(f["field"].startswith("Deployment.") for f in report["findings"])


REAL_GATED: dict[str, tuple[str, Callable[[Rendered], Any]]] = {
    "master key version": ("master-key", lambda t: _set(t.entry("LITELLM_MASTER_KEY")["remoteRef"], "version", "AWSPREVIOUS")),
    "master key sk- template": ("master-key", lambda t: _set(
        t.obj("ExternalSecret", "litellm-secrets")["spec"]["target"]["template"]["data"], "LITELLM_MASTER_KEY",
        "{{ .LITELLM_MASTER_KEY }}")),
    "master key CFN name": ("master-key", lambda t: _set(t.cfn_secret("LITELLM_MASTER_KEY")[1]["Properties"], "Name", "x/master")),
    "database URL key": ("database-url", lambda t: _set(t.entry("DATABASE_URL")["remoteRef"], "key", "prod/other-db")),
    "database URL CFN deletion policy": ("database-url", lambda t: _set(t.cfn_secret("DATABASE_URL")[1], "DeletionPolicy", "Delete")),
    "bastion AMI": ("bastion", lambda t: [p.__setitem__(i, "AmiId=ami-0ffffffffffffffff")
                                          for p in [t.parameters_file("bastion")[1]] for i, v in enumerate(p) if v.startswith("AmiId=")]),
    "bastion subnet": ("bastion", lambda t: [p.__setitem__(i, "SubnetId=subnet-0ffffffffffffffff")
                                             for p in [t.parameters_file("bastion")[1]] for i, v in enumerate(p) if v.startswith("SubnetId=")]),
    "bastion security group replaced": ("bastion", lambda t: _set(
        t.resource("BastionSecurityGroup")["Properties"], "GroupDescription", "renamed group")),
    "bastion launch template": ("bastion", lambda t: _set(
        t.resource("BastionLaunchTemplate")["Properties"]["LaunchTemplateData"]["MetadataOptions"], "HttpPutResponseHopLimit", 2)),
    "bastion removed": ("bastion", lambda t: t.instance()[2]["Resources"].pop(t.instance()[0])),
}


@pytest.mark.parametrize("name", sorted(REAL_GATED))
def test_gated_changes_on_real_output(name: str, real: Rendered, tmp_path: Path, github) -> None:
    category, change = REAL_GATED[name]
    # The bastion's launch template and security group are not on the allowlist either.
    assert_needs_two_approvals(tmp_path, github, real, real.edit(change), category, frozenset({"unlisted"}))


def test_bastion_user_data_and_instance_type_are_allowed(real: Rendered, tmp_path: Path) -> None:
    def change(t: Rendered) -> None:
        props = t.instance()[1]["Properties"]
        props["UserData"] = {"Fn::Base64": "#!/bin/bash\necho changed\n"}
        params = t.parameters_file("bastion")[1]
        params[:] = [("InstanceType=t3.medium" if v.startswith("InstanceType=") else v) for v in params]
    code, report = guard(tmp_path, real, real.edit(change))
    assert code == 0, report


def _with_config(env: Environment, edit: Callable[[dict[str, Any]], Any]) -> Environment:
    if env.name != ENV:
        return env
    config = copy.deepcopy(env.config)
    edit(config)
    return Environment(env.name, config, env.source)


def test_environment_edit_renaming_the_salt_secret_is_blocked(real: Rendered, tmp_path: Path) -> None:
    head = render_all(lambda e: _with_config(e, lambda c: c["secrets"]["names"].__setitem__("saltKey", "litellm/salt-key-v2")))
    code, report = guard(tmp_path, real, head)
    assert code == 1 and "salt-key" in categories(report) and categories(report) <= {"salt-key", "unlisted"}
    fields = {(f["object"].split(" ")[0], f["field"]) for f in report["findings"]}
    assert ("ExternalSecret", "spec.data[secretKey=LITELLM_SALT_KEY].remoteRef.key") in fields
    assert ("CloudFormation", "Properties.Name") in fields


def test_environment_edit_disabling_the_bastion_needs_two_approvals(real: Rendered, tmp_path: Path) -> None:
    head = render_all(lambda e: _with_config(e, lambda c: c["components"]["bastion"].__setitem__("state", "disabled")))
    code, report = guard(tmp_path, real, head)
    assert code == 1 and categories(report) == {"bastion", "unlisted"}
    assert [f["field"] for f in report["findings"] if f["category"] == "bastion"] == ["(whole object)"]


def test_generator_change_is_caught_like_an_environment_edit(real: Rendered, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from generator.components import aws_secrets
    monkeypatch.setattr(aws_secrets, "DEFAULT_LENGTH", aws_secrets.DEFAULT_LENGTH + 16)
    code, report = guard(tmp_path, real, render_all())
    assert code == 1 and "salt-key" in categories(report)
    assert any(f["field"] == "Properties.GenerateSecretString.PasswordLength" for f in report["findings"])


def test_chart_bump_and_replicas_are_allowed(real: Rendered, tmp_path: Path) -> None:
    head = render_all(lambda e: _with_config(e, lambda c: c["components"]["litellm"].__setitem__("replicas", 6)))
    code, report = guard(tmp_path, real, head)
    assert code == 0, report
