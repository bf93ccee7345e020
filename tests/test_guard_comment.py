"""`litellm-gitops comment`: one review comment per PR, found by its marker on any page, edited in
place, never duplicated; and the GitHub client's pagination and fail-closed behaviour."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.guard import approvals, comment
from generator.guard.github import GitHub, GitHubError, next_link
from github_fake import PR_NUMBER, REPO
from test_guard import run_cli


def _parts(tmp_path: Path, *texts: str) -> list[str]:
    args = []
    for i, text in enumerate(texts):
        path = tmp_path / f"part{i}.md"
        path.write_text(text)
        args += ["--markdown", str(path)]
    return args


def test_creates_one_comment_then_updates_it(tmp_path: Path, github) -> None:
    code, out, _ = run_cli("comment", *_parts(tmp_path, "### diff v1", "### guard v1"))
    assert code == 0 and out.startswith("created")
    [posted] = github.comments[PR_NUMBER]
    assert posted["body"].startswith(comment.MARKER) and "diff v1" in posted["body"] and "guard v1" in posted["body"]
    code, out, _ = run_cli("comment", *_parts(tmp_path, "### diff v2"))
    assert code == 0 and out.startswith("updated")
    [updated] = github.comments[PR_NUMBER]
    assert "diff v2" in updated["body"] and "diff v1" not in updated["body"]
    assert [p.split(" ")[0] for p in github.paths].count("POST") == 1


def test_finds_its_comment_on_a_later_page(tmp_path: Path, github) -> None:
    github.page_size = 2
    for i in range(5):
        github.comment(f"chatter {i}", login=f"user{i}", user_type="User")
    ours = github.comment(comment.MARKER + "\nold review")
    github.comment("more chatter", login="user9", user_type="User")
    code, _, _ = run_cli("comment", *_parts(tmp_path, "new review"))
    assert code == 0
    assert f"PATCH /repos/{REPO}/issues/comments/{ours}" in github.paths
    assert not any(p.startswith("POST") for p in github.paths)
    assert len(github.comments[PR_NUMBER]) == 7


def test_a_person_quoting_the_marker_is_not_edited(tmp_path: Path, github) -> None:
    github.comment("look: " + comment.MARKER, login="mallory", user_type="User")
    code, out, _ = run_cli("comment", *_parts(tmp_path, "review"))
    assert code == 0 and out.startswith("created")
    assert github.comments[PR_NUMBER][0]["body"] == "look: " + comment.MARKER


def test_bodies_are_cut_to_githubs_limit() -> None:
    text = comment.body(["x" * 70_000])
    assert len(text) <= comment.MAX_BODY and text.startswith(comment.MARKER) and "truncated" in text


def test_comment_fails_when_github_refuses(tmp_path: Path, github) -> None:
    github.fail = 403
    code, _, err = run_cli("comment", *_parts(tmp_path, "review"))
    assert code == 1 and "HTTP 403" in err


def test_comment_with_flags_and_bad_input(tmp_path: Path, github, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_EVENT_PATH")
    code, _, _ = run_cli("comment", "--repo", REPO, "--pr", PR_NUMBER, *_parts(tmp_path, "review"))
    assert code == 0 and len(github.comments[PR_NUMBER]) == 1
    code, _, err = run_cli("comment", *_parts(tmp_path, "review"))
    assert code == 2 and "no pull request" in err
    code, _, _ = run_cli("comment", "--repo", REPO, "--pr", PR_NUMBER, "--markdown", tmp_path / "missing.md")
    assert code == 2


# --- the client ------------------------------------------------------------------------------

def test_link_header_parsing() -> None:
    header = '<https://api.github.com/x?page=2>; rel="next", <https://api.github.com/x?page=5>; rel="last"'
    assert next_link(header) == "https://api.github.com/x?page=2"
    assert next_link('<https://api.github.com/x?page=1>; rel="prev"') is None
    assert next_link(None) is None


def test_pagination_never_leaves_the_api_host(github) -> None:
    client = GitHub(github.url, "secret-token")
    with pytest.raises(GitHubError, match="away from"):
        client._request("GET", "http://evil.example:80/steal")


def test_redirects_to_another_host_are_refused(github) -> None:
    """urllib would forward the Authorization header on a redirect: only same-origin ones are followed."""
    import http.server
    import threading

    class Redirect(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(301)
            self.send_header("Location", github.url.replace("127.0.0.1", "localhost") + self.path)
            self.end_headers()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        client = GitHub(f"http://127.0.0.1:{server.server_address[1]}", "secret-token")
        with pytest.raises(GitHubError, match="HTTP 301"):
            client.get(f"repos/{REPO}/pulls/{PR_NUMBER}")
    finally:
        server.shutdown()
        server.server_close()
    assert github.requests == [], "the token never reached the other host"


def test_non_json_and_non_list_answers_fail_closed(github) -> None:
    client = GitHub(github.url)
    with pytest.raises(GitHubError, match="did not answer a list"):
        client.get_all(f"repos/{REPO}/pulls/{PR_NUMBER}")


def test_bad_api_url_fails_closed() -> None:
    with pytest.raises(GitHubError):
        GitHub("file:///etc/passwd")


# --- counting approvals, directly ----------------------------------------------------------

def _review(login: str, state: str, commit: str = "h" * 40, rid: int = 1, at: str = "2026-01-01T00:00:00Z") -> dict:
    return {"id": rid, "user": {"login": login, "type": "User"}, "state": state, "commit_id": commit, "submitted_at": at}


def test_latest_state_changing_review_counts_in_time_order() -> None:
    head = "h" * 40
    reviews = [
        _review("bob", "APPROVED", rid=3, at="2026-01-01T00:03:00Z"),
        _review("bob", "CHANGES_REQUESTED", rid=2, at="2026-01-01T00:02:00Z"),  # listed later, given earlier
        _review("carol", "APPROVED", rid=4, at="2026-01-01T00:04:00Z"),
        _review("carol", "COMMENTED", rid=5, at="2026-01-01T00:05:00Z"),
        {"id": 6, "user": None, "state": "APPROVED", "commit_id": head},  # a deleted account
    ]
    result = approvals.count(reviews, "alice", head)
    assert result.valid == ["bob", "carol"]
