"""`charts bump`, and render's refusal of a chart the lock does not name.

The chart repository is real HTTP over TLS on 127.0.0.1 (a CA made for the test, trusted through
SSL_CERT_FILE, as a corporate CA would be): an index.yaml as `helm repo index` writes it, and a new
chart version made from ../shared/charts' redis-ha 4.39.0 with the real `helm package`. An OCI
registry is served the same way, with the distribution spec's anonymous token challenge."""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import shutil
import ssl
import subprocess
import sys
import tarfile
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Iterator

import pytest
import yaml

from conftest import REPO
from generator import chartbump
from generator.applied.helm import find_helm
from generator.errors import InputError

OLD, NEW = "4.39.0", "4.40.0"
Answer = Callable[[str, dict], tuple[int, dict, bytes]]


@pytest.fixture(scope="module")
def tls(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key (PEM files)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    import ipaddress

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=2))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    return folder / "cert.pem", folder / "key.pem"


@contextmanager
def https(tls: tuple[Path, Path], answer: Answer) -> Iterator[str]:
    """Serve `answer(path, headers) -> (status, headers, body)` over TLS on 127.0.0.1."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            status, headers, body = answer(self.path, dict(self.headers))
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*map(str, tls))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def new_archive(tmp_path_factory, charts_dir: Path) -> Path:
    """redis-ha 4.40.0: the 4.39.0 archive with its Chart.yaml version changed, packaged by helm."""
    work = tmp_path_factory.mktemp("chart")
    with tarfile.open(charts_dir / f"redis-ha-{OLD}.tgz") as archive:
        archive.extractall(work, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    meta = work / "redis-ha" / "Chart.yaml"
    meta.write_text(meta.read_text().replace(f"version: {OLD}", f"version: {NEW}"))
    out = tmp_path_factory.mktemp("packaged")
    subprocess.run([find_helm().path, "package", str(work / "redis-ha"), "--destination", str(out)],
                   check=True, capture_output=True, timeout=120)
    return out / f"redis-ha-{NEW}.tgz"


def _repo(tmp_path: Path, repository: str) -> Path:
    """A repository laid out like this one, its redis-ha served from `repository`."""
    root = tmp_path / "repo"
    shutil.copytree(REPO / "environments", root / "environments")
    shutil.copytree(REPO / "schemas", root / "schemas")
    defaults = root / "environments" / "defaults.yaml"
    defaults.write_text(defaults.read_text().replace("https://dandydeveloper.github.io/charts", repository))
    lock = root / "schemas" / "charts.lock.json"
    lock.write_text(lock.read_text().replace("https://dandydeveloper.github.io/charts", repository))
    return root


def _cli(root: Path, *args: str, cert: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, **({"SSL_CERT_FILE": str(cert)} if cert else {}))
    return subprocess.run([sys.executable, "-m", "generator", *args], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300)


def _index(archive: bytes, digest: str | None = None) -> bytes:
    entry = {"apiVersion": "v2", "name": "redis-ha", "version": NEW, "urls": [f"redis-ha-{NEW}.tgz"],
             "digest": digest or hashlib.sha256(archive).hexdigest()}
    return yaml.safe_dump({"apiVersion": "v1", "entries": {"redis-ha": [entry]}}).encode()


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_an_online_bump_pins_every_place_and_renders(tls, new_archive: Path, tmp_path: Path):
    archive = new_archive.read_bytes()
    pages = {"/index.yaml": _index(archive), f"/redis-ha-{NEW}.tgz": archive}
    with https(tls, lambda path, _: (200, {}, pages[path]) if path in pages else (404, {}, b"")) as url:
        root = _repo(tmp_path, url)
        done = _cli(root, "charts", "bump", "redis-ha", NEW, cert=tls[0])
    assert done.returncode == 0, done.stdout + done.stderr
    digest = hashlib.sha256(archive).hexdigest()
    defaults = (root / "environments" / "defaults.yaml").read_text()
    assert f"      version: {NEW}\n" in defaults and "# hard: never two Redis servers" in defaults  # comments kept
    assert defaults.replace(NEW, OLD) == (REPO / "environments" / "defaults.yaml").read_text().replace(
        "https://dandydeveloper.github.io/charts", url)  # nothing else changed
    lock = json.loads((root / "schemas" / "charts.lock.json").read_text())
    redis = [e for e in lock["charts"] if e["chart"] == "redis-ha"]
    assert redis == [{"repository": url, "chart": "redis-ha", "version": NEW, "file": f"redis-ha-{NEW}.tgz",
                      "sha256": digest, "offlineSha256": None}]
    upstream = json.loads((root / "schemas" / "upstream.lock.json").read_text())
    values = [e for e in upstream["charts"] if e["chart"] == "redis-ha"]
    assert [e["version"] for e in values] == [NEW]
    assert values[0]["values"]["url"].endswith(f"/redis-ha-{NEW}/charts/redis-ha/values.yaml")
    assert values[0]["values"]["sha256"] == hashlib.sha256(chartbump.archive_file(archive, "redis-ha", "values.yaml")).hexdigest()

    rendered = _cli(root, "render")
    assert rendered.returncode == 0, rendered.stderr
    app = yaml.safe_load((root / "rendered" / "dev" / "apps" / "12-redis-ha.yaml").read_text())
    assert any(s.get("chart") == "redis-ha" and s.get("targetRevision") == NEW for s in app["spec"]["sources"])


def test_an_archive_the_index_does_not_describe_changes_nothing(tls, new_archive: Path, tmp_path: Path):
    archive = new_archive.read_bytes()
    pages = {"/index.yaml": _index(archive, digest="0" * 64), f"/redis-ha-{NEW}.tgz": archive}
    with https(tls, lambda path, _: (200, {}, pages[path]) if path in pages else (404, {}, b"")) as url:
        root = _repo(tmp_path, url)
        before = _snapshot(root)
        done = _cli(root, "charts", "bump", "redis-ha", NEW, cert=tls[0])
    assert done.returncode == 2
    assert f"but {url}/index.yaml lists digest {'0' * 64}" in done.stderr and "Traceback" not in done.stderr
    assert _snapshot(root) == before


def test_an_untrusted_certificate_is_refused(tls, new_archive: Path, tmp_path: Path):
    with https(tls, lambda path, _: (200, {}, b"")) as url:
        root = _repo(tmp_path, url)
        done = _cli(root, "charts", "bump", "redis-ha", NEW)  # the test CA is not trusted
    assert done.returncode == 2 and "CERTIFICATE_VERIFY_FAILED" in done.stderr


def test_an_offline_bump_of_one_environment(new_archive: Path, tmp_path: Path):
    root = _repo(tmp_path, "https://dandydeveloper.github.io/charts")
    done = _cli(root, "charts", "bump", "redis-ha", NEW, "--env", "dev", "--from", str(new_archive.parent))
    assert done.returncode == 0, done.stdout + done.stderr
    dev = yaml.safe_load((root / "environments" / "dev" / "environment.yaml").read_text())
    assert dev["components"]["redis-ha"]["chart"] == {"version": NEW}  # the rest comes from defaults.yaml
    assert (root / "environments" / "defaults.yaml").read_bytes() == (REPO / "environments" / "defaults.yaml").read_bytes()
    lock = json.loads((root / "schemas" / "charts.lock.json").read_text())
    redis = {e["version"]: e for e in lock["charts"] if e["chart"] == "redis-ha"}
    assert set(redis) == {OLD, NEW}  # prod still pins 4.39.0
    assert redis[NEW]["sha256"] is None and redis[NEW]["offlineSha256"] == hashlib.sha256(new_archive.read_bytes()).hexdigest()

    sync = _cli(root, "charts", "sync", "--from", str(new_archive.parent), "--cache", str(tmp_path / "cache"))
    assert f"redis-ha {NEW} (https://dandydeveloper.github.io/charts): sha256 is null; run " \
           f"`litellm-gitops charts bump redis-ha {NEW}` with network" in sync.stdout
    assert _cli(root, "render").returncode == 0


def test_an_archive_that_is_another_chart_is_refused(new_archive: Path, tmp_path: Path, charts_dir: Path):
    folder = tmp_path / "charts"
    folder.mkdir()
    shutil.copy(charts_dir / "jaeger-4.11.1.tgz", folder / f"redis-ha-{NEW}.tgz")
    root = _repo(tmp_path, "https://dandydeveloper.github.io/charts")
    before = _snapshot(root)
    done = _cli(root, "charts", "bump", "redis-ha", NEW, "--from", str(folder))
    assert done.returncode == 2 and "is not chart redis-ha 4.40.0" in done.stderr
    assert _snapshot(root) == before


def test_render_refuses_a_version_the_lock_does_not_name(tmp_path: Path):
    root = _repo(tmp_path, "https://dandydeveloper.github.io/charts")
    dev = root / "environments" / "dev" / "environment.yaml"
    text = dev.read_text().replace("\n  redis-ha:\n", f"\n  redis-ha:\n    chart:\n      version: {NEW}\n", 1)
    assert f"version: {NEW}" in text
    dev.write_text(text)
    done = _cli(root, "render")
    assert done.returncode == 2
    line = text.splitlines().index(f"      version: {NEW}") + 1
    assert f"environments/dev/environment.yaml:{line}:" in done.stderr
    assert f"chart redis-ha {NEW} (https://dandydeveloper.github.io/charts) is not in schemas/charts.lock.json" in done.stderr
    assert f"run `litellm-gitops charts bump redis-ha {NEW} --env dev`" in done.stderr
    assert not (root / "rendered").exists()


def test_an_oci_bump_is_checked_against_the_registry_manifest(tls, new_archive: Path, monkeypatch):
    archive = new_archive.read_bytes()
    digest = hashlib.sha256(archive).hexdigest()
    blob = {"served": archive}
    manifest = json.dumps({"schemaVersion": 2, "config": {"mediaType": "application/vnd.cncf.helm.config.v1+json"},
                           "layers": [{"mediaType": chartbump.HELM_CHART_LAYER, "digest": f"sha256:{digest}",
                                       "size": len(archive)}]}).encode()

    def answer(path: str, headers: dict) -> tuple[int, dict, bytes]:
        if path.startswith("/token?"):
            assert "scope=repository%3Acharts%2Fredis-ha%3Apull" in path
            return 200, {}, b'{"token": "anonymous"}'
        if headers.get("Authorization") != "Bearer anonymous":
            return 401, {"WWW-Authenticate": f'Bearer realm="{base}/token",service="registry",'
                                             f'scope="repository:charts/redis-ha:pull"'}, b""
        if path == f"/v2/charts/redis-ha/manifests/{NEW}":
            return 200, {"Content-Type": chartbump.OCI_MANIFEST}, manifest
        if path == f"/v2/charts/redis-ha/blobs/sha256:{digest}":
            return 200, {}, blob["served"]
        return 404, {}, b""

    monkeypatch.setenv("SSL_CERT_FILE", str(tls[0]))
    with https(tls, answer) as base:
        registry = base.removeprefix("https://") + "/charts"
        assert chartbump.from_oci_registry(registry, "redis-ha", NEW, chartbump.https_get) == archive
        blob["served"] = archive + b"tampered"
        with pytest.raises(InputError, match="not the manifest's"):
            chartbump.from_oci_registry(registry, "redis-ha", NEW, chartbump.https_get)


def test_the_bump_completes_a_pin_renovate_already_edited(new_archive: Path, tmp_path: Path):
    """Renovate's regex manager edits the version first; its post-upgrade `charts bump` then finds
    the pins already new and locks the chart, taking the upstream addresses from the old entry."""
    root = _repo(tmp_path, "https://dandydeveloper.github.io/charts")
    defaults = root / "environments" / "defaults.yaml"
    defaults.write_text(defaults.read_text().replace(f"      version: {OLD}\n", f"      version: {NEW}\n"))
    assert _cli(root, "render").returncode == 2  # not locked yet
    done = _cli(root, "charts", "bump", "redis-ha", NEW, "--from", str(new_archive.parent))
    assert done.returncode == 0, done.stdout + done.stderr
    upstream = json.loads((root / "schemas" / "upstream.lock.json").read_text())
    entry = next(e for e in upstream["charts"] if e["chart"] == "redis-ha")
    assert entry["version"] == NEW and entry["values"]["ref"] == f"redis-ha-{NEW}"
    lock = json.loads((root / "schemas" / "charts.lock.json").read_text())
    assert [e["version"] for e in lock["charts"] if e["chart"] == "redis-ha"] == [NEW]
    assert _cli(root, "render").returncode == 0


def test_a_locked_chart_gets_its_published_digest_at_the_same_version(tls, charts_dir: Path, tmp_path: Path):
    """`charts sync` asks for `charts bump reloader 2.2.16` (its published sha256 is null): the
    bump at the version already pinned verifies the published archive and pins its sha256, and
    changes nothing else."""
    archive = (charts_dir / "reloader-2.2.16.tgz").read_bytes()
    index = yaml.safe_dump({"apiVersion": "v1", "entries": {"reloader": [
        {"name": "reloader", "version": "2.2.16", "urls": ["reloader-2.2.16.tgz"], "digest": hashlib.sha256(archive).hexdigest()}]}})
    pages = {"/index.yaml": index.encode(), "/reloader-2.2.16.tgz": archive}
    with https(tls, lambda path, _: (200, {}, pages[path]) if path in pages else (404, {}, b"")) as url:
        root = _repo(tmp_path, "https://dandydeveloper.github.io/charts")
        lock_path = root / "schemas" / "charts.lock.json"
        lock_path.write_text(lock_path.read_text().replace("https://stakater.github.io/stakater-charts", url))
        defaults = root / "environments" / "defaults.yaml"
        defaults.write_text(defaults.read_text().replace("https://stakater.github.io/stakater-charts", url))
        before = json.loads(lock_path.read_text())
        environments = _snapshot(root / "environments")
        done = _cli(root, "charts", "bump", "reloader", "2.2.16", cert=tls[0])
    assert done.returncode == 0, done.stdout + done.stderr
    after = json.loads(lock_path.read_text())
    changed = [(b, a) for b, a in zip(before["charts"], after["charts"]) if b != a]
    assert len(after["charts"]) == len(before["charts"]) and len(changed) == 1
    assert changed[0][1] == {**changed[0][0], "sha256": hashlib.sha256(archive).hexdigest()}
    assert _snapshot(root / "environments") == environments
