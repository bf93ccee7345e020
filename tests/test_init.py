"""`litellm-gitops init`: the repository it creates uses the tool (pinned, not copied), renders,
checks and validates (with ../shared's schemas and chart archives), and its workflows and Renovate
configuration pass the same checks as this repository's own (tests/test_workflows.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import generator
from conftest import REPO
from test_workflows import findings, tool


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "generator", *args], cwd=cwd, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def created(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("init") / "llm-gitops"
    done = _cli(target.parent, "init", str(target), "--repo-url", "https://github.com/acme/llm-gitops.git")
    assert done.returncode == 0, done.stderr
    return target


def test_the_repository_pins_the_tool_instead_of_containing_it(created: Path):
    names = {p.relative_to(created).as_posix() for p in created.rglob("*") if p.is_file()}
    assert {"README.md", "requirements.in", "requirements.txt", "renovate.json", ".pre-commit-config.yaml",
            "environments/defaults.yaml", "environments/example/environment.yaml", "schemas/charts.lock.json",
            ".github/workflows/ci.yml", ".github/workflows/guard.yml", ".github/workflows/review.yml",
            ".github/workflows/cloudformation.yml"} <= names
    assert not any(n.startswith(("generator/", "tests/", "tools/")) for n in names)
    assert (created / "requirements.in").read_text() == f"litellm-gitops=={generator.__version__}\n"
    pins = [line for line in (created / "requirements.txt").read_text().splitlines() if line and not line.startswith("#")]
    assert f"litellm-gitops=={generator.__version__}" in pins
    assert all("==" in line for line in pins) and {"jinja2", "cfn-lint", "boto3"} <= {p.split("==")[0] for p in pins}
    defaults = yaml.safe_load((created / "environments" / "defaults.yaml").read_text())
    assert defaults["git"]["repoURL"] == "https://github.com/acme/llm-gitops.git"
    assert (created / "schemas" / "charts.lock.json").read_bytes() == (REPO / "schemas" / "charts.lock.json").read_bytes()


def test_render_check_and_validate_work_in_it(created: Path, shared_dir: Path, tmp_path: Path):
    assert _cli(created, "render").returncode == 0
    check = _cli(created, "render", "--check")
    assert check.returncode == 0 and "rendered/ is fresh" in check.stdout
    synced = _cli(created, "schemas", "sync", "--from", str(shared_dir / "schemas-upstream"), "--cache", str(tmp_path / "schemas"))
    assert synced.returncode == 0, synced.stderr
    done = _cli(created, "validate", "--cache", str(tmp_path / "schemas"), "--charts", str(shared_dir / "charts"),
                "--record", str(tmp_path / "records"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "for environment(s) example: no problems" in done.stdout


@pytest.mark.parametrize("workflow", ["ci.yml", "guard.yml", "review.yml", "cloudformation.yml"])
def test_its_workflows_pass_every_check(created: Path, workflow: str):
    assert findings(created / ".github" / "workflows" / workflow) == []


def test_guard_and_review_run_the_version_the_base_commit_pins(created: Path):
    for name in ("guard.yml", "review.yml"):
        workflow = yaml.safe_load((created / ".github" / "workflows" / name).read_text())
        runs = [s.get("run", "") for job in workflow["jobs"].values() for s in job["steps"]]
        installs = [r for r in runs if "pip install" in r]
        assert installs and all(r.strip().endswith("-r base/requirements.txt") for r in installs), installs
        checkouts = [s for job in workflow["jobs"].values() for s in job["steps"] if "actions/checkout@" in s.get("uses", "")]
        assert any(s["with"]["path"] == "base" and "base.sha" in s["with"]["ref"] for s in checkouts)
    ci = (created / ".github" / "workflows" / "ci.yml").read_text()
    for command in ("pip install -r requirements.txt", "litellm-gitops render --check", "litellm-gitops validate"):
        assert command in ci


def test_its_renovate_configuration_is_valid_and_bumps_charts(created: Path):
    config = created / "renovate.json"
    done = subprocess.run([tool("check-jsonschema"), "--builtin-schema", "vendor.renovate", str(config)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads(config.read_text())
    assert data["pip-compile"]["managerFilePatterns"] == ["/^requirements\\.txt$/"]
    tasks = next(r["postUpgradeTasks"] for r in data["packageRules"] if "postUpgradeTasks" in r)
    assert tasks["commands"][0] == "python3 -m pip install -r requirements.txt"
    assert "litellm-gitops charts bump {{{depName}}} {{{newVersion}}}" in tasks["commands"]


def test_init_never_writes_into_an_existing_repository(tmp_path: Path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("mine")
    done = _cli(tmp_path, "init", str(tmp_path / "taken"))
    assert done.returncode == 2 and "not an empty folder" in done.stderr
    assert [p.name for p in (tmp_path / "taken").iterdir()] == ["keep.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["taken"]  # no staging folder left behind


def test_pre_commit_accepts_its_config(created: Path):
    done = subprocess.run([tool("pre-commit"), "validate-config", str(created / ".pre-commit-config.yaml")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
