"""`litellm-gitops charts sync`: fill the chart cache from schemas/charts.lock.json, all or nothing;
`charts bump`: move a chart to a new version in the environments and both locks (generator/chartbump.py)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from generator import chartlock
from generator.console import add_verbosity_options, progress
from generator.applied.helm import find_helm
from generator.errors import EXIT_FAILED, EXIT_OK, InputError

NAME = "charts"
HELP = "pinned Helm chart archives: `charts sync` fills the cache from schemas/charts.lock.json, `charts bump` moves a chart"
DESCRIPTION = """\
schemas/charts.lock.json pins every chart archive the environments use (repository, chart, version)
by sha256: `sha256` for the archive as published, `offlineSha256` for the archive in
../shared/charts (packaged from the tagged sources; litellm-helm there is a reconstruction).

`charts sync` fills the cache (default .cache/charts/, git-ignored; $LITELLM_GITOPS_CHARTS):
  - without --from: downloads each archive from its repository (HTTP: index.yaml, then the archive,
    which must also match the index's digest; OCI: `helm pull`) and checks `sha256`;
  - with --from DIR: copies the archives from a local folder and checks `offlineSha256`.
Any archive that is missing or differs is refused, and then nothing is written (exit 1). Every
chart whose published `sha256` is still null is printed as a step to finish before CI (which syncs
from the repositories) can pass.

`charts bump CHART VERSION [--env ENV] [--from DIR]` moves a chart to VERSION in one step: the
environment pins (defaults.yaml and every environment file that sets it; with --env that one
environment), schemas/charts.lock.json and schemas/upstream.lock.json (the chart's values files).
Online it downloads the archive and verifies it against the repository's index.yaml digest (HTTP)
or the registry's manifest (OCI), and pins `sha256`; with --from DIR it pins `offlineSha256` of
DIR/CHART-VERSION.tgz. Then run `litellm-gitops render` and commit everything.

examples:
  litellm-gitops charts bump litellm-helm 1.83.11
  litellm-gitops charts bump redis-ha 4.40.0 --env dev --from ./charts
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
    bump = sub.add_parser("bump", help="move a chart to a new version: environment pins and both locks")
    bump.add_argument("chart", metavar="CHART", help="the chart's name (components.<c>.chart.name)")
    bump.add_argument("version", metavar="VERSION", help="the exact new version")
    bump.add_argument("--env", metavar="ENV", help="bump one environment only (default: every environment, and defaults.yaml)")
    bump.add_argument("--from", dest="source", type=Path, metavar="DIR",
                      help="take CHART-VERSION.tgz from a local folder and pin offlineSha256 (default: download and pin sha256)")
    bump.add_argument("--root", type=Path, default=Path("."), metavar="DIR", help="repository root (default: .)")
    bump.add_argument("--json", action="store_true", help="print JSON instead of text")
    add_verbosity_options(bump, suppress=True)


def unfinished(lock: chartlock.ChartLock) -> list[str]:
    """One step per chart whose published sha256 is not pinned yet."""
    return [f"{c.label}: sha256 is null; run `litellm-gitops charts bump {c.chart} {c.version}` with network to pin it"
            for c in lock.charts if c.sha256 is None]


def run_bump(args: argparse.Namespace) -> int:
    from generator import chartbump

    if args.source is not None and not args.source.is_dir():
        raise InputError("chart folder not found", file=args.source, hint="pass a folder of .tgz archives")
    done = chartbump.bump(args.root, args.chart, args.version, args.env, args.source)
    if args.json:
        print(json.dumps({"ok": True, "chart": done.chart, "version": done.version, "repository": done.repository,
                          done.digest_key: done.digest, "edited": [str(p) for p in done.edited],
                          "unlocked": list(done.removed)}, indent=2))
        return EXIT_OK
    for path in done.edited:
        print(f"pinned {done.chart} {done.version} in {path}")
    print(f"locked {done.chart} {done.version} ({done.repository}): {done.digest_key} {done.digest}")
    for gone in done.removed:
        print(f"unlocked {gone}: no environment pins it any more")
    print("next: `litellm-gitops render`, then commit environments/, schemas/ and rendered/")
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    if args.charts_command == "bump":
        return run_bump(args)
    lock = chartlock.load(args.root)
    steps = unfinished(lock)
    if steps:
        print(f"to finish before CI can sync from the chart repositories ({len(steps)}):")
        for line in steps:
            print(f"  {line}")
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
