"""Writing `rendered/` atomically and checking that it is fresh.

The promise: killed at any instant (SIGKILL included), every `rendered/<env>` is its old tree or
its new one, never missing or a mix; a write that fails anywhere leaves every environment as it
was (all-or-nothing across environments); the next run finishes or rolls back what a killed run
left, and removes its leftovers.

Design (a small write-ahead journal around directory swaps):

1. stage: every environment is written in full into `rendered/.tmp-<env>-<id>/` (same file
   system, so renames are possible). A kill here leaves only `.tmp-*` folders: leftovers.
2. journal: `rendered/.render-journal.json` (git-ignored) is written to a temporary name and
   renamed into place (atomic), listing each step: (target name, staging name, the staging
   folder's inode), names relative to the folder it sits in. From here on a killed run is undone
   by the next one.
3. swap: each target is exchanged with its staging folder by `renameat2(RENAME_EXCHANGE)` (Linux
   >= 3.15, through libc with ctypes): one atomic system call, so the target is never missing;
   afterwards the staging path holds the old tree. A target that did not exist is renamed into
   place; one that must go (an environment removed, a stray file) is renamed to `.old-*`.
4. commit: the journal is rewritten with `"committed": true` (atomic rename): the decision point.
5. clean: the staging paths (now old trees) are removed, then the journal.

Recovery (`recover`, run by every render before it writes; `render --check` only reports) reads
the journal: committed, it finishes step 5; not committed, it puts back every step that happened.
Whether a step happened is read from the file system, not the journal (the kill may fall between
the swap and any record of it): the target is the staged folder exactly when its inode is the one
recorded. Without a journal, any `.tmp-*`/`.old-*` is a leftover of a kill before step 2.
A journal is input like any file (a pull request could commit one, a copied checkout carries one):
before anything is touched, every step must name a direct child of the folder as its target and,
as its staging path, a `.tmp-<target>-<run>`/`.old-<target>-<run>` sibling of the shape render
itself creates; anything else (an absolute path, `..`, another name) is refused, nothing touched.

Why not the usual two renames (old aside, new in): between them the target is missing, and a kill
there loses it (seen in 2 of 41 kills with 50 environments). Where RENAME_EXCHANGE is unavailable
(not Linux, or a file system without it) the swap falls back to those two renames; the journal
still makes the next run restore the tree, but in between the target may be missing.
Durability across a power loss would need fsync of every file and folder; a kill of the process
does not lose written data (the page cache survives it), so render does not pay for fsync.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import json
import os
import re
import secrets
import shutil
import stat
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from generator import limits
from generator.errors import InputError, os_error
from generator.yamlio import read_limited

JOURNAL = ".render-journal.json"
STAGING_PREFIX = ".tmp-"
OLD_PREFIX = ".old-"
WRITERS = 4
RUN_ID = re.compile(r"[0-9a-f]{8}")  # secrets.token_hex(4): the run part of a staging name
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


@dataclass
class Drift:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    odd: list[str] = field(default_factory=list)  # things in the way: symlinks, files for folders, leftovers

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed or self.odd)

    def lines(self) -> list[str]:
        return ([f"  would create: {p}" for p in self.added] + [f"  would update: {p}" for p in self.changed]
                + [f"  would delete: {p}" for p in self.removed] + [f"  would replace: {p}" for p in self.odd])


def describe(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link (never followed)"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISREG(mode):
        return "a file"
    return "a special file"


def _existing(directory: Path, prefix: str, odd: list[str]) -> dict[str, Path]:
    """Regular files under `directory` by relative path, never following a symbolic link; anything
    else (links, special files) is listed in `odd`."""
    found: dict[str, Path] = {}
    for base, dirs, names in os.walk(directory):
        for name in sorted(dirs):  # os.walk lists a link to a folder here and does not follow it
            path = Path(base, name)
            if path.is_symlink():
                odd.append(f"{prefix}/{path.relative_to(directory).as_posix()} ({describe(path.lstat().st_mode)})")
        for name in names:
            path = Path(base, name)
            mode = path.lstat().st_mode
            rel = path.relative_to(directory).as_posix()
            if stat.S_ISREG(mode):
                found[rel] = path
            else:
                odd.append(f"{prefix}/{rel} ({describe(mode)})")
    return found


def drift(target: Path, files: dict[str, str], prefix: str) -> Drift:
    """How `target` differs from `files` (paths reported as `prefix/relative`); a symbolic link or
    a file where the folder belongs is reported as such, never followed."""
    result = Drift()
    try:
        mode = target.lstat().st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None and not stat.S_ISDIR(mode):
        result.odd.append(f"{prefix} ({describe(mode)} where a folder belongs)")
        result.added.extend(f"{prefix}/{rel}" for rel in files)
        return result
    on_disk = _existing(target, prefix, result.odd) if mode is not None else {}
    for rel, text in files.items():
        path = on_disk.get(rel)
        if path is None:
            result.added.append(f"{prefix}/{rel}")
        elif path.read_bytes() != text.encode("utf-8"):
            result.changed.append(f"{prefix}/{rel}")
    result.removed.extend(f"{prefix}/{rel}" for rel in sorted(set(on_disk) - set(files)))
    return result


# --- the transaction -----------------------------------------------------------------------------

def _libc_renameat2():
    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    return function


_RENAMEAT2 = _libc_renameat2()


def exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths atomically; False when the system cannot (then nothing changed)."""
    if _RENAMEAT2 is None:
        return False
    if _RENAMEAT2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(a), None, str(b))


def _swap(target: Path, staging: Path) -> None:
    """Put `staging` at `target`; the old target (if any) ends up at `staging`."""
    if not os.path.lexists(target):
        os.rename(staging, target)
    elif not exchange(target, staging):
        aside = staging.with_name(staging.name + ".aside")
        os.rename(target, aside)  # fallback: the target is missing until the next rename
        os.rename(staging, target)
        os.rename(aside, staging)


def _inode(path: Path) -> int | None:
    try:
        return path.lstat().st_ino
    except FileNotFoundError:
        return None


def _remove(path: Path) -> None:
    """Remove a file, link or folder (never following a link)."""
    if not os.path.lexists(path):
        return
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def _write_journal(root: Path, steps: list[dict], committed: bool) -> None:
    temporary = root / (JOURNAL + ".tmp")
    temporary.write_text(json.dumps({"committed": committed, "steps": steps}, indent=1), encoding="utf-8")
    os.replace(temporary, root / JOURNAL)


def leftovers(root: Path) -> list[str]:
    """What a killed or failed run left in `root` (rendered/): the journal and staging folders."""
    if not root.is_dir() or root.is_symlink():
        return []
    return sorted(p.name for p in root.iterdir()
                  if p.name.startswith((STAGING_PREFIX, OLD_PREFIX)) or p.name.startswith(JOURNAL))


def _undo(root: Path, steps: list[dict]) -> None:
    """Put back every step that happened, last first (see the module docstring)."""
    for step in reversed(steps):
        target, staging = root / step["target"], root / step["staging"]
        if step["op"] == "remove":  # the target was renamed to `staging`
            if os.path.lexists(staging) and not os.path.lexists(target):
                os.rename(staging, target)
            continue
        if _inode(target) == step["inode"]:  # the swap happened: the new tree is at the target
            if os.path.lexists(staging):
                _swap(staging, target)  # exchange back: old tree at the target, new at staging
            else:
                os.rename(target, staging)  # there was no old tree
        aside = staging.with_name(staging.name + ".aside")
        if os.path.lexists(aside) and not os.path.lexists(target):
            os.rename(aside, target)  # killed inside the fallback swap


def _journal_step(step: object) -> dict | None:
    """`step` when it is a step render writes (see the module docstring), else None."""
    if not isinstance(step, dict) or set(step) - {"op", "target", "staging", "inode"}:
        return None
    op, target, staging, inode = step.get("op"), step.get("target"), step.get("staging"), step.get("inode")
    prefix = {"swap": STAGING_PREFIX, "remove": OLD_PREFIX}.get(op)  # type: ignore[arg-type]
    if prefix is None or not isinstance(target, str) or not isinstance(staging, str):
        return None
    if not target or target.startswith(".") or "/" in target or "\0" in target:  # a direct child, never a leftover
        return None
    if not (staging.startswith(f"{prefix}{target}-") and RUN_ID.fullmatch(staging[len(prefix) + len(target) + 1:])):
        return None
    if op == "swap" and (isinstance(inode, bool) or not isinstance(inode, int)):
        return None
    return step


def read_journal(journal: Path) -> tuple[list[dict], bool]:
    """The steps of a journal and whether it committed; InputError (nothing touched) for anything
    render did not write: unreadable, too large, or a path that is not one of its own."""
    hint = (f"check each folder in {journal.parent} with `git status`, then delete {JOURNAL} and the .tmp-*, "
            ".old-* folders beside it and render again (never commit the journal; .gitignore lists it)")
    try:
        raw = read_limited(journal, limits.JOURNAL_BYTES, "render journal (limit JOURNAL_BYTES)")
    except InputError as exc:
        raise InputError(exc.message, file=journal, hint=hint) from None
    try:
        record = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        raise InputError("the render journal is not JSON", file=journal, hint=hint) from None
    if not isinstance(record, dict) or not isinstance(record.get("steps"), list) or not isinstance(record.get("committed"), bool):
        raise InputError("the render journal is not one render writes (an object with steps and committed)", file=journal, hint=hint)
    for index, step in enumerate(record["steps"]):
        if _journal_step(step) is None:
            raise InputError(f"the render journal's step {index + 1} names a path render never creates "
                             "(only folders directly in this folder and their .tmp-/.old- siblings); nothing was touched",
                             file=journal, hint=hint)
    return record["steps"], record["committed"]


def recover(root: Path) -> list[str]:
    """Finish or roll back what a killed run left in `root`, then remove every leftover; returns
    one line per action, for the user."""
    done: list[str] = []
    journal = root / JOURNAL
    if os.path.lexists(journal):
        steps, committed = read_journal(journal)
        if not committed:
            _undo(root, steps)
        done.append(f"{'finished' if committed else 'rolled back'} an interrupted render ({len(steps)} step(s))")
    for name in leftovers(root):
        _remove(root / name)
        if name != JOURNAL:
            done.append(f"removed leftover rendered/{name}")
    return done


def _stage(staging: Path, files: dict[str, str]) -> None:
    staging.mkdir(mode=0o755)
    for rel, text in files.items():
        path = staging / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "x", encoding="utf-8", newline="\n") as handle:
            handle.write(text)


def _check_root(root: Path) -> None:
    if root.is_symlink() or (root.exists() and not root.is_dir()):
        raise InputError(f"{describe(root.lstat().st_mode)} stands where the rendered/ folder belongs", file=root,
                         hint="move it away (render writes rendered/ as a real folder)")


def write_trees(root: Path, trees: dict[str, dict[str, str]], remove: list[str] = ()) -> list[str]:
    """Make `root/<name>` exactly `trees[name]` for every name, and remove `root/<name>` for every
    name in `remove`: all of it, or (on any failure) none of it. See the module docstring.
    Returns what recovering an interrupted run did (one line per action)."""
    _check_root(root)
    root.mkdir(parents=True, exist_ok=True)
    lock = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError("another render is writing this folder", file=root,
                             hint="wait for it to finish, then run again") from None
        return _transaction(root, trees, remove)
    finally:
        os.close(lock)  # releases the lock


def _transaction(root: Path, trees: dict[str, dict[str, str]], remove: list[str]) -> list[str]:
    recovered = recover(root)
    run = secrets.token_hex(4)
    staged = {name: root / f"{STAGING_PREFIX}{name}-{run}" for name in trees}
    steps: list[dict] = []
    current = root  # what is being written, for the message when the file system refuses
    try:
        with ThreadPoolExecutor(max_workers=WRITERS) as pool:  # file-system bound: overlap the writes
            list(pool.map(lambda name: _stage(staged[name], trees[name]), trees))
        for name in sorted(trees):
            steps.append({"op": "swap", "target": name, "staging": staged[name].name, "inode": _inode(staged[name])})
        for name in sorted(remove):
            steps.append({"op": "remove", "target": name, "staging": f"{OLD_PREFIX}{name}-{run}"})
        _write_journal(root, steps, committed=False)
        for step in steps:
            current = root / step["target"]
            if step["op"] == "swap":
                _swap(root / step["target"], root / step["staging"])
            else:
                os.rename(root / step["target"], root / step["staging"])
        current = root / JOURNAL
        _write_journal(root, steps, committed=True)  # the decision point
    except BaseException as exc:
        try:
            _undo(root, steps)
            for name in leftovers(root):
                _remove(root / name)
        except OSError:
            pass  # the journal stays: the next run rolls back
        if isinstance(exc, OSError):
            hint = os_error(exc).hint
            raise InputError(f"cannot write: {(exc.strerror or str(exc)).lower()}; no environment was changed",
                             file=current, hint=hint) from None
        raise
    try:
        recover(root)  # removes the old trees (now at the staging paths) and the journal
    except OSError as exc:
        raise InputError(f"the new trees are in place ({', '.join(sorted(trees)) or 'removals only'}), but removing the "
                         f"old ones failed: {(exc.strerror or str(exc)).lower()}", file=exc.filename or root,
                         hint=f"{os_error(exc).hint}; the next render removes the leftovers") from None
    return recovered
