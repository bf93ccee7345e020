"""Environments that cannot collide (render refuses, naming both files, writing nothing), issuers
from another region, placeholders (warnings on render, errors in `validate --strict`) and
`env new`, which scaffolds an environment that collides with none."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

PROD = "environments/prod/environment.yaml"


def _cli(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "generator", *args], cwd=root, capture_output=True, text=True, timeout=600)


def _copy_prod(root: Path, name: str, **replace: str) -> Path:
    target = root / "environments" / name / "environment.yaml"
    target.parent.mkdir()
    text = (root / PROD).read_text()
    for old, new in replace.items():
        assert old in text
        text = text.replace(old, new)
    target.write_text(text)
    return target


def _refused(root: Path, *expected: str) -> str:
    before = sorted(p.relative_to(root) for p in (root / "rendered").rglob("*"))
    done = _cli(root, "render")
    assert done.returncode == 2, done.stdout + done.stderr
    for text in expected:
        assert text in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert sorted(p.relative_to(root) for p in (root / "rendered").rglob("*")) == before  # nothing written
    return done.stderr


def test_an_exact_copy_of_prod_is_refused_naming_both_files(scratch_repo: Path):
    _copy_prod(scratch_repo, "prod-copy")
    _refused(scratch_repo, "environments prod and prod-copy share the cluster llm-prod in account 444455556666 region eu-west-1",
             f"{PROD}:11", "environments/prod-copy/environment.yaml:11")


def test_one_secrets_prefix_in_one_account_and_region_is_refused(scratch_repo: Path):
    _copy_prod(scratch_repo, "blue", **{"name: llm-prod": "name: llm-blue",
                                        "A91C3E5F7B2D4068C1E3A5B7D9F02468": "B91C3E5F7B2D4068C1E3A5B7D9F02468"})
    _refused(scratch_repo, "environments blue and prod share the secrets prefix prod/ in account 444455556666 region eu-west-1",
             "environments/blue/environment.yaml:27", f"{PROD}:27")


def test_one_oidc_issuer_in_two_accounts_is_refused(scratch_repo: Path):
    _copy_prod(scratch_repo, "other", **{'accountId: "444455556666"': 'accountId: "210987654321"'})
    _refused(scratch_repo, "share the OIDC issuer https://oidc.eks.eu-west-1.amazonaws.com/id/A91C3E5F7B2D4068C1E3A5B7D9F02468")


def test_an_issuer_from_another_region_is_refused(scratch_repo: Path):
    dev = scratch_repo / "environments" / "dev" / "environment.yaml"
    dev.write_text(dev.read_text().replace("oidc.eks.us-east-1.", "oidc.eks.eu-west-1."))
    _refused(scratch_repo, "environments/dev/environment.yaml:", "cluster.oidcIssuer is in region eu-west-1, but aws.region is us-east-1")


def test_one_cluster_name_in_two_regions_is_fine(scratch_repo: Path):
    _copy_prod(scratch_repo, "prod-us", **{"region: eu-west-1": "region: eu-north-1", "prefix: prod/": "prefix: prod-us/",
                                           "oidc.eks.eu-west-1.amazonaws.com/id/A91C": "oidc.eks.eu-north-1.amazonaws.com/id/B91C"})
    done = _cli(scratch_repo, "render", "--env", "prod-us")
    assert done.returncode == 0, done.stderr


def test_placeholders_warn_on_render_and_fail_validate_strict(scratch_repo: Path, schema_cache: Path, tmp_path: Path):
    done = _cli(scratch_repo, "render", "--check")
    assert done.returncode == 0
    warnings = [line for line in done.stderr.splitlines() if line.startswith("warning: ")]
    assert "warning: environments/dev/environment.yaml:6: aws.accountId 111122223333 is an account id from the AWS " \
           "documentation, a placeholder: replace it with the real value" in warnings
    assert "warning: environments/defaults.yaml:16: git.repoURL https://github.com/example-org/llm-gateway-gitops.git " \
           "is an example repository URL, a placeholder: replace it with the real value" in warnings
    assert any("cluster.network.vpcId vpc-0a1b2c3d4e5f60718 is an example VPC id" in w for w in warnings)
    assert len(warnings) == len(set(warnings))  # the defaults' placeholder once, not once per environment
    options = ["--env", "dev", "--no-hydrate", "--cache", str(schema_cache), "--record", str(tmp_path / "records")]
    assert _cli(scratch_repo, "validate", *options).returncode == 0
    strict = _cli(scratch_repo, "validate", *options, "--strict")
    assert strict.returncode == 1
    assert "error: environments/dev/environment.yaml:6: aws.accountId 111122223333" in strict.stderr
    assert "(validate --strict)" in strict.stderr and "prod" not in strict.stderr


def test_env_new_scaffolds_an_environment_that_collides_with_none(scratch_repo: Path):
    done = _cli(scratch_repo, "env", "new", "staging", "--from", "prod", "--account", "210987654321",
                "--region", "eu-central-1", "--cluster", "llm-staging")
    assert done.returncode == 0, done.stderr
    staging = yaml.safe_load((scratch_repo / "environments" / "staging" / "environment.yaml").read_text())
    assert staging["aws"] == {"accountId": "210987654321", "region": "eu-central-1"}
    assert staging["secrets"]["replicaRegions"] == ["eu-west-1"]  # prod's replica was eu-central-1, now the primary
    assert staging["cluster"]["name"] == "llm-staging" and staging["secrets"]["prefix"] == "staging/"
    assert staging["cluster"]["oidcIssuer"] == "https://oidc.eks.eu-central-1.amazonaws.com/id/" + "0" * 32
    assert staging["cluster"]["network"]["subnetIds"] == ["subnet-00000000000000000", "subnet-00000000000000001"]
    assert "# prod: three Redis replicas" in (scratch_repo / "environments" / "staging" / "environment.yaml").read_text()
    second = _cli(scratch_repo, "env", "new", "qa", "--from", "prod", "--account", "210987654321",
                  "--region", "eu-central-1", "--cluster", "llm-qa")
    assert second.returncode == 0, second.stderr  # the placeholder issuers do not collide
    rendered = _cli(scratch_repo, "render")
    assert rendered.returncode == 0, rendered.stderr
    assert "warning: environments/staging/environment.yaml:12: cluster.oidcIssuer" in rendered.stderr


@pytest.mark.parametrize("args,message", [
    (["--account", "111122223333", "--region", "us-east-1", "--cluster", "llm-dev"], "environments dev and twin share the cluster llm-dev"),
    (["--account", "210987654321", "--region", "eu-west-1", "--cluster", "c", "--hub", "central"], "is not managed from a hub"),
    (["--account", "12345", "--region", "eu-west-1", "--cluster", "c"], "is not a 12-digit AWS account id"),
])
def test_env_new_refuses_and_writes_nothing(scratch_repo: Path, args: list[str], message: str):
    done = _cli(scratch_repo, "env", "new", "twin", "--from", "dev", *args)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert not (scratch_repo / "environments" / "twin").exists()
