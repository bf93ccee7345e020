"""The guard and review workflows: valid, pinned by full commit SHA, least privilege, nothing from
the event expanded inside a script, and clean under check-jsonschema and zizmor."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

WORKFLOWS = Path(__file__).resolve().parent.parent / ".github" / "workflows"
FILES = [WORKFLOWS / "guard.yml", WORKFLOWS / "review.yml"]


def _load(path: Path) -> dict:
    return yaml.load(path.read_text(), Loader=yaml.BaseLoader)  # "on" stays a string


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_actions_pinned_by_sha_with_version_comment(path: Path) -> None:
    uses = re.findall(r"uses:\s*(\S+)(.*)", path.read_text())
    assert uses
    for ref, rest in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+(/[\w.-]+)*@[0-9a-f]{40}", ref), ref
        assert re.search(r"#\s*v\d+\.\d+\.\d+", rest), f"{ref} needs a # vX.Y.Z comment"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_no_event_expansion_in_scripts_and_least_privilege(path: Path) -> None:
    workflow = _load(path)
    assert workflow["permissions"] == {}
    assert "pull_request_target" not in workflow["on"]
    for name, job in workflow["jobs"].items():
        perms = job["permissions"]
        assert set(perms.values()) <= {"read", "write"}
        assert perms.get("pull-requests") in ("read", "write")
        assert all(v == "read" for k, v in perms.items() if k != "pull-requests")
        for step in job["steps"]:
            assert "${{" not in step.get("run", ""), f"{path.name}/{name}: expression inside run:"
            if "actions/checkout" in step.get("uses", ""):
                assert step["with"]["persist-credentials"] == "false"


def test_only_the_posting_job_can_write() -> None:
    writers = [(p.name, n) for p in FILES for n, j in _load(p)["jobs"].items() if "write" in j["permissions"].values()]
    assert writers == [("review.yml", "comment")]
    comment = _load(WORKFLOWS / "review.yml")["jobs"]["comment"]
    checkouts = [s["with"]["path"] for s in comment["steps"] if "actions/checkout" in s.get("uses", "")]
    assert checkouts == ["base"], "the job holding write never checks out the pull request"


def test_guard_triggers() -> None:
    on = _load(WORKFLOWS / "guard.yml")["on"]
    assert on["pull_request"]["types"] == ["opened", "synchronize", "reopened"]
    assert on["pull_request_review"]["types"] == ["submitted", "dismissed"]


@pytest.mark.parametrize("tool", ["check-jsonschema", "zizmor"])
def test_linters_are_clean(tool: str) -> None:
    found = shutil.which(tool) or str(Path(sys.executable).parent / tool)
    assert Path(found).exists(), f"{tool} is not installed: run tools/install"  # a missing tool fails, never skips
    args = ([found, "--builtin-schema", "vendor.github-workflows"] if tool == "check-jsonschema"
            else [found, "--offline", "--persona", "pedantic"]) + [str(p) for p in FILES]
    result = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def _steps(path: Path) -> list[dict]:
    return [s for job in _load(path)["jobs"].values() for s in job.get("steps", [])]


def test_no_pull_request_can_write_a_cache_another_run_reads() -> None:
    """Issue 25: a cache is saved only by a push to the default branch; every other use restores.
    `actions/cache` itself (restore, then save at the job's end) would save from a pull request."""
    workflows = sorted(WORKFLOWS.glob("*.yml"))
    for path in workflows:
        for step in _steps(path):
            uses = step.get("uses", "")
            if not uses.startswith("actions/cache"):
                continue
            action = uses.split("@", 1)[0]
            assert action in ("actions/cache/restore", "actions/cache/save"), f"{path.name}: {uses} saves from any event"
            if action == "actions/cache/save":
                assert step.get("if", "").replace(" ", "") == (
                    "${{github.event_name=='push'&&github.ref=='refs/heads/main'}}"), f"{path.name}: {step['name']}"
                assert "push" in _load(path)["on"] and "pull_request_target" not in _load(path)["on"]
    assert not any(s.get("uses", "").startswith("actions/cache/save") for s in _steps(WORKFLOWS / "guard.yml"))


def test_the_guard_restores_the_render_cache_the_default_branch_saves() -> None:
    """The cache's version includes its path: each guard shard restores ci.yml's very path and the
    key prefix of the validate shard of the same number (same SHARDS: same partition), outside the
    head checkout, keyed by the base commit, and passes it to the guard."""
    ci, guard_workflow = _load(WORKFLOWS / "ci.yml"), _load(WORKFLOWS / "guard.yml")
    assert ci["env"]["SHARDS"] == guard_workflow["env"]["SHARDS"]
    assert ci["jobs"]["validate"]["strategy"]["matrix"] == guard_workflow["jobs"]["shard"]["strategy"]["matrix"]
    saved = [s["with"] for s in _steps(WORKFLOWS / "ci.yml")
             if s.get("uses", "").startswith("actions/cache/save") and ".cache/hydrated" in s["with"]["path"]]
    restored = [s["with"] for s in _steps(WORKFLOWS / "guard.yml") if s.get("uses", "").startswith("actions/cache/restore")]
    assert len(saved) == 1 and len(restored) == 1
    assert restored[0]["path"] == saved[0]["path"] == ".cache/hydrated"
    assert saved[0]["key"] == "hydrated-${{ matrix.shard }}-${{ github.sha }}"
    assert restored[0]["key"] == "hydrated-${{ matrix.shard }}-${{ github.event.pull_request.base.sha }}"
    assert restored[0]["restore-keys"].split() == ["hydrated-${{", "matrix.shard", "}}-"]
    guard = next(s["run"] for s in _steps(WORKFLOWS / "guard.yml") if s.get("name") == "Guard this shard")
    assert "--hydrate-cache .cache/hydrated" in guard and "head" not in restored[0]["path"]
    validate = next(s for s in ci["jobs"]["validate"]["steps"] if s.get("name") == "validate")
    assert validate["run"] == 'litellm-gitops validate --shard "$SHARD/$SHARDS"'


def test_ci_passes_only_when_every_validate_shard_passed() -> None:
    ci = _load(WORKFLOWS / "ci.yml")["jobs"]["ci"]
    assert ci["name"] == "test, render --check, validate, kubeconform, cfn-lint"  # the required check
    assert ci["needs"] == ["checks", "validate", "docs"] and ci["if"] == "${{ always() }}"
    run = ci["steps"][0]["run"]
    assert 'test "$CHECKS" = success && test "$VALIDATE" = success && test "$DOCS" = success' in run
    assert ci["steps"][0]["env"] == {"CHECKS": "${{ needs.checks.result }}", "VALIDATE": "${{ needs.validate.result }}",
                                     "DOCS": "${{ needs.docs.result }}"}


def test_the_guard_shards_and_one_job_decides() -> None:
    """Issue 25: N shards (SHARDS and the matrix agree), each guarding its part; the required check
    `guard` runs whatever the shards did (always()) and combines all N, failing closed on a gap."""
    workflow = _load(WORKFLOWS / "guard.yml")
    count = int(workflow["env"]["SHARDS"])
    shards, combine = workflow["jobs"]["shard"], workflow["jobs"]["guard"]
    assert shards["strategy"]["matrix"]["shard"] == [str(i) for i in range(1, count + 1)]
    assert shards["strategy"]["fail-fast"] == "false"
    run = next(s for s in shards["steps"] if s.get("name") == "Guard this shard")
    assert run["env"]["SHARD"] == "${{ matrix.shard }}" and '--shard "$SHARD/$SHARDS"' in run["run"]
    upload = next(s for s in shards["steps"] if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["if"] == "${{ always() }}" and upload["with"]["if-no-files-found"] == "error"
    assert combine["name"] == "guard" and combine["needs"] == "shard" and combine["if"] == "${{ always() }}"
    assert [s["with"]["path"] for s in combine["steps"] if "actions/checkout" in s.get("uses", "")] == ["base"]
    download = next(s for s in combine["steps"] if s.get("uses", "").startswith("actions/download-artifact@"))
    assert "run-id" not in download["with"]  # this run's artifacts only
    decide = next(s for s in combine["steps"] if s.get("name") == "Guard")
    assert 'guard-combine --shards "$SHARDS"' in decide["run"] and "--markdown guard.md" in decide["run"]


def test_the_review_restores_every_shards_render_cache_and_saves_none() -> None:
    """review.yml (unsharded diff and guard for the comment) restores each validate shard's render
    cache into ci.yml's one path, keyed by the base commit, and passes it to the one command that
    writes the plan and the verdict (guard --diff-markdown)."""
    count = int(_load(WORKFLOWS / "ci.yml")["env"]["SHARDS"])
    steps = _steps(WORKFLOWS / "review.yml")
    restored = [s["with"] for s in steps if s.get("uses", "").startswith("actions/cache/restore")]
    assert [r["key"] for r in restored] == [f"hydrated-{i}-${{{{ github.event.pull_request.base.sha }}}}" for i in range(1, count + 1)]
    assert {r["path"] for r in restored} == {".cache/hydrated"}
    run = next(s["run"] for s in steps if s.get("name") == "Diff and guard verdict")
    assert run.count("--hydrate-cache .cache/hydrated") == 1 and "--diff-markdown diff.md" in run
