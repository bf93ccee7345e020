"""Nothing outside what a command owns is removed, renamed or overwritten (issue #22, item 1).

A planted render journal (committed by a pull request, carried by a copied checkout) names paths
render must never touch; `hydrate --out` must not replace the repository's own folders or a
folder it did not write; a failure after the swap says the new tree is in place."""

from __future__ import annotations

import errno
import json
import os
import subprocess
from pathlib import Path

import pytest

from generator import tree
from generator.applied import out
from generator.applied.model import AppliedState
from generator.cli import main
from generator.errors import InputError

REPO = Path(__file__).resolve().parent.parent


def snapshot(directory: Path) -> dict[str, bytes]:
    return {p.relative_to(directory).as_posix(): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def test_the_journal_and_staging_folders_are_git_ignored_at_every_level() -> None:
    for path in ("rendered/.render-journal.json", "rendered/.render-journal.json.tmp", "rendered/fleet/.render-journal.json",
                 "rendered/.tmp-dev-0123abcd", "rendered/fleet/.old-hub-0123abcd"):
        done = subprocess.run(["git", "-C", str(REPO), "check-ignore", "--no-index", "-q", path], check=False, timeout=30)
        assert done.returncode == 0, path


def test_render_writes_a_journal_of_names_relative_to_its_folder(tmp_path: Path, monkeypatch) -> None:
    root = tmp_path / "rendered"
    (root / "dev").mkdir(parents=True)
    seen: list[dict] = []
    real = tree._swap

    def spying(target: Path, staging: Path) -> None:
        seen.append(json.loads((root / tree.JOURNAL).read_text()))
        real(target, staging)

    monkeypatch.setattr(tree, "_swap", spying)
    tree.write_trees(root, {"dev": {"a.yaml": "a\n"}, "prod": {"b.yaml": "b\n"}})
    steps = seen[0]["steps"]
    assert [(s["op"], s["target"]) for s in steps] == [("swap", "dev"), ("swap", "prod")]
    assert all(s["staging"].startswith(f".tmp-{s['target']}-") and "/" not in s["staging"] for s in steps)
    assert not os.path.lexists(root / tree.JOURNAL)


PLANTED = {
    "an absolute target outside": lambda victim: {"committed": False, "steps": [
        {"op": "remove", "target": str(victim), "staging": ".old-x-0123abcd"}]},
    "an absolute staging outside": lambda victim: {"committed": True, "steps": [
        {"op": "swap", "target": "dev", "staging": str(victim), "inode": 1}]},
    "a relative escape": lambda victim: {"committed": False, "steps": [
        {"op": "remove", "target": "../../victim", "staging": ".old-x-0123abcd"}]},
    "a staging name of another target": lambda victim: {"committed": False, "steps": [
        {"op": "swap", "target": "dev", "staging": ".tmp-prod-0123abcd", "inode": 1}]},
    "a staging folder that is an environment": lambda victim: {"committed": False, "steps": [
        {"op": "remove", "target": "dev", "staging": "prod"}]},
    "an unknown operation": lambda victim: {"committed": False, "steps": [
        {"op": "delete", "target": "dev", "staging": ".tmp-dev-0123abcd", "inode": 1}]},
    "committed as a string": lambda victim: {"committed": "yes", "steps": []},
    "steps not a list": lambda victim: {"committed": False, "steps": {"a": 1}},
    "not an object": lambda victim: [1, 2, 3],
}


@pytest.mark.parametrize("case", sorted(PLANTED))
def test_a_planted_journal_is_refused_and_nothing_is_touched(case: str, scratch_repo: Path, capsys) -> None:
    victim = scratch_repo.parent / f"victim-{scratch_repo.name}"
    (victim / "keep").mkdir(parents=True)
    (victim / "keep/file").write_text("precious\n")
    rendered = scratch_repo / "rendered"
    (rendered / tree.JOURNAL).write_text(json.dumps(PLANTED[case](victim)))
    before = snapshot(rendered)
    assert main(["render", "--root", str(scratch_repo)]) == 2
    err = capsys.readouterr().err
    assert f"{rendered / tree.JOURNAL}: error: the render journal" in err and "Traceback" not in err
    assert "fix: check each folder in" in err
    assert snapshot(rendered) == before
    assert snapshot(victim) == {"keep/file": b"precious\n"}


@pytest.mark.parametrize("content", [b"", b"{", b"\xff\xfe", b"[" * 100_000 + b"]" * 100_000,
                                     b" " * (2 << 20)], ids=["empty", "truncated", "not-utf8", "deep", "huge"])
def test_a_malformed_journal_is_bad_input(content: bytes, scratch_repo: Path, capsys) -> None:
    journal = scratch_repo / "rendered" / tree.JOURNAL
    journal.write_bytes(content)
    assert main(["render", "--root", str(scratch_repo)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{journal}: error: ") and "bug" not in err
    assert journal.read_bytes() == content


def test_a_journal_that_is_a_fifo_or_a_link_is_refused_without_blocking(scratch_repo: Path, capsys) -> None:
    journal = scratch_repo / "rendered" / tree.JOURNAL
    os.mkfifo(journal)
    assert main(["render", "--root", str(scratch_repo)]) == 2
    assert "not a regular file" in capsys.readouterr().err
    journal.unlink()
    journal.symlink_to("/dev/zero")
    assert main(["render", "--root", str(scratch_repo)]) == 2
    assert "symbolic link" in capsys.readouterr().err


def test_a_copied_checkout_repairs_only_itself(scratch_repo: Path, tmp_path: Path) -> None:
    """A journal a killed render left is relative: recovering it in a copy touches the copy only."""
    original = scratch_repo / "rendered"
    steps = [{"op": "remove", "target": "prod", "staging": ".old-prod-0123abcd"}]
    os.rename(original / "prod", original / ".old-prod-0123abcd")  # killed after the rename
    (original / tree.JOURNAL).write_text(json.dumps({"committed": False, "steps": steps}))
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-a", str(original), str(copy)], check=True, timeout=60)
    before = snapshot(original)
    assert tree.recover(copy) == ["rolled back an interrupted render (1 step(s))"]
    assert (copy / "prod").is_dir() and tree.leftovers(copy) == []
    assert snapshot(original) == before


def test_a_full_disk_at_the_commit_rolls_back_and_says_so(tmp_path: Path, monkeypatch) -> None:
    root = tmp_path / "rendered"
    (root / "dev").mkdir(parents=True)
    (root / "dev/a.yaml").write_text("old\n")
    real = tree._write_journal

    def full(where: Path, steps: list[dict], committed: bool) -> None:
        if committed:
            raise OSError(errno.ENOSPC, "No space left on device", str(where / tree.JOURNAL))
        real(where, steps, committed)

    monkeypatch.setattr(tree, "_write_journal", full)
    with pytest.raises(InputError) as raised:
        tree.write_trees(root, {"dev": {"a.yaml": "new\n"}})
    assert "no environment was changed" in raised.value.message
    assert (root / "dev/a.yaml").read_text() == "old\n" and tree.leftovers(root) == []


def test_a_failure_after_the_commit_says_the_new_tree_is_in_place(tmp_path: Path, monkeypatch) -> None:
    root = tmp_path / "rendered"
    (root / "dev").mkdir(parents=True)
    (root / "dev/a.yaml").write_text("old\n")
    real = tree._remove

    def immutable(path: Path) -> None:
        if path.name.startswith(tree.STAGING_PREFIX):
            raise PermissionError(errno.EPERM, "Operation not permitted", str(path))
        real(path)

    monkeypatch.setattr(tree, "_remove", immutable)
    with pytest.raises(InputError) as raised:
        tree.write_trees(root, {"dev": {"a.yaml": "new\n"}})
    assert raised.value.message.startswith("the new trees are in place (dev), but removing the old ones failed")
    assert "the next render removes the leftovers" in raised.value.hint
    assert (root / "dev/a.yaml").read_text() == "new\n"
    monkeypatch.setattr(tree, "_remove", real)
    left = [name for name in tree.leftovers(root) if name != tree.JOURNAL]
    assert len(left) == 1 and left[0].startswith(".tmp-dev-")
    assert tree.recover(root) == [f"removed leftover rendered/{left[0]}"]  # the committed journal went first
    assert tree.leftovers(root) == [] and (root / "dev/a.yaml").read_text() == "new\n"


@pytest.mark.parametrize("folder", ["environments", "rendered", "schemas", "generator", "rendered/dev", "."])
def test_hydrate_out_refuses_the_repository_s_own_folders(folder: str, scratch_repo: Path, capsys) -> None:
    target = scratch_repo / folder
    before = snapshot(scratch_repo)
    assert main(["hydrate", "--root", str(scratch_repo), "--env", "dev", "--out", str(target)]) == 2
    err = capsys.readouterr().err
    assert "error: --out" in err and "would replace folders in" in err
    assert snapshot(scratch_repo) == before


def test_hydrate_out_refuses_a_folder_it_did_not_write_and_reuses_its_own(scratch_repo: Path, tmp_path: Path, capsys) -> None:
    foreign = tmp_path / "home"
    (foreign / "dev").mkdir(parents=True)
    (foreign / "dev/notes.txt").write_text("mine\n")
    assert main(["hydrate", "--root", str(scratch_repo), "--env", "dev", "--out", str(foreign)]) == 2
    assert "is a folder hydrate did not write" in capsys.readouterr().err
    assert snapshot(foreign) == {"dev/notes.txt": b"mine\n"}

    mine = tmp_path / "hydrated"
    out.write(AppliedState("dev"), mine)
    assert (mine / out.MARKER).is_file()
    out.claim(mine, scratch_repo)  # a previous output: accepted
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="not a folder"):
        out.claim(tmp_path / "file", scratch_repo)
