"""`litellm-gitops render [--check]`: write rendered/<env>/ for every environment, or check it is fresh."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from generator.commands.common import add_repository_options, load_selected
from generator.errors import EXIT_FAILED, EXIT_OK
from generator.render import render_environment
from generator.tree import describe, drift, leftovers, write_trees

NAME = "render"
HELP = "render rendered/<env>/ from environments/ (or --check that it is fresh)"
DESCRIPTION = """\
Render every environment (or those named with --env) into rendered/<env>/.

Everything is rendered in memory first: if any environment has an error, nothing is written.
The environments are then swapped in together, all or nothing, each atomically (killed at any
instant, every rendered/<env>/ is its old tree or its new one; the next render finishes or rolls
back an interrupted one). Files no longer rendered disappear, and so does anything in rendered/
that no environment renders (a removed environment's folder, a stray file) when rendering all
environments. Symbolic links in rendered/ are never followed: --check reports them, render
replaces them.

examples:
  litellm-gitops render
  litellm-gitops render --env prod
  litellm-gitops render --check      # exit 1 and list every file that would change
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_repository_options(parser)
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 listing every file that would change, 0 when fresh")


def strays(out_root: Path, names: set[str]) -> list[Path]:
    """Everything in rendered/ that no environment renders (hidden names are leftovers, handled apart)."""
    if not out_root.is_dir() or out_root.is_symlink():
        return []
    return sorted(p for p in out_root.iterdir() if not p.name.startswith(".") and p.name not in names)


def run(args: argparse.Namespace) -> int:
    environments = load_selected(args)
    results = [render_environment(env) for env in environments]
    for result in results:
        for warning in result.warnings:
            print(f"warning: {result.env.name}: {warning}", file=sys.stderr)

    out_root = args.root / "rendered"
    stale = [] if args.env else strays(out_root, {r.env.name for r in results})

    if args.check:
        drifts = [drift(out_root / r.env.name, r.files, f"rendered/{r.env.name}") for r in results]
        drifts += [drift(p, {}, f"rendered/{p.name}") for p in stale if p.is_dir() and not p.is_symlink()]
        lines = [line for d in drifts for line in d.lines()]
        lines += [f"  would delete: rendered/{p.name} ({describe(p.lstat().st_mode)} no environment renders)"
                  for p in stale if not p.is_dir() or p.is_symlink()]
        lines += [f"  would remove leftover: rendered/{name} (from an interrupted render)" for name in leftovers(out_root)]
        if lines:
            print("rendered/ is stale; run `litellm-gitops render` and commit the result:")
            print("\n".join(lines))
            return EXIT_FAILED
        print(f"rendered/ is fresh ({sum(len(r.files) for r in results)} files, {len(results)} environment(s))")
        return EXIT_OK

    for result in results:  # what is in the way is replaced; say so
        target = out_root / result.env.name
        if os.path.lexists(target) and (target.is_symlink() or not target.is_dir()):
            print(f"replacing rendered/{result.env.name}: it was {describe(target.lstat().st_mode)}, not a folder",
                  file=sys.stderr)
    for line in write_trees(out_root, {r.env.name: r.files for r in results}, [p.name for p in stale]):
        print(line, file=sys.stderr)
    for result in results:
        print(f"rendered {result.env.name}: {len(result.files)} files")
    for path in stale:
        print(f"removed rendered/{path.name}: no environment renders it")
    return EXIT_OK
