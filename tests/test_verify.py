"""`litellm-gitops verify` against a real HTTP server on loopback."""

from __future__ import annotations

import json

import pytest

from generator.cli import main
from loopback import serve


@pytest.fixture
def health_server():
    """Answers 200 on the paths in `healthy`, 503 elsewhere; tests edit the set."""
    healthy: set[str] = set()
    with serve(lambda path: (200 if path in healthy else 503, b"{}")) as url:
        yield url, healthy


def test_all_healthy(health_server, capsys):
    url, healthy = health_server
    healthy.update({"/health/liveliness", "/health/readiness", "/health"})
    assert main(["verify", "--litellm-url", url, "--open-webui-url", url + "/"]) == 0
    assert capsys.readouterr().out.count("ok  ") == 3


def test_readiness_failure_is_named(health_server, capsys):
    url, healthy = health_server
    healthy.add("/health/liveliness")
    assert main(["verify", "--litellm-url", url, "--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert [c["ok"] for c in result["checks"]] == [True, False]
    assert result["checks"][1]["detail"] == "HTTP 503"


def test_unreachable_is_a_failure_not_a_traceback(capsys):
    assert main(["verify", "--litellm-url", "http://127.0.0.1:9", "--timeout", "1"]) == 1
    assert "unreachable" in capsys.readouterr().out


def test_malformed_url_is_bad_input(capsys):
    assert main(["verify", "--litellm-url", "localhost:4000"]) == 2
    assert "--litellm-url must be an http(s) URL" in capsys.readouterr().err


@pytest.fixture
def readiness_server():
    """LiteLLM's readiness answer, with the release in `reported[0]`."""
    reported = ["1.83.10"]
    with serve(lambda path: (200, json.dumps({"status": "healthy", "litellm_version": reported[0]}).encode())) as url:
        yield url, reported


def test_release_must_be_the_rendered_one(readiness_server, capsys):
    url, reported = readiness_server
    assert main(["verify", "--litellm-url", url, "--release", "1.83.10"]) == 0
    assert "release 1.83.10, want 1.83.10" in capsys.readouterr().out
    reported[0] = "1.82.6"
    assert main(["verify", "--litellm-url", url, "--release", "1.83.10", "--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["checks"][-1] == {"url": url + "/health/readiness", "ok": False, "detail": "release 1.82.6, want 1.83.10"}
