"""Every read from a network or a child process is bounded in bytes and time (issue #22, item 2),
and the error names the limit (generator/limits.py, docs/limits.md). Hostile servers listen on
127.0.0.1; a fake helm ($LITELLM_GITOPS_HELM) hangs, floods or prints escape sequences."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

import pytest

from generator import child, limits
from generator.applied import helm
from generator.errors import InputError
from generator.guard.github import GitHub, GitHubError
from generator.schemacache import url_fetcher
from hostile import hostile, http, run

FAKE_HELM = r"""#!/bin/sh
# A fake helm: `version` answers; anything else behaves as $FAKE_HELM_MODE says.
if [ "$1" = version ]; then
  [ "$FAKE_HELM_MODE" = hang-version ] && exec sleep 600
  printf v4.2.2; exit 0
fi
case "$FAKE_HELM_MODE" in
  hang) sleep 600 & echo $! > "$FAKE_HELM_PIDS"; sleep 600 ;;
  flood) exec cat /dev/zero ;;
  noisy) printf 'Error: \033[31mfailed\033[0m pulling https://user:tok3n-Secret@charts.example.com/x?access_token=abc123\nline two\r\n' >&2
         exit 1 ;;
  binary) printf '\377\376kind: x\n'; exit 0 ;;
esac
"""


@pytest.fixture
def fake_helm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = tmp_path / "helm"
    path.write_text(FAKE_HELM)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv(helm.HELM_ENV, str(path))
    monkeypatch.setenv("FAKE_HELM_PIDS", str(tmp_path / "pids"))

    def mode(name: str) -> helm.Helm:
        monkeypatch.setenv("FAKE_HELM_MODE", name)
        return helm.Helm(str(path), "v4.2.2")

    return mode


def request(tmp_path: Path) -> helm.TemplateRequest:
    return helm.TemplateRequest(tmp_path / "chart-1.0.0.tgz", "0" * 64, "rel", "ns", "1.33.0", (), (("v", b"a: 1\n"),),
                                True, False, False)


def gone(pid: int, within: float = 10.0) -> bool:
    ends = time.monotonic() + within
    while time.monotonic() < ends:  # bounded
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_a_hanging_helm_template_is_stopped_with_its_process_group(fake_helm, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(limits, "HELM_TIMEOUT", 1.0)
    monkeypatch.setattr(limits, "CHILD_KILL_GRACE", 1.0)
    started = time.monotonic()
    with pytest.raises(InputError) as raised:
        helm.template(fake_helm("hang"), request(tmp_path), tmp_path)
    assert time.monotonic() - started < 8
    assert "did not finish within HELM_TIMEOUT (1 seconds) and was stopped" in raised.value.message
    assert gone(int((tmp_path / "pids").read_text()))  # helm's own child went with it


def test_a_flooding_helm_is_cut_at_the_output_limit(fake_helm, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(limits, "HELM_OUTPUT_BYTES", 4 << 20)
    with pytest.raises(InputError) as raised:
        helm.template(fake_helm("flood"), request(tmp_path), tmp_path)
    assert "wrote more than HELM_OUTPUT_BYTES (4,194,304 bytes) to stdout and was stopped" in raised.value.message


def test_a_hanging_helm_version_is_bad_input_naming_its_limit(fake_helm, monkeypatch) -> None:
    monkeypatch.setattr(limits, "HELM_VERSION_TIMEOUT", 1.0)
    fake_helm("hang-version")
    with pytest.raises(InputError) as raised:
        helm.find_helm()
    assert "HELM_VERSION_TIMEOUT" in raised.value.message


def test_helm_s_message_is_one_clean_line_without_its_credentials(fake_helm, tmp_path) -> None:
    with pytest.raises(InputError) as raised:
        helm.template(fake_helm("noisy"), request(tmp_path), tmp_path)
    text = raised.value.message
    assert "\033" not in text and "\n" not in text and "\r" not in text
    assert "tok3n-Secret" not in text and "abc123" not in text
    assert "failed: Error: failed pulling https://***@charts.example.com/x?access_token=*** line two" in text


def test_helm_output_that_is_not_utf8_is_bad_input(fake_helm, tmp_path) -> None:
    with pytest.raises(InputError, match="not UTF-8"):
        helm.template(fake_helm("binary"), request(tmp_path), tmp_path)


def test_child_run_reports_a_normal_exit() -> None:
    done = child.run(["sh", "-c", "printf out; printf err >&2; exit 3"], timeout=10, timeout_name="T")
    assert (done.returncode, done.stdout, done.stderr) == (3, b"out", b"err")


# --- HTTP ------------------------------------------------------------------------------------

FLOOD = 2 * limits.HTTP_BODY_BYTES  # more than any socket buffer can swallow past the limit


def test_verify_reads_at_most_the_body_limit(capsys) -> None:
    with hostile(http(200, length=FLOOD), FLOOD) as server:
        code, out, err, _ = run(["verify", "--litellm-url", server.url, "--release", "1.0.0", "--deadline", "30"])
    assert code == 1
    assert f"answered more than HTTP_BODY_BYTES ({limits.HTTP_BODY_BYTES:,} bytes)" in out
    assert server.most < FLOOD  # the client hung up before the end (socket buffers hold a few MB)


@pytest.mark.parametrize("head", [b"garbage\r\n\r\n", b"", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab",
                                  http(200, b"<html><body>Not LiteLLM</body></html>", "text/html"), http(200, b"[[[[")],
                         ids=["garbage", "empty", "short", "html", "broken-json"])
def test_verify_against_a_server_that_is_not_litellm_is_a_failure_not_a_bug(head: bytes) -> None:
    with hostile(head) as server:
        code, out, err, _ = run(["verify", "--litellm-url", server.url, "--release", "1.0.0", "--deadline", "10"])
    assert code == 1, (out, err)
    assert "bug" not in err and "Traceback" not in err
    assert all(line.startswith(("ok  ", "FAIL")) for line in out.splitlines())


@pytest.mark.parametrize("argv, words", [
    (["--litellm-url", "http://[::1"], "is not a URL"),
    (["--litellm-url", "http://127.0.0.1:abc"], "is not a URL"),
    (["--litellm-url", "http://127.0.0.1:0"], "port 0"),
    (["--litellm-url", "http://127.0.0.1:99999"], "is not a URL"),
    (["--litellm-url", "http://u:secretpw@127.0.0.1:4000"], "carries user information"),
    (["--litellm-url", "http://127.0.0.1:4000/?token=abc"], "without ?query"),
    (["--litellm-url", "http://127.0.0.1:4000", "--timeout", "nan"], "--timeout must be"),
    (["--litellm-url", "http://127.0.0.1:4000", "--timeout", "-1"], "--timeout must be"),
    (["--litellm-url", "http://127.0.0.1:4000", "--deadline", "inf"], "--deadline must be"),
])
def test_verify_refuses_malformed_urls_and_numbers(argv: list[str], words: str) -> None:
    code, out, err, _ = run(["verify", *argv])
    assert code == 2 and words in err and err.count("\n") == 2, err
    assert "secretpw" not in err


def test_github_error_bodies_and_pages_are_bounded() -> None:
    with hostile(http(500, length=FLOOD), FLOOD) as server:
        with pytest.raises(GitHubError) as raised:
            GitHub(server.url, "t").get("/repos/o/r/pulls/1")
    assert str(raised.value) == "GET /repos/o/r/pulls/1 answered HTTP 500"
    assert server.most < FLOOD
    body = b'{"message": "' + b"x\\n" * 5000 + b'"}'
    with hostile(http(502, body)) as server:
        with pytest.raises(GitHubError) as raised:
            GitHub(server.url, "t").get("/x")
    assert "\n" not in str(raised.value) and len(str(raised.value)) < limits.MESSAGE_CHARS + 60
    with hostile(http(200, b"<html>proxy login</html>", "text/html")) as server:
        with pytest.raises(GitHubError, match="not JSON"):
            GitHub(server.url, "t").get("/x")


def test_a_schema_mirror_that_floods_is_cut_at_the_limit() -> None:
    from generator.schemacache import RAW_GITHUB, Pinned

    with hostile(http(200, length=FLOOD), FLOOD) as server:
        answer = url_fetcher(server.url)(Pinned("crds/x.json", RAW_GITHUB + "/o/r/v1/x.json", "0" * 64))
    assert isinstance(answer, str) and "HTTP_BODY_BYTES" in answer


def test_read_body_stops_a_dripping_answer_at_its_time_limit() -> None:
    class Drip:
        def read(self, n: int) -> bytes:
            time.sleep(0.05)
            return b"x"

    with pytest.raises(limits.LimitExceeded, match="HTTP_DOWNLOAD_SECONDS"):
        limits.read_body(Drip(), "GET /slow", seconds=0.3)


def test_one_line_strips_control_characters_and_shortens() -> None:
    assert limits.one_line("a\nb\x1b[31mc\u202ed\x1b]0;title\x07\r\n") == "a bc d"
    assert len(limits.one_line("y" * 5000)) == limits.MESSAGE_CHARS


@pytest.mark.parametrize("make", ["zero", "fifo", "huge", "deep"])
def test_a_hostile_event_payload_is_bad_input(make: str, tmp_path: Path) -> None:
    from generator.guard.pr import from_event

    path = tmp_path / "event.json"
    if make == "zero":
        path.symlink_to("/dev/zero")
    elif make == "fifo":
        os.mkfifo(path)
    elif make == "huge":
        with open(path, "wb") as handle:
            handle.truncate(limits.EVENT_PAYLOAD_BYTES + 1)  # sparse: no disk used
    else:
        path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(InputError) as raised:
        from_event(path, {})
    assert raised.value.file == path
    assert {"zero": "symbolic link", "fifo": "not a regular file", "huge": "more than the limit",
            "deep": "not JSON"}[make] in raised.value.message


@pytest.mark.parametrize("make", ["zero", "fifo", "huge"])
def test_a_chart_archive_that_is_not_a_bounded_regular_file_is_refused(make: str, tmp_path: Path) -> None:
    from generator import chartlock

    locked = chartlock.load().charts[0]
    path = tmp_path / locked.file
    if make == "zero":
        path.symlink_to("/dev/zero")
    elif make == "fifo":
        os.mkfifo(path)
    else:
        with open(path, "wb") as handle:
            handle.truncate(limits.CHART_ARCHIVE_BYTES + 1)  # sparse
    with pytest.raises(InputError) as raised:
        chartlock.archive(locked, tmp_path)
    assert {"zero": "not a regular file", "fifo": "not a regular file", "huge": "more than the limit"}[make] in raised.value.message
    assert "CHART_ARCHIVE_BYTES" in raised.value.message
    fetched = chartlock.folder_fetcher(tmp_path)(locked)  # charts sync --from: a sentence, not a read
    assert isinstance(fetched, str) and ("symbolic link" in fetched or "CHART_ARCHIVE_BYTES" in fetched)


def test_docs_list_every_limit() -> None:
    """docs/limits.md names every constant of generator/limits.py (and says its value)."""
    text = (Path(__file__).resolve().parent.parent / "docs" / "limits.md").read_text()
    names = [n for n, v in vars(limits).items() if n.isupper() and isinstance(v, (int, float)) and n not in ("MiB", "HTTP_CHUNK")]
    assert len(names) >= 14
    assert [n for n in names if f"`{n}`" not in text] == []


def test_github_lists_are_bounded_in_total(monkeypatch) -> None:
    """Many full pages (each under HTTP_BODY_BYTES) stop at GITHUB_LIST_BYTES, before MAX_PAGES."""
    client = GitHub("http://127.0.0.1:9", "t")
    page = [{"body": "x" * 1000}] * 100
    calls = []

    def pages(method: str, url: str, body=None):
        calls.append(url)
        return page, {"link": f'<http://127.0.0.1:9/next?page={len(calls) + 1}>; rel="next"'}

    monkeypatch.setattr(client, "_request", pages)
    monkeypatch.setattr(limits, "GITHUB_LIST_BYTES", 500_000)
    with pytest.raises(GitHubError, match="GITHUB_LIST_BYTES"):
        client.get_all("repos/o/r/pulls/1/reviews")
    assert len(calls) == 5


def test_a_comment_list_from_a_server_that_is_not_github_is_refused(monkeypatch) -> None:
    from generator.guard import comment

    client = GitHub("http://127.0.0.1:9", "t")
    monkeypatch.setattr(client, "get_all", lambda path: [{"body": comment.MARKER, "user": {"type": "Bot"}, "id": "../x"}])
    with pytest.raises(GitHubError, match="without a numeric id"):
        comment.upsert(client, "o/r", 1, "text")


# --- Jsonnet: every evaluation in a child bounded in time and memory (issue #19, item 5) ----------

MEMORY_BOMB = "local s(n) = if n == 0 then 'xxxxxxxxxxxxxxxx' else s(n - 1) + s(n - 1);\n[{kind: 'ConfigMap', data: {a: s(40)}}]\n"
TIME_BOMB = "local f(n) = if n == 0 then 0 else f(n - 1) + f(n - 1);\n[{kind: 'ConfigMap', data: {a: f(60)}}]\n"


@pytest.mark.parametrize("bomb, limit", [(MEMORY_BOMB, "JSONNET_MEMORY_BYTES"), (TIME_BOMB, "JSONNET_TIMEOUT")])
def test_a_jsonnet_bomb_in_the_roots_pin_stops_hydrate_at_its_limit(bomb: str, limit: str, scratch_repo: Path,
                                                                     tmp_path: Path, monkeypatch) -> None:
    """A pin that doubles a string 40 times (16 TiB) or adds 2**60 zeros: hydrate stops the child at
    the limit and answers bad input naming the file and the limit, nothing written."""
    monkeypatch.setattr(limits, "JSONNET_TIMEOUT", 3.0)
    (scratch_repo / "rendered" / "dev" / "apps" / "pin-revision.jsonnet").write_text(bomb)
    code, out, err, took = run(["hydrate", "--root", str(scratch_repo), "--env", "dev", "--out", str(tmp_path / "out")])
    assert code == 2 and took < 30, (code, err)
    assert "rendered/dev/apps/pin-revision.jsonnet: error: Jsonnet does not evaluate" in err and limit in err, err
    assert "Traceback" not in err and not (tmp_path / "out" / "dev").exists()


def test_jsonnet_evaluates_under_an_address_space_limit(tmp_path: Path, monkeypatch) -> None:
    """The limit is the child's RLIMIT_AS: a file that fits evaluates, the same one does not with a
    limit below what go-jsonnet needs to start."""
    from generator.applied import jsonnet

    (tmp_path / "ok.jsonnet").write_text("{a: std.repeat('x', 3)}\n")
    output, _ = jsonnet.evaluate(tmp_path / "ok.jsonnet", tmp_path, [], {}, {}, {}, {})
    assert json.loads(output) == {"a": "xxx"}
    monkeypatch.setattr(limits, "JSONNET_MEMORY_BYTES", 16 * limits.MiB)
    with pytest.raises(jsonnet.EvaluationError, match="JSONNET_MEMORY_BYTES") as raised:
        jsonnet.evaluate(tmp_path / "ok.jsonnet", tmp_path, [], {}, {}, {}, {})
    assert raised.value.limit
