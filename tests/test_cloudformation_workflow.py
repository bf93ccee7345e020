"""The deploy workflow, .github/workflows/cloudformation.yml: its hardening (pinned actions,
least privilege, nothing expanded inside run:, check-jsonschema and zizmor clean) and its shell
steps run for real with bash against moto and the AWS CLI: which environments and stacks count
as changed, deploy in order on a push, a change set that is not executed on a pull request."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import boto3
import pytest
import requests
import yaml

from generator.cli import main
from aws_support import aws, moto_endpoint  # noqa: F401

# moto warns about each resource type its CloudFormation lacks; the tests account for them.
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse:UserWarning")

REPO = Path(__file__).resolve().parent.parent
WORKFLOW = REPO / ".github" / "workflows" / "cloudformation.yml"
ZERO = "0" * 40


def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def step(job: str, name: str) -> str:
    [found] = [s["run"] for s in workflow()["jobs"][job]["steps"] if s.get("name") == name]
    return found


def test_every_action_is_pinned_by_commit_with_a_version_comment():
    uses = re.findall(r"uses: (\S+)(.*)", WORKFLOW.read_text(encoding="utf-8"))
    assert uses
    for ref, comment in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", ref), ref
        assert re.fullmatch(r" # v\d+(\.\d+)*", comment), comment


def test_least_privilege_and_no_expression_inside_run():
    doc = workflow()
    assert doc["permissions"] == {}
    for name, job in doc["jobs"].items():
        assert set(job["permissions"]) <= {"contents", "id-token"}
        assert job["permissions"]["contents"] == "read"
        if job["permissions"].get("id-token") == "write":
            assert any("configure-aws-credentials" in s.get("uses", "") for s in job["steps"]), name
        for s in job["steps"]:
            assert "${{" not in s.get("run", ""), (name, s.get("name"))
            if "actions/checkout" in s.get("uses", ""):
                assert s["with"]["persist-credentials"] is False
            if "configure-aws-credentials" in s.get("uses", ""):
                assert s["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
    assert doc["jobs"]["changes"]["permissions"] == {"contents": "read"}
    assert "--no-execute-changeset" in step("change-set", "create change sets (never executed)")
    assert "--no-execute-changeset" not in step("deploy", "deploy changed stacks in order")


@pytest.mark.skipif(shutil.which("check-jsonschema") is None, reason="check-jsonschema is not installed")
def test_check_jsonschema_accepts_the_workflow():
    result = subprocess.run(["check-jsonschema", "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(shutil.which("zizmor") is None, reason="zizmor is not installed")
def test_zizmor_finds_nothing_even_pedantic():
    result = subprocess.run(["zizmor", "--offline", "--persona=pedantic", str(WORKFLOW)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout


# --- the shell steps, for real ------------------------------------------------------------------

def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
                          capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture
def checkout(scratch_repo: Path) -> Path:
    """A git repository holding a fresh render and the workflow, like actions/checkout leaves it."""
    assert main(["render", "--root", str(scratch_repo)]) == 0
    (scratch_repo / ".github" / "workflows").mkdir(parents=True)
    shutil.copy(WORKFLOW, scratch_repo / ".github" / "workflows" / "cloudformation.yml")
    git(scratch_repo, "init", "-q")
    git(scratch_repo, "add", "-A")
    git(scratch_repo, "commit", "-qm", "base")
    return scratch_repo


def run_step(repo: Path, script: str, **env: str) -> tuple[subprocess.CompletedProcess, str, str]:
    output, summary = repo / ".github-output", repo / ".github-summary"
    output.write_text("")
    summary.write_text("")
    variables = dict(os.environ, GITHUB_OUTPUT=str(output), GITHUB_STEP_SUMMARY=str(summary),
                     WORKFLOW_FILE=".github/workflows/cloudformation.yml", **env)
    result = subprocess.run(["bash", "-e", "-c", script], cwd=repo, env=variables, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return result, output.read_text(), summary.read_text()


def change(repo: Path, path: str) -> str:
    base = git(repo, "rev-parse", "HEAD")
    with (repo / path).open("a", encoding="utf-8") as handle:
        handle.write("# changed\n")
    git(repo, "commit", "-qam", f"change {path}")
    return base


def test_changed_environments(checkout):
    script = step("changes", "list environments whose CloudFormation changed")
    _, output, _ = run_step(checkout, script, BASE=ZERO)
    assert output == 'environments=["dev","prod"]\n'
    base = change(checkout, "rendered/prod/cloudformation/bastion.yaml")
    _, output, _ = run_step(checkout, script, BASE=base)
    assert output == 'environments=["prod"]\n'
    base = change(checkout, "rendered/prod/README.md")
    _, output, _ = run_step(checkout, script, BASE=base)
    assert output == "environments=[]\n"


def test_push_deploys_only_changed_stacks_in_order(checkout, aws):  # noqa: F811
    base = change(checkout, "rendered/dev/cloudformation/secrets.yaml")
    result, _, summary = run_step(checkout, step("deploy", "deploy changed stacks in order"), BASE=base, ENVIRONMENT="dev")
    assert "unchanged: litellm-dev-irsa-roles" in result.stdout
    assert summary == "deployed: litellm-dev-secrets\n"
    cf = boto3.client("cloudformation", region_name="us-east-1")
    assert [s["StackName"] for s in cf.describe_stacks()["Stacks"]] == ["litellm-dev-secrets"]

    # A first push (no previous commit) deploys every stack, in deploy.json's order. (On a fresh
    # moto: it answers an empty change set with an error where AWS lets --no-fail-on-empty-changeset pass.)
    requests.post(f"{aws}/moto-api/reset", timeout=10).raise_for_status()
    result, _, summary = run_step(checkout, step("deploy", "deploy changed stacks in order"), BASE=ZERO, ENVIRONMENT="dev")
    assert summary == "deployed: litellm-dev-irsa-roles\ndeployed: litellm-dev-secrets\ndeployed: litellm-dev-backups\n"
    assert boto3.client("iam").get_role(RoleName="dev-litellm-bedrock-role")


def test_pull_request_creates_a_change_set_and_executes_nothing(checkout, aws):  # noqa: F811
    base = change(checkout, "rendered/dev/cloudformation/irsa-roles.yaml")
    result, _, summary = run_step(checkout, step("change-set", "create change sets (never executed)"),
                                  BASE=base, ENVIRONMENT="dev")
    assert "unchanged: litellm-dev-secrets" in result.stdout
    assert "### litellm-dev-irsa-roles" in summary
    assert "| Add | LitellmBedrockRole | AWS::IAM::Role |" in summary
    cf = boto3.client("cloudformation", region_name="us-east-1")
    [stack] = cf.describe_stacks(StackName="litellm-dev-irsa-roles")["Stacks"]
    assert stack["StackStatus"] == "REVIEW_IN_PROGRESS"
    iam = boto3.client("iam")
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_role(RoleName="dev-litellm-bedrock-role")
