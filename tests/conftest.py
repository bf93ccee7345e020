"""Shared fixtures: where the repository and ../shared are, and a scratch copy of the repository."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

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
    from generator.schemacache import load_lock, sync_from_directory

    cache = tmp_path_factory.mktemp("schema-cache")
    result = sync_from_directory(load_lock(), shared_dir / "schemas-upstream", shared_dir / "chart-values", cache)
    assert not result.refused, result.refused
    return cache
