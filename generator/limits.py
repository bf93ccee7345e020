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
EVENT_PAYLOAD_BYTES = 25 * MiB  # $GITHUB_EVENT_PATH (GitHub caps webhook payloads at 25 MB)
CACHE_RECORD_BYTES = 64 * MiB  # one .cache/hydrated/ entry (the rendered objects of one Application)
CHART_ARCHIVE_BYTES = 64 * MiB  # one chart .tgz (the largest pinned one is under 1 MiB)
JSON_DEPTH = 200  # nesting of any JSON the generator reads back (caches, chart lock, answers)

HELM_TIMEOUT = 300.0  # seconds per `helm template` / `helm pull` run
HELM_VERSION_TIMEOUT = 60.0  # seconds for `helm version`
HELM_OUTPUT_BYTES = 256 * MiB  # stdout of one helm run (the largest render is a few MiB)
HELM_STDERR_BYTES = 1 * MiB  # stderr of one helm run (only its first lines are printed)
CHILD_KILL_GRACE = 5.0  # seconds between SIGTERM and SIGKILL for a child's process group

MESSAGE_CHARS = 300  # server or child text quoted in one error line

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]+")


def one_line(text: str | bytes, limit: int = MESSAGE_CHARS) -> str:
    """Server or child-process text fit for one line of output: decoded leniently, control
    characters (escape sequences, newlines, bidi overrides) collapsed to a space, shortened."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    flat = " ".join(_CONTROL.sub(" ", text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
