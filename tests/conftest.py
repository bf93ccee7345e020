"""Shared fixtures: where the repository and ../shared are, and a scratch copy of the repository."""

from __future__ import annotations

import os
import shutil
import json
from pathlib import Path

import pytest

from github_fake import REPO as GITHUB_REPO, Server, event_payload

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("LITELLM_GITOPS_SHARED", REPO.parent / "shared")).resolve()
UPSTREAM_SCHEMAS = SHARED / "schemas-upstream"
CHART_VALUES = SHARED / "chart-values"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.fail(f"../shared not found at {SHARED}; set LITELLM_GITOPS_SHARED")
    return SHARED


@pytest.fixture
def scratch_repo(tmp_path: Path) -> Path:
    """A copy of environments/ and rendered/ to edit freely (schemas/ is read from the package)."""
    for name in ("environments", "rendered"):
        if (REPO / name).exists():
            shutil.copytree(REPO / name, tmp_path / name, ignore=shutil.ignore_patterns(".tmp-*", ".old-*"))
    return tmp_path


@pytest.fixture(scope="session")
def schema_cache(tmp_path_factory: pytest.TempPathFactory, shared_dir: Path) -> Path:
    """A schema cache synced from ../shared by `schemas sync`'s own code (checked against the lock)."""
    from generator.schemacache import collect_from_folder, load_lock, write_cache

    cache = tmp_path_factory.mktemp("schema-cache")
    lock = load_lock()
    collected = collect_from_folder(lock, shared_dir / "schemas-upstream", shared_dir / "chart-values")
    assert not collected.refused, collected.refused
    write_cache(lock, cache, collected)
    return cache


@pytest.fixture(autouse=True)
def no_ambient_github(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the GitHub variables of whatever runs it (a workflow sets them)."""
    for name in ("GITHUB_API_URL", "GITHUB_TOKEN", "GITHUB_REPOSITORY", "GITHUB_EVENT_PATH"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """A fake GitHub REST API on loopback with one pull request, wired in as GitHub Actions would."""
    with Server() as gh:
        gh.add_pr()
        event = tmp_path / "event.json"
        event.write_text(json.dumps(event_payload()))
        monkeypatch.setenv("GITHUB_API_URL", gh.url)
        monkeypatch.setenv("GITHUB_TOKEN", "test-token")
        monkeypatch.setenv("GITHUB_REPOSITORY", GITHUB_REPO)
        monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
        yield gh


@pytest.fixture(scope="session")
def charts_dir(shared_dir: Path) -> Path:
    """The pinned chart archives for offline `helm template` (../shared/charts)."""
    return shared_dir / "charts"


@pytest.fixture(scope="session")
def hydrated(charts_dir: Path, _shared_hydrate_cache: Path):
    """The applied state of every environment of this repository, hydrated once per session with
    the real helm and the real charts (through the run's shared render cache)."""
    from generator.applied import Hydrator, hydrate
    from generator.environment import environment_names

    hydrator = Hydrator(charts=charts_dir, cache_dir=_shared_hydrate_cache)
    return hydrate(REPO, environment_names(REPO / "environments"), hydrator)


@pytest.fixture(scope="session")
def _shared_hydrate_cache(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """One render cache for the whole run, every xdist worker included: it is content-addressed and
    written atomically, so workers share renders safely and each chart renders once per run."""
    base = tmp_path_factory.getbasetemp()
    cache = (base.parent if worker_id != "master" else base) / "hydrate-cache"
    cache.mkdir(exist_ok=True)
    return cache


@pytest.fixture(autouse=True)
def charts_for_validate(monkeypatch: pytest.MonkeyPatch, _shared_hydrate_cache: Path) -> None:
    """validate hydrates by default: every test reads the pinned charts from ../shared/charts and
    shares one render cache (tests that need another set these variables themselves)."""
    monkeypatch.setenv("LITELLM_GITOPS_CHARTS", str(SHARED / "charts"))
    monkeypatch.setenv("LITELLM_GITOPS_HYDRATE_CACHE", str(_shared_hydrate_cache))


@pytest.fixture(autouse=True)
def validation_records(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Each test has validation records of its own (generator/validate/record.py): a record one test
    writes (of this checkout, say) never spares another test's checks."""
    folder = tmp_path / "validation-records"
    monkeypatch.setenv("LITELLM_GITOPS_VALIDATE_CACHE", str(folder))
    return folder
