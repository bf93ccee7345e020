"""`litellm-gitops charts sync`: fill the chart cache from schemas/charts.lock.json, all or nothing."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from generator import chartlock
from generator.console import add_verbosity_options, progress
from generator.applied.helm import find_helm
from generator.errors import EXIT_FAILED, EXIT_OK, InputError

NAME = "charts"
HELP = "pinned Helm chart archives: `charts sync` fills the git-ignored cache from schemas/charts.lock.json"
DESCRIPTION = """\
schemas/charts.lock.json pins every chart archive the environments use (repository, chart, version)
by sha256: `sha256` for the archive as published, `offlineSha256` for the archive in
../shared/charts (packaged from the tagged sources; litellm-helm there is a reconstruction).

`charts sync` fills the cache (default .cache/charts/, git-ignored; $LITELLM_GITOPS_CHARTS):
  - without --from: downloads each archive from its repository (HTTP: index.yaml, then the archive,
    which must also match the index's digest; OCI: `helm pull`) and checks `sha256`;
  - with --from DIR: copies the archives from a local folder and checks `offlineSha256`.
Any archive that is missing or differs is refused, and then nothing is written (exit 1).

examples:
  litellm-gitops charts sync --from ../shared/charts
  litellm-gitops charts sync                     # download from the chart repositories
  litellm-gitops charts sync --cache /tmp/charts
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="charts_command", metavar="ACTION", required=True)
    sync = sub.add_parser("sync", help="fill the chart cache, checking every sha256")
    sync.add_argument("--from", dest="source", type=Path, metavar="DIR",
                      help="local folder of chart archives (e.g. ../shared/charts); default: the chart repositories")
    sync.add_argument("--cache", type=Path, metavar="DIR",
                      help="chart cache to fill (default: $LITELLM_GITOPS_CHARTS or .cache/charts under --root)")
    sync.add_argument("--root", type=Path, default=Path("."), metavar="DIR", help="repository root (default: .)")
    sync.add_argument("--json", action="store_true", help="print JSON instead of text")
    add_verbosity_options(sync, suppress=True)


def run(args: argparse.Namespace) -> int:
    lock = chartlock.load(args.root)
    cache = args.cache or chartlock.default_cache_dir(args.root)
    with progress("fetching charts", len(lock.charts)) as step:  # a bar on a terminal only
        if args.source is not None:
            if not args.source.is_dir():
                raise InputError("chart folder not found", file=args.source, hint="pass a folder of .tgz archives, e.g. ../shared/charts")
            fetch, origin, offline = chartlock.folder_fetcher(args.source), str(args.source), True
        else:
            helm = find_helm().path if any(c.oci for c in lock.charts) else "helm"
            fetch, origin, offline = chartlock.repository_fetcher(helm), "the chart repositories", False

        def counted(locked):
            data = fetch(locked)
            step(locked.file)
            return data

        synced = chartlock.collect(lock, counted, offline=offline)
    if synced.refused:
        if args.json:
            print(json.dumps({"ok": False, "origin": origin, "refused": synced.refused, "written": []}, indent=2))
            return EXIT_FAILED
        print(f"refused {len(synced.refused)} chart archive(s) from {origin}; nothing was written:")
        for line in synced.refused:
            print(f"  {line}")
        return EXIT_FAILED
    written = chartlock.write(cache, synced)
    if args.json:
        print(json.dumps({"ok": True, "origin": origin, "cache": str(cache), "refused": [], "written": written}, indent=2))
        return EXIT_OK
    print(f"synced {len(written)} chart archive(s) from {origin} into {cache} (every sha256 matches {lock.source.name})")
    return EXIT_OK
