"""The package as a user gets it: `python -m build` makes an sdist and a wheel from this checkout,
the wheel installs into a fresh virtualenv with no checkout on its import path, and the installed
`litellm-gitops` prints its version, renders a repository that holds only environments/ (the
schemas and locks come from the wheel: generator/projectfiles.py, setup.py) to the same bytes as
this repository's rendered/, and creates a repository with `init` that renders.

Offline: the build uses this virtualenv's setuptools (--no-isolation), and the fresh virtualenv
finds the already-installed dependencies through a .pth line (pip installs the wheel alone,
--no-deps --no-index). $LITELLM_GITOPS_DIST names a folder with an already-built wheel and sdist
(the release workflow tests the very files it publishes)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

import generator
from conftest import REPO

SHIPPED_SCHEMAS = sorted(p.name for p in (REPO / "schemas").glob("*.json"))


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    given = os.environ.get("LITELLM_GITOPS_DIST")
    if given:
        return Path(given)
    out = tmp_path_factory.mktemp("dist")
    # A copy of the checkout, so the build's own scratch (build/, *.egg-info) stays out of it.
    source = out / "source"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", ".cache", "build", "dist", "*.egg-info", "__pycache__", "rendered", "benchmarks"))
    done = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(source)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out


def _one(folder: Path, pattern: str) -> Path:
    found = sorted(folder.glob(pattern))
    assert len(found) == 1, f"expected one {pattern} in {folder}, found {found}"
    return found[0]


def test_the_wheel_carries_everything_the_commands_read(dist: Path):
    wheel = _one(dist, f"litellm_gitops-{generator.__version__}-py3-none-any.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for schema in SHIPPED_SCHEMAS:
        assert f"generator/data/schemas/{schema}" in names
    templates = {p.relative_to(REPO).as_posix() for p in (REPO / "generator" / "templates").rglob("*") if p.is_file()}
    assert templates and templates <= names
    assert "generator/data/dashboards/litellm.json" in names
    for init_source in ("environments/defaults.yaml", "renovate.json", ".github/workflows/guard.yml",
                         ".github/workflows/review.yml", ".github/workflows/cloudformation.yml"):
        assert f"generator/data/{init_source}" in names  # what `init` starts a repository from
    assert f"litellm_gitops-{generator.__version__}.dist-info/licenses/LICENSE" in names
    metadata = zipfile.ZipFile(wheel).read(f"litellm_gitops-{generator.__version__}.dist-info/METADATA").decode()
    assert f"\nVersion: {generator.__version__}\n" in metadata
    assert "\nLicense-Expression: Apache-2.0\n" in metadata
    # Nothing of the test bed leaks into the package.
    assert not any(n.startswith(("tests/", "environments/", "rendered/", "tools/")) for n in names)


def test_the_sdist_rebuilds_the_wheel(dist: Path):
    sdist = _one(dist, f"litellm_gitops-{generator.__version__}.tar.gz")
    top = f"litellm_gitops-{generator.__version__}"
    names = set(tarfile.open(sdist).getnames())
    for name in ("LICENSE", "CHANGELOG.md", "setup.py", "pyproject.toml", *(f"schemas/{s}" for s in SHIPPED_SCHEMAS)):
        assert f"{top}/{name}" in names, name


@pytest.fixture(scope="module")
def installed(dist: Path, tmp_path_factory) -> Path:
    """A fresh virtualenv with the wheel installed; the dependencies come from this one."""
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    site = next((venv / "lib").glob("python3*/site-packages"))
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    wheel = _one(dist, "litellm_gitops-*-py3-none-any.whl")
    done = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                           "--ignore-installed", "--disable-pip-version-check", str(wheel)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return venv


def _run(venv: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run([str(venv / "bin" / "litellm-gitops"), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_the_installed_tool_prints_its_version_and_runs_from_the_wheel(installed: Path, tmp_path: Path):
    done = _run(installed, tmp_path, "--version")
    assert done.returncode == 0 and done.stdout.strip() == f"litellm-gitops {generator.__version__}"
    where = subprocess.run([str(installed / "bin" / "python"), "-c", "import generator; print(generator.__file__)"],
                           cwd=tmp_path, capture_output=True, text=True, check=True).stdout.strip()
    assert Path(where).is_relative_to(installed), f"imported from {where}, not the wheel"


def test_the_installed_tool_renders_a_repository_without_schemas(installed: Path, tmp_path: Path):
    shutil.copytree(REPO / "environments", tmp_path / "environments")
    done = _run(installed, tmp_path, "render")
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "schemas").exists()
    for path in sorted((REPO / "rendered").rglob("*")):
        if path.is_file() and not path.relative_to(REPO / "rendered").parts[0].startswith("."):
            mine = tmp_path / "rendered" / path.relative_to(REPO / "rendered")
            assert mine.read_bytes() == path.read_bytes(), f"{mine} differs from the repository's"
    assert _run(installed, tmp_path, "render", "--check").returncode == 0


def test_the_installed_tool_creates_a_repository_that_renders(installed: Path, tmp_path: Path):
    """init reads this repository's defaults, workflows and Renovate configuration: from the wheel."""
    done = _run(installed, tmp_path, "init", "created")
    assert done.returncode == 0, done.stderr
    created = tmp_path / "created"
    assert f"litellm-gitops=={generator.__version__}\n" in (created / "requirements.txt").read_text()
    assert _run(installed, created, "render").returncode == 0
    assert _run(installed, created, "render", "--check").returncode == 0
