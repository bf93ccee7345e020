"""Workflows are code too: every file in .github/workflows/ is a valid GitHub workflow
(check-jsonschema's vendor.github-workflows schema), has no zizmor finding (offline audits,
repository config ignored), pins every action by full commit SHA with a `# vX.Y.Z` comment,
declares least-privilege top-level permissions, and never expands pull-request input inside run:.
A planted bad workflow shows the checks can fail."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import REPO

WORKFLOWS = sorted(p for pattern in ("*.yml", "*.yaml") for p in (REPO / ".github" / "workflows").glob(pattern))
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}\s+#\s*v\d+(\.\d+){0,2}\b")
UNTRUSTED = re.compile(r"\$\{\{[^}]*\b(github\.event\.|github\.head_ref|inputs\.)")
LEAST_PRIVILEGE_TOP = ({}, {"contents": "read"}, "read-all")


def tool(name: str) -> str:
    found = shutil.which(name) or str(Path(sys.executable).parent / name)
    if not Path(found).exists():
        pytest.fail(f"{name} is not installed: pip install -e '.[test]'")
    return found


def steps(workflow: dict):
    for job in (workflow.get("jobs") or {}).values():
        if isinstance(job, dict):
            yield from (s for s in job.get("steps") or [] if isinstance(s, dict))


def findings(path: Path) -> list[str]:
    """Everything wrong with one workflow file; empty when it passes every check."""
    problems = []
    schema = subprocess.run([tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(path)],
                            capture_output=True, text=True)
    if schema.returncode != 0:
        problems.append(f"check-jsonschema: {schema.stdout}{schema.stderr}")
    audit = subprocess.run([tool("zizmor"), "--offline", "--no-config", "--no-progress", str(path)],
                           capture_output=True, text=True)
    if audit.returncode != 0:
        problems.append(f"zizmor: {audit.stdout}{audit.stderr}")

    text = path.read_text(encoding="utf-8")
    for number, line in enumerate(text.splitlines(), 1):
        match = re.match(r"^\s*(?:-\s+)?uses:\s*(\S.*)$", line)
        if match and not match.group(1).startswith(("./", "docker://")) and not PINNED.match(match.group(1)):
            problems.append(f"line {number}: action not pinned by full commit SHA with a # vX.Y.Z comment: {match.group(1)}")
    try:
        workflow = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        return problems + [f"not YAML: {exc}"]
    if workflow.get("permissions", "missing") not in LEAST_PRIVILEGE_TOP:
        problems.append(f"top-level permissions must be {{}} or contents: read, not {workflow.get('permissions', 'missing')!r}")
    triggers = workflow.get(True, workflow.get("on")) or {}
    for step in steps(workflow):
        if isinstance(step.get("run"), str) and UNTRUSTED.search(step["run"]):
            problems.append(f"step {step.get('name', step['run'][:40])!r} expands untrusted input inside run:")
        if "pull_request_target" in triggers and str(step.get("uses", "")).startswith("actions/checkout@"):
            problems.append("pull_request_target must never check out (and so run) pull-request code")
    return problems


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.name for p in WORKFLOWS])
def test_workflow_passes_every_check(path: Path):
    problems = findings(path)
    assert not problems, "\n".join(problems)


def test_a_planted_bad_workflow_is_caught(tmp_path: Path):
    planted = tmp_path / ".github" / "workflows" / "planted.yml"
    planted.parent.mkdir(parents=True)
    planted.write_text(
        "name: planted\n"
        "on:\n  pull_request_target:\n"
        "permissions: write-all\n"
        "jobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: actions/checkout@v4\n        with:\n          ref: ${{ github.event.pull_request.head.sha }}\n"
        "      - run: echo \"${{ github.event.pull_request.title }}\"\n")
    problems = "\n".join(findings(planted))
    for expected in ("zizmor:", "dangerous-triggers", "template-injection", "unpinned-uses",
                     "not pinned by full commit SHA", "top-level permissions", "expands untrusted input",
                     "pull_request_target must never check out"):
        assert expected in problems


def test_a_structurally_invalid_workflow_is_caught(tmp_path: Path):
    planted = tmp_path / "invalid.yml"
    planted.write_text("name: invalid\non: push\npermissions: {}\njobs:\n  build:\n    stepz: []\n")
    assert any(p.startswith("check-jsonschema:") for p in findings(planted))


def test_the_ci_workflow_runs_every_check_on_the_right_changes():
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "ci.yml").read_text())
    triggers = workflow[True]
    for event in ("pull_request", "push"):
        assert {"environments/**", "generator/**", "schemas/**", "rendered/**", "tests/**", "pyproject.toml",
                "requirements/**", "tools/**", ".github/**"} <= set(triggers[event]["paths"])
    assert triggers["push"]["branches"] == ["main"]
    assert workflow["concurrency"]["cancel-in-progress"] is True
    assert workflow["permissions"] == {}
    job_steps = [s for s in steps(workflow)]
    runs = "\n".join(s.get("run", "") for s in job_steps)
    for command in ("tools/install", "litellm-gitops schemas sync", "pytest", "litellm-gitops render --check",
                    "litellm-gitops validate", "sha256sum --check", "-strict -summary", "-schema-location default",
                    ".cache/schemas/{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json"):
        assert command in runs, command
    # cfn-lint runs inside validate, under the one policy of generator/validate/cfn.py (informational
    # rules are notes), on what changed: a second run of its CLI would fail on notes, and on every
    # template of a fleet at every push.
    assert "cfn-lint " not in runs
    setup_python = next(s for s in job_steps if str(s.get("uses", "")).startswith("actions/setup-python@"))
    assert setup_python["with"]["cache"] == "pip"
    assert re.fullmatch(r"[0-9a-f]{64}", workflow["env"]["KUBECONFORM_SHA256"])


def test_the_pre_commit_hooks_run_render_check_and_validate():
    config = yaml.safe_load((REPO / ".pre-commit-config.yaml").read_text())
    hooks = {h["entry"]: h for repo in config["repos"] if repo["repo"] == "local" for h in repo["hooks"]}
    assert set(hooks) == {"litellm-gitops render --check", "litellm-gitops validate"}
    for hook in hooks.values():
        assert hook["language"] == "system" and hook["pass_filenames"] is False and "pre-push" in hook["stages"]


def test_dependency_updates_are_configured_for_the_lock_and_the_actions():
    """renovate.json is valid for Renovate and covers the Python lock and the SHA-pinned actions."""
    config = REPO / "renovate.json"
    result = subprocess.run([tool("check-jsonschema"), "--builtin-schema", "vendor.renovate", str(config)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    data = yaml.safe_load(config.read_text())
    assert set(data["enabledManagers"]) == {"pip-compile", "github-actions", "custom.regex"}
    patterns = data["pip-compile"]["managerFilePatterns"]
    assert any(re.search(p.strip("/"), "requirements/ci.txt") for p in patterns)
    header = (REPO / "requirements/ci.txt").read_text().splitlines()[1]
    assert header.strip("# ").startswith("uv pip compile pyproject.toml"), "Renovate re-runs the header's command"


def test_renovate_finds_every_chart_pin_and_completes_the_bump():
    """The regex managers (JavaScript named groups, read here as Python's) find every chart block of
    environments/: an https repository through the helm datasource, an OCI path through docker,
    each exactly once; the post-upgrade task runs the bump with the new version, then render."""
    data = yaml.safe_load((REPO / "renovate.json").read_text())
    managers = {m["datasourceTemplate"]: m for m in data["customManagers"]}
    assert set(managers) == {"helm", "docker"}
    found: dict[tuple[str, str], str] = {}
    files = sorted((REPO / "environments").rglob("*.yaml"))
    for manager in managers.values():
        patterns = [re.compile(p.strip("/")) for p in manager["managerFilePatterns"]]
        for path in files:
            rel = path.relative_to(REPO).as_posix()
            if not any(p.search(rel) for p in patterns):
                continue
            for match in re.finditer(manager["matchStrings"][0].replace("(?<", "(?P<"), path.read_text()):
                key = (match["depName"], match["currentValue"])
                assert key not in found, f"{key} matched twice"
                found[key] = manager["datasourceTemplate"]
    from generator.environment import environment_names, load_environment
    pinned = {}
    for name in environment_names(REPO / "environments"):
        for component in load_environment(REPO / "environments", name).config["components"].values():
            if isinstance(component, dict) and "chart" in component:
                chart = component["chart"]
                pinned[(chart["name"], chart["version"])] = "helm" if chart["repoURL"].startswith("https://") else "docker"
    assert found == pinned
    tasks = next(r["postUpgradeTasks"] for r in data["packageRules"] if "postUpgradeTasks" in r)
    assert "litellm-gitops charts bump {{{depName}}} {{{newVersion}}}" in tasks["commands"]
    assert tasks["commands"][-1] == "litellm-gitops render"
    assert {"environments/**", "schemas/*.json", "rendered/**"} <= set(tasks["fileFilters"])
