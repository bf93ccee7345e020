"""The guard against a fake GitHub: every salt-key route is blocked whatever the approvals, the
master key, database URL and bastion need two valid approvals on the head commit, everything else
passes, GitHub failures refuse, bad input exits 2, and no secret value is ever printed."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any, Callable

import pytest

from generator.cli import main
from generator.guard.tree import load_tree
from github_fake import AUTHOR, HEAD_SHA, OLD_SHA, PR_NUMBER, REPO, Server, event_payload
from guard_build import ENV, Rendered

SECRET_LITERAL = "Zq8vN2xL5pR7tK1mW4yB9cF3hJ6dG0sA"


def run_cli(*argv: Any) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def guard(tmp_path: Path, base: Rendered, head: Rendered, *extra: Any) -> tuple[int, dict[str, Any]]:
    b, h = base.write(tmp_path / "base"), head.write(tmp_path / "head")
    code, out, _ = run_cli("guard", "--base", b, "--head", h, "--json", *extra)
    return code, json.loads(out)


def categories(report: dict[str, Any]) -> set[str]:
    return {f["category"] for f in report["findings"]}


def approve_many(gh, n: int = 5) -> None:
    for i in range(n):
        gh.review(f"reviewer{i}")


def assert_needs_two_approvals(tmp_path: Path, github, base: Rendered, head: Rendered, category: str,
                               also: frozenset[str] = frozenset()) -> None:
    """Refused for `category` (and at most the approval-gated categories `also`), still refused
    with one approval, allowed with two."""
    code, report = guard(tmp_path, base, head)
    assert code == 1 and category in categories(report) and categories(report) <= {category} | also, report
    github.review("bob")
    assert guard(tmp_path, base, head)[0] == 1
    github.review("carol")
    code, report = guard(tmp_path, base, head)
    assert code == 0, report


# --- salt key: blocked whatever the approvals -------------------------------------------------

def _set(mapping: dict, key: str, value: Any) -> None:
    mapping[key] = value


SALT_ROUTES: dict[str, Callable[[Rendered], Any]] = {
    "remote key": lambda t: _set(t.entry("LITELLM_SALT_KEY")["remoteRef"], "key", "prod/litellm/salt-key-v2"),
    "remote property": lambda t: _set(t.entry("LITELLM_SALT_KEY")["remoteRef"], "property", "value"),
    "remote version": lambda t: _set(t.entry("LITELLM_SALT_KEY")["remoteRef"], "version", "AWSPREVIOUS"),
    "decoding strategy": lambda t: _set(t.entry("LITELLM_SALT_KEY")["remoteRef"], "decodingStrategy", "Base64"),
    "entry removed": lambda t: t.obj("ExternalSecret", "litellm-secrets")["spec"].__setitem__(
        "data", [d for d in t.obj("ExternalSecret", "litellm-secrets")["spec"]["data"] if d["secretKey"] != "LITELLM_SALT_KEY"]),
    "entry reads another store": lambda t: _set(t.entry("LITELLM_SALT_KEY"), "sourceRef",
                                               {"storeRef": {"kind": "ClusterSecretStore", "name": "other-store"}}),
    "ExternalSecret store": lambda t: _set(t.obj("ExternalSecret", "litellm-secrets")["spec"], "secretStoreRef",
                                           {"kind": "SecretStore", "name": "local"}),
    "template": lambda t: _set(t.obj("ExternalSecret", "litellm-secrets")["spec"]["target"]["template"]["data"],
                               "LITELLM_SALT_KEY", "salt-{{ .LITELLM_SALT_KEY }}"),
    "template engine": lambda t: _set(t.obj("ExternalSecret", "litellm-secrets")["spec"]["target"]["template"],
                                      "engineVersion", "v1"),
    "dataFrom added": lambda t: _set(t.obj("ExternalSecret", "litellm-secrets")["spec"], "dataFrom",
                                     [{"extract": {"key": "prod/litellm/everything"}}]),
    "ExternalSecret removed": lambda t: t.remove("ExternalSecret", "litellm-secrets"),
    "second ExternalSecret maps it": lambda t: t.add("manifests/secret-store/zz.yaml", {
        "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret", "metadata": {"name": "sneaky", "namespace": "litellm"},
        "spec": {"secretStoreRef": {"kind": "ClusterSecretStore", "name": "aws-secrets-manager"},
                 "target": {"name": "litellm-secrets", "creationPolicy": "Merge"},
                 "data": [{"secretKey": "LITELLM_SALT_KEY", "remoteRef": {"key": "prod/other/salt"}}]}}),
    "store region": lambda t: _set(t.obj("ClusterSecretStore", "aws-secrets-manager")["spec"]["provider"]["aws"],
                                   "region", "us-east-1"),
    "store provider": lambda t: _set(t.obj("ClusterSecretStore", "aws-secrets-manager")["spec"]["provider"]["aws"],
                                     "service", "ParameterStore"),
    "store authentication": lambda t: _set(t.obj("ClusterSecretStore", "aws-secrets-manager")["spec"]["provider"]["aws"],
                                           "auth", {"jwt": {"serviceAccountRef": {"name": "other", "namespace": "litellm"}}}),
    "store role": lambda t: _set(t.obj("ClusterSecretStore", "aws-secrets-manager")["spec"]["provider"]["aws"],
                                 "role", "arn:aws:iam::999999999999:role/elsewhere"),
    "store removed": lambda t: t.remove("ClusterSecretStore", "aws-secrets-manager"),
    "store identity (IRSA role)": lambda t: _set(t.values("external-secrets")["serviceAccount"]["annotations"],
                                                 "eks.amazonaws.com/role-arn", "arn:aws:iam::999999999999:role/x"),
    "CFN name": lambda t: _set(t.cfn_secret("LITELLM_SALT_KEY")[1]["Properties"], "Name", "prod/litellm/salt-key-2"),
    "CFN generation": lambda t: _set(t.cfn_secret("LITELLM_SALT_KEY")[1]["Properties"]["GenerateSecretString"],
                                     "PasswordLength", 64),
    "CFN literal value": lambda t: _set(t.cfn_secret("LITELLM_SALT_KEY")[1]["Properties"], "SecretString", SECRET_LITERAL),
    "CFN deletion policy": lambda t: _set(t.cfn_secret("LITELLM_SALT_KEY")[1], "DeletionPolicy", "Delete"),
    "CFN replace policy": lambda t: t.cfn_secret("LITELLM_SALT_KEY")[1].pop("UpdateReplacePolicy"),
    "CFN logical id": lambda t: (lambda lid, tpl: tpl["Resources"].__setitem__("SaltKeyV2", tpl["Resources"].pop(lid)))(
        t.cfn_secret("LITELLM_SALT_KEY")[0], t.template_of(t.cfn_secret("LITELLM_SALT_KEY")[0])),
    "CFN removed": lambda t: t.template_of(t.cfn_secret("LITELLM_SALT_KEY")[0])["Resources"].pop(t.cfn_secret("LITELLM_SALT_KEY")[0]),
    "values envVars literal": lambda t: _set(t.values("litellm").setdefault("envVars", {}), "LITELLM_SALT_KEY", SECRET_LITERAL),
    "values extraEnvVars item": lambda t: t.values("litellm").setdefault("extraEnvVars", []).append(
        {"name": "LITELLM_SALT_KEY", "value": SECRET_LITERAL}),
    "values envFrom sources": lambda t: t.values("litellm")["environmentSecrets"].append("attacker-secret"),
    "Application inline parameter": lambda t: t.obj("Application", "prod-litellm")["spec"]["sources"][0]["helm"].__setitem__(
        "parameters", [{"name": "envVars.LITELLM_SALT_KEY", "value": SECRET_LITERAL}]),
    "ConfigMap with the variable": lambda t: t.add("manifests/secret-store/cm.yaml", {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "env", "namespace": "litellm"},
        "data": {"LITELLM_SALT_KEY": SECRET_LITERAL}}),
    "environment removed": lambda t: t.envs.pop(ENV),
    "ClusterExternalSecret maps it": lambda t: t.add("manifests/secret-store/zz.yaml", {
        "apiVersion": "external-secrets.io/v1", "kind": "ClusterExternalSecret", "metadata": {"name": "everywhere"},
        "spec": {"namespaceSelectors": [{"matchLabels": {"kubernetes.io/metadata.name": "litellm"}}],
                 "externalSecretSpec": {"secretStoreRef": {"kind": "ClusterSecretStore", "name": "aws-secrets-manager"},
                                        "target": {"name": "litellm-secrets", "creationPolicy": "Merge"},
                                        "data": [{"secretKey": "LITELLM_SALT_KEY", "remoteRef": {"key": "elsewhere"}}]}}}),
    "PushSecret overwrites it": lambda t: t.add("manifests/secret-store/push.yaml", {
        "apiVersion": "external-secrets.io/v1alpha1", "kind": "PushSecret", "metadata": {"name": "push", "namespace": "litellm"},
        "spec": {"secretStoreRefs": [{"kind": "ClusterSecretStore", "name": "aws-secrets-manager"}],
                 "selector": {"secret": {"name": "mine"}},
                 "data": [{"match": {"secretKey": "k", "remoteRef": {"remoteKey": "prod/litellm/salt-key"}}}]}}),
    "CFN rotation schedule": lambda t: t.template_of(t.cfn_secret("LITELLM_SALT_KEY")[0])["Resources"].__setitem__(
        "SaltRotation", {"Type": "AWS::SecretsManager::RotationSchedule", "Properties": {
            "SecretId": {"Ref": t.cfn_secret("LITELLM_SALT_KEY")[0]}, "RotationRules": {"AutomaticallyAfterDays": 30}}}),
}


@pytest.mark.parametrize("route", sorted(SALT_ROUTES))
def test_salt_key_routes_are_blocked_even_with_many_approvals(route: str, tmp_path: Path, github) -> None:
    approve_many(github)
    base = Rendered.minimal()
    code, report = guard(tmp_path, base, base.edit(SALT_ROUTES[route]))
    assert code == 1, report
    assert report["verdict"] == "refused"
    assert "salt-key" in categories(report)
    salt = [f for f in report["findings"] if f["category"] == "salt-key"]
    assert all(f["environment"] == ENV and f["object"] and f["field"] for f in salt)
    assert not any(r.startswith("GET") for r in github.paths), "a blocked change must not need GitHub"
    assert SECRET_LITERAL not in json.dumps(report)


def test_a_finding_names_environment_object_field_and_before_after(tmp_path: Path) -> None:
    base = Rendered.minimal()
    code, report = guard(tmp_path, base, base.edit(SALT_ROUTES["remote version"]))
    assert code == 1
    [finding] = report["findings"]
    assert finding == {
        "category": "salt-key", "policy": "blocked", "environment": "prod",
        "object": "ExternalSecret litellm/litellm-secrets",
        "field": "spec.data[secretKey=LITELLM_SALT_KEY].remoteRef.version",
        "before": "(absent)", "after": "AWSPREVIOUS", "file": "manifests/secret-store/one.yaml"}


def test_store_change_is_a_salt_key_block_once(tmp_path: Path) -> None:
    base = Rendered.minimal()
    code, report = guard(tmp_path, base, base.edit(SALT_ROUTES["store region"]))
    assert code == 1
    assert [(f["category"], f["field"], f["before"], f["after"]) for f in report["findings"]] == [
        ("salt-key", "spec.provider.aws.region", "eu-west-1", "us-east-1")]


def test_literal_values_are_never_printed(tmp_path: Path) -> None:
    base = Rendered.minimal()
    head = base.edit(SALT_ROUTES["values envVars literal"])
    head.values("litellm")["envVars"]["DATABASE_URL"] = "postgresql://litellm:hunter2pw@db.internal:5432/litellm"
    b, h = base.write(tmp_path / "b"), head.write(tmp_path / "h")
    md = tmp_path / "guard.md"
    for args in (("--json",), ("--markdown", md), ()):
        code, out, err = run_cli("guard", "--base", b, "--head", h, *args)
        assert code == 1
        for text in (out, err, md.read_text() if md.exists() else ""):
            assert SECRET_LITERAL not in text and "hunter2pw" not in text
    assert "(redacted)" in out


# --- two approvals: master key, database URL --------------------------------------------------

TWO_APPROVAL_CHANGES: dict[str, Callable[[Rendered], Any]] = {
    "master-key": lambda t: _set(t.entry("masterKey")["remoteRef"], "version", "AWSPREVIOUS"),
    "database-url": lambda t: _set(t.entry("DATABASE_URL")["remoteRef"], "key", "prod/litellm/database-url-replica"),
}
MORE_TWO_APPROVAL_CHANGES: dict[str, tuple[str, Callable[[Rendered], Any]]] = {
    "master key template prefix": ("master-key", lambda t: _set(
        t.obj("ExternalSecret", "litellm-secrets")["spec"]["target"]["template"]["data"], "LITELLM_MASTER_KEY", "{{ .masterKey }}")),
    "master key generation": ("master-key", lambda t: _set(
        t.cfn_secret("masterKey")[1]["Properties"]["GenerateSecretString"], "PasswordLength", 32)),
    "master key in values": ("master-key", lambda t: _set(t.values("litellm"), "masterkey", SECRET_LITERAL)),
    "master key config": ("master-key", lambda t: _set(
        t.values("litellm")["proxy_config"]["general_settings"], "master_key", "os.environ/OTHER")),
    "database URL CFN removed": ("database-url", lambda t: t.template_of("DatabaseUrlSecret")["Resources"].pop("DatabaseUrlSecret")),
    "database URL chart db": ("database-url", lambda t: _set(t.values("litellm")["db"], "deployStandalone", True)),
    "database URL in env": ("database-url", lambda t: _set(t.values("litellm")["envVars"], "DATABASE_URL",
                                                            "postgresql://u:p4ssw0rd@elsewhere/db")),
}


@pytest.mark.parametrize("name", sorted(MORE_TWO_APPROVAL_CHANGES))
def test_more_two_approval_routes(name: str, tmp_path: Path, github) -> None:
    category, change = MORE_TWO_APPROVAL_CHANGES[name]
    base = Rendered.minimal()
    assert_needs_two_approvals(tmp_path, github, base, base.edit(change), category)


# Reviews under which a two-approval change is still refused, as FakeGitHub.review() takes them.
REFUSED_SCENARIOS: dict[str, list[dict[str, str]]] = {
    "none": [],
    "one": [{"login": "bob"}],
    "author's own": [{"login": AUTHOR}, {"login": "bob"}],
    "author's own, other case": [{"login": AUTHOR.upper()}, {"login": "bob"}],
    "older commit": [{"login": "bob"}, {"login": "carol", "commit": OLD_SHA}],
    "then changes requested": [{"login": "bob"}, {"login": "carol"}, {"login": "carol", "state": "CHANGES_REQUESTED"}],
    "dismissed": [{"login": "bob"}, {"login": "carol", "state": "DISMISSED"}],
    "a bot": [{"login": "bob"}, {"login": "helper[bot]", "user_type": "Bot"}],
    "commented only": [{"login": "bob"}, {"login": "carol", "state": "COMMENTED"}],
    "pending": [{"login": "bob"}, {"login": "carol", "state": "PENDING"}],
}


@pytest.mark.parametrize("category", sorted(TWO_APPROVAL_CHANGES))
@pytest.mark.parametrize("scenario", REFUSED_SCENARIOS)
def test_two_approval_changes_refused_without_two_valid_approvals(category: str, scenario: str, tmp_path: Path, github) -> None:
    for review in REFUSED_SCENARIOS[scenario]:
        github.review(**review)
    base = Rendered.minimal()
    code, report = guard(tmp_path, base, base.edit(TWO_APPROVAL_CHANGES[category]))
    assert code == 1, report
    assert categories(report) == {category}
    assert len(report["approvals"]["valid"]) < 2
    assert report["pull_request"] == {"repo": REPO, "number": PR_NUMBER, "author": AUTHOR, "head_sha": HEAD_SHA}
    assert f"GET /repos/{REPO}/pulls/{PR_NUMBER}/reviews" in github.paths
    assert all(auth == "Bearer test-token" for _, _, auth in github.requests)


@pytest.mark.parametrize("category", sorted(TWO_APPROVAL_CHANGES))
def test_two_approval_changes_allowed_with_two_valid_approvals(category: str, tmp_path: Path, github) -> None:
    github.review("bob", "CHANGES_REQUESTED")
    github.review("bob")  # changed their mind: the latest state-changing review counts
    github.review("carol", commit=OLD_SHA)
    github.review("carol")  # re-approved on the head commit
    github.review("carol", "COMMENTED")  # a comment does not cancel it
    base = Rendered.minimal()
    code, report = guard(tmp_path, base, base.edit(TWO_APPROVAL_CHANGES[category]))
    assert code == 0, report
    assert report["approvals"]["valid"] == ["bob", "carol"]


def test_approvals_on_the_second_page_count(tmp_path: Path, github) -> None:
    github.page_size = 3
    for i in range(7):
        github.review(f"commenter{i}", "COMMENTED")
    github.review("bob")
    github.review("carol")
    base = Rendered.minimal()
    code, report = guard(tmp_path, base, base.edit(TWO_APPROVAL_CHANGES["master-key"]))
    assert code == 0, report
    assert sum(1 for p in github.paths if p.endswith("/reviews")) == 3


def test_a_cancellation_on_a_later_page_wins(tmp_path: Path, github) -> None:
    github.page_size = 2
    github.review("bob")
    github.review("carol")
    github.review("dave", "COMMENTED")
    github.review("carol", "DISMISSED")
    base = Rendered.minimal()
    code, report = guard(tmp_path, base, base.edit(TWO_APPROVAL_CHANGES["database-url"]))
    assert code == 1
    assert report["approvals"]["valid"] == ["bob"]


def test_pr_from_flags_is_fetched(tmp_path: Path, github, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_EVENT_PATH")
    github.review("bob")
    github.review("carol")
    base = Rendered.minimal()
    code, report = guard(tmp_path, base, base.edit(TWO_APPROVAL_CHANGES["master-key"]), "--repo", REPO, "--pr", PR_NUMBER)
    assert code == 0, report
    assert github.paths[0] == f"GET /repos/{REPO}/pulls/{PR_NUMBER}"


def test_pull_request_review_event_payload(tmp_path: Path, github, monkeypatch: pytest.MonkeyPatch) -> None:
    event = tmp_path / "review-event.json"
    payload = event_payload(action="submitted") | {"review": {"state": "approved", "user": {"login": "carol"}}}
    event.write_text(json.dumps(payload))
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
    github.review("bob")
    github.review("carol")
    base = Rendered.minimal()
    code, _ = guard(tmp_path, base, base.edit(TWO_APPROVAL_CHANGES["master-key"]))
    assert code == 0


def test_no_pull_request_context_refuses(tmp_path: Path) -> None:
    base = Rendered.minimal()
    code, report = guard(tmp_path, base, base.edit(TWO_APPROVAL_CHANGES["master-key"]))
    assert code == 1
    assert "no pull request" in " ".join(report["reasons"])


# --- bastion ----------------------------------------------------------------------------------

def _instance_props(t: Rendered) -> dict[str, Any]:
    return t.instance()[1]["Properties"]


BASTION_CHANGES: dict[str, Callable[[Rendered], Any]] = {
    "new image literal": lambda t: _set(_instance_props(t), "ImageId", "ami-0fedcba9876543210"),
    "AMI parameter default (SSM path)": lambda t: _set(t.instance()[2]["Parameters"]["LatestAmiId"], "Default",
                                                       "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"),
    "AMI parameter type": lambda t: _set(t.instance()[2]["Parameters"]["LatestAmiId"], "Type", "AWS::EC2::Image::Id"),
    "subnet parameter value": lambda t: t.parameters_file("host")[1][0].__setitem__("ParameterValue", "subnet-0fffffffffffffff0"),
    "availability zone": lambda t: _set(_instance_props(t), "AvailabilityZone", "eu-west-1b"),
    "key pair": lambda t: _set(_instance_props(t), "KeyName", "ops"),
    "network interfaces": lambda t: _set(_instance_props(t), "NetworkInterfaces", [{"DeviceIndex": "0", "SubnetId": "subnet-1"}]),
    "launch template data": lambda t: _set(t.resource("HostTemplate")["Properties"]["LaunchTemplateData"], "ImageId", "ami-1"),
    "launch template version": lambda t: _set(_instance_props(t)["LaunchTemplate"], "Version", "3"),
    "new logical id": lambda t: (lambda lid, tpl: tpl["Resources"].__setitem__("Bastion2", tpl["Resources"].pop(lid)))(
        t.instance()[0], t.instance()[2]),
    "removed": lambda t: t.instance()[2]["Resources"].pop(t.instance()[0]),
    "whole stack removed": lambda t: t.envs[ENV].pop(next(p for p, c in t.envs[ENV].items()
                                                          if isinstance(c, dict) and "BastionInstance" in c.get("Resources", {}))),
}


@pytest.mark.parametrize("name", sorted(BASTION_CHANGES))
def test_bastion_replacement_or_removal_needs_two_approvals(name: str, tmp_path: Path, github) -> None:
    base = Rendered.minimal()
    # The launch template and security group the instance refers to are not on the allowlist either.
    assert_needs_two_approvals(tmp_path, github, base, base.edit(BASTION_CHANGES[name]), "bastion", frozenset({"unlisted"}))


UNRELATED: dict[str, Callable[[Rendered], Any]] = {
    "replicas": lambda t: _set(t.values("litellm"), "replicaCount", 4),
    "refresh interval": lambda t: _set(t.obj("ExternalSecret", "litellm-secrets")["spec"], "refreshInterval", "5m"),
    "redis password entry": lambda t: _set(t.entry("REDIS_PASSWORD")["remoteRef"], "version", "AWSPREVIOUS"),
    "store conditions": lambda t: t.obj("ClusterSecretStore", "aws-secrets-manager")["spec"]["conditions"][0]["namespaces"].append("monitoring"),
    "explicit defaults": lambda t: _set(t.entry("LITELLM_SALT_KEY")["remoteRef"], "metadataPolicy", "None"),
    "secret description and tags": lambda t: _set(t.cfn_secret("LITELLM_SALT_KEY")[1]["Properties"], "Description", "new words"),
    "bastion instance type": lambda t: _set(t.instance()[2]["Parameters"]["InstanceType"], "Default", "t3.medium"),
    "bastion user data": lambda t: _set(_instance_props(t), "UserData", {"Fn::Base64": "#!/bin/bash\necho bye\n"}),
    "otel env var": lambda t: _set(t.values("litellm")["envVars"], "OTEL_SERVICE_NAME", "gateway"),
    "new environment": lambda t: t.envs.__setitem__("staging", Rendered.minimal("staging").envs["staging"]),
    "file renamed": lambda t: t.envs[ENV].__setitem__("manifests/secret-store/renamed.yaml",
                                                      t.envs[ENV].pop("manifests/secret-store/one.yaml")),
}


# Not on the allowlist, nowhere near LiteLLM's inputs: two approvals, never blocked.
UNLISTED_CHANGES: dict[str, Callable[[Rendered], Any]] = {
    "bastion security group egress": lambda t: t.resource("HostSecurityGroup")["Properties"]["SecurityGroupEgress"].append(
        {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "CidrIp": "0.0.0.0/0"}),
    # SecurityGroupIds updates in place: a replaced group does not replace the instance.
    "bastion security group replaced": lambda t: _set(t.resource("HostSecurityGroup")["Properties"], "GroupDescription", "new"),
    # Read-only: it cannot write the salt key's secret (a policy that can is blocked: test_guard_allowlist.py).
    "IRSA policy reading the secret ARN": lambda t: t.template_of(t.cfn_secret("LITELLM_SALT_KEY")[0])["Resources"].__setitem__(
        "ReaderPolicy", {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument": {"Statement": [
            {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
             "Resource": {"Fn::Sub": "arn:${AWS::Partition}:secretsmanager:eu-west-1:1:secret:prod/litellm/salt-key-??????"}}]}}}),
}


@pytest.mark.parametrize("name", sorted(UNLISTED_CHANGES))
def test_unlisted_changes_need_two_approvals(name: str, tmp_path: Path, github) -> None:
    base = Rendered.minimal()
    assert_needs_two_approvals(tmp_path, github, base, base.edit(UNLISTED_CHANGES[name]), "unlisted")


@pytest.mark.parametrize("name", sorted(UNRELATED))
def test_unrelated_changes_pass_without_asking_github(name: str, tmp_path: Path, github) -> None:
    base = Rendered.minimal()
    code, report = guard(tmp_path, base, base.edit(UNRELATED[name]))
    assert code == 0, report
    assert report["findings"] == []
    assert github.requests == []


def test_a_new_environment_may_not_bring_a_literal_salt(tmp_path: Path) -> None:
    base = Rendered.minimal()
    head = base.edit(UNRELATED["new environment"])
    head.values("litellm", "staging").setdefault("envVars", {})["LITELLM_SALT_KEY"] = SECRET_LITERAL
    code, report = guard(tmp_path, base, head)
    assert code == 1 and categories(report) == {"salt-key"}
    assert {f["environment"] for f in report["findings"]} == {"staging"}


def test_first_render_of_the_secrets_is_allowed(tmp_path: Path) -> None:
    """An environment that never had the secrets wired (today's base) may introduce them."""
    head = Rendered.minimal()
    base = head.edit(lambda t: [t.envs[ENV].pop(p) for p in list(t.envs[ENV]) if p.startswith(("manifests/secret-store", "cloudformation"))])
    base.envs[ENV]["values/litellm.yaml"] = {"replicaCount": 2}
    base.values("external-secrets").pop("serviceAccount")
    code, report = guard(tmp_path, base, head)
    # Wiring that was never there is no salt-key change; it is not on the allowlist either.
    assert code == 1 and categories(report) == {"unlisted"}, report


def test_wiring_a_secret_into_an_environment_that_had_part_of_it_needs_approval(tmp_path: Path) -> None:
    head = Rendered.minimal()
    base = head.edit(lambda t: t.remove("ExternalSecret", "litellm-secrets"))
    code, report = guard(tmp_path, base, head)
    assert code == 1 and "salt-key" in categories(report)


# --- GitHub failures refuse -------------------------------------------------------------------

def test_unreachable_api_refuses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Server() as gh:
        url = gh.url  # closed when the block ends: nothing listens there any more
    event = tmp_path / "event.json"
    event.write_text(json.dumps(event_payload()))
    monkeypatch.setenv("GITHUB_API_URL", url)
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
    base = Rendered.minimal()
    code, report = guard(tmp_path, base, base.edit(TWO_APPROVAL_CHANGES["master-key"]))
    assert code == 1
    assert report["github_error"] and "cannot read the pull request's approvals" in " ".join(report["reasons"])


@pytest.mark.parametrize("status", [401, 403, 404, 500, 502])
def test_api_errors_refuse(status: int, tmp_path: Path, github) -> None:
    approve_many(github)
    github.fail = status
    base = Rendered.minimal()
    code, report = guard(tmp_path, base, base.edit(TWO_APPROVAL_CHANGES["database-url"]))
    assert code == 1
    assert f"HTTP {status}" in report["github_error"]


def test_unknown_pull_request_refuses(tmp_path: Path, github, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_EVENT_PATH")
    base = Rendered.minimal()
    code, report = guard(tmp_path, base, base.edit(TWO_APPROVAL_CHANGES["master-key"]), "--repo", REPO, "--pr", 999)
    assert code == 1 and "HTTP 404" in report["github_error"]


# --- bad input exits 2 ------------------------------------------------------------------------

def test_missing_directory_is_bad_input(tmp_path: Path) -> None:
    base = Rendered.minimal().write(tmp_path / "base")
    code, _, err = run_cli("guard", "--base", base, "--head", tmp_path / "nowhere")
    assert code == 2 and "not a directory" in err


def test_a_folder_that_is_no_rendered_tree_is_bad_input(tmp_path: Path) -> None:
    (tmp_path / "junk" / "x").mkdir(parents=True)
    base = Rendered.minimal().write(tmp_path / "base")
    code, _, err = run_cli("guard", "--base", base, "--head", tmp_path / "junk")
    assert code == 2


@pytest.mark.parametrize("text", ["a: [unclosed\n", "a: 1\na: 2\n", "\tkey: value\n"])
def test_unparsable_yaml_is_bad_input(text: str, tmp_path: Path) -> None:
    base = Rendered.minimal()
    head = base.copy()
    head.envs[ENV]["manifests/secret-store/broken.yaml"] = text
    code, _, err = run_cli("guard", "--base", base.write(tmp_path / "b"), "--head", head.write(tmp_path / "h"))
    assert code == 2 and "broken.yaml" in err


@pytest.mark.parametrize("payload", ["not json", "[]", json.dumps({"pull_request": {"number": 1}}),
                                     json.dumps({"pull_request": {"number": "7", "user": {"login": "a"}, "head": {"sha": HEAD_SHA}}}),
                                     json.dumps({"pull_request": {"number": 7, "user": {"login": "a"}, "head": {"sha": "short"}}})])
def test_malformed_event_payload_is_bad_input(payload: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    event = tmp_path / "event.json"
    event.write_text(payload)
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
    monkeypatch.setenv("GITHUB_API_URL", "http://127.0.0.1:9")
    base = Rendered.minimal()
    b, h = base.write(tmp_path / "b"), base.edit(TWO_APPROVAL_CHANGES["master-key"]).write(tmp_path / "h")
    code, _, err = run_cli("guard", "--base", b, "--head", h)
    assert code == 2, err
    assert "event.json" in err


def test_repository_root_and_rendered_folder_are_both_accepted(tmp_path: Path) -> None:
    root = Rendered.minimal().write(tmp_path / "checkout")
    code, out, _ = run_cli("guard", "--base", root, "--head", root / "rendered")
    assert code == 0 and "ALLOWED" in out


def test_markdown_report(tmp_path: Path, github) -> None:
    base = Rendered.minimal()
    head = base.edit(SALT_ROUTES["remote version"])
    head = head.edit(TWO_APPROVAL_CHANGES["master-key"])
    md = tmp_path / "out" / "guard.md"
    code, out, _ = run_cli("guard", "--base", base.write(tmp_path / "b"), "--head", head.write(tmp_path / "h"), "--markdown", md)
    assert code == 1
    text = md.read_text()
    assert "Guard: refused" in text and "salt key: blocked" in text and "master key: needs two approvals" in text
    assert "spec.data[secretKey=LITELLM_SALT_KEY].remoteRef.version" in text
    assert "REFUSED" in out and "salt key" in out


def test_markdown_report_stops_at_its_limit_without_empty_tables() -> None:
    from generator.guard import report, rules, verdict
    findings = [rules.Finding("salt-key", ENV, "o", f"f{i}", 1, 2) for i in range(3)] + [rules.Finding("bastion", ENV, "o", "g", 1, 2)]
    text = report.markdown(verdict.Verdict(False, findings, [ENV]), limit=2)
    assert text.count("| <code>prod</code> |") == 2 and "bastion" not in text
    assert "… and 2 more finding(s) not shown" in text


# --- reading less changes nothing -------------------------------------------------------------

@pytest.mark.parametrize("route", sorted(SALT_ROUTES)[:12] + sorted(BASTION_CHANGES)[:6])
def test_selective_reading_finds_what_full_reading_finds(route: str, tmp_path: Path) -> None:
    from generator.guard import rules, tree
    change = SALT_ROUTES.get(route) or BASTION_CHANGES[route]
    base = Rendered.minimal("dev", "prod")
    b, h = base.write(tmp_path / "b"), base.edit(change).write(tmp_path / "h")
    pair = tree.load_pair(b, h, rules.select)
    assert "dev" not in pair.base and "dev" not in pair.head  # unchanged: not even parsed
    assert rules.evaluate(pair.base, pair.head) == rules.evaluate(tree.load_tree(b), tree.load_tree(h)) != []


@pytest.mark.parametrize("spelling", ['"LITELLM\\u005fSALT_KEY": "os.environ/OTHER"',
                                      '"LITELLM\\x5fSALT_KEY": "os.environ/OTHER"',
                                      'SALT: "os.environ/LITELLM_SALT\\\n    _KEY"'])
def test_a_variable_spelled_with_escapes_in_an_unchanged_file_is_still_read(spelling: str, tmp_path: Path) -> None:
    """A file identical on both sides is skipped only if it cannot name a protected variable."""
    base = Rendered.minimal()
    base.envs[ENV]["manifests/secret-store/disguised.yaml"] = (
        'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: d, namespace: litellm}\n'
        'data:\n  ' + spelling + '\n')
    head = base.edit(lambda t: _set(t.values("litellm")["envVars"], "SALT_COPY", "os.environ/LITELLM_SALT_KEY"))
    code, report = guard(tmp_path, base, head)
    assert code == 1 and categories(report) == {"salt-key"}
    assert [f["field"] for f in report["findings"]] == ["envVars.SALT_COPY"]


def test_the_deploy_manifest_names_the_parameters_file(tmp_path: Path) -> None:
    """Parameters are read from the file the deploy manifest names for the template, whatever its name."""
    base = Rendered.minimal()
    files = base.envs[ENV]
    files["cloudformation/values-for-host.json"] = files.pop("cloudformation/host.parameters.json") + [
        {"ParameterKey": "LatestAmiId", "ParameterValue": "ami-0123456789abcdef0"}]
    files["cloudformation/deploy.json"] = {"environment": ENV, "region": "eu-west-1", "account": "444455556666",
                                           "stacks": [{"name": "prod-host", "template": "host.yaml",
                                                       "parameters": "values-for-host.json"}]}
    head = base.edit(lambda t: t.envs[ENV]["cloudformation/values-for-host.json"][1].__setitem__("ParameterValue", "ami-0fffffffffffffff0"))
    code, report = guard(tmp_path, base, head)
    assert code == 1 and [(f["category"], f["field"]) for f in report["findings"]] == [("bastion", "Parameters.LatestAmiId.Value")]
    moved = base.edit(lambda t: t.envs[ENV]["cloudformation/deploy.json"]["stacks"][0].__setitem__("name", "prod-host-2"))
    code, report = guard(tmp_path, base, moved)
    assert code == 1 and [f["field"] for f in report["findings"]] == ["Deployment.stack"]


def test_minimal_tree_loads_by_meaning(tmp_path: Path) -> None:
    tree = load_tree(Rendered.minimal().write(tmp_path))
    objects = tree[ENV].objects
    es = objects["k8s/external-secrets.io/ExternalSecret/litellm/litellm-secrets"]
    assert es.owner == "prod-secret-store" and es.wave == 8
    assert objects["values/litellm"].owner == "prod-litellm"
    assert objects["k8s/external-secrets.io/ClusterSecretStore//aws-secrets-manager"].kind == "ClusterSecretStore"
    assert {o.kind for o in objects.values()} >= {"CloudFormationTemplate", "CloudFormationParameters", "HelmValues", "File"}
