"""Bounded network (generator/deadline.py, aws/client.py, guard/github.py): against servers on
127.0.0.1 that accept and never answer, or answer one byte at a time, every command ends within
its deadline with one line naming the endpoint; the guard refuses (fails closed); preflight stops
its AWS checks after the first timeout."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time

import pytest

from generator import deadline
from guard_build import Rendered
from hostile import run
from test_guard import _set

DEADLINE = 3.0
SLACK = 4.0  # seconds past the deadline the command may take to print and exit


class Stalling:
    """A TCP server on 127.0.0.1 that accepts connections and then either says nothing or drips an
    HTTP answer one byte every `drip` seconds. It stops itself after `life` seconds at the latest."""

    def __init__(self, drip: float | None = None, life: float = 30.0) -> None:
        self.drip, self.life = drip, life
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        ends = time.monotonic() + self.life
        held = []
        while not self.stop.is_set() and time.monotonic() < ends:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            held.append(conn)
            if self.drip is not None:
                threading.Thread(target=self._drip, args=(conn, ends), daemon=True).start()
        for conn in held:
            conn.close()
        self.sock.close()

    def _drip(self, conn: socket.socket, ends: float) -> None:
        answer = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n' + b" " * 1000
        with contextlib.suppress(OSError):
            for byte in answer:
                if self.stop.is_set() or time.monotonic() > ends:
                    return
                conn.sendall(bytes([byte]))
                time.sleep(self.drip)

    def __enter__(self) -> "Stalling":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(5)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_SESSION_TOKEN", "testing")):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.mark.parametrize("drip", [None, 1.0], ids=["silent", "one-byte-a-second"])
def test_preflight_stops_at_the_first_timeout_within_the_deadline(drip, aws_env, monkeypatch, repo_root) -> None:
    with Stalling(drip) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
        code, out, err, took = run(["preflight", "--env", "dev", "--root", str(repo_root), "--json",
                                    "--deadline", str(DEADLINE)])
    assert code == 1 and took < DEADLINE + SLACK
    checks = json.loads(out)["checks"]
    first = checks[0]
    assert first["name"] == "aws-identity" and first["status"] == "fail"
    assert server.url in first["detail"] and "deadline" in first["detail"]
    aws = [c for c in checks[1:] if not c["name"].startswith("tool:")]
    assert aws and all(c["status"] == "skip" for c in aws)
    assert "Traceback" not in err


def test_discover_against_a_silent_endpoint_is_one_line(aws_env, monkeypatch, repo_root) -> None:
    with Stalling() as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
        code, out, err, took = run(["discover", "--env", "dev", "--root", str(repo_root), "--deadline", str(DEADLINE)])
    assert code == 1 and took < DEADLINE + SLACK and out == ""
    assert err.count("\n") == 1 and server.url in err and "deadline" in err


def test_the_deadline_comes_from_the_environment_variable(aws_env, monkeypatch, repo_root) -> None:
    monkeypatch.setenv(deadline.VARIABLE, "2")
    with Stalling() as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
        code, _, err, took = run(["discover", "--env", "dev", "--root", str(repo_root)])
    assert code == 1 and took < 2 + SLACK and server.url in err


@pytest.mark.parametrize("value, message", [("not a url", "is not an http(s) URL"), ("ftp://example.com", "is not an http(s) URL"),
                                            ("https://", "is not an http(s) URL"),
                                            ("https://key:s3cr3t@localhost:4566", "carries user information (a credential)")])
def test_an_endpoint_that_is_not_a_url_is_bad_input(value, message, aws_env, monkeypatch, repo_root) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", value)
    code, out, err, _ = run(["preflight", "--env", "dev", "--root", str(repo_root), "--json"])
    assert code == 2
    assert err.startswith(f"error: AWS_ENDPOINT_URL {message}\n  fix: ")
    assert "s3cr3t" not in out + err
    assert json.loads(out)["exit"] == 2


@pytest.mark.parametrize("drip", [None, 1.0], ids=["silent", "one-byte-a-second"])
def test_the_guard_fails_closed_within_the_deadline(drip, tmp_path, monkeypatch) -> None:
    """A change that needs approvals, and a GitHub API that never finishes answering: refused."""
    base = Rendered.minimal()
    head = base.copy().edit(lambda t: _set(t.entry("masterKey")["remoteRef"], "version", "AWSPREVIOUS"))
    with Stalling(drip) as server:
        monkeypatch.setenv("GITHUB_API_URL", server.url)
        monkeypatch.setenv("GITHUB_TOKEN", "test-token")
        code, out, err, took = run(["guard", "--base", str(base.write(tmp_path / "base")),
                                    "--head", str(head.write(tmp_path / "head")), "--repo", "o/r", "--pr", "1",
                                    "--json", "--deadline", str(DEADLINE)])
    assert code == 1 and took < DEADLINE + SLACK
    verdict = json.loads(out)
    assert verdict["verdict"] == "refused" and verdict["exit_code"] == 1
    # cut by the deadline, or by the socket timeout (never longer than what is left of the deadline)
    assert server.url in verdict["github_error"]
    assert "deadline" in verdict["github_error"] or "timed out" in verdict["github_error"]
    assert "Traceback" not in err


def test_comment_against_a_silent_api_is_one_line(tmp_path, monkeypatch) -> None:
    part = tmp_path / "part.md"
    part.write_text("hello\n")
    with Stalling() as server:
        monkeypatch.setenv("GITHUB_API_URL", server.url)
        code, _, err, took = run(["comment", "--markdown", str(part), "--repo", "o/r", "--pr", "1",
                                  "--deadline", str(DEADLINE)])
    assert code == 1 and took < DEADLINE + SLACK
    assert err.count("\n") == 1 and server.url in err


def test_a_bad_deadline_is_bad_input(monkeypatch, repo_root) -> None:
    code, _, err, _ = run(["discover", "--env", "dev", "--root", str(repo_root), "--deadline", "0"])
    assert code == 2 and "deadline" in err
    monkeypatch.setenv(deadline.VARIABLE, "soon")
    code, _, err, _ = run(["discover", "--env", "dev", "--root", str(repo_root)])
    assert code == 2 and deadline.VARIABLE in err


def test_verify_against_a_dripping_server_ends_at_the_deadline() -> None:
    with Stalling(drip=0.5) as server:
        code, out, _, took = run(["verify", "--litellm-url", server.url, "--json", "--deadline", str(DEADLINE)])
    assert code == 1 and took < DEADLINE + SLACK
    checks = json.loads(out)["checks"]
    assert checks[0]["detail"] == "no complete answer before the deadline"
