"""charts sync: every locked chart archive checked by sha256; any mismatch writes nothing."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys

import yaml

from generator import chartlock


def _sync(*args: str):
    return subprocess.run([sys.executable, "-m", "generator", "charts", "sync", *args], capture_output=True, text=True, check=False)


def test_sync_from_a_folder_verifies_and_fills_the_cache(charts_dir, tmp_path):
    done = _sync("--from", str(charts_dir), "--cache", str(tmp_path / "cache"))
    assert done.returncode == 0, done.stdout + done.stderr
    lock = chartlock.load()
    for locked in lock.charts:
        assert chartlock.archive(locked, tmp_path / "cache")[1] == locked.offline_sha256


def test_one_tampered_archive_writes_nothing(charts_dir, tmp_path):
    source = tmp_path / "charts"
    shutil.copytree(charts_dir, source)
    (source / "jaeger-4.11.1.tgz").write_bytes(b"tampered")
    done = _sync("--from", str(source), "--cache", str(tmp_path / "cache"))
    assert done.returncode == 1
    assert "jaeger-4.11.1.tgz: sha256" in done.stdout and "nothing was written" in done.stdout
    assert not (tmp_path / "cache").exists()


def _locked(**kw) -> chartlock.LockedChart:
    base = dict(repository="https://charts.example.com", chart="demo", version="1.0.0", file="demo-1.0.0.tgz",
                sha256=None, offline_sha256=None)
    return chartlock.LockedChart(**{**base, **kw})


def test_http_repository_index_digest_and_lock_are_both_checked():
    archive = b"archive bytes"
    digest = hashlib.sha256(archive).hexdigest()

    def get(index_digest: str):
        index = {"entries": {"demo": [{"version": "1.0.0", "urls": ["demo-1.0.0.tgz"], "digest": index_digest}]}}
        pages = {"https://charts.example.com/index.yaml": yaml.safe_dump(index).encode(),
                 "https://charts.example.com/demo-1.0.0.tgz": archive}
        return pages.__getitem__

    lock = chartlock.ChartLock((_locked(sha256=digest),), None)
    good = chartlock.collect(lock, chartlock.repository_fetcher(get=get(digest)), offline=False)
    assert good.contents == {"demo-1.0.0.tgz": archive} and not good.refused
    lying_index = chartlock.collect(lock, chartlock.repository_fetcher(get=get("0" * 64)), offline=False)
    assert "differs from the repository index's digest" in lying_index.refused[0]
    unpinned = chartlock.collect(chartlock.ChartLock((_locked(),), None), chartlock.repository_fetcher(get=get(digest)), offline=False)
    assert f"downloaded sha256 {digest}" in unpinned.refused[0] and "pins no sha256" in unpinned.refused[0]
    wrong_pin = chartlock.collect(chartlock.ChartLock((_locked(sha256="1" * 64),), None),
                                  chartlock.repository_fetcher(get=get(digest)), offline=False)
    assert "does not match the lock" in wrong_pin.refused[0]
