"""`litellm-gitops schemas sync`: fill the schema cache from the lock, refusing any file whose sha256 differs."""

from __future__ import annotations

import argparse
from pathlib import Path

from generator.errors import EXIT_FAILED, EXIT_OK
from generator.schemacache import default_cache_dir, load_lock, sync_from_directory, sync_from_urls

NAME = "schemas"
HELP = "upstream schemas: `schemas sync` fills the git-ignored cache from schemas/upstream.lock.json"
DESCRIPTION = """\
schemas/upstream.lock.json pins every upstream schema validate uses (custom kinds' JSON Schemas in
kubeconform layout, and values.schema.json of pinned Helm charts) by address and sha256.
`schemas sync` copies them into the cache (default .cache/schemas/, git-ignored, kubeconform
layout), from a local catalog with --from, else from the pinned URLs. A file whose sha256 differs
from the lock is refused, and then nothing is written (exit 1).

examples:
  litellm-gitops schemas sync --from ../shared/schemas-upstream
  litellm-gitops schemas sync                     # download the pinned URLs
  litellm-gitops schemas sync --from DIR --chart-values-from DIR2 --cache /tmp/schemas
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="schemas_command", metavar="ACTION", required=True)
    sync = sub.add_parser("sync", help="fill the schema cache, checking every sha256",
                          description="Fill the schema cache from a local catalog (--from) or the pinned URLs.")
    sync.add_argument("--from", dest="source", type=Path, metavar="DIR",
                      help="local catalog in kubeconform layout ({group}/{kind}_{version}.json); default: the pinned URLs")
    sync.add_argument("--chart-values-from", type=Path, metavar="DIR",
                      help="folder of <chart>-<version>.values.schema.json (default with --from: DIR/../chart-values)")
    sync.add_argument("--cache", type=Path, metavar="DIR",
                      help="schema cache to fill (default: $LITELLM_GITOPS_SCHEMA_CACHE or .cache/schemas under --root)")
    sync.add_argument("--root", type=Path, default=Path("."), metavar="DIR", help="repository root (default: .)")


def run(args: argparse.Namespace) -> int:
    lock = load_lock()
    cache = args.cache or default_cache_dir(args.root)
    if args.source is not None:
        chart_values = args.chart_values_from or args.source.parent / "chart-values"
        result = sync_from_directory(lock, args.source, chart_values, cache)
        origin = str(args.source)
    else:
        result = sync_from_urls(lock, cache)
        origin = "the pinned URLs"
    if result.refused:
        print(f"refused {len(result.refused)} file(s) from {origin}; the cache was not changed:")
        for line in result.refused:
            print(f"  {line}")
        return EXIT_FAILED
    print(f"synced {len(result.written)} schema(s) from {origin} into {cache} (every sha256 matches {lock.source.name})")
    return EXIT_OK
