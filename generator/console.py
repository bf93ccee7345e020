"""The terminal: whether to colour (`--color auto|always|never`, the NO_COLOR convention of
https://no-color.org: any non-empty value turns colour off unless `--color always` asks for it),
and the rich Console that prints styled text. Off a terminal, with `auto`, nothing changes: no
escape codes, the same bytes as plain text."""

from __future__ import annotations

import argparse
import os
import sys
from typing import IO

CHOICES = ("auto", "always", "never")


def add_color_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--color", choices=CHOICES, default="auto",
                        help="colour the output: auto (on a terminal, unless NO_COLOR is set), always, never")


def wants_color(choice: str, stream: IO[str] | None = None) -> bool:
    stream = stream or sys.stdout
    if choice == "always":
        return True
    if choice == "never" or os.environ.get("NO_COLOR"):
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


def console(choice: str, stream: IO[str] | None = None):
    """A rich Console on `stream` (stdout) that colours exactly when `wants_color` says so."""
    from rich.console import Console

    color = wants_color(choice, stream)
    return Console(file=stream or sys.stdout, force_terminal=color, color_system="standard" if color else None,
                   no_color=not color, highlight=False, soft_wrap=True, emoji=False, markup=False)
