"""Which reviews count as approvals.

An approval counts when it is its reviewer's latest state-changing review (APPROVED,
CHANGES_REQUESTED or DISMISSED; COMMENTED and PENDING change nothing), it was given on the pull
request's current head commit, and the reviewer is a person other than the pull request's author.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

STATE_CHANGING = frozenset({"APPROVED", "CHANGES_REQUESTED", "DISMISSED"})
REQUIRED = 2


@dataclass
class Approvals:
    valid: list[str] = field(default_factory=list)  # logins, sorted
    ignored: list[tuple[str, str]] = field(default_factory=list)  # (login, why it does not count)

    def to_json(self) -> dict[str, Any]:
        return {"valid": self.valid, "ignored": [{"login": login, "reason": why} for login, why in self.ignored]}


def _order(review: dict[str, Any], index: int) -> tuple[str, int, int]:
    rid = review.get("id")
    return (str(review.get("submitted_at") or ""), rid if isinstance(rid, int) else 0, index)


def count(reviews: list[Any], author: str, head_sha: str) -> Approvals:
    latest: dict[str, dict[str, Any]] = {}
    logins: dict[str, str] = {}
    ordered = sorted(((r, i) for i, r in enumerate(reviews) if isinstance(r, dict)), key=lambda p: _order(*p))
    for review, _ in ordered:
        user = review.get("user")
        login = user.get("login") if isinstance(user, dict) else None
        if not isinstance(login, str) or not login:
            continue  # a deleted account: nobody to count
        if str(review.get("state", "")).upper() in STATE_CHANGING:
            latest[login.lower()] = review
            logins[login.lower()] = login
    result = Approvals()
    for key in sorted(latest):
        review, login = latest[key], logins[key]
        user = review.get("user") or {}
        state = str(review.get("state", "")).upper()
        if state != "APPROVED":
            result.ignored.append((login, f"latest review is {state.lower().replace('_', ' ')}"))
        elif key == author.lower():
            result.ignored.append((login, "is the pull request's author"))
        elif str(user.get("type", "User")) == "Bot":
            result.ignored.append((login, "is a bot"))
        elif review.get("commit_id") != head_sha:
            result.ignored.append((login, f"approved an older commit ({str(review.get('commit_id'))[:12]})"))
        else:
            result.valid.append(login)
    return result
