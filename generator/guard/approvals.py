"""Which reviews count as approvals.

An approval counts when it is its reviewer's latest state-changing review (APPROVED,
CHANGES_REQUESTED or DISMISSED; COMMENTED and PENDING change nothing), it was given on the pull
request's current head commit, the reviewer is a person other than the pull request's author and
other than whoever pushed or authored the most recent commit (`pushers`: GitHub's "Require
approval of the most recent reviewable push", its strictest setting), and
the reviewer has write access to the repository, as GitHub's own required reviews demand (so two
throwaway accounts' approvals count for nothing).

Write access is what `GET /repos/{owner}/{repo}/collaborators/{username}/permission` answers.
GitHub's REST docs ("Get repository permissions for a user"): `permission` holds the legacy base
role, one of admin, write, read, none, with maintain mapped to write and triage to read;
`role_name` holds the full role name (custom roles included). A reviewer counts only when the
answer names that user, `permission` is admin or write and `role_name` is not a read-level role;
any other shape is not write access (fail closed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

STATE_CHANGING = frozenset({"APPROVED", "CHANGES_REQUESTED", "DISMISSED"})
REQUIRED = 2
WRITE_PERMISSIONS = frozenset({"admin", "write"})  # maintain reads as write (GitHub's docs)
READ_ROLES = frozenset({"read", "triage", "none"})


@dataclass
class Approvals:
    valid: list[str] = field(default_factory=list)  # logins, sorted
    ignored: list[tuple[str, str]] = field(default_factory=list)  # (login, why it does not count)

    def to_json(self) -> dict[str, Any]:
        return {"valid": self.valid, "ignored": [{"login": login, "reason": why} for login, why in self.ignored]}


def _order(review: dict[str, Any], index: int) -> tuple[str, int, int]:
    rid = review.get("id")
    return (str(review.get("submitted_at") or ""), rid if isinstance(rid, int) else 0, index)


def _login(node: Any) -> str | None:
    login = node.get("login") if isinstance(node, dict) else None
    return login if isinstance(login, str) and login else None


def pushers(get: Callable[[str], Any], repo: str, head_sha: str) -> set[str]:
    """Who may have pushed the head commit, whose approval GitHub's "Require approval of the most
    recent reviewable push" does not count: the head commit's author and committer
    (`GET /repos/{repo}/commits/{sha}`) and the actor of every push that moved a branch of the
    repository to it (`GET /repos/{repo}/activity`, the repository activity API: pushes with their
    actor and `after` commit). Lower-cased logins."""
    found = set()
    commit = get(f"repos/{repo}/commits/{head_sha}")
    if isinstance(commit, dict):
        found |= {login for login in (_login(commit.get("author")), _login(commit.get("committer"))) if login}
    activity = get(f"repos/{repo}/activity?activity_type=push&per_page=100")
    for push in activity if isinstance(activity, list) else []:
        if isinstance(push, dict) and push.get("after") == head_sha and _login(push.get("actor")):
            found.add(str(_login(push.get("actor"))))
    return {login.lower() for login in found}


def count(reviews: list[Any], author: str, head_sha: str, pushed_by: set[str] = frozenset()) -> Approvals:
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
        elif key in pushed_by:
            result.ignored.append((login, "pushed or authored the most recent commit"))
        elif str(user.get("type", "User")) == "Bot":
            result.ignored.append((login, "is a bot"))
        elif review.get("commit_id") != head_sha:
            result.ignored.append((login, f"approved an older commit ({str(review.get('commit_id'))[:12]})"))
        else:
            result.valid.append(login)
    return result


def has_write(answer: Any, login: str) -> str | None:
    """None when the permission answer grants `login` write access, else why not."""
    if not isinstance(answer, dict):
        return "permission answer is not an object"
    user = answer.get("user")
    who = user.get("login") if isinstance(user, dict) else None
    if not isinstance(who, str) or who.lower() != login.lower():
        return "permission answer is for another user"
    permission, role = answer.get("permission"), answer.get("role_name")
    if permission not in WRITE_PERMISSIONS or not isinstance(role, str) or not role or role.lower() in READ_ROLES:
        return f"has no write access ({permission!s}/{role!s})"
    return None


def require_write(result: Approvals, permission_of: Callable[[str], Any]) -> Approvals:
    """Keep the approvals whose reviewer has write access; `permission_of(login)` is the API's answer."""
    kept = Approvals(ignored=list(result.ignored))
    for login in result.valid:
        why = has_write(permission_of(login), login)
        if why is None:
            kept.valid.append(login)
        else:
            kept.ignored.append((login, why))
    kept.ignored.sort()
    return kept
