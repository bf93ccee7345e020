"""`litellm-gitops schemas sync`: fill the schema cache from the lock (and optionally lay out a
reference folder like ../shared), refusing everything if any file's sha256 differs."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from generator.console import add_verbosity_options
from generator.errors import EXIT_FAILED, EXIT_OK, InputError
from generator.projectfiles import UPSTREAM_LOCK, project_file
from generator.schemacache import (CHART_VALUES, Collected, Lock, check_mirror, collect, collect_from_folder,
                                   default_cache_dir, is_crd_folder, load_lock, url_fetcher, write_cache, write_reference)

NAME = "schemas"
HELP = "upstream schemas: `schemas sync` fills the git-ignored cache from schemas/upstream.lock.json"
DESCRIPTION = """\
schemas/upstream.lock.json pins, by raw URL and sha256, the upstream CRDs of the custom kinds the
generator emits, the strict JSON Schemas derived from them (kubeconform layout, see
generator/crdschema.py), and every pinned Helm chart's values.yaml (and values.schema.json).

`schemas sync` fills the cache (default .cache/schemas/, git-ignored, kubeconform layout):
  - without --from: downloads the CRDs and chart files from their pinned URLs (or --mirror, a
    server with raw.githubusercontent.com's paths), checks them, derives the schemas, checks those;
  - with --from DIR: reads a folder of upstream CRDs (e.g. ../shared/crds) and derives the schemas,
    or reads a catalog already in kubeconform layout (e.g. ../shared/schemas-upstream).
--reference-out DIR also writes the verified files like ../shared (DIR/schemas-upstream/,
DIR/crds/, DIR/chart-values/), so the tests can run with LITELLM_GITOPS_SHARED=DIR.
Any file whose sha256 differs from the lock, or that cannot be found, is refused, and then
nothing is written (exit 1).

examples:
  litellm-gitops schemas sync --from ../shared/schemas-upstream
  litellm-gitops schemas sync --from ../shared/crds
  litellm-gitops schemas sync                     # download the pinned URLs
  litellm-gitops schemas sync --reference-out "$RUNNER_TEMP/shared"
  litellm-gitops schemas sync --from DIR --chart-values-from DIR2 --cache /tmp/schemas
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="schemas_command", metavar="ACTION", required=True)
    sync = sub.add_parser("sync", help="fill the schema cache, checking every sha256",
                          description="Fill the schema cache from the pinned URLs, or a local folder (--from).")
    source = sync.add_mutually_exclusive_group()
    source.add_argument("--from", dest="source", type=Path, metavar="DIR",
                        help="local folder of upstream CRDs (crds/), or a catalog in kubeconform layout "
                             "({group}/{kind}_{version}.json); default: the pinned URLs")
    source.add_argument("--mirror", metavar="URL",
                        help="download from this server instead of https://raw.githubusercontent.com (same paths; "
                             "https, or http on this machine); every sha256 is still checked")
    sync.add_argument("--chart-values-from", type=Path, metavar="DIR",
                      help="folder of <chart>-<version>.values.yaml and .values.schema.json "
                           "(default with --from: DIR/../chart-values)")
    sync.add_argument("--cache", type=Path, metavar="DIR",
                      help="schema cache to fill (default: $LITELLM_GITOPS_SCHEMA_CACHE or .cache/schemas under --root)")
    sync.add_argument("--reference-out", type=Path, metavar="DIR",
                      help="also write the verified files as a reference folder like ../shared: "
                           "DIR/schemas-upstream/, DIR/crds/, DIR/chart-values/")
    sync.add_argument("--root", type=Path, default=Path("."), metavar="DIR", help="repository root (default: .)")
    sync.add_argument("--json", action="store_true", help="print JSON instead of text")
    add_verbosity_options(sync, suppress=True)


def check_reference_source(lock: Lock, source: Path) -> None:
    """--reference-out writes crds/ too, so a local source must be a crds/ folder, not a catalog."""
    if source.is_dir() and not is_crd_folder(lock, source):
        raise InputError("--reference-out needs the upstream CRDs, and a catalog holds only the schemas", file=source,
                         hint="use --from with a crds/ folder (e.g. ../shared/crds), or no --from to download them")


def gather(args: argparse.Namespace, lock: Lock) -> tuple[Collected, str]:
    """Everything in the lock, checked, from where the arguments say; and a name for that origin."""
    if args.source is not None:
        if args.reference_out is not None:
            check_reference_source(lock, args.source)
        chart_values = args.chart_values_from or args.source.parent / CHART_VALUES
        return collect_from_folder(lock, args.source, chart_values), str(args.source)
    mirror = check_mirror(args.mirror) if args.mirror else None
    return collect(lock, url_fetcher(mirror)), f"the pinned URLs via {mirror}" if mirror else "the pinned URLs"


def run(args: argparse.Namespace) -> int:
    lock = load_lock(project_file(args.root, UPSTREAM_LOCK))
    cache = args.cache or default_cache_dir(args.root)
    collected, origin = gather(args, lock)
    if collected.refused and args.json:
        print(json.dumps({"ok": False, "origin": origin, "refused": collected.refused, "written": []}, indent=2))
        return EXIT_FAILED
    if collected.refused:
        print(f"refused {len(collected.refused)} file(s) from {origin}; nothing was written:")
        for line in collected.refused:
            print(f"  {line}")
        return EXIT_FAILED
    written = write_cache(lock, cache, collected)
    laid_out = write_reference(lock, args.reference_out, collected) if args.reference_out is not None else []
    if args.json:
        print(json.dumps({"ok": True, "origin": origin, "cache": str(cache), "refused": [], "written": sorted(written),
                          "reference": sorted(laid_out)}, indent=2))
        return EXIT_OK
    print(f"synced {len(written)} file(s) from {origin} into {cache} (every sha256 matches {lock.source.name})")
    if args.reference_out is not None:
        print(f"wrote {len(laid_out)} file(s) into the reference folder {args.reference_out} "
              f"({', '.join(sorted({name.split('/', 1)[0] + '/' for name in laid_out}))})")
    return EXIT_OK
