"""Options and loading shared by several subcommands: where the repository is, which environments."""

from __future__ import annotations

import argparse
from pathlib import Path

from typing import TYPE_CHECKING

from generator.errors import InputError, os_error

if TYPE_CHECKING:  # loading environments imports jsonschema: guard and diff, which never do, skip it
    from generator.environment import Environment


def add_repository_options(parser: argparse.ArgumentParser) -> None:
    """--env NAME (repeatable; default: every environment) and --root DIR."""
    parser.add_argument("--env", action="append", metavar="NAME", help="only this environment (repeatable); default: all")
    parser.add_argument("--root", type=Path, default=Path("."), metavar="DIR",
                        help="repository root holding environments/ and rendered/ (default: current directory)")


def add_hydrate_options(parser: argparse.ArgumentParser) -> None:
    """--charts DIR and --hydrate-cache DIR, shared by validate and diff."""
    parser.add_argument("--charts", type=Path, metavar="DIR",
                        help="folder of the locked chart archives (default: $LITELLM_GITOPS_CHARTS or .cache/charts)")
    parser.add_argument("--hydrate-cache", type=Path, metavar="DIR",
                        help="render cache (default: $LITELLM_GITOPS_HYDRATE_CACHE or .cache/hydrated)")


def add_one_environment_options(parser: argparse.ArgumentParser, env_help: str, json_help: str) -> None:
    """--env NAME (required), --root DIR and --json: the options of commands about one environment."""
    parser.add_argument("--env", required=True, metavar="NAME", help=env_help)
    parser.add_argument("--root", type=Path, default=Path("."), metavar="DIR",
                        help="repository root holding environments/ (default: current directory)")
    parser.add_argument("--json", action="store_true", help=json_help)


def load_one(args: argparse.Namespace) -> Environment:
    from generator.environment import load_environment

    return load_environment(args.root / "environments", args.env)


def selected_names(args: argparse.Namespace) -> list[str]:
    from generator.environment import environment_names

    root: Path = args.root
    return sorted(set(args.env)) if args.env else environment_names(root / "environments")


def load_selected(args: argparse.Namespace) -> list[Environment]:
    from generator.environment import load_environment

    root: Path = args.root
    return [load_environment(root / "environments", name) for name in selected_names(args)]


def write_report(path: Path, text: str, flag: str = "--markdown") -> None:
    """Write a report file a flag names; a path that cannot be written is bad input naming it."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        error = os_error(exc)
        raise InputError(f"cannot write the {flag} file: {error.message}", file=path,
                         hint="pass a file path in a folder you may write (not a folder, not under a file)") from None
