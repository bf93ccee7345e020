"""The command reference of the docs site (docs/, page `reference.md`), generated from the
argparse parser each command builds, so the page is every command's `--help`, word for word, and
cannot drift from it. tools/mkdocs_hooks.py adds the page to the site at build time; nothing
generated is committed.

argparse wraps help at the terminal's width (`shutil.get_terminal_size`, which reads `COLUMNS`):
the reference is formatted at a fixed width so that the same code gives the same page anywhere.
"""

from __future__ import annotations

import argparse
import os
from contextlib import contextmanager
from typing import Iterator

WIDTH = 100


@contextmanager
def _columns(width: int) -> Iterator[None]:
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(width)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old


def _subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser]]:
    """(name, parser) for each subcommand in the order they were added; an alias is listed once,
    under its first name."""
    seen: set[int] = set()
    found = []
    for action in parser._actions:  # noqa: SLF001 (argparse keeps subparsers nowhere public)
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            for name, sub in action.choices.items():
                if id(sub) not in seen:
                    seen.add(id(sub))
                    found.append((name, sub))
    return found


def _walk(parser: argparse.ArgumentParser, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    yield path, parser
    for name, sub in _subcommands(parser):
        yield from _walk(sub, (*path, name))


def reference_markdown(parser: argparse.ArgumentParser | None = None) -> str:
    """The reference page: one section per command and subcommand, each its `--help` verbatim."""
    if parser is None:
        from generator.cli import build_parser
        parser = build_parser()
    lines = [
        "# Command reference",
        "",
        "Generated from each command's `--help` when the site is built (`generator/clidoc.py`); "
        "run `litellm-gitops COMMAND --help` for the same text.",
        "",
    ]
    with _columns(WIDTH):
        for path, sub in _walk(parser, ("litellm-gitops",)):
            lines += [f"{'#' * max(2, len(path))} `{' '.join(path)}`", "",
                      "```text", sub.format_help().rstrip("\n"), "```", ""]
    return "\n".join(lines)
