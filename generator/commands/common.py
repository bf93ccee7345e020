"""Options and loading shared by several subcommands: where the repository is, which environments."""

from __future__ import annotations

import argparse
from pathlib import Path

from generator.environment import Environment, environment_names, load_environment


def add_repository_options(parser: argparse.ArgumentParser) -> None:
    """--env NAME (repeatable; default: every environment) and --root DIR."""
    parser.add_argument("--env", action="append", metavar="NAME", help="only this environment (repeatable); default: all")
    parser.add_argument("--root", type=Path, default=Path("."), metavar="DIR",
                        help="repository root holding environments/ and rendered/ (default: current directory)")


def add_one_environment_options(parser: argparse.ArgumentParser, env_help: str, json_help: str) -> None:
    """--env NAME (required), --root DIR and --json: the options of commands about one environment."""
    parser.add_argument("--env", required=True, metavar="NAME", help=env_help)
    parser.add_argument("--root", type=Path, default=Path("."), metavar="DIR",
                        help="repository root holding environments/ (default: current directory)")
    parser.add_argument("--json", action="store_true", help=json_help)


def load_one(args: argparse.Namespace) -> Environment:
    return load_environment(args.root / "environments", args.env)


def selected_names(args: argparse.Namespace) -> list[str]:
    root: Path = args.root
    return sorted(set(args.env)) if args.env else environment_names(root / "environments")


def load_selected(args: argparse.Namespace) -> list[Environment]:
    root: Path = args.root
    return [load_environment(root / "environments", name) for name in selected_names(args)]
