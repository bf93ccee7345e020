"""A rollout that gets stuck recovers (issue 18, item 2): the root's operation walked pass by pass as
Argo CD v3.5.1 drives it (tests/argocd_sync.py: gitops-engine's wave loop, the controller's sync
timeout, retry and automated sync), over what the root really applies (its revision pin, evaluated
with go-jsonnet) and with every child's health from the rendered health script in Argo CD's sandbox.
The timeout is read from the rendered argocd-cmd-params-cm."""

from __future__ import annotations

from functools import cache

import pytest
import yaml

from argocd_sync import Cluster, Controller
from conftest import REPO
from test_rollout import evaluate_root

ENV = "dev"
A, B = "a" * 40, "b" * 40
STEP = 60  # seconds between reconciliations of the root
STUCK = f"{ENV}-storage-class"  # wave 6: a class the volumes of waves 9-14 wait for


def rendered(path: str) -> dict:
    return yaml.safe_load((REPO / "rendered" / ENV / path).read_text())


@cache
def desired(revision: str) -> tuple:
    return tuple(evaluate_root(ENV, revision))


def controller(state, *, timeout: int | None = None, argocd_cm: dict | None = None) -> Controller:
    params = rendered("bootstrap/argocd-cmd-params-cm.yaml")["data"]
    root = rendered("bootstrap/root-app.yaml")
    return Controller(
        argocd_cm=argocd_cm or rendered("bootstrap/argocd-cm.yaml"),
        sync_timeout=int(params["controller.sync.timeout.seconds"]) if timeout is None else timeout,
        retry=root["spec"]["syncPolicy"]["retry"],
        desired=lambda revision: [dict(o) for o in desired(revision)],
        cluster=Cluster(state),
        head=A,
    )


def stuck_at_a(name: str, revision: str) -> tuple[str, str]:
    """The storage class' Application never turns Healthy nor Degraded at commit A (its resources
    wait), the fix is commit B; every other child is Synced and Healthy wherever it is pinned."""
    return ("Progressing", "Synced") if name == STUCK and revision == A else ("Healthy", "Synced")


def git_revision(obj: dict) -> str:
    sources = obj["spec"].get("sources") or [obj["spec"]["source"]]
    return next(s["targetRevision"] for s in sources if "chart" not in s)


def run(ctl: Controller, start: int, end: int) -> int:
    for now in range(start, end, STEP):
        ctl.step(now)
    return end


def children(ctl: Controller) -> dict[str, dict]:
    return {n: o for n, o in ctl.cluster.live.items() if o["kind"] == "Application"}


def test_the_rendered_timeout_fits_the_slowest_rollout():
    """The clock covers the root's whole operation: every wave's budget, the verification Job's
    deadline (its PostSync hook, wave 15) included, must fit before the operation is ended."""
    timeout = int(rendered("bootstrap/argocd-cmd-params-cm.yaml")["data"]["controller.sync.timeout.seconds"])
    job = rendered("manifests/verification/job-verify-stack.yaml")
    waves = {int(o["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]) for o in desired(A)}
    assert timeout >= job["spec"]["activeDeadlineSeconds"] + 600 * (len(waves) - 1)
    assert timeout <= 12 * 3600  # and a stuck rollout is still ended within the day


def test_a_stuck_wave_times_out_and_automated_sync_brings_the_fix():
    ctl = controller(stuck_at_a)
    now = run(ctl, 0, 3600)
    op = ctl.operation
    assert op.phase == "Running" and op.revision == A
    assert op.message == f"waiting for healthy state of argoproj.io/Application/{STUCK}"
    assert f"{ENV}-litellm" not in ctl.cluster.live  # waves 7-15 never created

    ctl.head = B  # the fix is merged; the stuck operation does not see it
    now = run(ctl, now, ctl.sync_timeout - STEP)
    assert ctl.operation is not None and ctl.operation.revision == A
    assert git_revision(ctl.cluster.live[STUCK]) == A
    assert "Skipping auto-sync: another operation is in progress" in ctl.log

    now = run(ctl, now, ctl.sync_timeout + 2 * STEP)
    assert ctl.last.revision == A and ctl.last.phase == "Failed"
    assert ctl.last.message == "Operation terminated, triggered by controller sync timeout"
    assert ctl.last.retry_count == 0  # a terminated operation is not retried
    assert f"Initiated automated sync to '{B}'" in ctl.log

    run(ctl, now, now + 3600)
    assert ctl.operation is None and ctl.last.revision == B and ctl.last.phase == "Succeeded"
    apps = children(ctl)
    assert len(apps) > 10 and {git_revision(o) for o in apps.values()} == {B}
    assert {o["status"]["health"]["status"] for o in apps.values()} == {"Healthy"}


def test_without_a_timeout_the_operation_runs_for_ever():
    """Argo CD's default, "0": no timeout. The fix never reaches the stuck child."""
    ctl = controller(stuck_at_a, timeout=0)
    now = run(ctl, 0, 600)
    ctl.head = B
    run(ctl, now, 10 * 3600)
    assert ctl.operation.phase == "Running" and ctl.operation.revision == A and ctl.last is None
    assert git_revision(ctl.cluster.live[STUCK]) == A


def test_after_a_timeout_without_a_new_commit_automated_sync_waits_for_one():
    ctl = controller(stuck_at_a)
    run(ctl, 0, ctl.sync_timeout + 10 * STEP)
    assert ctl.operation is None and ctl.last.phase == "Failed"
    assert ctl.log[-1] == f"Skipping auto-sync: failed previous sync attempt to [{A}]"


def test_a_child_degraded_at_the_old_commit_fails_the_wave_and_the_retry_takes_the_fix():
    """Degraded is not stuck: the operation fails, is retried with backoff at the newest commit
    (retry.refresh), and the pending revision (checked before Degraded) lets the fix through."""
    def degraded_at_a(name, revision):
        return ("Degraded", "Synced") if name == f"{ENV}-secret-store" and revision == A else ("Healthy", "Synced")

    ctl = controller(degraded_at_a)
    now = run(ctl, 0, 1200)
    assert ctl.operation.phase == "Running" and ctl.operation.retry_count >= 2  # failed, retried, failed again
    assert f"{ENV}-redis-ha" not in ctl.cluster.live
    ctl.head = B
    run(ctl, now, now + 3600)
    assert ctl.last.phase == "Succeeded" and ctl.last.revision == B and ctl.last.retry_count > 0
    assert {git_revision(o) for o in children(ctl).values()} == {B}


def test_a_healthy_rollout_completes_with_the_rendered_health_check():
    ctl = controller(lambda name, revision: ("Healthy", "Synced"))
    run(ctl, 0, 3600)
    assert ctl.last.phase == "Succeeded" and ctl.last.revision == A and ctl.last.retry_count == 0


@pytest.mark.parametrize("lua", ["string-library-script.lua"])
def test_a_health_check_that_errors_in_the_sandbox_stops_the_first_install_at_wave_6(lua):
    """The issue's own failure: with the string-library script every child's health errors, no
    wave after the first Applications completes, and only the timeout ends the operation."""
    cm = rendered("bootstrap/argocd-cm.yaml")
    cm["data"]["resource.customizations.health.argoproj.io_Application"] = \
        (REPO / "tests" / "testdata" / "application-health" / lua).read_text()
    ctl = controller(lambda name, revision: ("Healthy", "Synced"), argocd_cm=cm)
    run(ctl, 0, 3600)
    assert ctl.operation.phase == "Running"
    assert ctl.operation.message.startswith("waiting for healthy state of argoproj.io/Application/")
    assert max(int(o["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]) for o in children(ctl).values()) == 6
    run(ctl, 3600, ctl.sync_timeout + 2 * STEP)
    assert ctl.last.message == "Operation terminated, triggered by controller sync timeout"


def test_the_timeout_is_one_constant_an_everyday_change_does_not_touch(scratch_repo, monkeypatch, capsys):
    """The bootstrap is guarded: LiteLLM's replicas (which lengthen the verification) must not
    rewrite it, up to the schema's maximum; an environment that would not fit is bad input."""
    from aws_support import edit_environment
    from generator import argocd
    from generator.cli import main

    before = (scratch_repo / "rendered/prod/bootstrap/argocd-cmd-params-cm.yaml").read_bytes()
    edit_environment(scratch_repo, "prod", lambda doc: doc["components"]["litellm"].__setitem__("replicas", 50))
    assert main(["render", "--root", str(scratch_repo)]) == 0
    assert (scratch_repo / "rendered/prod/bootstrap/argocd-cmd-params-cm.yaml").read_bytes() == before

    monkeypatch.setattr(argocd, "SYNC_TIMEOUT_SECONDS", 3 * 3600)
    capsys.readouterr()
    assert main(["render", "--root", str(scratch_repo)]) == 2
    err = capsys.readouterr().err
    assert "environments/prod/environment.yaml" in err and "longer than Argo CD's sync timeout, 10800 s" in err
    assert "Traceback" not in err
    assert (scratch_repo / "rendered/prod/bootstrap/argocd-cmd-params-cm.yaml").read_bytes() == before  # nothing written
