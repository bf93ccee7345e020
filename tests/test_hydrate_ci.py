"""CI installs the same Helm that tools/install puts into the virtualenv, and syncs the locked charts."""

from __future__ import annotations

import re

import pytest
import yaml

from conftest import REPO


def _pinned(name: str) -> str:
    text = (REPO / "tools" / "install_helm.py").read_text(encoding="utf-8")
    return re.search(rf'^{name} = "([^"]+)"', text, re.M).group(1)


def test_ci_pins_the_helm_tools_install_pins():
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8"))
    assert workflow["env"]["HELM_VERSION"] == _pinned("HELM_VERSION")
    assert workflow["env"]["HELM_BINARY_SHA256"] == _pinned("HELM_SHA256")
    for job, last in (("checks", "pytest"), ("validate", "litellm-gitops validate")):  # validate's shards hydrate
        runs = [s.get("run", "") for s in workflow["jobs"][job]["steps"]]
        install = next(i for i, r in enumerate(runs) if "get.helm.sh" in r)
        assert "sha256sum --check --strict" in runs[install]
        sync = next(i for i, r in enumerate(runs) if "litellm-gitops charts sync" in r)
        after = next(i for i, r in enumerate(runs) if last in r)
        assert install < sync < after


def test_review_hydrates_both_sides_with_the_same_helm():
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "review.yml").read_text(encoding="utf-8"))
    assert workflow["env"]["HELM_VERSION"] == _pinned("HELM_VERSION")
    assert workflow["env"]["HELM_BINARY_SHA256"] == _pinned("HELM_SHA256")
    runs = " ".join("\n".join(s.get("run", "") for s in workflow["jobs"]["shard"]["steps"]).replace("\\\n", " ").split())
    assert "charts sync --root base" in runs and "charts sync --root head" in runs
    assert 'guard --shard "$SHARD/$SHARDS" --base base --head head --charts "$RUNNER_TEMP/charts"' in runs
    assert "--diff-json" in runs and "litellm-gitops diff " not in runs  # one command per shard


@pytest.mark.parametrize("workflow_file, job, command", [
    ("review.yml", "shard", 'guard --shard "$SHARD/$SHARDS" --base base --head head --charts "$RUNNER_TEMP/charts"'),
    ("guard.yml", "shard", 'guard --shard "$SHARD/$SHARDS" --base base --head head --charts "$RUNNER_TEMP/charts"')])
def test_the_guard_hydrates_both_sides_with_the_pinned_helm(workflow_file, job, command):
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / workflow_file).read_text(encoding="utf-8"))
    assert workflow["env"]["HELM_VERSION"] == _pinned("HELM_VERSION")
    assert workflow["env"]["HELM_BINARY_SHA256"] == _pinned("HELM_SHA256")
    runs = "\n".join(s.get("run", "") for s in workflow["jobs"][job]["steps"])
    assert "charts sync --root base" in runs and "charts sync --root head" in runs
    assert command in " ".join(runs.replace("\\\n", " ").split())
    assert "--no-hydrate" not in runs
