"""A git revision as a checkout: `diff --base REV` (and its default, the merge base of HEAD with
the default branch) reads the base from a temporary `git worktree` of that commit, removed
afterwards whatever happens. Only plain git commands with fixed arguments; the revision is
resolved with `rev-parse --verify` first, so it is never read as an option. Each git run is
bounded (generator/child.py: limits.GIT_TIMEOUT, GIT_OUTPUT_BYTES); past one is bad input naming it."""

from __future__ import annotations

import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from generator import child, limits
from generator.errors import InputError

DEFAULT_BRANCHES = ("origin/HEAD", "origin/main", "origin/master", "main", "master")


@dataclass
class _Done:
    returncode: int
    stdout: str
    stderr: str


def _git(repo: Path, *args: str) -> _Done:
    try:
        done = child.run(["git", "-C", str(repo), *args], timeout=limits.GIT_TIMEOUT, timeout_name="GIT_TIMEOUT",
                         stdout_limit=limits.GIT_OUTPUT_BYTES, stdout_name="GIT_OUTPUT_BYTES",
                         stderr_limit=limits.GIT_STDERR_BYTES)
    except FileNotFoundError:
        raise InputError("git is not installed", hint="install git, or pass --base DIR, a checkout of the base") from None
    except child.ChildLimit as exc:
        raise InputError(f"git {args[0]} {exc}", file=repo,
                         hint="pass --base DIR, a checkout of the base (see GIT_TIMEOUT in docs/limits.md)") from None
    return _Done(done.returncode, done.stdout.decode("utf-8", "replace"), child.message(done.stderr))


def is_repository(repo: Path) -> bool:
    return repo.is_dir() and _git(repo, "rev-parse", "--git-dir").returncode == 0


def resolve(repo: Path, revision: str) -> str:
    """The commit `revision` names in `repo`, or InputError naming it."""
    if not is_repository(repo):
        raise InputError(f"--base {revision}: not a directory, and {repo} is not a git repository to read it as a revision in",
                         file=repo, hint="pass --base DIR (a checkout of the base), or run inside the repository")
    found = _git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}")
    if found.returncode != 0:
        raise InputError(f"--base {revision}: neither a directory nor a git revision of {repo}",
                         hint="pass a checkout folder, a branch, a tag or a commit (e.g. origin/main, HEAD~1)")
    return found.stdout.strip()


def default_base(repo: Path) -> tuple[str, str]:
    """(the default branch's name, the merge base of HEAD with it)."""
    for branch in DEFAULT_BRANCHES:
        if _git(repo, "rev-parse", "--verify", "--quiet", f"{branch}^{{commit}}").returncode == 0:
            merge_base = _git(repo, "merge-base", "HEAD", branch)
            if merge_base.returncode == 0:
                return branch, merge_base.stdout.strip()
    raise InputError(f"{repo}: no default branch to compare with (tried {', '.join(DEFAULT_BRANCHES)})",
                     file=repo, hint="pass --base REV (a branch, tag or commit) or --base DIR")


@contextmanager
def worktree(repo: Path, commit: str) -> Iterator[Path]:
    """A detached, temporary worktree of `commit`, removed on exit."""
    parent = Path(tempfile.mkdtemp(prefix="litellm-gitops-base-"))
    folder = parent / "base"
    added = _git(repo, "worktree", "add", "--detach", "--quiet", str(folder), commit)
    if added.returncode != 0:
        shutil.rmtree(parent, ignore_errors=True)
        raise InputError(f"cannot check out {commit[:12]} into a temporary worktree: {added.stderr[:200]}",
                         file=repo, hint="pass --base DIR, a checkout of the base")
    try:
        yield folder
    finally:
        _git(repo, "worktree", "remove", "--force", str(folder))
        shutil.rmtree(parent, ignore_errors=True)
