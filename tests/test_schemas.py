"""`litellm-gitops schemas sync` and schemas/upstream.lock.json: the cache is filled only with files
whose sha256 matches the lock (from a local catalog or crds/ folder, or from the pinned URLs), the
lock pins upstream CRDs and chart files at release tags on raw.githubusercontent.com, and no
upstream file is copied into the project. Downloads against a local server: test_schemas_online.py;
the CRD converter: test_schemas_crdschema.py."""

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
from generator.schemacache import (LOCK_FILE, collect, collect_from_folder, load_lock, url_fetcher, verified_schema,
                                   write_cache)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def catalog(tmp_path: Path, shared_dir: Path) -> Path:
    """A writable copy of ../shared's catalog and chart values schemas, side by side as in ../shared."""
    shutil.copytree(shared_dir / "schemas-upstream", tmp_path / "shared" / "schemas-upstream")
    shutil.copytree(shared_dir / "chart-values", tmp_path / "shared" / "chart-values")
    return tmp_path / "shared" / "schemas-upstream"


def test_sync_from_a_local_catalog_fills_the_cache_in_kubeconform_layout(catalog, tmp_path, capsys):
    cache = tmp_path / "cache"
    assert main(["schemas", "sync", "--from", str(catalog), "--cache", str(cache)]) == 0
    assert "synced 17 file(s)" in capsys.readouterr().out
    lock = load_lock()
    for locked in lock.files:
        assert sha256(cache / locked.path) == locked.sha256
    assert (cache / "argoproj.io" / "application_v1alpha1.json").is_file()
    assert (cache / "chart-values" / "external-secrets-2.9.0.values.schema.json").is_file()
    assert (cache / "chart-values" / "litellm-helm.values.yaml").is_file()


def test_sync_from_a_crds_folder_derives_the_same_cache(catalog, shared_dir, tmp_path, capsys):
    shutil.copytree(shared_dir / "crds", catalog.parent / "crds")
    assert main(["schemas", "sync", "--from", str(catalog), "--cache", str(tmp_path / "from-catalog")]) == 0
    assert main(["schemas", "sync", "--from", str(catalog.parent / "crds"), "--cache", str(tmp_path / "from-crds")]) == 0
    assert tree(tmp_path / "from-crds") == tree(tmp_path / "from-catalog")


def test_a_tampered_crd_in_a_crds_folder_is_refused(catalog, shared_dir):
    crds = catalog.parent / "crds"
    shutil.copytree(shared_dir / "crds", crds)
    target = crds / "argoproj.io_application.yaml"
    target.write_bytes(target.read_bytes().replace(b"type: object", b"type: string", 1))
    refused = collect_from_folder(load_lock(), crds, catalog.parent / "chart-values").refused
    assert [r.split(":")[0] for r in refused] == ["crds/argoproj.io_application.yaml"]


def test_reference_out_needs_the_crds(catalog, tmp_path, capsys):
    args = ["schemas", "sync", "--from", str(catalog), "--cache", str(tmp_path / "c"), "--reference-out", str(tmp_path / "r")]
    assert main(args) == 2
    assert "--reference-out needs the upstream CRDs" in capsys.readouterr().err
    assert not (tmp_path / "c").exists() and not (tmp_path / "r").exists()


def test_a_tampered_schema_is_refused_and_nothing_is_written(catalog, tmp_path, capsys):
    target = catalog / "external-secrets.io" / "externalsecret_v1.json"
    target.write_text(target.read_text().replace('"additionalProperties": false', '"additionalProperties": true', 1))
    cache = tmp_path / "cache"
    assert main(["schemas", "sync", "--from", str(catalog), "--cache", str(cache)]) == 1
    out = capsys.readouterr().out
    assert "external-secrets.io/externalsecret_v1.json: sha256" in out and "does not match the lock" in out
    assert not cache.exists() or not any(cache.rglob("*.json"))


def test_a_tampered_chart_values_schema_is_refused(catalog):
    target = catalog.parent / "chart-values" / "external-secrets-2.9.0.values.schema.json"
    target.write_bytes(target.read_bytes() + b"\n")
    refused = collect_from_folder(load_lock(), catalog, catalog.parent / "chart-values").refused
    assert [r.split(":")[0] for r in refused] == ["chart-values/external-secrets-2.9.0.values.schema.json"]


def test_a_file_missing_from_the_catalog_is_refused(catalog):
    (catalog / "monitoring.coreos.com" / "servicemonitor_v1.json").unlink()
    refused = collect_from_folder(load_lock(), catalog, catalog.parent / "chart-values").refused
    assert refused == [f"monitoring.coreos.com/servicemonitor_v1.json: not found in {catalog}"]


def test_a_missing_catalog_folder_is_bad_input(tmp_path):
    assert main(["schemas", "sync", "--from", str(tmp_path / "nowhere"), "--cache", str(tmp_path / "c")]) == 2


class FakeResponse(io.BytesIO):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def pinned_files(lock) -> list:
    return [f.download for f in lock.files if f.download] + list(lock.crds)


def test_sync_from_the_pinned_urls_checks_every_download(shared_dir, tmp_path):
    lock = load_lock()
    by_url = {p.url: (shared_dir / p.reference).read_bytes() for p in pinned_files(lock)}
    asked = []

    def opener(url, timeout):
        asked.append(url)
        return FakeResponse(by_url[url])

    collected = collect(lock, url_fetcher(opener=opener))
    assert not collected.refused and len(write_cache(lock, tmp_path / "cache", collected)) == len(lock.files)
    assert sorted(asked) == sorted(by_url), "each CRD is downloaded once, however many versions it serves"
    assert all(url.startswith("https://raw.githubusercontent.com/") for url in asked)

    def tampering(url, timeout):
        return FakeResponse(by_url[url] + (b" " if "appproject" in url else b""))

    refused = collect(lock, url_fetcher(opener=tampering)).refused
    assert [r.split(":")[0] for r in refused] == ["crds/argoproj.io_appproject.yaml"]


def test_a_refused_download_is_reported_once():
    def refusing(url, timeout):
        raise urllib.error.URLError("connection refused")

    lock = load_lock()
    refused = collect(lock, url_fetcher(opener=refusing)).refused
    assert len(refused) == len(pinned_files(lock)), "one line per download, none for schemas of a failed CRD"
    assert "connection refused" in refused[0]


def test_validation_rereads_the_cache_against_the_lock(schema_cache, tmp_path):
    cache = tmp_path / "cache"
    shutil.copytree(schema_cache, cache)
    lock = load_lock()
    locked = lock.kubernetes_file("argoproj.io/appproject_v1alpha1.json")
    assert verified_schema(lock, cache, locked)["properties"]["kind"]["enum"] == ["AppProject"]
    (cache / locked.path).write_text((cache / locked.path).read_text() + " ")
    with pytest.raises(InputError, match="does not match"):
        verified_schema(lock, cache, locked)


def test_the_lock_covers_the_catalog_crds_and_chart_values(shared_dir):
    lock = json.loads(LOCK_FILE.read_text())
    catalog = shared_dir / "schemas-upstream"
    assert sorted(e["path"] for e in lock["kubernetesSchemas"]) == sorted(
        p.relative_to(catalog).as_posix() for p in catalog.rglob("*.json"))
    assert sorted(lock["crds"]) == sorted(p.name for p in (shared_dir / "crds").glob("*.yaml"))
    chart_files = [c["values"] for c in lock["charts"]] + [c["valuesSchema"] for c in lock["charts"] if c["valuesSchema"]]
    assert sorted(f["file"] for f in chart_files) == sorted(
        p.name for p in (shared_dir / "chart-values").iterdir() if p.name.endswith((".values.yaml", ".values.schema.json")))
    assert {e["crd"] for e in lock["kubernetesSchemas"]} == set(lock["crds"])


def test_every_pin_is_a_raw_github_url_at_its_ref():
    lock = json.loads(LOCK_FILE.read_text())
    pins = list(lock["crds"].values()) + [c["values"] for c in lock["charts"]] + [
        c["valuesSchema"] for c in lock["charts"] if c["valuesSchema"]]
    for pin in pins:
        assert pin["url"] == f"https://raw.githubusercontent.com/{pin['repository']}/{pin['ref']}/{pin['path']}"
        assert "/main/" not in pin["url"] and "/master/" not in pin["url"], f"{pin['url']}: pin a tag or commit"
    crd_refs = {(p["repository"], p["ref"]) for p in lock["crds"].values()}
    assert crd_refs == {("argoproj/argo-cd", "v3.5.1"), ("external-secrets/external-secrets", "v2.9.0"),
                        ("prometheus-operator/prometheus-operator", "v0.93.0")}
    for chart in lock["charts"]:
        if chart["chart"] != "litellm-helm":  # pinned at a commit: see its note in the lock
            # the chart's release tag: `<chart>-<version>`, `helm-chart-<version>`, `chart-v<version>`
            assert chart["values"]["ref"].endswith((f"-{chart['version']}", f"-v{chart['version']}")), chart["chart"]


def test_a_malformed_lock_is_bad_input(tmp_path):
    lock = json.loads(LOCK_FILE.read_text())
    lock["crds"]["argoproj.io_application.yaml"]["url"] = "http://example.com/application-crd.yaml"
    (tmp_path / "lock.json").write_text(json.dumps(lock))
    with pytest.raises(InputError, match="is not https"):
        load_lock(tmp_path / "lock.json")
    del lock["kubernetesSchemas"][0]["crd"]
    (tmp_path / "lock.json").write_text(json.dumps(lock))
    with pytest.raises(InputError, match="malformed"):
        load_lock(tmp_path / "lock.json")


def test_every_pinned_chart_of_the_defaults_is_in_the_lock():
    import yaml

    defaults = yaml.safe_load((REPO / "environments" / "defaults.yaml").read_text())
    charts = {(c["chart"]["name"], str(c["chart"]["version"])) for c in defaults["components"].values() if "chart" in c}
    assert charts <= set(load_lock().charts), "add the missing charts to schemas/upstream.lock.json"


def test_no_upstream_file_is_copied_into_the_project():
    lock = load_lock()
    locked = {f.sha256 for f in lock.files} | {crd.sha256 for crd in lock.crds}
    tracked = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                             capture_output=True, check=True).stdout.decode().split("\0")
    copies = [p for p in tracked if p and (REPO / p).is_file() and sha256(REPO / p) in locked]
    assert not copies, f"upstream files copied into the project: {copies}"
    ignored = subprocess.run(["git", "check-ignore", ".cache/schemas/x.json"], cwd=REPO, capture_output=True, text=True)
    assert ignored.returncode == 0, "the schema cache must be git-ignored"
