"""Options and loading shared by several subcommands: where the repository is, which environments."""

from __future__ import annotations

import argparse
from pathlib import Path

from generator.environment import Environment, environment_names, load_environment
from generator.errors import InputError, os_error


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


def write_report(path: Path, text: str, flag: str = "--markdown") -> None:
    """Write a report file a flag names; a path that cannot be written is bad input naming it."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        error = os_error(exc)
        raise InputError(f"cannot write the {flag} file: {error.message}", file=path,
                         hint="pass a file path in a folder you may write (not a folder, not under a file)") from None
