"""Every bound on what the generator reads from outside (files, networks, child processes), in one
place: each is a named constant, documented in docs/limits.md, and the error that hits one names it.

Bounds that belong to one format live beside its parser and are listed here by reference
(generator/yamlio.py: MAX_ENVIRONMENT_BYTES, MAX_RENDERED_BYTES, MAX_DEPTH, MAX_RENDERED_DEPTH,
MAX_NODES; generator/deadline.py: DEFAULT, CONNECT_TIMEOUT, READ_TIMEOUT; generator/guard/github.py:
MAX_PAGES).
"""

from __future__ import annotations

import re

MiB = 1 << 20

JOURNAL_BYTES = 1 * MiB  # rendered/.render-journal.json: one short step per environment
HTTP_BODY_BYTES = 32 * MiB  # any one HTTP answer (AWS, GitHub page, LiteLLM, schema mirror, chart repository)
HTTP_ERROR_BODY_BYTES = 64 * 1024  # the body of an error answer: read only to quote its first line
GITHUB_LIST_BYTES = 64 * MiB  # all pages of one GitHub list together (reviews, comments, files)
EVENT_PAYLOAD_BYTES = 25 * MiB  # $GITHUB_EVENT_PATH (GitHub caps webhook payloads at 25 MB)
CACHE_RECORD_BYTES = 64 * MiB  # one .cache/hydrated/ entry (the rendered objects of one Application)
CHART_ARCHIVE_BYTES = 64 * MiB  # one chart .tgz (the largest pinned one is under 1 MiB)

HELM_TIMEOUT = 300.0  # seconds per `helm template` / `helm pull` run
HELM_VERSION_TIMEOUT = 60.0  # seconds for `helm version`
HELM_OUTPUT_BYTES = 256 * MiB  # stdout of one helm run (the largest render is a few MiB)
HELM_STDERR_BYTES = 1 * MiB  # stderr of one helm run (only its first lines are printed)
GIT_TIMEOUT = 120.0  # seconds per git run (guard's fingerprints and submodule listing, diff's base worktree)
GIT_OUTPUT_BYTES = 256 * MiB  # stdout of one git run (`ls-tree -r` of a large repository is a few MiB)
GIT_STDERR_BYTES = 64 * 1024  # stderr of one git run (only its first line is ever quoted)
CHILD_KILL_GRACE = 5.0  # seconds between SIGTERM and SIGKILL for a child's process group

JSONNET_TIMEOUT = 60.0  # seconds for one Jsonnet evaluation (the root's pin evaluates in well under one)
JSONNET_MEMORY_BYTES = 1024 * MiB  # address space of the child evaluating one Jsonnet file (RLIMIT_AS)
JSONNET_OUTPUT_BYTES = 64 * MiB  # the JSON one Jsonnet evaluation answers

MESSAGE_CHARS = 300  # server or child text quoted in one error line

_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")  # ANSI CSI, OSC, 2-byte
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]+")


def one_line(text: str | bytes, limit: int = MESSAGE_CHARS) -> str:
    """Server or child-process text fit for one line of output: decoded leniently, control
    characters (escape sequences, newlines, bidi overrides) collapsed to a space, shortened."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    flat = " ".join(_CONTROL.sub(" ", _ESCAPE.sub("", text)).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


HTTP_DOWNLOAD_SECONDS = 300.0  # one download in total (a server dripping a byte at a time)
HTTP_CHUNK = 1 << 16


class LimitExceeded(OSError):
    """A read ran past one of the limits above; str() names it (an OSError, so every caller's
    network-failure path reports it)."""


def read_body(response, what: str, limit: int | None = None, limit_name: str = "HTTP_BODY_BYTES",
              seconds: float | None = None) -> bytes:
    """An HTTP answer's body (anything with read(n)), at most `limit` (HTTP_BODY_BYTES) bytes within
    `seconds` (HTTP_DOWNLOAD_SECONDS); LimitExceeded naming the limit otherwise. Each read is
    bounded by the socket timeout."""
    import time

    limit = HTTP_BODY_BYTES if limit is None else limit
    seconds = HTTP_DOWNLOAD_SECONDS if seconds is None else seconds
    ends_at = time.monotonic() + seconds
    chunks: list[bytes] = []
    size = 0
    while True:  # bounded: every turn reads >= 1 byte of at most limit + 1, or ends
        chunk = response.read(min(HTTP_CHUNK, limit + 1 - size))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise LimitExceeded(f"{what} answered more than {limit_name} ({limit:,} bytes)")
        if time.monotonic() > ends_at:
            raise LimitExceeded(f"{what} did not finish within HTTP_DOWNLOAD_SECONDS ({seconds:g} seconds)")
