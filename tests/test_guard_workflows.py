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
        assert set(perms.values()) <= {"read", "write"} and perms.get("contents") == "read"
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
    assert validate["run"] == 'litellm-gitops validate --shard "$SHARD/$SHARDS" --prune-records'


def test_main_prunes_each_shards_render_cache_before_saving_it() -> None:
    """Issue 25: the render cache only grows unless pruned. On main, each validate shard runs
    `cache prune` over its own part of the tree after validate and right before the one save of
    .cache/hydrated, under the save's very condition (a pull request prunes nothing and saves
    nothing), with the charts validate hydrated with."""
    steps = _load(WORKFLOWS / "ci.yml")["jobs"]["validate"]["steps"]
    names = [s.get("name") for s in steps]
    validate = names.index("validate")
    prune = next(i for i, s in enumerate(steps) if "cache prune" in s.get("run", ""))
    save = next(i for i, s in enumerate(steps) if s.get("uses", "").startswith("actions/cache/save@")
                and s["with"]["path"] == ".cache/hydrated")
    assert validate < prune == save - 1
    assert steps[prune]["if"] == steps[save]["if"] == "${{ github.event_name == 'push' && github.ref == 'refs/heads/main' }}"
    assert steps[prune]["run"] == 'litellm-gitops cache prune --shard "$SHARD/$SHARDS"'
    assert steps[prune]["env"] == {"SHARD": "${{ matrix.shard }}", "LITELLM_GITOPS_CHARTS": steps[validate]["env"]["LITELLM_GITOPS_CHARTS"]}
    assert "continue-on-error" not in steps[prune]  # a failed prune saves nothing (the older cache stays)


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


def test_the_review_shards_restore_the_render_cache_of_their_validate_shard() -> None:
    """Each review shard restores ci.yml's path under the key prefix of the validate shard of the
    same number (same SHARDS and matrix: same partition), keyed by the base commit, outside the head
    checkout, and passes it to both commands; nothing in review.yml saves."""
    ci, review = _load(WORKFLOWS / "ci.yml"), _load(WORKFLOWS / "review.yml")
    assert review["env"]["SHARDS"] == ci["env"]["SHARDS"]
    assert review["jobs"]["shard"]["strategy"]["matrix"] == ci["jobs"]["validate"]["strategy"]["matrix"]
    restored = [s["with"] for s in _steps(WORKFLOWS / "review.yml") if s.get("uses", "").startswith("actions/cache")]
    assert restored == [{"path": ".cache/hydrated", "key": "hydrated-${{ matrix.shard }}-${{ github.event.pull_request.base.sha }}",
                         "restore-keys": "hydrated-${{ matrix.shard }}-\n"}]
    assert all(s.get("uses", "").startswith("actions/cache/restore@") for s in review["jobs"]["shard"]["steps"]
               if s.get("uses", "").startswith("actions/cache"))
    run = next(s["run"] for s in review["jobs"]["shard"]["steps"] if s.get("name") == "Diff and guard this shard")
    assert run.count("--hydrate-cache .cache/hydrated") == 1


def test_the_review_shards_and_one_job_writes_the_comment() -> None:
    """Issue 25: review.yml shards as guard.yml does. N shards (SHARDS and the matrix agree) each
    run `diff --shard` and `guard --shard` and upload both documents whatever happened; the job
    `review` runs unless the run was superseded, combines all N (diff-combine, guard-combine) into
    the one comment's Markdown and fails closed when a shard did not report; `comment`, the only
    job holding write, posts what the combine wrote even when the combine failed."""
    workflow = _load(WORKFLOWS / "review.yml")
    count = int(workflow["env"]["SHARDS"])
    assert list(workflow["jobs"]) == ["shard", "review", "comment"]
    shards, combine, comment = (workflow["jobs"][k] for k in ("shard", "review", "comment"))
    assert shards["strategy"]["matrix"]["shard"] == [str(i) for i in range(1, count + 1)]
    assert shards["strategy"]["fail-fast"] == "false"
    assert shards["permissions"] == {"contents": "read"}  # a shard reads no review and writes nothing
    run = next(s for s in shards["steps"] if s.get("name") == "Diff and guard this shard")
    assert run["env"] == {"SHARD": "${{ matrix.shard }}"}
    commands = " ".join(run["run"].replace("\\\n", " ").split())
    # one command: the shard's findings on stdout, its plan (what `diff --shard` prints) to --diff-json
    assert commands == ('litellm-gitops guard --shard "$SHARD/$SHARDS" --base base --head head --charts "$RUNNER_TEMP/charts" '
                        '--hydrate-cache .cache/hydrated --diff-json "diff-shard-$SHARD.json" > "guard-shard-$SHARD.json"')
    assert "set +e" not in run["run"]  # bad input (exit 2) fails the shard
    upload = next(s for s in shards["steps"] if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["if"] == "${{ always() }}" and upload["with"]["if-no-files-found"] == "error"
    assert upload["with"]["name"] == "review-shard-${{ matrix.shard }}" and upload["with"]["retention-days"] == "1"
    assert upload["with"]["path"].split() == ["diff-shard-*.json", "guard-shard-*.json"]

    assert combine["needs"] == "shard" and combine["if"] == "${{ !cancelled() }}"
    assert combine["permissions"] == {"contents": "read", "pull-requests": "read"}
    assert [s["with"]["path"] for s in combine["steps"] if "actions/checkout" in s.get("uses", "")] == ["base"]
    download = next(s for s in combine["steps"] if s.get("uses", "").startswith("actions/download-artifact@"))
    assert "run-id" not in download["with"] and download["with"]["pattern"] == "review-shard-*"  # this run's only
    decide = next(s for s in combine["steps"] if s.get("id") == "review")
    assert 'diff-combine --shards "$SHARDS" shards/diff-shard-*.json --markdown diff.md' in decide["run"]
    assert 'guard-combine --shards "$SHARDS" shards/guard-shard-*.json --markdown guard.md' in decide["run"]
    assert 'if [ "$diff_code" -ne 0 ] || [ "$guard_code" -ge 2 ]; then complete=false; fi' in decide["run"]
    last = combine["steps"][-1]
    assert last["env"] == {"COMPLETE": "${{ steps.review.outputs.complete }}"} and last["run"] == 'test "$COMPLETE" = true'
    assert combine["outputs"] == {"markdown": "${{ steps.review.outputs.markdown }}"}

    assert comment["needs"] == "review" and comment["if"].startswith("${{ !cancelled() && needs.review.outputs.markdown != ''")


def _combine_step(tmp_path: Path, reported: list[int]) -> tuple[int, str]:
    """review.yml's combining step, its script run as GitHub runs it (bash -e, SHARDS=4) over real
    shard documents of the shards in `reported`: a pull request scaling one environment's LiteLLM
    (allowed without approvals, so GitHub is never asked). Its exit code and $GITHUB_OUTPUT."""
    import os

    from guard_build import Rendered
    from test_shard import run_cli

    names = [f"eu-{i}" for i in range(8)]
    base = Rendered.minimal(*names)
    head = base.copy()
    head.envs["eu-5"]["values/litellm.yaml"]["replicaCount"] = 5
    base_dir, head_dir = base.write(tmp_path / "base"), head.write(tmp_path / "head")
    (tmp_path / "shards").mkdir()
    for index in reported:  # as each shard job runs: one guard writing both documents
        plan = tmp_path / "shards" / f"diff-shard-{index}.json"
        code, out, err = run_cli("guard", "--shard", f"{index}/4", "--base", base_dir, "--head", head_dir, "--no-hydrate",
                                 "--diff-json", plan)
        assert code == 0, err
        (tmp_path / "shards" / f"guard-shard-{index}.json").write_text(out)
        alone = run_cli("diff", "--shard", f"{index}/4", "--base", base_dir, "--head", head_dir, "--no-hydrate")
        assert plan.read_text() == alone[1], "the guard's shard plan is what `diff --shard` prints"
    script = next(s for s in _load(WORKFLOWS / "review.yml")["jobs"]["review"]["steps"] if s.get("id") == "review")["run"]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", "SHARDS": "4",
           "GITHUB_OUTPUT": str(tmp_path / "output"), "GITHUB_STEP_SUMMARY": str(tmp_path / "summary")}
    env.pop("GITHUB_TOKEN", None)
    done = subprocess.run(["bash", "-e", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    return done.returncode, (tmp_path / "output").read_text()


def test_the_review_comment_says_which_shard_is_missing_and_the_job_fails(tmp_path: Path) -> None:
    code, output = _combine_step(tmp_path, [1, 2, 4])
    assert code == 0  # the step hands its Markdown on; the next step fails the job
    assert output.rstrip().endswith("complete=false")
    assert "### ⛔ Rendered changes: bad input" in output and "### ⛔ Guard: bad input" in output
    assert output.count("shard(s) 3/4 missing") == 2 and "replicaCount" not in output  # no partial plan


def test_the_review_comment_of_every_shard_is_the_whole_plan_and_verdict(tmp_path: Path) -> None:
    code, output = _combine_step(tmp_path, [1, 2, 3, 4])
    assert code == 0 and output.rstrip().endswith("complete=true")
    assert "### Rendered changes" in output and "in 1 of 8 environment(s)" in output and "replicaCount" in output
    assert "bad input" not in output
