"""A newcomer's `validate` just works: an empty schema cache is filled the way `schemas sync` fills it.

Where from, in order:
1. the reference folder: `$LITELLM_GITOPS_SHARED`, else `../shared` beside the repository, when it
   holds the upstream CRDs (`crds/`, schemas derived) or a catalog (`schemas-upstream/`) and
   `chart-values/`;
2. otherwise the pinned upstream URLs.
Every file is sha256-checked against schemas/upstream.lock.json by the same code as `schemas sync`,
and nothing is written unless everything matches. One line on stderr says what happened. Offline
with no reference folder, `validate` stops (exit 2) with the exact command to run.

A cache that holds any locked file is left alone: a partial or edited cache is reported by the
checks that read it (see `schemacache.verified_schema`), never silently refilled.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from generator.errors import InputError
from generator.schemacache import (CHART_VALUES, CRDS, SCHEMAS, Collected, Lock, collect, collect_from_folder,
                                   url_fetcher, write_cache)

SHARED_ENV = "LITELLM_GITOPS_SHARED"


def reference_folder(root: Path) -> Path | None:
    """$LITELLM_GITOPS_SHARED, else ../shared beside the repository, if it is there."""
    configured = os.environ.get(SHARED_ENV)
    folder = Path(configured) if configured else root.resolve().parent / "shared"
    return folder if folder.is_dir() else None


def _from_reference(lock: Lock, folder: Path) -> Collected | None:
    for part in (CRDS, SCHEMAS):
        if (folder / part).is_dir():
            return collect_from_folder(lock, folder / part, folder / CHART_VALUES)
    return None


def is_empty(lock: Lock, cache: Path) -> bool:
    return not any((cache / locked.path).is_file() for locked in lock.files)


def fill_if_empty(lock: Lock, cache: Path, root: Path) -> None:
    """Fill an empty cache from the reference folder or the pinned URLs; InputError if neither works."""
    if not is_empty(lock, cache):
        return
    folder = reference_folder(root)
    collected = _from_reference(lock, folder) if folder else None
    origin = str(folder) if collected is not None else "the pinned upstream URLs"
    if collected is None or collected.refused:
        collected = collect(lock, url_fetcher())
        origin = "the pinned upstream URLs"
    if collected.refused:
        raise InputError(f"the schema cache is empty and could not be filled ({collected.refused[0]})", file=cache,
                         hint="run `litellm-gitops schemas sync --from DIR` with DIR a folder of the upstream CRDs "
                              "(e.g. ../shared/crds), or `litellm-gitops schemas sync` where the pinned URLs are reachable")
    written = write_cache(lock, cache, collected)
    print(f"schema cache was empty: filled {cache} with {len(written)} file(s) from {origin} "
          f"(every sha256 matches {lock.source.name})", file=sys.stderr)
