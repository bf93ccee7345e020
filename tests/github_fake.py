"""A fake GitHub REST API on 127.0.0.1 for the guard's tests: pull requests, reviews, issue
comments and collaborator permissions in GitHub's shapes, paginated with Link headers, with a
switch to answer errors."""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

AUTHOR = "alice"
HEAD_SHA = "a" * 40
OLD_SHA = "b" * 40
REPO = "example-org/llm-gateway-gitops"
PR_NUMBER = 42
# Repository role -> the legacy `permission` GitHub answers beside `role_name` (maintain reads as
# write, triage as read: GitHub's "Get repository permissions for a user").
LEGACY_PERMISSION = {"admin": "admin", "maintain": "write", "write": "write", "triage": "read", "read": "read", "none": "none"}


@dataclass
class FakeGitHub:
    url: str = ""
    page_size: int = 100  # at most this many items a page, whatever per_page asks
    fail: int | None = None  # answer every request with this HTTP status
    pulls: dict[int, dict[str, Any]] = field(default_factory=dict)
    reviews: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)  # (method, path, Authorization)
    roles: dict[str, str | None] = field(default_factory=dict)  # login -> repository role; None: 404
    default_role: str = "write"  # the role of any login not in `roles`
    permission_answers: dict[str, Any] = field(default_factory=dict)  # login -> a raw answer, to test odd shapes
    # sha -> (author login, committer login) of `GET /commits/{sha}`; and pushes for `GET /activity`
    commits: dict[str, tuple[str | None, str | None]] = field(default_factory=lambda: {HEAD_SHA: (AUTHOR, "web-flow")})
    pushes: list[dict[str, Any]] = field(default_factory=lambda: [
        {"id": 1, "before": OLD_SHA, "after": HEAD_SHA, "ref": "refs/heads/feature", "activity_type": "push",
         "actor": {"login": AUTHOR, "type": "User"}}])
    _next_id: int = 1000

    def add_pr(self, number: int = PR_NUMBER, author: str = AUTHOR, head_sha: str = HEAD_SHA) -> None:
        self.pulls[number] = {"number": number, "state": "open", "user": {"login": author, "type": "User"},
                              "head": {"sha": head_sha, "ref": "feature"}, "base": {"sha": OLD_SHA, "ref": "main"}}
        self.reviews.setdefault(number, [])
        self.comments.setdefault(number, [])

    def review(self, login: str, state: str = "APPROVED", commit: str = HEAD_SHA, number: int = PR_NUMBER,
               user_type: str = "User") -> None:
        self._next_id += 1
        reviews = self.reviews.setdefault(number, [])
        reviews.append({"id": self._next_id, "user": {"login": login, "type": user_type}, "state": state,
                        "commit_id": commit, "body": "", "submitted_at": f"2026-11-26T06:{len(reviews):02d}:00Z"})

    def comment(self, body: str, login: str = "github-actions[bot]", user_type: str = "Bot", number: int = PR_NUMBER) -> int:
        self._next_id += 1
        self.comments.setdefault(number, []).append({"id": self._next_id, "body": body,
                                                     "user": {"login": login, "type": user_type}})
        return self._next_id

    @property
    def paths(self) -> list[str]:
        return [f"{m} {p}" for m, p, _ in self.requests]


def _handler(state: FakeGitHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(raw)

        def _page(self, items: list[Any], path: str, query: dict[str, list[str]]) -> None:
            per_page = min(int(query.get("per_page", ["30"])[0]), state.page_size)
            page = int(query.get("page", ["1"])[0])
            chunk = items[(page - 1) * per_page: page * per_page]
            headers = {}
            if page * per_page < len(items):
                headers["Link"] = (f'<{state.url}{path}?per_page={per_page}&page={page + 1}>; rel="next", '
                                   f'<{state.url}{path}?per_page={per_page}&page={-(-len(items) // per_page)}>; rel="last"')
            self._send(200, chunk, headers)

        def _route(self, method: str) -> None:
            parts = urlsplit(self.path)
            state.requests.append((method, parts.path, self.headers.get("Authorization")))
            if state.fail:
                self._send(state.fail, {"message": "Server Error" if state.fail >= 500 else "Not Found"})
                return
            query = parse_qs(parts.query)
            body = None
            if method in ("POST", "PATCH"):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
            prefix = f"/repos/{REPO}"
            path = parts.path
            if m := re.fullmatch(rf"{prefix}/pulls/(\d+)", path):
                pr = state.pulls.get(int(m[1]))
                return self._send(200, pr) if pr else self._send(404, {"message": "Not Found"})
            if m := re.fullmatch(rf"{prefix}/pulls/(\d+)/reviews", path):
                if int(m[1]) not in state.pulls:
                    return self._send(404, {"message": "Not Found"})
                return self._page(state.reviews.get(int(m[1]), []), path, query)
            if m := re.fullmatch(rf"{prefix}/commits/([0-9a-f]+)", path):
                if m[1] not in state.commits:
                    return self._send(404, {"message": "Not Found"})
                author, committer = state.commits[m[1]]
                return self._send(200, {"sha": m[1], "author": {"login": author} if author else None,
                                        "committer": {"login": committer} if committer else None})
            if path == f"{prefix}/activity":
                pushes = [p for p in state.pushes if query.get("activity_type", ["push"])[0] == p["activity_type"]]
                return self._send(200, pushes)
            if m := re.fullmatch(rf"{prefix}/collaborators/([^/]+)/permission", path):
                login = m[1]
                if login in state.permission_answers:
                    return self._send(200, state.permission_answers[login])
                role = state.roles.get(login, state.default_role)
                if role is None:
                    return self._send(404, {"message": "Not Found"})
                return self._send(200, {"permission": LEGACY_PERMISSION.get(role, "read"), "role_name": role,
                                        "user": {"login": login, "type": "User"}})
            if m := re.fullmatch(rf"{prefix}/issues/(\d+)/comments", path):
                if method == "GET":
                    return self._page(state.comments.get(int(m[1]), []), path, query)
                new_id = state.comment(body["body"], number=int(m[1]))
                return self._send(201, state.comments[int(m[1])][-1] | {"id": new_id})
            if (m := re.fullmatch(rf"{prefix}/issues/comments/(\d+)", path)) and method == "PATCH":
                for comments in state.comments.values():
                    for item in comments:
                        if item["id"] == int(m[1]):
                            item["body"] = body["body"]
                            return self._send(200, item)
                return self._send(404, {"message": "Not Found"})
            self._send(404, {"message": "Not Found"})

        def do_GET(self) -> None:
            self._route("GET")

        def do_POST(self) -> None:
            self._route("POST")

        def do_PATCH(self) -> None:
            self._route("PATCH")

    return Handler


class Server:
    def __init__(self) -> None:
        self.state = FakeGitHub()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.state))
        self.state.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def __enter__(self) -> FakeGitHub:
        self.thread.start()
        return self.state

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def event_payload(number: int = PR_NUMBER, author: str = AUTHOR, head_sha: str = HEAD_SHA,
                  action: str = "synchronize") -> dict[str, Any]:
    return {"action": action, "number": number, "repository": {"full_name": REPO},
            "pull_request": {"number": number, "user": {"login": author}, "head": {"sha": head_sha},
                             "base": {"sha": OLD_SHA}}}
