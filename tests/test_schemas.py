"""`litellm-gitops schemas sync` and schemas/upstream.lock.json: the cache is filled only with files
whose sha256 matches the lock (from a local catalog, or from the pinned URLs), the lock's
provenance matches the upstream CRDs, and no upstream schema is copied into the project."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import urllib.error
from pathlib import Path

import pytest

from conftest import REPO
from generator.cli import main
from generator.errors import InputError
from generator.schemacache import LOCK_FILE, load_lock, sync_from_directory, sync_from_urls, verified_schema


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def catalog(tmp_path: Path, shared_dir: Path) -> Path:
    """A writable copy of ../shared's catalog and chart values schemas, side by side as in ../shared."""
    shutil.copytree(shared_dir / "schemas-upstream", tmp_path / "shared" / "schemas-upstream")
    shutil.copytree(shared_dir / "chart-values", tmp_path / "shared" / "chart-values")
    return tmp_path / "shared" / "schemas-upstream"


def test_sync_from_a_local_catalog_fills_the_cache_in_kubeconform_layout(catalog, tmp_path, capsys):
    cache = tmp_path / "cache"
    assert main(["schemas", "sync", "--from", str(catalog), "--cache", str(cache)]) == 0
    assert "synced 9 schema(s)" in capsys.readouterr().out
    lock = load_lock()
    for locked in lock.files:
        assert sha256(cache / locked.path) == locked.sha256
    assert (cache / "argoproj.io" / "application_v1alpha1.json").is_file()
    assert (cache / "chart-values" / "external-secrets-2.9.0.values.schema.json").is_file()


def test_a_tampered_schema_is_refused_and_nothing_is_written(catalog, tmp_path, capsys):
    target = catalog / "external-secrets.io" / "externalsecret_v1.json"
    target.write_text(target.read_text().replace('"additionalProperties": false', '"additionalProperties": true', 1))
    cache = tmp_path / "cache"
    assert main(["schemas", "sync", "--from", str(catalog), "--cache", str(cache)]) == 1
    out = capsys.readouterr().out
    assert "external-secrets.io/externalsecret_v1.json: sha256" in out and "does not match the lock" in out
    assert not cache.exists() or not any(cache.rglob("*.json"))


def test_a_tampered_chart_values_schema_is_refused(catalog, tmp_path):
    target = catalog.parent / "chart-values" / "external-secrets-2.9.0.values.schema.json"
    target.write_bytes(target.read_bytes() + b"\n")
    result = sync_from_directory(load_lock(), catalog, catalog.parent / "chart-values", tmp_path / "cache")
    assert [r.split(":")[0] for r in result.refused] == ["chart-values/external-secrets-2.9.0.values.schema.json"]
    assert not result.written


def test_a_file_missing_from_the_catalog_is_refused(catalog, tmp_path):
    (catalog / "monitoring.coreos.com" / "servicemonitor_v1.json").unlink()
    result = sync_from_directory(load_lock(), catalog, catalog.parent / "chart-values", tmp_path / "cache")
    assert result.refused == [f"monitoring.coreos.com/servicemonitor_v1.json: not found in {catalog}"]


def test_a_missing_catalog_folder_is_bad_input(tmp_path):
    assert main(["schemas", "sync", "--from", str(tmp_path / "nowhere"), "--cache", str(tmp_path / "c")]) == 2


class FakeResponse(io.BytesIO):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_sync_from_the_pinned_urls_checks_every_download(catalog, tmp_path):
    lock = load_lock()
    by_url = {f.url: ((catalog.parent / "chart-values" / f.local_name) if f.chart_values else catalog / f.path).read_bytes()
              for f in lock.files}
    asked = []

    def opener(url, timeout):
        asked.append(url)
        return FakeResponse(by_url[url])

    result = sync_from_urls(lock, tmp_path / "cache", opener=opener)
    assert not result.refused and len(result.written) == len(lock.files)
    assert sorted(asked) == sorted(f.url for f in lock.files)
    assert all(url.startswith("https://raw.githubusercontent.com/") for url in asked)

    def tampering(url, timeout):
        return FakeResponse(by_url[url] + (b" " if "appproject" in url else b""))

    result = sync_from_urls(lock, tmp_path / "cache2", opener=tampering)
    assert [r.split(":")[0] for r in result.refused] == ["argoproj.io/appproject_v1alpha1.json"]
    assert not (tmp_path / "cache2").exists()


def test_a_refused_download_is_reported_and_nothing_is_written(tmp_path):
    def refusing(url, timeout):
        raise urllib.error.URLError("connection refused")

    result = sync_from_urls(load_lock(), tmp_path / "cache", opener=refusing)
    assert len(result.refused) == len(load_lock().files)
    assert "connection refused" in result.refused[0]
    assert not (tmp_path / "cache").exists()


def test_validation_rereads_the_cache_against_the_lock(schema_cache, tmp_path):
    cache = tmp_path / "cache"
    shutil.copytree(schema_cache, cache)
    lock = load_lock()
    locked = lock.kubernetes_file("argoproj.io/appproject_v1alpha1.json")
    assert verified_schema(lock, cache, locked)["properties"]["kind"]["enum"] == ["AppProject"]
    (cache / locked.path).write_text((cache / locked.path).read_text() + " ")
    with pytest.raises(InputError, match="does not match"):
        verified_schema(lock, cache, locked)


def test_the_lock_covers_the_catalog_and_names_the_upstream_crds(shared_dir):
    lock = json.loads(LOCK_FILE.read_text())
    catalog = shared_dir / "schemas-upstream"
    assert sorted(e["path"] for e in lock["kubernetesSchemas"]) == sorted(
        p.relative_to(catalog).as_posix() for p in catalog.rglob("*.json") if p.relative_to(catalog).parts[0] != "chart-values")
    if not (shared_dir / "crds").is_dir():
        pytest.skip("no crds/ in the reference data (on GitHub it is the synced cache): CRD provenance checked locally")
    crds = {p.name: sha256(p) for p in (shared_dir / "crds").glob("*.yaml")}
    for entry in lock["kubernetesSchemas"]:
        source = entry["source"]
        assert source["sha256"] in crds.values(), f"{entry['path']}: the CRD hash is not one of ../shared/crds"
        assert source["url"].startswith(f"https://raw.githubusercontent.com/{source['repository']}/{source['version']}/")
    pinned = {(c["chart"], c["version"]) for c in lock["charts"]}
    assert ("external-secrets", "2.9.0") in pinned


def test_every_pinned_chart_of_the_defaults_is_in_the_lock():
    import yaml

    defaults = yaml.safe_load((REPO / "environments" / "defaults.yaml").read_text())
    charts = {(c["chart"]["name"], str(c["chart"]["version"])) for c in defaults["components"].values() if "chart" in c}
    assert charts <= set(load_lock().charts), "add the missing charts to schemas/upstream.lock.json"


def test_no_upstream_schema_is_copied_into_the_project():
    locked = {f.sha256 for f in load_lock().files}
    tracked = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                             capture_output=True, check=True).stdout.decode().split("\0")
    copies = [p for p in tracked if p and (REPO / p).is_file() and sha256(REPO / p) in locked]
    assert not copies, f"upstream schemas copied into the project: {copies}"
    ignored = subprocess.run(["git", "check-ignore", ".cache/schemas/x.json"], cwd=REPO, capture_output=True, text=True)
    assert ignored.returncode == 0, "the schema cache must be git-ignored"
