"""`litellm-gitops discover` against a moto EKS cluster: what it reads, which subnets it picks,
and --write updating the environment file in place without touching anything else."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generator.cli import main
from aws_support import ACCOUNT, aws, edit_environment, issuer_for, make_cluster, moto_endpoint, run_cli  # noqa: F401


@pytest.fixture
def dev(scratch_repo: Path, aws: str) -> tuple[Path, dict]:  # noqa: F811
    """The dev environment pointed at moto's account, and its cluster in moto."""
    cluster = make_cluster("us-east-1", "llm-dev", issuer=issuer_for("us-east-1", "AB" * 16))

    def change(doc):
        doc["aws"]["accountId"] = ACCOUNT
    edit_environment(scratch_repo, "dev", change)
    return scratch_repo, cluster


def run(root: Path, *args: str) -> int:
    return main([*args, "--root", str(root)])


def test_discover_reads_the_cluster_and_prefers_private_subnets(dev, capsys):
    root, cluster = dev
    assert run(root, "discover", "--env", "dev", "--json") == 0
    found = json.loads(capsys.readouterr().out)
    assert found["vpc_id"] == cluster["vpc"]
    assert found["cluster_security_group_id"] == cluster["cluster_sg"]
    assert found["oidc_issuer"] == cluster["issuer"]
    assert found["oidc_provider_arn"] == f"arn:aws:iam::{ACCOUNT}:oidc-provider/{cluster['issuer'][8:]}"
    assert found["authentication_mode"] == "API_AND_CONFIG_MAP"
    private = {s["id"]: s for s in found["subnets"] if s["private"]}
    assert set(private) == {cluster["private_a"], cluster["private_b"]}
    assert "internal-elb" in private[cluster["private_a"]]["reason"]
    assert [s["id"] for s in found["subnets"] if not s["private"]] == [cluster["public"]]
    assert set(found["network"]["subnetIds"]) == set(cluster["private"])
    assert cluster["public"] not in found["network"]["subnetIds"]
    assert found["warnings"] == []


def test_discover_prints_a_report_and_warns_about_a_missing_oidc_provider(scratch_repo, aws, capsys):  # noqa: F811
    make_cluster("us-east-1", "llm-dev", oidc_provider=False, mode=None)
    edit_environment(scratch_repo, "dev", lambda d: d["aws"].__setitem__("accountId", ACCOUNT))
    assert run(scratch_repo, "discover", "--env", "dev") == 0
    out = capsys.readouterr().out
    assert "oidc provider (IAM)   MISSING" in out
    assert "eksctl utils associate-iam-oidc-provider --cluster llm-dev" in out
    assert "authentication mode   CONFIG_MAP" in out  # no accessConfig: a cluster older than access entries


def test_write_updates_only_the_cluster_keys_and_keeps_comments(dev, capsys):
    root, cluster = dev
    path = root / "environments" / "dev" / "environment.yaml"
    before = path.read_text(encoding="utf-8")
    assert run(root, "discover", "--env", "dev", "--write") == 0
    after = path.read_text(encoding="utf-8")
    # Every line that was there is still there, in order, except the old issuer.
    old_issuer = [line for line in before.splitlines() if "oidcIssuer:" in line][0]
    kept = [line for line in before.splitlines() if line != old_issuer]
    remaining = iter(after.splitlines())
    assert all(any(line == other for other in remaining) for line in kept), after
    assert before.splitlines()[0].startswith("# yaml-language-server") and after.splitlines()[0] == before.splitlines()[0]
    assert f"  oidcIssuer: {cluster['issuer']}" in after
    assert "  authenticationMode:" not in after  # API_AND_CONFIG_MAP already comes from defaults.yaml
    network = after[after.index("  network:"):]
    assert f"    vpcId: {cluster['vpc']}" in network
    assert f"    clusterSecurityGroupId: {cluster['cluster_sg']}" in network
    for subnet in cluster["private"]:
        assert f"      - {subnet}" in network
    assert cluster["public"] not in after
    # The blank line that separated cluster: from secrets: still does.
    assert "\n\nsecrets:" in after
    # The file is a valid environment, and a second run changes nothing.
    assert run(root, "render", "--env", "dev") == 0
    assert run(root, "discover", "--env", "dev", "--write") == 0
    assert path.read_text(encoding="utf-8") == after
    assert "already up to date" in capsys.readouterr().err


def test_write_replaces_placeholder_network_and_sets_a_differing_mode(scratch_repo, aws):  # noqa: F811
    cluster = make_cluster("eu-west-1", "llm-prod", issuer=issuer_for("eu-west-1"), mode="API_AND_CONFIG_MAP")
    path = edit_environment(scratch_repo, "prod", lambda d: d["aws"].__setitem__("accountId", ACCOUNT))
    before = path.read_text(encoding="utf-8")
    assert run(scratch_repo, "discover", "--env", "prod", "--write") == 0
    after = path.read_text(encoding="utf-8")
    assert "authenticationMode: API_AND_CONFIG_MAP" in after and "authenticationMode: API\n" not in after
    assert "vpc-0a1b2c3d4e5f60718" in before and "vpc-0a1b2c3d4e5f60718" not in after
    assert f"vpcId: {cluster['vpc']}" in after
    # The comment above the network block survives.
    assert "# Placeholder ids of the right shape" in after
    assert run(scratch_repo, "render", "--env", "prod") == 0
    params = json.loads((scratch_repo / "rendered/prod/cloudformation/bastion.parameters.json").read_text())
    assert f"VpcId={cluster['vpc']}" in params
    assert f"SubnetId={cluster['private'][0]}" in params or f"SubnetId={cluster['private'][1]}" in params


def test_unknown_cluster_is_bad_input_naming_the_line(dev, capsys):
    root, _ = dev
    edit_environment(root, "dev", lambda d: d["cluster"].__setitem__("name", "no-such-cluster"))
    assert run(root, "discover", "--env", "dev") == 2
    err = capsys.readouterr().err
    assert "environments/dev/environment.yaml:" in err and "no cluster named 'no-such-cluster'" in err


def test_no_credentials_is_a_plain_error_not_a_traceback(scratch_repo, aws, monkeypatch):  # noqa: F811
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    result = run_cli(scratch_repo, "discover", "--env", "dev")
    assert result.returncode == 1
    assert "no AWS credentials found" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_write_leaves_the_file_alone_when_the_result_would_not_load(scratch_repo, aws, capsys):  # noqa: F811
    make_cluster("us-east-1", "llm-dev", issuer="https://oidc.eks.us-east-1.amazonaws.com/id/not-an-eks-issuer")
    path = edit_environment(scratch_repo, "dev", lambda d: d["aws"].__setitem__("accountId", ACCOUNT))
    before = path.read_text(encoding="utf-8")
    assert run(scratch_repo, "discover", "--env", "dev", "--write") == 2
    assert "cluster.oidcIssuer is not valid" in capsys.readouterr().err
    assert path.read_text(encoding="utf-8") == before


def test_a_refused_write_restores_the_file_byte_for_byte(scratch_repo, aws, capsys):  # noqa: F811
    make_cluster("us-east-1", "llm-dev", issuer="https://oidc.eks.us-east-1.amazonaws.com/id/not-an-eks-issuer")
    path = edit_environment(scratch_repo, "dev", lambda d: d["aws"].__setitem__("accountId", ACCOUNT))
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))  # as an editor on Windows saves it
    before = path.read_bytes()
    assert run(scratch_repo, "discover", "--env", "dev", "--write") == 2
    assert "cluster.oidcIssuer is not valid" in capsys.readouterr().err
    assert path.read_bytes() == before
