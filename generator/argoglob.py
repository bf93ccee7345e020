"""Argo CD's path matching, one implementation for hydrate, the tests and the guard:

- directory sources' `include` and `exclude` (util/glob in argo-cd v3.5.1: gobwas/glob compiled
  without separators, so `*` also matches `/`; `{a,b}` alternatives), for generator.applied.directory
  and generator.guard.sources;
- the ApplicationSet git files generator's `path` (git's own pathspec matching, as the repo server
  runs `git ls-files`), for generator.appset.
"""

from __future__ import annotations

import fnmatch
import os
import re
import subprocess
import tempfile


def _braces(pattern: str) -> list[str]:
    match = re.search(r"\{([^{}]*)\}", pattern)
    if not match:
        return [pattern]
    return [e for alt in match.group(1).split(",") for e in _braces(pattern[:match.start()] + alt + pattern[match.end():])]


def glob_match(pattern: str, path: str) -> bool:
    """gobwas/glob without separators (Argo CD's util/glob): `*` spans `/`, `{a,b}` alternatives."""
    return any(fnmatch.fnmatchcase(path, p) for p in _braces(pattern))


# -- the ApplicationSet git files generator ----------------------------------------------------------
#
# Argo CD v3.5.1's repo server lists a git files generator's `path` with util/git/client.go LsFiles.
# Unless the ApplicationSet controller runs with --enable-new-git-file-globbing
# (ARGOCD_APPLICATIONSET_CONTROLLER_ENABLE_NEW_GIT_FILE_GLOBBING, default false:
# cmd/argocd-applicationset-controller/commands/applicationset_controller.go line 312), that is
# "the old and default way": `git ls-files --full-name -z -- <path>` in the checkout, a git
# pathspec, where `*` also matches `/` (wildmatch without WM_PATHNAME) and a path without wildcards
# matches every file under it. So the same git decides here: the paths go into a scratch index (no
# content is needed to match names) and git itself lists the ones the pathspec selects.

EMPTY_BLOB = "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"  # git hash-object /dev/null
GIT_TIMEOUT_SECONDS = 60


def _git_environment(home: str) -> dict[str, str]:
    """No user or system configuration and no GIT_* variable leaks into the match."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull, HOME=home, LC_ALL="C",
               GIT_TERMINAL_PROMPT="0", GIT_OPTIONAL_LOCKS="0")
    return env


def git_ls_files(patterns: list[str], paths: list[str]) -> dict[str, list[str]]:
    """For each pattern, the paths `git ls-files --full-name -z -- <pattern>` lists in a checkout
    whose files are `paths` (repository-relative, '/'-separated), sorted as git sorts them."""
    from generator.errors import InputError

    if not patterns:
        return {}
    with tempfile.TemporaryDirectory(prefix="litellm-gitops-lsfiles-") as scratch:
        env = _git_environment(scratch)
        index = "".join(f"100644 {EMPTY_BLOB}\t{p}\0" for p in sorted(set(paths))).encode("utf-8")

        def git(*args: str, stdin: bytes = b"") -> bytes:
            try:
                done = subprocess.run(["git", "-C", scratch, *args], input=stdin, env=env, capture_output=True,
                                      timeout=GIT_TIMEOUT_SECONDS, check=False)
            except FileNotFoundError:
                raise InputError("git is needed to match an ApplicationSet's git files generator paths as Argo CD does",
                                 hint="install git (the repo server matches them with `git ls-files`)") from None
            if done.returncode != 0:
                raise InputError(f"git {args[0]} failed: {done.stderr.decode('utf-8', 'replace').strip()}",
                                 hint="check the git files generator's path")
            return done.stdout

        git("init", "--quiet")
        if index:
            git("update-index", "-z", "--index-info", stdin=index)
        return {pattern: [p for p in git("ls-files", "--full-name", "-z", "--", pattern).decode("utf-8").split("\0") if p]
                for pattern in dict.fromkeys(patterns)}
