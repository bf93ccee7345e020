"""The terminal: verbosity (-q/--quiet, -v/--verbose, set once per command by generator/cli.py),
progress bars on a terminal (rich; transient, and nothing at all off a terminal), and whether to colour (`--color auto|always|never`, the NO_COLOR convention of
https://no-color.org: any non-empty value turns colour off unless `--color always` asks for it),
and the rich Console that prints styled text. Off a terminal, with `auto`, nothing changes: no
escape codes, the same bytes as plain text."""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import contextmanager
from typing import IO, Iterator

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


# --- verbosity and progress (-q/--quiet, -v/--verbose on every command) ------------------------------

_LEVEL = {"quiet": False, "verbose": 0, "bar": False}


def add_verbosity_options(parser: argparse.ArgumentParser, suppress: bool = False) -> None:
    """-q/--quiet and -v/--verbose. `suppress` for a nested action (`schemas sync`), so that its
    defaults do not overwrite what was given before the action's name."""
    default = {"default": argparse.SUPPRESS} if suppress else {}
    parser.add_argument("-q", "--quiet", action="store_true", help="print only results, warnings and errors: no progress, "
                        "no notes", **default)
    parser.add_argument("-v", "--verbose", action="count", help="say each step on stderr (-v), and print a bug's "
                        "traceback (as LITELLM_GITOPS_DEBUG=1)", **(default or {"default": 0}))


def configure(args: argparse.Namespace) -> None:
    _LEVEL["quiet"] = bool(getattr(args, "quiet", False))
    _LEVEL["verbose"] = 0 if _LEVEL["quiet"] else int(getattr(args, "verbose", 0) or 0)


def verbose() -> int:
    return _LEVEL["verbose"]


def note(text: str) -> None:
    """An informational line on stderr (what a command did by itself, e.g. filled a cache); -q silences it."""
    if not _LEVEL["quiet"]:
        print(text, file=sys.stderr)


class _Steps:
    """What `progress` yields: `step(label)` marks one unit done (and names the next)."""

    def __init__(self, bar=None, task=None, description: str = "") -> None:
        self._bar, self._task, self._description = bar, task, description

    def __call__(self, label: str = "") -> None:
        if self._bar is not None:
            self._bar.update(self._task, advance=1, description=f"{self._description} {label}".rstrip())
            self._bar.refresh()
        elif _LEVEL["verbose"]:
            print(f"{self._description}: {label}" if label else self._description, file=sys.stderr)


@contextmanager
def progress(description: str, total: int | None) -> Iterator[_Steps]:
    """A progress bar on stderr while a long step runs, only when stderr is a terminal and not -q;
    transient, so nothing of it stays. Off a terminal, nothing is printed (with -v, one line per step)."""
    if _LEVEL["quiet"] or _LEVEL["bar"] or not sys.stderr.isatty() or os.environ.get("TERM") == "dumb":
        yield _Steps(description=description)  # (one bar at a time: an inner step runs under the outer bar)
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   console=Console(stderr=True, no_color=bool(os.environ.get("NO_COLOR"))), transient=True,
                   auto_refresh=False)  # no refresh thread: render and validate fork workers while it shows
    _LEVEL["bar"] = True
    try:
        with bar:
            yield _Steps(bar, bar.add_task(description, total=total), description)
    finally:
        _LEVEL["bar"] = False
