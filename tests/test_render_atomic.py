"""Render is atomic for real (generator/tree.py): killed at any instant, every rendered/<env> is
its old tree or its new one; the next run finishes or rolls back and leaves no leftovers; a
failure in one environment leaves every environment as it was."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from generator import tree
from generator.cli import main
from generator.errors import InputError

ENVS = [f"e{i}" for i in range(6)]
OLD = {name: {"a.yaml": f"old {name}\n", "sub/b.yaml": "old\n", "gone.yaml": "x\n"} for name in ENVS + ["removed"]}
NEW = {name: {"a.yaml": f"new {name}\n", "sub/b.yaml": "new\n", "sub/deeper/c.yaml": "c\n"} for name in ENVS + ["added"]}

# Runs one transaction in its own process and SIGKILLs itself at the Nth file-system step it takes
# (every rename, exchange, staged tree and removal counts); N=-1 counts the steps and exits.
SCRIPT = r"""
import json, os, signal, sys
from pathlib import Path
from generator import tree
root, kill_at, spec = Path(sys.argv[1]), int(sys.argv[2]), json.loads(sys.argv[3])
if sys.argv[4] == "fallback":
    tree._RENAMEAT2 = None  # as on a system without renameat2: two renames per swap
steps = [0]
def hooked(function):
    def wrapper(*args, **kwargs):
        if steps[0] == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        steps[0] += 1
        return function(*args, **kwargs)
    return wrapper
os.rename = hooked(os.rename)
os.replace = hooked(os.replace)
tree.exchange = hooked(tree.exchange)
tree._stage = hooked(tree._stage)
tree._remove = hooked(tree._remove)
tree.write_trees(root, spec["trees"], spec["remove"])
print(steps[0])
"""


def digest(directory: Path) -> dict[str, str] | None:
    """Every file under `directory` and its content (None when it does not exist)."""
    if not os.path.lexists(directory):
        return None
    return {p.relative_to(directory).as_posix(): p.read_text() for p in sorted(directory.rglob("*")) if p.is_file()}


def seed(root: Path) -> None:
    shutil.rmtree(root, ignore_errors=True)
    for name, files in OLD.items():
        for rel, text in files.items():
            (root / name / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / name / rel).write_text(text)


def transaction(root: Path, kill_at: int, mode: str = "exchange") -> subprocess.CompletedProcess:
    spec = json.dumps({"trees": NEW, "remove": ["removed"]})
    return subprocess.run([sys.executable, "-c", SCRIPT, str(root), str(kill_at), spec, mode],
                          capture_output=True, text=True, timeout=60)


def state(root: Path) -> str:
    """'old' or 'new' for every environment together, or a description of what is wrong."""
    each = {}
    for name in ENVS + ["removed", "added"]:
        now = digest(root / name)
        if now == OLD.get(name):
            each[name] = "old"
        elif now == NEW.get(name):
            each[name] = "new"
        else:
            each[name] = f"neither ({now})"
    return ",".join(sorted(set(each.values()))) if all(v in ("old", "new") for v in each.values()) else repr(each)


@pytest.mark.parametrize("mode", ["exchange", "fallback"])
def test_killed_at_every_step_each_tree_is_old_or_new_and_the_next_run_repairs(mode: str, tmp_path: Path) -> None:
    """With RENAME_EXCHANGE every tree is always old or new; with the fallback (two renames) a tree
    may be missing between them, and the next run must still put everything back."""
    root = tmp_path / "rendered"
    seed(root)
    counted = transaction(root, -1, mode)
    assert counted.returncode == 0, counted.stderr
    total = int(counted.stdout)
    assert state(root) == "new" and tree.leftovers(root) == []
    assert total >= 2 * len(ENVS) + 4
    outcomes = set()
    for kill_at in range(total):
        seed(root)
        killed = transaction(root, kill_at, mode)
        assert killed.returncode == -signal.SIGKILL, (kill_at, killed.stderr)
        # Each environment on its own is its old tree or its new one (a mix across them is allowed
        # only until the next run) ...
        if mode == "exchange":
            assert "neither" not in state(root), (kill_at, state(root))
        # ... and the next run finishes or rolls back all of them, leaving nothing behind.
        tree.recover(root)
        after = state(root)
        assert after in ("old", "new"), (kill_at, after)
        assert tree.leftovers(root) == [], (kill_at, tree.leftovers(root))
        outcomes.add(after)
    assert outcomes == {"old", "new"}  # kills fell both before and after the commit point


def fail_swapping(monkeypatch, name: str) -> None:
    """Swapping rendered/<name> in fails as an immutable folder would (EPERM); the others swap."""
    real = tree.exchange

    def failing(a: Path, b: Path) -> bool:
        if Path(a).name == name:
            raise PermissionError(1, "Operation not permitted", str(a))
        return real(a, b)

    monkeypatch.setattr(tree, "exchange", failing)


def test_a_failure_in_one_environment_leaves_every_environment_as_it_was(tmp_path: Path, monkeypatch) -> None:
    root = tmp_path / "rendered"
    seed(root)
    fail_swapping(monkeypatch, "e3")
    with pytest.raises(InputError) as raised:
        tree.write_trees(root, NEW, ["removed"])
    assert str(raised.value).startswith(f"{root / 'e3'}: error: cannot write: operation not permitted; no environment was changed")
    assert state(root) == "old"
    assert tree.leftovers(root) == []


def test_a_render_command_that_fails_writing_says_where_and_writes_nothing(scratch_repo, monkeypatch, capsys) -> None:
    before = {p: p.read_bytes() for p in (scratch_repo / "rendered").rglob("*") if p.is_file()}
    path = scratch_repo / "environments/dev/environment.yaml"
    path.write_text(path.read_text() + "\ngit:\n  targetRevision: release-1\n")
    path = scratch_repo / "environments/prod/environment.yaml"
    path.write_text(path.read_text().replace("  targetRevision: main", "  targetRevision: release-1"))
    fail_swapping(monkeypatch, "prod")
    assert main(["render", "--root", str(scratch_repo)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{scratch_repo}/rendered/prod: error: cannot write: operation not permitted; no environment "
                          "was changed\n  fix: make the path writable")
    assert {p: p.read_bytes() for p in (scratch_repo / "rendered").rglob("*") if p.is_file()} == before


def test_check_reports_leftovers_and_render_removes_them(scratch_repo, capsys) -> None:
    rendered = scratch_repo / "rendered"
    (rendered / ".tmp-dev-1234").mkdir()
    (rendered / ".old-prod-1234").mkdir()
    assert main(["render", "--check", "--root", str(scratch_repo)]) == 1
    out = capsys.readouterr().out
    assert "would remove leftover: rendered/.old-prod-1234 (from an interrupted render)" in out
    assert "would remove leftover: rendered/.tmp-dev-1234 (from an interrupted render)" in out
    assert main(["render", "--root", str(scratch_repo)]) == 0
    assert "removed leftover rendered/.tmp-dev-1234" in capsys.readouterr().err
    assert tree.leftovers(rendered) == []
    assert main(["render", "--check", "--root", str(scratch_repo)]) == 0


def test_sigkill_of_the_real_command_at_random_moments(scratch_repo) -> None:
    """The command itself, killed at random moments (seeded) while it renders 9 environments."""
    environments = scratch_repo / "environments"
    shutil.rmtree(environments / "prod")  # dev and its copies, which all leave git.targetRevision to the defaults
    for index in range(8):  # each its own cluster, secrets prefix and OIDC issuer (generator/collisions.py)
        copy = environments / f"dev{index}" / "environment.yaml"
        copy.parent.mkdir()
        copy.write_text((environments / "dev" / "environment.yaml").read_text()
                        .replace("name: llm-dev", f"name: llm-dev{index}").replace("prefix: dev/", f"prefix: dev{index}/")
                        .replace("F1D7E9B3", f"F1D7E9C{index}"))
    command = ["litellm-gitops", "render", "--root", str(scratch_repo)]
    assert subprocess.run(command, capture_output=True, timeout=120).returncode == 0
    names = sorted(p.name for p in (scratch_repo / "rendered").iterdir() if not p.name.startswith("."))
    old = {n: digest(scratch_repo / "rendered" / n) for n in names}
    for name in names:
        env_file = environments / name / "environment.yaml"
        env_file.write_text(env_file.read_text() + "\ngit:\n  targetRevision: release-2\n")
    started = time.monotonic()
    assert subprocess.run(command + ["--check"], capture_output=True, timeout=120).returncode == 1
    duration = time.monotonic() - started
    generator = random.Random(13)
    for _ in range(4):
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(generator.uniform(0.5, 1.5) * duration)  # around the end of rendering: the write phase
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        for name in names:
            now = digest(scratch_repo / "rendered" / name)
            assert now is not None and (now == old[name] or now["apps/13-litellm.yaml"] != old[name]["apps/13-litellm.yaml"])
        # the next run repairs, and a check after it is clean
        assert subprocess.run(command, capture_output=True, timeout=120).returncode == 0
        assert subprocess.run(command + ["--check"], capture_output=True, timeout=120).returncode == 0
        assert tree.leftovers(scratch_repo / "rendered") == []
        old = {n: digest(scratch_repo / "rendered" / n) for n in names}
        for name in names:
            env_file = environments / name / "environment.yaml"
            env_file.write_text(env_file.read_text().replace("release-2", "release-3") if "release-2" in env_file.read_text()
                                else env_file.read_text().replace("release-3", "release-2"))
