"""`litellm-gitops render [--check]`: write rendered/<env>/ for every environment, or check it is fresh."""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ThreadPoolExecutor

from generator.commands.common import add_repository_options, load_selected
from generator.errors import EXIT_FAILED, EXIT_OK
from generator.render import render_environment
from generator.tree import drift, remove_tree, write_tree

WRITERS = 4
NAME = "render"
HELP = "render rendered/<env>/ from environments/ (or --check that it is fresh)"
DESCRIPTION = """\
Render every environment (or those named with --env) into rendered/<env>/.

Everything is rendered in memory first: if any environment has an error, nothing is written.
Each rendered/<env>/ is then swapped in atomically; files no longer rendered disappear, and so do
rendered/<env>/ folders whose environment was removed (when rendering all environments).

examples:
  litellm-gitops render
  litellm-gitops render --env prod
  litellm-gitops render --check      # exit 1 and list every file that would change
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_repository_options(parser)
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 listing every file that would change, 0 when fresh")


def run(args: argparse.Namespace) -> int:
    environments = load_selected(args)
    results = [render_environment(env) for env in environments]
    for result in results:
        for warning in result.warnings:
            print(f"warning: {result.env.name}: {warning}", file=sys.stderr)

    out_root = args.root / "rendered"
    stale_dirs = []
    if not args.env and out_root.is_dir():
        names = {r.env.name for r in results}
        stale_dirs = sorted(p for p in out_root.iterdir() if p.is_dir() and not p.name.startswith(".") and p.name not in names)

    if args.check:
        drifts = [drift(out_root / r.env.name, r.files, f"rendered/{r.env.name}") for r in results]
        drifts += [drift(stale, {}, f"rendered/{stale.name}") for stale in stale_dirs]  # every file would go
        if any(drifts):
            print("rendered/ is stale; run `litellm-gitops render` and commit the result:")
            print("\n".join(line for d in drifts for line in d.lines()))
            return EXIT_FAILED
        print(f"rendered/ is fresh ({sum(len(r.files) for r in results)} files, {len(results)} environment(s))")
        return EXIT_OK

    # Writing is file-system bound: overlap the environments' writes (each still swapped in whole).
    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        list(pool.map(lambda r: write_tree(out_root / r.env.name, r.files), results))
    for result in results:
        print(f"rendered {result.env.name}: {len(result.files)} files")
    for stale in stale_dirs:
        remove_tree(stale)
        print(f"removed rendered/{stale.name}: its environment is gone")
    return EXIT_OK
