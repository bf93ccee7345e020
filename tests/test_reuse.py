"""Reuse from other repositories: the composite action (action.yml) and the pre-commit hook
manifest (.pre-commit-hooks.yaml). The action passes GitHub's schema (check-jsonschema's
vendor.github-actions) and zizmor, pins its own action by SHA, describes every input, and its
scripts really run: render-check in a repository `init` created, and a refusal of an unknown check
or an unpinned version. The manifest and the configs pass pre-commit's own validators, and every
hook's entry is a command this tool parses."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import REPO
from generator.cli import build_parser
from test_workflows import PINNED, UNTRUSTED, tool

ACTION = yaml.safe_load((REPO / "action.yml").read_text())


def _step(name: str) -> dict:
    return next(s for s in ACTION["runs"]["steps"] if s.get("name", "").startswith(name))


def test_the_action_passes_github_schema_and_zizmor():
    schema = subprocess.run([tool("check-jsonschema"), "--builtin-schema", "vendor.github-actions", str(REPO / "action.yml")],
                            capture_output=True, text=True)
    assert schema.returncode == 0, schema.stdout + schema.stderr
    audit = subprocess.run([tool("zizmor"), "--offline", "--no-config", "--no-progress", str(REPO / "action.yml")],
                           capture_output=True, text=True)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert ACTION["runs"]["using"] == "composite"
    uses = re.findall(r"^\s*(?:-\s+)?uses:\s*(\S.*)$", (REPO / "action.yml").read_text(), re.MULTILINE)
    assert uses and all(PINNED.match(u) for u in uses), uses
    for step in ACTION["runs"]["steps"]:
        if "run" in step:
            assert not UNTRUSTED.search(step["run"]) and "${{" not in step["run"], step.get("name")
    assert {"check", "version", "requirements"} <= set(ACTION["inputs"])
    assert all(spec.get("description") for spec in ACTION["inputs"].values())


def _bash(step: dict, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    environment = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
                       RUNNER_TEMP=str(cwd), **env)
    return subprocess.run(["bash", "-c", step["run"]], cwd=cwd, env=environment, capture_output=True, text=True, timeout=300)


def test_the_action_runs_render_check_in_a_created_repository(tmp_path: Path):
    created = tmp_path / "repo"
    subprocess.run([sys.executable, "-m", "generator", "init", str(created)], check=True, capture_output=True)
    run = _step("Run the check")
    stale = _bash(run, tmp_path, CHECK="render-check", ROOT=str(created), BASE="", HEAD="")
    assert stale.returncode == 1 and "rendered/ is stale" in stale.stdout
    subprocess.run([sys.executable, "-m", "generator", "render", "--root", str(created)], check=True, capture_output=True)
    fresh = _bash(run, tmp_path, CHECK="render-check", ROOT=str(created), BASE="", HEAD="")
    assert fresh.returncode == 0 and "rendered/ is fresh" in fresh.stdout
    unknown = _bash(run, tmp_path, CHECK="lint", ROOT=str(created), BASE="", HEAD="")
    assert unknown.returncode == 2 and "check must be render-check, validate or guard" in unknown.stdout


def test_the_action_refuses_to_install_an_unpinned_tool(tmp_path: Path):
    install = _step("Install litellm-gitops")
    done = _bash(install, tmp_path, REQUIREMENTS="", VERSION="", ACTION_REF="main")
    assert done.returncode == 2 and "is not a release tag" in done.stdout


@pytest.mark.parametrize("command,path", [("validate-manifest", ".pre-commit-hooks.yaml"),
                                          ("validate-config", ".pre-commit-config.yaml")])
def test_pre_commit_accepts_the_manifest_and_the_config(command: str, path: str):
    done = subprocess.run([tool("pre-commit"), command, str(REPO / path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_hook_runs_a_command_this_tool_parses():
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert {h["id"] for h in hooks} == {"litellm-gitops-render-check", "litellm-gitops-validate"}
    for hook in hooks:
        program, *args = shlex.split(hook["entry"])
        assert program == "litellm-gitops" and hook["language"] == "python" and hook["pass_filenames"] is False
        build_parser(args[0]).parse_args(args)  # argparse exits (fails the test) on anything unknown
