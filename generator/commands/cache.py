"""`litellm-gitops cache prune`: drop every render cache entry the current tree does not use
(generator/applied/prune.py), before ci.yml saves the cache on the default branch."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from generator import shard
from generator.applied import cache as render_cache
from generator.applied import prune
from generator.commands.common import add_hydrate_options
from generator.commands.hydrate import hydrator_for
from generator.console import add_verbosity_options
from generator.environment import environment_names
from generator.errors import EXIT_OK

NAME = "cache"
HELP = "the render cache: `cache prune` keeps only the entries the current tree uses"
DESCRIPTION = """\
The render cache (.cache/hydrated/, $LITELLM_GITOPS_HYDRATE_CACHE, --hydrate-cache) is
content-addressed and only grows: every chart, values or helm change adds renders, and nothing
removes the old ones.

`cache prune` hydrates every environment of the tree (with --shard I/N, those of that shard,
generator/shard.py) with the cache, noting every entry it reads or writes (renders, the objects
they name, parsed manifest files, hubs' generated roots), then deletes everything else in the
cache folder: renders of older trees, entries of another helm or cache version, older layouts,
leftovers of interrupted writes, links. An entry that is missing or damaged is rendered again on
the way, so the pruned cache holds, whole, exactly what this tree needs. Same tree, same cache:
same result (no clock, no size bound). ci.yml runs it in each validate shard before saving the
cache on the default branch.

It refuses (exit 2, nothing deleted) a cache folder that is a link or holds anything a render
cache never holds, and deletes nothing if hydration fails. --dry-run deletes nothing and counts
what would go (what the tree needs and lacks is still rendered). Run it when no other command is
using the cache.

examples:
  litellm-gitops cache prune                          # .cache/hydrated, every environment
  litellm-gitops cache prune --shard 2/4 --json       # what ci.yml's validate shard 2 keeps
  litellm-gitops cache prune --hydrate-cache /tmp/hydrated --charts ../shared/charts --dry-run
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="cache_command", metavar="ACTION", required=True)
    prune_parser = sub.add_parser("prune", help="delete every render cache entry the current tree does not use")
    prune_parser.add_argument("--root", type=Path, default=Path("."), metavar="DIR",
                              help="repository root holding environments/ and rendered/ (default: current directory)")
    prune_parser.add_argument("--shard", metavar="I/N",
                              help="keep what the environments of shard I of N use (the validate shard whose cache this is)")
    add_hydrate_options(prune_parser)
    prune_parser.add_argument("--dry-run", action="store_true", help="count what would be deleted, delete nothing (what the tree needs and lacks is still rendered)")
    prune_parser.add_argument("--json", action="store_true", help="print what was kept and deleted as JSON")
    add_verbosity_options(prune_parser, suppress=True)


def run(args: argparse.Namespace) -> int:
    part = shard.parse(args.shard)
    names = [n for n in environment_names(args.root / "environments") if part is None or part.owns(n)]
    folder = args.hydrate_cache or render_cache.default_dir(args.root)
    args.hydrate_cache = folder
    hydrator = hydrator_for(args)
    swept = prune.prune(folder, args.root, names, hydrator, args.dry_run)
    if args.json:
        print(json.dumps({"cache": str(folder), "environments": names, "dryRun": args.dry_run, "helmRenders": hydrator.renders,
                          **swept.to_json()}, indent=2))
        return EXIT_OK
    verb = "would delete" if args.dry_run else "deleted"
    kept, removed = sum(swept.kept.values()), sum(swept.removed.values())
    print(f"{folder}: kept {kept} entr{'y' if kept == 1 else 'ies'} ({_size(swept.kept_bytes)}) used by "
          f"{len(names)} environment(s); {verb} {removed} unused entr{'y' if removed == 1 else 'ies'} and "
          f"{len(swept.other)} other path(s) ({_size(swept.removed_bytes)})")
    if hydrator.renders:
        print(f"helm template ran {hydrator.renders} time(s) for entries that were missing or damaged")
    return EXIT_OK


def _size(count: int) -> str:
    if count < 1024:
        return f"{count} B"
    value = count / 1024
    for unit in ("KiB", "MiB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"
