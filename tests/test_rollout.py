"""Rollouts recover without a person (issue 12, item 3) and Argo CD tracks what it owns by
annotation: read from the rendered Applications and argocd-cm."""

from __future__ import annotations

import pytest
import yaml

from conftest import REPO

ENVIRONMENTS = ("dev", "prod")


def applications(env: str) -> dict[str, dict]:
    folder = REPO / "rendered" / env
    found = {}
    for path in sorted([*(folder / "apps").glob("*.yaml"), folder / "bootstrap" / "root-app.yaml"]):
        doc = yaml.safe_load(path.read_text())
        if doc["kind"] == "Application":
            found[doc["metadata"]["name"]] = doc
    return found


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_application_retries_until_it_heals_at_the_newest_revision(env):
    apps = applications(env)
    assert f"{env}-root" in apps and len(apps) > 10
    for name, app in apps.items():
        retry = app["spec"]["syncPolicy"]["retry"]
        # limit < 0: Argo CD retries without end (controller/appcontroller.go, v3.5.1); refresh: each
        # retry syncs the latest revision, so a fix pushed meanwhile is not stuck behind the retries.
        assert retry["limit"] < 0 and retry["refresh"] is True, name
        backoff = retry["backoff"]
        assert backoff["duration"] == "10s" and backoff["factor"] == 2 and backoff["maxDuration"] == "3m", name
        assert app["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}, name


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_argocd_cm_sets_annotation_tracking(env):
    cm = yaml.safe_load((REPO / "rendered" / env / "bootstrap" / "argocd-cm.yaml").read_text())
    assert cm["data"]["application.resourceTrackingMethod"] == "annotation"
    assert "resource.customizations.health.argoproj.io_Application" in cm["data"]
