"""One review comment per pull request, kept current: found by a hidden marker among the PR's
comments (every page), edited in place, created only when there is none."""

from __future__ import annotations

from typing import Any

from generator.guard.github import GitHub, GitHubError

MARKER = "<!-- litellm-gitops-review -->"
MAX_BODY = 65_536  # GitHub's limit for a comment body
_TRUNCATED = "\n\n… truncated to fit GitHub's comment size limit; run the commands locally for everything.\n"


def body(parts: list[str]) -> str:
    text = MARKER + "\n" + "\n\n".join(p.strip("\n") for p in parts if p.strip()) + "\n"
    if len(text) > MAX_BODY:
        text = text[:MAX_BODY - len(_TRUNCATED)] + _TRUNCATED
    return text


def _ours(comment: Any) -> bool:
    user = comment.get("user") if isinstance(comment, dict) else None
    return (isinstance(comment, dict) and MARKER in str(comment.get("body") or "")
            and isinstance(user, dict) and user.get("type") == "Bot")


def upsert(client: GitHub, repo: str, number: int, text: str) -> tuple[str, Any]:
    """PATCH the existing review comment, else POST one; returns ("updated"|"created", comment id)."""
    comments = client.get_all(f"repos/{repo}/issues/{number}/comments")
    existing = next((c for c in comments if _ours(c)), None)
    if existing is not None:
        comment_id = existing.get("id")
        if isinstance(comment_id, bool) or not isinstance(comment_id, int):  # a server that is not GitHub
            raise GitHubError(f"GET /repos/{repo}/issues/{number}/comments answered a comment without a numeric id")
        client.patch(f"repos/{repo}/issues/comments/{comment_id}", {"body": text})
        return "updated", comment_id
    created = client.post(f"repos/{repo}/issues/{number}/comments", {"body": text})
    return "created", created.get("id") if isinstance(created, dict) else None
