"""The examples in examples/ are real: each standalone example, copied into a scratch
repository's environments/ beside dev and prod, renders with the real command and validates
(schema, Kubernetes, CloudFormation; without hydration, which test_fleet/test_hydrate cover).
The hub fleet examples are exercised by tests/test_fleet.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from generator.cli import main
from generator.validate.runner import Options, validate

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
STANDALONE = sorted(p for p in (EXAMPLES / "standalone").iterdir() if p.is_dir())


def test_there_are_examples():
    assert [p.name for p in STANDALONE] == ["staging"]
    assert sorted(p.name for p in (EXAMPLES / "hub-fleet").iterdir()) == ["eu-dev", "eu-prod", "eu-staging"]


@pytest.mark.parametrize("example", STANDALONE, ids=lambda p: p.name)
def test_a_standalone_example_renders_and_validates(example, scratch_repo, schema_cache):
    shutil.copytree(example, scratch_repo / "environments" / example.name)
    assert main(["render", "--root", str(scratch_repo), "--env", example.name]) == 0
    rendered = scratch_repo / "rendered" / example.name
    assert (rendered / "bootstrap").is_dir() and (rendered / "apps").is_dir()  # standalone: bootstrapped by hand
    report = validate(Options(root=scratch_repo, environments=[example.name], cache=schema_cache, hydrate=False,
                              record=scratch_repo / ".records"))
    assert report.ok, report.text()
