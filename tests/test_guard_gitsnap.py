"""Unchanged environments cost a hash (guard.gitsnap): two git checkouts compare an environment by
its tree id, and only when git can vouch that the work tree is exactly the commit Argo CD reads.
Each case is a pair of checkouts a pull request (or a developer's dirty clone) really produces;
whenever git cannot vouch, every file is read and the verdict is the one a full read gives."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from generator.guard import gitsnap, tree
from guard_build import Rendered
from test_guard import TWO_APPROVAL_CHANGES, categories, run_cli

ENVS = ("dev", "prod")


def git(repo: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    done = subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "init.defaultBranch=main",
                           "-C", str(repo), *args], env=env, capture_output=True, text=True, check=True)
    return done.stdout


def checkouts(tmp_path: Path, head: Rendered, base: Rendered | None = None) -> tuple[Path, Path]:
    """The base committed, then a clone with the head committed on top: what actions/checkout
    gives the guard for a pull request."""
    base = base or Rendered.minimal(*ENVS)
    b = base.write(tmp_path / "base")
    git(b, "init", "-q")
    git(b, "add", "-A")
    git(b, "commit", "-qm", "base")
    h = tmp_path / "head"
    git(tmp_path, "clone", "-q", str(b), str(h))
    for path in (h / "rendered").iterdir():
        subprocess.run(["rm", "-rf", str(path)], check=True)
    head.write(h)
    git(h, "add", "-A")
    git(h, "commit", "-qm", "head", "--allow-empty")
    return b, h


def read_environments(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The environment folders the guard reads file by file."""
    read: list[str] = []
    original = tree._files

    def spy(directory: Path):
        read.append(Path(directory).name)
        return original(directory)

    monkeypatch.setattr(tree, "_files", spy)
    return read


def guard_json(base: Path, head: Path) -> tuple[int, dict]:
    code, out, _ = run_cli("guard", "--base", base, "--head", head, "--json", "--no-hydrate")
    return code, json.loads(out)


def salt_change(r: Rendered, env: str = "dev") -> None:
    r.entry("LITELLM_SALT_KEY", env=env)["remoteRef"]["key"] = f"{env}/litellm/other-salt"


def test_an_unchanged_environment_is_compared_by_its_tree_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, github) -> None:
    head = Rendered.minimal(*ENVS).edit(lambda r: r.values("litellm", "prod").__setitem__("replicaCount", 3))
    base_dir, head_dir = checkouts(tmp_path, head)
    ids = gitsnap.fingerprints(base_dir, head_dir)
    assert ids[0] and ids[1] and ids[0]["dev"] == ids[1]["dev"] and ids[0]["prod"] != ids[1]["prod"]
    read = read_environments(monkeypatch)
    pair = tree.load_pair(base_dir, head_dir)
    assert sorted(read) == ["prod", "prod"] and list(pair.head) == ["prod"]


def test_a_change_in_the_compared_environment_is_judged_as_before(tmp_path: Path, github) -> None:
    head = Rendered.minimal(*ENVS).edit(salt_change)
    code, report = guard_json(*checkouts(tmp_path, head))
    assert code == 1 and "salt-key" in categories(report), report


def test_an_uncommitted_edit_is_read_not_trusted(tmp_path: Path, github) -> None:
    """A developer's head with an edit git has not committed: the tree id says "unchanged", the
    files say otherwise, and the files win."""
    base_dir, head_dir = checkouts(tmp_path, Rendered.minimal(*ENVS))
    Rendered.minimal(*ENVS).edit(salt_change).write(head_dir)
    assert gitsnap.fingerprints(head_dir) == [None]
    code, report = guard_json(base_dir, head_dir)
    assert code == 1 and "salt-key" in categories(report), report


@pytest.mark.parametrize("ignored", [False, True])
def test_an_untracked_or_ignored_file_is_read(ignored: bool, tmp_path: Path, github) -> None:
    base_dir, head_dir = checkouts(tmp_path, Rendered.minimal(*ENVS))
    if ignored:
        (head_dir / ".gitignore").write_text("rendered/dev/manifests/secret-store/zz.yaml\n")
    extra = head_dir / "rendered" / "dev" / "manifests" / "secret-store" / "zz.yaml"
    extra.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n  namespace: litellm\n")
    assert gitsnap.fingerprints(head_dir) == [None]
    pair = tree.load_pair(base_dir, head_dir)
    assert "dev" in pair.head and "k8s//ConfigMap/litellm/extra" in pair.head["dev"].objects


def test_a_committed_link_in_an_unchanged_environment_is_still_refused(tmp_path: Path, github) -> None:
    """A link in dev that reads prod would make dev change when prod does, under an unchanged tree id."""
    base = Rendered.minimal(*ENVS)
    b = base.write(tmp_path / "b")
    (b / "rendered" / "dev" / "manifests" / "secret-store" / "link.yaml").symlink_to("../../../prod/values/litellm.yaml")
    git(b, "init", "-q")
    git(b, "add", "-A")
    git(b, "commit", "-qm", "base")
    h = tmp_path / "h"
    git(tmp_path, "clone", "-q", str(b), str(h))
    assert gitsnap.fingerprints(b, h) == [None, None]
    code, out, err = run_cli("guard", "--base", b, "--head", h, "--no-hydrate")
    assert code == 2 and "symbolic link" in err


@pytest.mark.parametrize("where", [".gitattributes", "rendered/.gitattributes"])
def test_attributes_that_rewrite_checkouts_turn_the_fast_path_off(where: str, tmp_path: Path) -> None:
    base_dir, head_dir = checkouts(tmp_path, Rendered.minimal(*ENVS))
    (head_dir / where).write_text("*.yaml text eol=crlf\n")
    git(head_dir, "add", "-A")
    git(head_dir, "commit", "-qm", "attributes")
    assert gitsnap.fingerprints(base_dir, head_dir)[1] is None


def test_a_stray_git_dir_does_not_point_git_elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    head = Rendered.minimal(*ENVS).edit(lambda r: r.values("litellm", "prod").__setitem__("replicaCount", 3))
    base_dir, head_dir = checkouts(tmp_path, head)
    monkeypatch.setenv("GIT_DIR", str(base_dir / ".git"))
    base_ids, head_ids = gitsnap.fingerprints(base_dir, head_dir)
    assert base_ids and head_ids and base_ids["prod"] != head_ids["prod"]


def test_plain_folders_and_a_rendered_folder_are_read(tmp_path: Path) -> None:
    plain = Rendered.minimal(*ENVS).write(tmp_path / "plain")
    base_dir, _ = checkouts(tmp_path, Rendered.minimal(*ENVS))
    assert gitsnap.fingerprints(plain, base_dir / "rendered") == [None, None]


def test_approvals_still_count_when_unchanged_environments_are_skipped(tmp_path: Path, github) -> None:
    head = Rendered.minimal(*ENVS).edit(TWO_APPROVAL_CHANGES["master-key"])
    base_dir, head_dir = checkouts(tmp_path, head)
    assert guard_json(base_dir, head_dir)[0] == 1
    github.review("bob")
    github.review("carol")
    assert guard_json(base_dir, head_dir)[0] == 0


# --- every git run bounded in time and output (issue #22, item 2) -------------------------------

FAKE_GIT = """#!/bin/sh
# A git that floods stdout or hangs (with a child of its own, which must go with its process group).
case "$FAKE_GIT_MODE" in
  flood) exec cat /dev/zero ;;
  hang) sleep 600 & echo $! > "$FAKE_GIT_PIDS"; sleep 600 ;;
esac
"""


@pytest.fixture
def fake_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Checkouts made with the real git, then a fake `git` first on PATH (gitsnap runs `git` from
    PATH) and small limits."""
    from generator import limits

    pair = checkouts(tmp_path, Rendered.minimal(*ENVS).edit(TWO_APPROVAL_CHANGES["master-key"]))
    folder = tmp_path / "fake-bin"
    folder.mkdir()
    (folder / "git").write_text(FAKE_GIT)
    (folder / "git").chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_GIT_PIDS", str(tmp_path / "pids"))
    monkeypatch.setattr(limits, "GIT_TIMEOUT", 1.0)
    monkeypatch.setattr(limits, "GIT_OUTPUT_BYTES", 1 << 20)

    def mode(name: str) -> tuple[Path, Path]:
        monkeypatch.setenv("FAKE_GIT_MODE", name)
        return pair

    return mode


@pytest.mark.parametrize("mode", ["flood", "hang"])
def test_a_git_out_of_bounds_gives_no_fingerprint(mode: str, fake_git) -> None:
    """Fingerprints git cannot give within GIT_TIMEOUT and GIT_OUTPUT_BYTES are none: every file is read."""
    import time

    base, head = fake_git(mode)
    started = time.monotonic()
    assert gitsnap.fingerprints(base, head) == [None, None]
    assert time.monotonic() - started < 15


@pytest.mark.parametrize("mode, limit", [("flood", "GIT_OUTPUT_BYTES"), ("hang", "GIT_TIMEOUT")])
def test_a_git_out_of_bounds_makes_the_guard_refuse_naming_the_limit(mode: str, limit: str, fake_git, tmp_path: Path) -> None:
    """The submodule listing is what proves the head brings in no other repository: a git that
    floods or hangs is stopped with its process group and the guard refuses (exit 2, never 70)."""
    import time

    base, head = fake_git(mode)
    started = time.monotonic()
    code, out, err = run_cli("guard", "--base", base, "--head", head, "--json")
    assert code == 2 and time.monotonic() - started < 30, (code, err)
    assert limit in err and "submodule" in err and "Traceback" not in err, err
    assert json.loads(out)["exit"] == 2
    if mode == "hang":
        pid = int((tmp_path / "pids").read_text())
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # bounded
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the hanging git's own child outlived it")


def test_diff_s_git_revision_is_bounded_too(fake_git) -> None:
    from generator import gitrev
    from generator.errors import InputError

    base, _ = fake_git("hang")
    with pytest.raises(InputError, match="GIT_TIMEOUT"):
        gitrev.resolve(base, "HEAD")
