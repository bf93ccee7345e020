"""diff over the applied state: a values change or a chart bump shows what it does to the objects;
a Secret's data is never printed, not even its keys."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from conftest import REPO, SHARED
from test_guard import run_cli


def _checkout(path: Path) -> Path:
    for name in ("environments", "rendered", "schemas"):
        shutil.copytree(REPO / name, path / name)
    return path


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    return _checkout(tmp_path / "base"), _checkout(tmp_path / "head")


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_a_values_change_shows_the_objects_it_changes(pair, tmp_path):
    base, head = pair
    _replace(head / "rendered" / "dev" / "values" / "litellm.yaml", "replicaCount: 1", "replicaCount: 3")
    code, out, err = run_cli("diff", "--base", base, "--head", head, "--markdown", tmp_path / "d.md")
    assert code == 0, err
    assert "  wave 13 · dev-litellm\n" in out
    assert ("~ Deployment litellm/litellm  [chart litellm-helm 1.83.10: litellm-helm/templates/deployment.yaml]\n"
            "        spec.replicas: 1 → 3\n") in out
    assert "~ Helm values litellm  [values/litellm.yaml]\n        replicaCount: 1 → 3\n" in out
    assert "prod:" not in out  # prod did not change
    markdown = (tmp_path / "d.md").read_text()
    assert "<details><summary><b>dev</b>" in markdown
    assert "- <code>spec.replicas</code>: <code>1</code> → <code>3</code>" in markdown


def test_secret_data_is_named_as_a_field_never_by_key_or_value(pair):
    base, head = pair
    _replace(head / "rendered" / "dev" / "apps" / "05-repository-redis-ha.yaml",
             "url: https://dandydeveloper.github.io/charts", "url: https://mirror.example.com/charts")
    code, out, err = run_cli("diff", "--base", base, "--head", head, "--json")
    assert code == 0, err
    changes = [c for e in json.loads(out)["environments"] for g in e["groups"] for c in g["changes"]]
    secret = next(c for c in changes if c["label"] == "Secret argocd/repo-redis-ha")
    assert secret["fields"] == ["stringData"] and secret["values"] == [{"path": "stringData", "redacted": True}]
    assert "mirror.example.com" not in out and "stringData.url" not in out


def _bumped_chart(charts: Path, tmp_path: Path) -> Path:
    """redis-ha 4.39.0 repackaged as 4.39.1 with one more label on every object, by the real helm."""
    work = tmp_path / "chart-src"
    with tarfile.open(SHARED / "charts" / "redis-ha-4.39.0.tgz") as archive:
        # The "data" filter (no links out, no devices) exists from Python 3.11.4; the archive is the pinned one.
        archive.extractall(work, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    _replace(work / "redis-ha" / "Chart.yaml", "version: 4.39.0", "version: 4.39.1")
    helpers = work / "redis-ha" / "templates" / "_helpers.tpl"
    helpers.write_text(helpers.read_text() + "\n", encoding="utf-8")
    subprocess.run(["helm", "package", str(work / "redis-ha"), "--destination", str(charts)], check=True, capture_output=True)
    return charts / "redis-ha-4.39.1.tgz"


def test_a_chart_bump_shows_what_it_does_to_the_objects(pair, tmp_path):
    base, head = pair
    charts = tmp_path / "charts"
    shutil.copytree(SHARED / "charts", charts)
    bumped = _bumped_chart(charts, tmp_path)
    lock = json.loads((head / "schemas" / "charts.lock.json").read_text())
    entry = next(c for c in lock["charts"] if c["chart"] == "redis-ha")
    lock["charts"].append({**entry, "version": "4.39.1", "file": bumped.name,
                           "offlineSha256": hashlib.sha256(bumped.read_bytes()).hexdigest()})
    (head / "schemas" / "charts.lock.json").write_text(json.dumps(lock, indent=2))
    _replace(head / "rendered" / "dev" / "apps" / "12-redis-ha.yaml", "targetRevision: 4.39.0", "targetRevision: 4.39.1")
    code, out, err = run_cli("diff", "--base", base, "--head", head, "--charts", charts)
    assert code == 0, err
    assert "chart bump: dev dev-redis-ha: redis-ha 4.39.0 -> 4.39.1" in out
    assert "~ StatefulSet litellm/redis-ha-server  [chart redis-ha 4.39.1: redis-ha/templates/redis-ha-statefulset.yaml]\n" in out
    assert "metadata.labels.chart: redis-ha-4.39.0 → redis-ha-4.39.1" in out  # the chart's version label, on each object


def test_a_git_revision_as_base_hydrates_both_sides(tmp_path, monkeypatch):
    """`diff --base main` in a repository: the base is a temporary worktree of that commit,
    hydrated with its own lock; the charts and renders are cached outside both checkouts."""
    repo = _checkout(tmp_path / "repo")
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "PATH": os.environ["PATH"]}
    for command in (["init", "--quiet", "--initial-branch", "main"], ["add", "-A"], ["commit", "--quiet", "-m", "base"],
                    ["switch", "--quiet", "-c", "more-replicas"]):
        subprocess.run(["git", "-C", str(repo), *command], check=True, env=env)
    _replace(repo / "rendered" / "dev" / "values" / "litellm.yaml", "replicaCount: 1", "replicaCount: 2")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    monkeypatch.setenv("LITELLM_GITOPS_SHARED", str(SHARED))
    code, out, err = run_cli("diff", "--head", repo, "--exit-code")  # the merge base with main vs the working tree
    assert code == 1, err
    assert "~ Deployment litellm/litellm  [chart litellm-helm 1.83.10: litellm-helm/templates/deployment.yaml]\n" \
           "        spec.replicas: 1 → 2\n" in out
    assert any((tmp_path / "user-cache" / "litellm-gitops" / "charts").glob("*.tgz"))
    listed = subprocess.run(["git", "-C", str(repo), "worktree", "list"], capture_output=True, text=True, check=True).stdout
    assert len(listed.splitlines()) == 1


def _commit(path: Path) -> None:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "PATH": os.environ["PATH"]}
    for command in (["init", "--quiet", "--initial-branch", "main"], ["add", "-A"], ["commit", "--quiet", "-m", "c"]):
        subprocess.run(["git", "-C", str(path), *command], check=True, env=env)


@pytest.mark.parametrize("git", [False, True], ids=["folders", "git-checkouts"])
@pytest.mark.parametrize("file, old, new, verdict", [
    ("values/litellm.yaml", "replicaCount: 1", "replicaCount: 3", 0),
    # a repository Secret's URL: two approvals, none readable here, so refused; its data stays unprinted
    ("apps/05-repository-redis-ha.yaml", "url: https://dandydeveloper.github.io/charts", "url: https://mirror.example.com/charts", 1),
])
def test_the_guard_writes_the_plan_diff_writes(pair, tmp_path, git, file, old, new, verdict):
    """`guard --diff-markdown` (review.yml: one command for the comment's diff and verdict) writes
    the very bytes `diff --markdown` writes for the same checkouts, whatever the verdict, and the
    verdict is the one the guard gives without it."""
    base, head = pair
    _replace(head / "rendered" / "dev" / file, old, new)
    if git:
        _commit(base)
        _commit(head)
    code, _, err = run_cli("diff", "--base", base, "--head", head, "--markdown", tmp_path / "diff.md")
    assert code == 0, err
    _, diff_json, _ = run_cli("diff", "--base", base, "--head", head, "--json")
    alone, alone_out, _ = run_cli("guard", "--base", base, "--head", head, "--json")
    code, out, err = run_cli("guard", "--base", base, "--head", head, "--json", "--markdown", tmp_path / "guard.md",
                             "--diff-markdown", tmp_path / "plan.md", "--diff-json", tmp_path / "plan.json")
    assert code == alone == verdict, err
    assert json.loads(out) == json.loads(alone_out)
    assert (tmp_path / "plan.json").read_text() == diff_json  # --diff-json: what `diff --json` prints
    plan = (tmp_path / "plan.md").read_text()
    assert plan == (tmp_path / "diff.md").read_text() and "<b>dev</b>" in plan
    assert "mirror.example.com" not in plan and (tmp_path / "guard.md").read_text().startswith("### ")


def test_on_the_rendered_files_the_plan_is_the_rendered_diff(tmp_path):
    """--no-hydrate on bare rendered/ folders: the plan is `diff --no-hydrate`'s, byte for byte."""
    base, head = tmp_path / "base", tmp_path / "head"
    shutil.copytree(REPO / "rendered", base)
    shutil.copytree(REPO / "rendered", head)
    _replace(head / "dev" / "values" / "litellm.yaml", "replicaCount: 1", "replicaCount: 2")
    code, _, err = run_cli("diff", "--base", base, "--head", head, "--no-hydrate", "--markdown", tmp_path / "diff.md")
    assert code == 0, err
    code, _, err = run_cli("guard", "--base", base, "--head", head, "--no-hydrate", "--diff-markdown", tmp_path / "plan.md")
    assert code == 0, err
    plan = (tmp_path / "plan.md").read_text()
    assert plan == (tmp_path / "diff.md").read_text() and "<code>replicaCount</code>: <code>1</code> → <code>2</code>" in plan


def test_a_side_judged_on_its_rendered_files_is_shown_on_them_on_both_sides(pair, tmp_path):
    """A bare rendered/ base (the guard judges it on its files) against a checkout: the plan
    compares rendered files on both sides (diff --no-hydrate), never a chart's objects against
    nothing."""
    _, head = pair
    bare = tmp_path / "bare" / "rendered"  # no environments/ beside it: nothing to hydrate it with
    shutil.copytree(REPO / "rendered", bare)
    _replace(head / "rendered" / "dev" / "values" / "litellm.yaml", "replicaCount: 1", "replicaCount: 3")
    code, _, err = run_cli("diff", "--base", bare, "--head", head / "rendered", "--no-hydrate", "--markdown", tmp_path / "diff.md")
    assert code == 0, err
    code, _, err = run_cli("guard", "--base", bare, "--head", head, "--diff-markdown", tmp_path / "plan.md")
    assert code in (0, 1), err
    plan = (tmp_path / "plan.md").read_text()
    assert plan == (tmp_path / "diff.md").read_text() and "Deployment" not in plan


@pytest.mark.parametrize("extra, message", [
    (["--shard", "1/2"], "--diff-markdown with --shard: a shard reads only its part of the fleet"),
    (["--markdown", "{plan}"], "--markdown and --diff-markdown name the same file"),
    (["--diff-json", "{plan}"], "--diff-markdown and --diff-json name the same file"),
    (["--diff-markdown", "{tmp}"], "cannot write the --diff-markdown file"),
])
def test_the_plan_file_refuses_bad_input(pair, tmp_path, extra, message):
    base, head = pair
    plan = tmp_path / "plan.md"
    extra = [a.format(plan=plan, tmp=tmp_path) for a in extra]
    code, _, err = run_cli("guard", "--base", base, "--head", head, "--diff-markdown", plan, *extra)
    assert code == 2 and message in err and "Traceback" not in err
    if "--markdown" in extra:  # the guard's own bad-input report (for the comment) is all that file holds
        assert message in plan.read_text() and "Rendered changes" not in plan.read_text()
    else:
        assert not plan.exists()


def test_a_shard_that_meets_bad_input_says_so_in_its_plan_file(pair, tmp_path):
    """review.yml's shard: `guard --shard --diff-json` on bad input (exit 2) leaves the command
    line's failure document in the plan file too, and diff-combine then names that shard's problem
    instead of combining a partial plan."""
    _, head = pair
    plan = tmp_path / "diff-shard-1.json"
    code, out, err = run_cli("guard", "--shard", "1/1", "--base", tmp_path / "absent", "--head", head, "--diff-json", plan)
    assert code == 2 and "Traceback" not in err
    assert json.loads(out)["ok"] is False and json.loads(plan.read_text())["ok"] is False
    code, _, err = run_cli("diff-combine", "--shards", "1", plan, "--markdown", tmp_path / "diff.md")
    assert code == 2 and "a diff shard met bad input" in err
    assert "bad input" in (tmp_path / "diff.md").read_text()

