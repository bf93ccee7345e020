"""`litellm-gitops schemas sync` without --from, against a local stand-in for raw.githubusercontent.com
(http.server on 127.0.0.1 serving ../shared's CRDs and chart files under the lock's URL paths):
the cache equals the one synced from ../shared, a tampered or missing file refuses everything,
and --reference-out lays out a folder the test suite can use as its ../shared."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conftest import REPO
from generator.cli import main
from generator.schemacache import load_lock


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


class RawGithub(ThreadingHTTPServer):
    """Serves `routes` (URL path -> bytes); anything else is a 404."""

    def __init__(self, routes: dict[str, bytes]):
        self.routes = routes
        self.asked: list[str] = []
        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        self.server.asked.append(self.path)
        body = self.server.routes.get(self.path)
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        self.wfile.write(body or b"")

    def log_message(self, *args):
        pass


@pytest.fixture
def raw_github(shared_dir):
    lock = load_lock()
    pins = list(lock.crds) + [f.download for f in lock.files if f.download]
    routes = {urllib.parse.urlsplit(p.url).path: (shared_dir / p.reference).read_bytes() for p in pins}
    server = RawGithub(routes)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def sync(raw_github, cache: Path, *extra: str) -> int:
    return main(["schemas", "sync", "--mirror", raw_github.url, "--cache", str(cache), *extra])


def test_the_online_sync_gives_the_same_cache_as_from_shared(raw_github, shared_dir, tmp_path, capsys):
    assert main(["schemas", "sync", "--from", str(shared_dir / "schemas-upstream"), "--cache", str(tmp_path / "local")]) == 0
    assert sync(raw_github, tmp_path / "online") == 0
    assert f"synced {len(raw_github.routes)} file(s) from the pinned URLs via {raw_github.url}" in capsys.readouterr().out
    assert tree(tmp_path / "online") == tree(tmp_path / "local")
    assert sorted(raw_github.asked) == sorted(raw_github.routes), "every pinned file downloaded exactly once"


@pytest.mark.parametrize("path_part, refused", [
    ("external-secrets.io_externalsecrets.yaml", "crds/external-secrets.io_externalsecrets.yaml"),
    ("charts/redis-ha/values.yaml", "chart-values/redis-ha-4.39.0.values.yaml"),
    ("litellm-helm/values.yaml", "chart-values/litellm-helm.values.yaml"),
])
def test_a_tampered_download_is_refused_and_nothing_is_written(raw_github, tmp_path, capsys, path_part, refused):
    url_path = next(p for p in raw_github.routes if p.endswith(path_part))
    raw_github.routes[url_path] = raw_github.routes[url_path].replace(b"\n", b"\n ", 1)
    reference = tmp_path / "reference"
    assert sync(raw_github, tmp_path / "cache", "--reference-out", str(reference)) == 1
    out = capsys.readouterr().out
    assert f"  {refused}: sha256 " in out and "does not match the lock" in out and "nothing was written" in out
    assert not (tmp_path / "cache").exists() and not reference.exists()


def test_a_derived_schema_that_differs_from_the_lock_is_refused(raw_github, tmp_path, capsys, monkeypatch):
    from generator import crdschema

    real = crdschema.schema_text
    monkeypatch.setattr(crdschema, "schema_text", lambda crd, version: real(crd, version).replace("\n", "\n ", 1))
    assert sync(raw_github, tmp_path / "cache") == 1
    assert "argoproj.io/application_v1alpha1.json: derived schema sha256" in capsys.readouterr().out
    assert not (tmp_path / "cache").exists()


def test_a_missing_file_is_refused_with_the_url_and_status(raw_github, tmp_path, capsys):
    url_path = next(p for p in raw_github.routes if p.endswith("/charts/jaeger/values.yaml"))
    del raw_github.routes[url_path]
    assert sync(raw_github, tmp_path / "cache") == 1
    out = capsys.readouterr().out
    assert (f"  chart-values/jaeger-4.11.1.values.yaml: download from {raw_github.url}{url_path} failed: "
            "HTTP 404 Not Found (is the pinned tag or path right?)") in out
    assert out.startswith("refused 1 file(s)") and not (tmp_path / "cache").exists()


def test_a_plain_http_mirror_elsewhere_is_bad_input(tmp_path, capsys):
    assert main(["schemas", "sync", "--mirror", "http://mirror.example.com", "--cache", str(tmp_path / "c")]) == 2
    assert "neither https nor http on this machine" in capsys.readouterr().err


def test_reference_out_is_a_shared_folder_the_tests_can_use(raw_github, shared_dir, tmp_path):
    reference = tmp_path / "reference"
    assert sync(raw_github, tmp_path / "cache", "--reference-out", str(reference)) == 0
    for part in ("schemas-upstream", "crds", "chart-values"):
        expected = {k: v for k, v in tree(shared_dir / part).items() if not k.endswith(".md")}
        assert tree(reference / part) == expected, part
    # A few tests of other files that read ../shared, each part of it: run with DIR as their ../shared.
    files = ["tests/test_validate.py", "tests/test_schemas.py", "tests/test_stack_secrets.py", "tests/test_stack_values.py"]
    select = "schema_locations_work or lock_covers or every_crd_default or every_value_key or charts_own_schema"
    env = {**os.environ, "LITELLM_GITOPS_SHARED": str(reference)}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider", "-k", select, *files], cwd=REPO, env=env,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert " passed" in run.stdout and "skipped" not in run.stdout and "deselected" in run.stdout
