"""One deadline per command for everything that waits on the network (AWS, GitHub).

Every network call has its own connect and read timeouts (socket level), but a server that answers
one byte every few seconds never trips them, and retries multiply them. So each call also runs
under the command's total deadline: `call` runs it in a daemon thread and stops waiting when the
deadline passes (the thread is abandoned; the process exits with the command). The deadline comes
from --deadline, else $LITELLM_GITOPS_DEADLINE, else DEFAULT seconds.
"""

from __future__ import annotations

import argparse
import math
import os
import threading
import time
from typing import Any, Callable

from generator.errors import CheckFailed, InputError

DEFAULT = 120.0
MAXIMUM = 86_400.0  # seconds: a longer deadline is a typo (and `inf` would overflow a thread's wait)
VARIABLE = "LITELLM_GITOPS_DEADLINE"
CONNECT_TIMEOUT = 5.0  # seconds, per connection attempt
READ_TIMEOUT = 20.0  # seconds without a byte, per read

_ends_at: float | None = None


class DeadlineExceeded(CheckFailed):
    """A network call did not finish before the command's deadline."""


def add_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--deadline", type=float, metavar="SECONDS",
                        help=f"give up on the network after this many seconds in total (default: ${VARIABLE} or {DEFAULT:g})")


def start(seconds: float | None = None) -> float:
    """Start the command's clock; returns the deadline in seconds."""
    global _ends_at
    if seconds is None:
        text = os.environ.get(VARIABLE, "")
        try:
            seconds = float(text) if text else DEFAULT
        except ValueError:
            raise InputError(f"{VARIABLE} must be a number of seconds", hint=f"for example {VARIABLE}=60") from None
    if not (math.isfinite(seconds) and 0 < seconds <= MAXIMUM):
        raise InputError(f"the deadline must be a positive number of seconds, at most {MAXIMUM:g} (MAXIMUM)",
                         hint="for example --deadline 60")
    _ends_at = time.monotonic() + seconds
    return seconds


def remaining() -> float:
    """Seconds left (the default deadline starts at the first question when no command started it)."""
    if _ends_at is None:
        start()
    return max(0.0, _ends_at - time.monotonic())  # type: ignore[operator]


def timeout() -> float:
    """The socket timeout for the next call: the read timeout, or less when the deadline is nearer."""
    return max(0.1, min(READ_TIMEOUT, remaining()))


def call(function: Callable[[], Any], what: str) -> Any:
    """`function()`, or DeadlineExceeded naming `what` when the deadline passes first."""
    left = remaining()
    if left <= 0:
        raise DeadlineExceeded(f"{what}: not tried, the command's deadline has passed")
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = function()
        except BaseException as exc:  # noqa: BLE001 (handed to the waiting thread)
            outcome["error"] = exc

    worker = threading.Thread(target=target, name=f"network: {what}", daemon=True)
    worker.start()
    worker.join(left)
    if worker.is_alive():
        raise DeadlineExceeded(f"{what}: no complete answer before the command's deadline "
                               f"(--deadline or ${VARIABLE}); check the network, proxy and endpoint")
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")
