"""Argo CD's globs for directory sources' `include` and `exclude` (util/glob in argo-cd v3.5.1:
gobwas/glob compiled without separators, so `*` also matches `/`; `{a,b}` alternatives). One
implementation for hydrate (generator.applied.directory) and the guard (generator.guard.sources)."""

from __future__ import annotations

import fnmatch
import re


def _braces(pattern: str) -> list[str]:
    match = re.search(r"\{([^{}]*)\}", pattern)
    if not match:
        return [pattern]
    return [e for alt in match.group(1).split(",") for e in _braces(pattern[:match.start()] + alt + pattern[match.end():])]


def glob_match(pattern: str, path: str) -> bool:
    """gobwas/glob without separators (Argo CD's util/glob): `*` spans `/`, `{a,b}` alternatives."""
    return any(fnmatch.fnmatchcase(path, p) for p in _braces(pattern))
