"""`litellm-gitops render [--check]`: write rendered/<env>/ for every environment (and
rendered/fleet/<hub>/ for the hubs), or check it is fresh."""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from generator import chartlock, collisions, fleet
from generator.commands.common import add_repository_options, selected_names
from generator.console import progress
from generator.environment import Environment, environment_names, load_environment
from generator.errors import EXIT_FAILED, EXIT_OK, InputError
from generator.render import RenderedEnvironment, render_environment
from generator.tree import Drift, describe, drift, leftovers, write_trees

PARALLEL_MIN = 32  # below this many environments forking workers costs more than it saves
MAX_RENDERERS = 4

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
Environments managed from a hub also render rendered/fleet/<hub>/ (with --env, the hubs of the
named environments, from every environment of those hubs), swapped in the same way after them.

examples:
  litellm-gitops render
  litellm-gitops render --env prod
  litellm-gitops render --check      # exit 1 and list every file that would change
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_repository_options(parser)
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 listing every file that would change, 0 when fresh")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text (what was rendered, or the drift)")
    parser.add_argument("--explain", metavar="KEY",
                        help="write nothing; print, per environment, the merged value of the dotted KEY (e.g. "
                             "cluster.kubernetesVersion) and which file (environment, layer, defaults) set it")


def strays(out_root: Path, names: set[str]) -> list[Path]:
    """Everything in rendered/ that no environment renders (hidden names are leftovers, handled apart)."""
    if not out_root.is_dir() or out_root.is_symlink():
        return []
    return sorted(p for p in out_root.iterdir() if not p.name.startswith(".") and p.name not in names)


@dataclass
class _Rendered:
    """One environment rendered; with --check its drift instead of its files (workers compare
    against the tree on disk themselves, so file contents never cross a process boundary)."""

    result: RenderedEnvironment
    count: int
    drift: Drift | None = None


def _render_one(root: Path, name: str, check: bool) -> tuple[_Rendered | None, tuple | None]:
    """Load and render one environment; an InputError comes back as its fields (it does not pickle)."""
    try:
        env = load_environment(root / "environments", name)
        chartlock.check_pinned(env, chartlock.load(root))
        result = render_environment(env)
    except InputError as exc:
        return None, exc.fields()
    if not check:
        return _Rendered(result, len(result.files)), None
    found = drift(root / "rendered" / name, result.files, f"rendered/{name}")
    return _Rendered(replace(result, files={}), len(result.files), found), None


def render_selected(args: argparse.Namespace) -> list[_Rendered]:
    """Every selected environment, loaded and rendered in name order; bad ones raise one error
    carrying every problem of every environment.

    Many environments are rendered by forked workers, one per CPU: loading (ruamel.yaml) and
    dumping YAML are CPU-bound Python, and environments are independent."""
    names = selected_names(args)
    workers = min(os.cpu_count() or 1, MAX_RENDERERS)
    outcomes = []
    with progress("rendering", len(names)) as step:  # a bar on a terminal only (a fleet takes a while)
        if len(names) < PARALLEL_MIN or workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
            for name in names:
                outcomes.append(_render_one(args.root, name, args.check))
                step(name)
        else:
            with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork")) as pool:
                for name, outcome in zip(names, pool.map(_render_one, [args.root] * len(names), names, [args.check] * len(names),
                                                         chunksize=max(1, len(names) // (workers * 8)))):
                    outcomes.append(outcome)
                    step(name)
    errors = [InputError.from_fields(error) for _, error in outcomes if error is not None]
    if errors:  # every environment's problems at once
        raise InputError.every(errors)
    return [rendered for rendered, _ in outcomes if rendered is not None]


def explain_key(args: argparse.Namespace) -> int:
    """`--explain KEY`: which file set KEY in each selected environment (the first listed wins)."""
    import json

    from generator.environment import explain

    root = args.root / "environments"
    for name in selected_names(args):
        value, setters = explain(root, name, args.explain)
        if not setters:
            print(f"{name}: {args.explain} is not set")
            continue
        shown = json.dumps(value, sort_keys=True) if value is not None else "null"
        where = [f"{file.relative_to(args.root).as_posix() if file.is_relative_to(args.root) else file}"
                 + (f":{line}" if line else "") for file, line in setters]
        line = f"{name}: {args.explain} = {shown[:200]} set by {where[0]}"
        print(line + (f" (over {', '.join(where[1:])})" if len(where) > 1 else ""))
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    if args.explain:
        return explain_key(args)
    rendered = render_selected(args)
    results = [r.result for r in rendered]
    environments = [r.env for r in results]
    selected = {env.name: env for env in environments}
    collisions.check([selected.get(name) or load_environment(args.root / "environments", name)
                      for name in environment_names(args.root / "environments")])
    for result in results:
        for warning in result.warnings:
            print(f"warning: {result.env.name}: {warning}", file=sys.stderr)
    placeholders = list(dict.fromkeys(str(p) for env in environments for p in collisions.placeholders(env)))

    out_root = args.root / "rendered"
    stale = [] if args.env else strays(out_root, {r.env.name for r in results} | {fleet.FOLDER})
    hubs, gone_hubs = _fleets(args, environments, out_root / fleet.FOLDER)
    fleet_root = out_root / fleet.FOLDER

    if args.check:
        drifts = [r.drift for r in rendered if r.drift is not None]
        drifts += [drift(p, {}, f"rendered/{p.name}") for p in stale if p.is_dir() and not p.is_symlink()]
        drifts += [drift(fleet_root / hub, files, f"rendered/{fleet.FOLDER}/{hub}") for hub, files in hubs.items()]
        drifts += [drift(gone, {}, f"rendered/{fleet.FOLDER}/{gone.name}") for gone in gone_hubs]
        lines = [line for d in drifts for line in d.lines()]
        lines += [f"  would delete: rendered/{p.name} ({describe(p.lstat().st_mode)} no environment renders)"
                  for p in stale if not p.is_dir() or p.is_symlink()]
        lines += [f"  would remove leftover: rendered/{name} (from an interrupted render)" for name in leftovers(out_root)]
        count = sum(r.count for r in rendered) + sum(len(files) for files in hubs.values())
        if args.json:
            print(json.dumps({"ok": not lines, "fresh": not lines, "files": count, "environments": len(results),
                              "hubs": len(hubs), "stale": [line.strip() for line in lines],
                              "warnings": placeholders}, indent=2))
            return EXIT_FAILED if lines else EXIT_OK
        _warn(placeholders)
        if lines:
            print("rendered/ is stale; run `litellm-gitops render` and commit the result:")
            print("\n".join(lines))
            return EXIT_FAILED
        print(f"rendered/ is fresh ({count} files, {len(results)} environment(s), {len(hubs)} hub(s))")
        return EXIT_OK

    for result in results:  # what is in the way is replaced; say so
        target = out_root / result.env.name
        if os.path.lexists(target) and (target.is_symlink() or not target.is_dir()):
            print(f"replacing rendered/{result.env.name}: it was {describe(target.lstat().st_mode)}, not a folder",
                  file=sys.stderr)
    # The environments in one transaction (all or nothing), then the hubs in a second one.
    for line in write_trees(out_root, {r.env.name: r.files for r in results}, [p.name for p in stale]):
        print(line, file=sys.stderr)
    if hubs or gone_hubs:
        for line in write_trees(fleet_root, hubs, [gone.name for gone in gone_hubs]):
            print(line, file=sys.stderr)
    if fleet_root.is_dir() and not fleet_root.is_symlink() and not any(fleet_root.iterdir()):
        fleet_root.rmdir()
    written = {result.env.name: len(result.files) for result in results}
    written |= {f"{fleet.FOLDER}/{hub}": len(files) for hub, files in hubs.items()}
    removed = [f"rendered/{path.name}" for path in stale] + [f"rendered/{fleet.FOLDER}/{gone.name}" for gone in gone_hubs]
    if args.json:
        print(json.dumps({"ok": True, "rendered": written, "removed": removed,
                          "warnings": [f"{r.env.name}: {w}" for r in results for w in r.warnings] + placeholders},
                         indent=2))
        return EXIT_OK
    _warn(placeholders)
    for name, count in written.items():
        print(f"rendered {name}: {count} files")
    for path in stale:
        print(f"removed rendered/{path.name}: no environment renders it")
    for gone in gone_hubs:
        print(f"removed rendered/{fleet.FOLDER}/{gone.name}: no environment is on that hub any more")
    return EXIT_OK


def _warn(placeholders: list[str]) -> None:
    """Placeholder values (generator/collisions.py), once each, after the outcome is known."""
    for placeholder in placeholders:
        print(f"warning: {placeholder}", file=sys.stderr)


def _fleets(args: argparse.Namespace, environments: list[Environment], fleet_root: Path) -> tuple[dict[str, dict[str, str]], list[Path]]:
    """The hub folders to render (hub -> files) and those to remove.

    Rendering every environment renders every hub. With --env, only the hubs the named
    environments are on, or were on (their parameters file is still there), rendered from every
    environment of the repository so each hub folder stays complete."""
    on_disk = sorted(p for p in fleet_root.iterdir() if p.is_dir() and not p.name.startswith(".")) if fleet_root.is_dir() else []
    if not args.env:
        hubs = fleet.render_fleets(environments)
        return hubs, [p for p in on_disk if p.name not in hubs]
    touched = {fleet.hub_name(env) for env in environments} - {None}
    touched |= {p.name for p in on_disk for env in environments
                if (p / fleet.GENERATOR_FOLDER / f"{env.name}.json").is_file()}
    if not touched:
        return {}, []
    selected = {env.name: env for env in environments}
    everyone = [selected.get(name) or load_environment(args.root / "environments", name)
                for name in environment_names(args.root / "environments")]
    hubs = {hub: files for hub, files in fleet.render_fleets(everyone).items() if hub in touched}
    return hubs, [p for p in on_disk if p.name in touched and p.name not in hubs]
