"""Pruning the render cache (generator/applied/cache.py) to what a tree uses: `cache prune`.

The cache is content-addressed and only ever grows: every chart, values or helm change adds renders
and objects, nothing removes them, and ci.yml saves it on every push to the default branch. The
rule here is mark and sweep, not an age or size bound, so what survives is a function of the tree
alone (the same tree and cache keep the same entries, whatever the clock or the machine):

- mark: hydrate the tree's environments with the cache (`cache.recording()`: every entry read
  whole or written: renders, the objects they name, parsed manifest files, a hub's generated
  roots). An entry that is missing or not whole is written again by that hydration (helm runs
  for it), so afterwards the cache holds everything the tree needs, whole. Then each environment
  once more as if it came first in its process (`_Probe`: no API versions carried over from the
  environment before, build.hydrate_environment's fixed point), from the cache only: its
  first-round renders, with the API versions known before its charts' CRDs add theirs, are what
  a pull request hydrating that environment first reads, so they are kept when present (never
  rendered just to be kept);
- sweep: delete every other file and folder under the cache folder: entries of older trees, of
  another helm or cache FORMAT (their keys are never asked for again), version 1's
  `<k[:2]>/<k>/` folders, temporary files of interrupted writes (`.tmp-*`), links, and entries
  whose name is not their digest.

Refused (bad input, nothing deleted): a cache folder that is a link, or that holds anything no
version of the cache ever wrote at its top (it may not be a render cache at all: a mistyped
--hydrate-cache). A hydration that fails deletes nothing: no sweep from a partial mark.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path

from generator.applied import cache, hydrate
from generator.applied.build import Hydrator
from generator.errors import InputError, os_error
from generator.schemacache import TEMPORARY

_ENTRY = re.compile(r"([0-9a-f]{64})\.json")
_FORMAT_1 = re.compile(r"[0-9a-f]{2}")  # version 1's layout: <key[:2]>/<key>/index.json, ...


@dataclass
class Swept:
    kept: dict[str, int] = field(default_factory=lambda: dict.fromkeys(cache.PARTS, 0))  # entries per part
    removed: dict[str, int] = field(default_factory=lambda: dict.fromkeys(cache.PARTS, 0))
    other: list[str] = field(default_factory=list)  # anything else removed, relative to the cache folder
    kept_bytes: int = 0
    removed_bytes: int = 0

    def to_json(self) -> dict:
        return {"kept": self.kept, "removed": self.removed, "removedOther": self.other,
                "keptBytes": self.kept_bytes, "removedBytes": self.removed_bytes}


def check_folder(folder: Path) -> None:
    """InputError unless `folder` is absent or a real folder holding only what a render cache holds."""
    if folder.is_symlink():
        raise InputError("the render cache is a symbolic link; prune deletes only inside a real folder", file=folder,
                         hint="pass the folder the link points to with --hydrate-cache")
    if not folder.exists():
        return
    if not folder.is_dir():
        raise InputError("the render cache is not a folder", file=folder, hint="pass the render cache folder with --hydrate-cache")
    for child in sorted(os.listdir(folder)):
        if child not in cache.PARTS and not _FORMAT_1.fullmatch(child) and not TEMPORARY.fullmatch(child):
            raise InputError(f"{child!r} is not something the render cache holds, so this may not be a render cache: "
                             "nothing was deleted", file=folder / child,
                             hint="pass the render cache folder (.cache/hydrated) with --hydrate-cache, or move that away")


def sweep(folder: Path, used: set[tuple[str, str]], dry_run: bool = False) -> Swept:
    """Delete everything under `folder` but the entries in `used` ((part, digest), cache.recording());
    with `dry_run` only count. Links are removed, never followed."""
    check_folder(folder)
    swept = Swept()
    if not folder.exists():
        return swept
    for child in sorted(os.listdir(folder)):
        path = folder / child
        if child not in cache.PARTS or _kind(path) != "dir":
            _remove(path, child, swept, dry_run)
            continue
        for prefix in sorted(os.listdir(path)):
            sub = path / prefix
            if _kind(sub) != "dir" or not _FORMAT_1.fullmatch(prefix):
                _remove(sub, f"{child}/{prefix}", swept, dry_run)
                continue
            for name in sorted(os.listdir(sub)):
                entry = sub / name
                match = _ENTRY.fullmatch(name)
                size = _size(entry)
                is_entry = bool(match) and match[1][:2] == prefix and _kind(entry) == "file"
                if is_entry and (child, match[1]) in used:
                    swept.kept[child] += 1
                    swept.kept_bytes += size
                elif is_entry:
                    swept.removed[child] += 1
                    swept.removed_bytes += size
                    if not dry_run:
                        entry.unlink()
                else:
                    _remove(entry, f"{child}/{prefix}/{name}", swept, dry_run)
            if not dry_run and not os.listdir(sub):
                sub.rmdir()
    return swept


def _kind(path: Path) -> str:
    mode = path.lstat().st_mode
    return "dir" if stat.S_ISDIR(mode) else "file" if stat.S_ISREG(mode) else "other"


def _size(path: Path) -> int:
    info = path.lstat()
    return info.st_size if stat.S_ISREG(info.st_mode) else 0


def _remove(path: Path, rel: str, swept: Swept, dry_run: bool) -> None:
    """Anything that is not an entry: a file, a link (not its target) or a whole folder."""
    swept.other.append(rel)
    if _kind(path) == "dir":
        swept.removed_bytes += sum(_size(Path(top) / name) for top, _dirs, names in os.walk(path) for name in names)
        if not dry_run:
            shutil.rmtree(path)  # never follows links inside (it removes the links themselves)
    else:
        swept.removed_bytes += _size(path)
        if not dry_run:
            path.unlink()


class _Miss(Exception):
    """A render the cache does not hold: the probe of that environment ends."""


class _Probe(Hydrator):
    """A Hydrator that reads the render cache and never runs helm."""

    def render(self, request, label):  # type: ignore[override]
        found = cache.read(self.cache_dir, self.render_key(request)) if self.cache_dir else None
        if found is None:
            raise _Miss
        return found


def mark(root: Path, names: list[str], hydrator: Hydrator) -> None:
    """Use (and so record) every entry the environments `names` of `root` need, as the module says."""
    hydrate(root, names, hydrator)
    probe = _Probe(charts=hydrator.charts, cache_dir=hydrator.cache_dir, helm=hydrator.helm, locks=hydrator.locks,
                   hub_ids=hydrator.hub_ids)  # hubs looked up as the first pass did
    for name in names:
        probe.api_hints.clear()  # as if first in its process
        try:
            hydrate(root, [name], probe)
        except _Miss:
            continue


def prune(folder: Path, root: Path, names: list[str], hydrator: Hydrator, dry_run: bool = False) -> Swept:
    """Mark what the environments `names` of `root` use, hydrated with `hydrator` (whose cache is
    `folder`), then sweep. An OSError while sweeping is bad input naming the path."""
    check_folder(folder)  # before the (long) mark: a wrong folder fails fast
    with cache.recording() as used:
        mark(root, names, hydrator)
    try:
        return sweep(folder, used, dry_run)
    except OSError as exc:
        raise os_error(exc) from None
