"""A newcomer's `validate` just works: an empty schema cache is filled the way `schemas sync` fills
it, and an empty chart cache (what hydration reads) the way `charts sync` does.

Where from, in order:
1. the reference folder: `$LITELLM_GITOPS_SHARED`, else `../shared` beside the repository, when it
   holds the upstream CRDs (`crds/`, schemas derived) or a catalog (`schemas-upstream/`) and
   `chart-values/`;
2. otherwise the pinned upstream URLs.
Every file is sha256-checked against schemas/upstream.lock.json by the same code as `schemas sync`,
and nothing is written unless everything matches. One line on stderr says what happened. Offline
with no reference folder, `validate` stops (exit 2) with the exact command to run.

Charts (`chart_folder`): from the reference folder's `charts/` (checked against `offlineSha256`),
otherwise from the chart repositories (checked against the published `sha256`), only when no
`--charts` folder was given and the default one holds none of the locked archives.

A cache that holds any locked file is left alone: a partial or edited cache is reported by the
checks that read it (see `schemacache.verified_schema`), never silently refilled.
"""

from __future__ import annotations

import os
from pathlib import Path

from generator import chartlock
from generator.console import note
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
    note(f"schema cache was empty: filled {cache} with {len(written)} file(s) from {origin} "
         f"(every sha256 matches {lock.source.name})")


def chart_folder(root: Path, given: Path | None) -> Path:
    """The chart folder hydration reads: `given` as it is, else the default cache, filled first
    when it holds none of the locked archives (see the module docstring)."""
    if given is not None:
        return given
    return fill_chart_folder(chartlock.default_cache_dir(root), root, root)


def fill_chart_folder(folder: Path, root: Path, reference_root: Path, complete: bool = False) -> Path:
    """`folder`, filled first with the archives `root`'s lock pins when it holds none of them (with
    `complete`: when it misses any), from the reference folder beside `reference_root` or the chart
    repositories."""
    lock = chartlock.load(root)
    present = [(folder / locked.file).is_file() for locked in lock.charts]
    if all(present) if complete else any(present):
        return folder
    reference = reference_folder(reference_root)
    if reference is not None and (reference / "charts").is_dir():
        synced, origin = chartlock.collect(lock, chartlock.folder_fetcher(reference / "charts"), offline=True), str(reference / "charts")
    else:
        synced, origin = chartlock.collect(lock, chartlock.repository_fetcher(), offline=False), "the chart repositories"
    if synced.refused:
        raise InputError(f"the chart cache is empty and could not be filled from {origin} ({synced.refused[0]})", file=folder,
                         hint="run `litellm-gitops charts sync --from DIR` with DIR a folder of the locked archives "
                              "(e.g. ../shared/charts), or pass --charts DIR")
    written = chartlock.write(folder, synced)
    note(f"chart cache was empty: filled {folder} with {len(written)} archive(s) from {origin} "
         f"(every sha256 matches {chartlock.CHARTS_LOCK})")
    return folder
