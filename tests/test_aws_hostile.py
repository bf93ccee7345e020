"""AWS answers and AWS configuration that are not what they should be end in exit 1 or 2 with one
line, never "bug" (issue #22, items 2, 3 and 5): HTML, empty, garbage, deeply nested and huge
answers from a server on 127.0.0.1; partial credentials, a malformed config, failing, garbage and
hanging credential_process, assume-role without a source; endpoints carrying credentials."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generator import limits
from hostile import hostile, http, run

COMMANDS = ("discover", "preflight")


@pytest.fixture
def aws_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No ambient AWS settings: an empty config and credentials file of the test's own."""
    import os

    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    (tmp_path / "credentials").write_text("")
    (tmp_path / "config").write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    return tmp_path


@pytest.fixture
def keys(aws_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


ANSWERS = {
    "html": (http(200, b"<html><body>captive portal</body></html>", "text/html"), 0, "not one AWS gives"),
    "empty": (http(200, b""), 0, "not one AWS gives"),
    "garbage": (http(500, b"\x00\xff{{{", "text/plain"), 0, "not one AWS gives"),
    "nested": (http(200, b"[" * 50_000 + b"]" * 50_000, "application/x-amz-json-1.1"), 0, "not one AWS gives"),
    "multiline": (http(500, b'{"message": "' + b"line\\n" * 2000 + b'"}'), 0, "500: line line"),
    "no-status-line": (b"garbage\r\n\r\n", 0, "cannot reach the AWS endpoint"),
    "huge": (http(200, length=2 * limits.HTTP_BODY_BYTES), 2 * limits.HTTP_BODY_BYTES, "HTTP_BODY_BYTES"),
}


@pytest.mark.parametrize("answer", sorted(ANSWERS))
def test_discover_on_an_answer_that_is_not_aws_is_exit_1_in_one_line(answer: str, keys, repo_root, monkeypatch) -> None:
    head, flood, words = ANSWERS[answer]
    with hostile(head, flood) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
        code, out, err, _ = run(["discover", "--env", "dev", "--root", str(repo_root), "--deadline", "20", "--json"])
    assert code == 1 and err.count("\n") == 1 and words in err, err
    assert len(err) < limits.MESSAGE_CHARS + 200
    assert json.loads(out)["ok"] is False  # --json: stdout is still one JSON document


@pytest.mark.parametrize("answer", ["html", "garbage", "nested"])
def test_preflight_on_an_answer_that_is_not_aws_fails_its_checks_in_one_line_each(answer: str, keys, repo_root,
                                                                                  monkeypatch) -> None:
    head, flood, words = ANSWERS[answer]
    with hostile(head, flood) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
        code, out, err, _ = run(["preflight", "--env", "dev", "--root", str(repo_root), "--deadline", "20", "--json"])
    assert code == 1 and "bug" not in err
    details = [c["detail"] for c in json.loads(out)["checks"] if c["status"] == "fail"]
    assert details and all("\n" not in d for d in details)


CONFIGS = {
    "partial credentials": ({"AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE"}, "", 1, "no AWS credentials found"),
    "malformed config": ({"AWS_PROFILE": "p"}, "[profile p\n[[[\n", 1, "Unable to parse config file"),
    "failing credential_process": ({"AWS_PROFILE": "p"}, "[profile p]\ncredential_process = sh -c 'echo boom >&2; exit 3'\n",
                                   1, "custom-process: boom"),
    "garbage credential_process": ({"AWS_PROFILE": "p"}, "[profile p]\ncredential_process = echo notjson\n", 1,
                                   "credential_process printed something that is not JSON"),
    "assume-role without a source": ({"AWS_PROFILE": "p"}, "[profile p]\nrole_arn = arn:aws:iam::111122223333:role/x\n", 1,
                                     "no AWS credentials found"),
    "missing profile": ({"AWS_PROFILE": "nope"}, "", 1, "AWS profile not found"),
    "profile endpoint with a password": ({"AWS_PROFILE": "p", "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"},
                                         "[profile p]\nendpoint_url = https://u:sekr3tpw@127.0.0.1:1\n", 2, "carries user information"),
    "STS endpoint with a token": ({"AWS_ENDPOINT_URL_STS": "http://127.0.0.1:1/?access_token=sekr3tpw"}, "", 2,
                                  "AWS_ENDPOINT_URL_STS carries a credential query parameter"),
    "EKS endpoint with a password": ({"AWS_ENDPOINT_URL_EKS": "http://u:sekr3tpw@127.0.0.1:1"}, "", 2,
                                     "AWS_ENDPOINT_URL_EKS carries user information"),
    "EKS endpoint not a URL": ({"AWS_ENDPOINT_URL_EKS": "http://[::1"}, "", 2, "AWS_ENDPOINT_URL_EKS is not an http(s) URL"),
}


@pytest.mark.parametrize("case", sorted(CONFIGS))
def test_aws_configuration_errors_are_one_line_never_a_bug(case: str, aws_home: Path, repo_root, monkeypatch) -> None:
    variables, config, exit_code, words = CONFIGS[case]
    (aws_home / "config").write_text(config)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    code, out, err, _ = run(["discover", "--env", "dev", "--root", str(repo_root), "--deadline", "10"])
    assert (code, words in err) == (exit_code, True), err
    assert "sekr3tpw" not in out + err and "bug" not in err
    code, out, err, _ = run(["preflight", "--env", "dev", "--root", str(repo_root), "--deadline", "10", "--json"])
    assert code == exit_code and "sekr3tpw" not in out + err and "bug" not in err


def test_a_hanging_credential_process_stops_at_the_deadline(aws_home: Path, repo_root, monkeypatch) -> None:
    (aws_home / "config").write_text("[profile p]\ncredential_process = sleep 60\n")
    monkeypatch.setenv("AWS_PROFILE", "p")
    code, _, err, took = run(["discover", "--env", "dev", "--root", str(repo_root), "--deadline", "2"])
    assert code == 1 and took < 6 and "AWS credentials: no complete answer before the command's deadline" in err
