"""Which pull request the guard judges: from the GitHub Actions event payload, or from --repo/--pr
(then the PR itself is fetched for its author and head commit)."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from generator import limits
from generator.errors import InputError
from generator.guard.github import GitHub, GitHubError
from generator.yamlio import read_limited

_REPO = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")  # fullmatch: nothing before or after, not even a newline
_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


@dataclass(frozen=True)
class PullRequest:
    repo: str  # owner/name
    number: int
    author: str
    head_sha: str


def check_repo(repo: str, where: str) -> str:
    if not _REPO.fullmatch(repo or ""):
        raise InputError(f"{where}: {limits.one_line(repr(repo), 120)} is not owner/name", hint="pass --repo OWNER/NAME or set GITHUB_REPOSITORY")
    return repo


def _pr_fields(pr: Any, where: str | Path) -> tuple[int, str, str]:
    try:
        number, author, sha = pr["number"], pr["user"]["login"], pr["head"]["sha"]
    except (KeyError, TypeError):
        raise InputError("pull_request lacks number, user.login or head.sha", file=where,
                         hint="pass the payload GitHub Actions wrote (GITHUB_EVENT_PATH) or use --repo and --pr") from None
    if not isinstance(number, int) or isinstance(number, bool) or number < 1 or not isinstance(author, str) or not author \
            or not isinstance(sha, str) or not _SHA.fullmatch(sha):
        raise InputError("pull_request.number, user.login or head.sha has the wrong type or shape", file=where)
    return number, author, sha


def from_event(path: Path, environ: Mapping[str, str]) -> PullRequest | None:
    """The PR of a pull_request or pull_request_review payload; None for other events."""
    try:
        raw = read_limited(path, limits.EVENT_PAYLOAD_BYTES, "event payload (limit EVENT_PAYLOAD_BYTES)")
    except InputError as exc:
        if exc.message == "file not found":
            raise InputError("event payload not found", file=path, hint="GITHUB_EVENT_PATH must name the event JSON") from None
        raise
    try:
        payload = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise InputError(f"event payload is not JSON ({limits.one_line(str(exc), 120)})", file=path) from None
    if not isinstance(payload, dict):
        raise InputError("event payload is not a JSON object", file=path)
    if "pull_request" not in payload:
        return None
    number, author, sha = _pr_fields(payload["pull_request"], path)
    repository = payload.get("repository")
    repo = environ.get("GITHUB_REPOSITORY") or (repository.get("full_name") if isinstance(repository, dict) else None)
    return PullRequest(check_repo(str(repo or ""), "GITHUB_REPOSITORY"), number, author, sha)


def fetch(client: GitHub, repo: str, number: int) -> PullRequest:
    """GET /repos/{repo}/pulls/{n}: its author and head commit (GitHubError when unreachable)."""
    pr = client.get(f"repos/{repo}/pulls/{number}")
    try:
        n, author, sha = _pr_fields(pr, f"GET /repos/{repo}/pulls/{number}")
    except InputError as exc:
        raise GitHubError(f"GET /repos/{repo}/pulls/{number} answered an unexpected shape: {exc.message}") from None
    return PullRequest(repo, n, author, sha)


def resolve(client: GitHub, repo: str | None, number: int | None, environ: Mapping[str, str] | None = None) -> PullRequest | None:
    """The PR from flags (fetched) or from the event payload; None when there is none."""
    environ = os.environ if environ is None else environ
    if number is not None:
        if number < 1:
            raise InputError(f"--pr {number}: not a pull request number")
        return fetch(client, check_repo(repo or environ.get("GITHUB_REPOSITORY", ""), "--repo"), number)
    event = environ.get("GITHUB_EVENT_PATH")
    if event:
        return from_event(Path(event), environ)
    return None
