"""Rollouts recover without a person (issue 12, item 3) and Argo CD tracks what it owns by
annotation: read from the rendered Applications and argocd-cm."""

from __future__ import annotations

import json

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


# -- waves order every change: the root pins every child to its own revision ---------------------------

REVISION = "0123456789abcdef0123456789abcdef01234567"


def evaluate_root(env: str, revision: str = REVISION) -> list[dict]:
    """The objects the root Application applies, evaluated as Argo CD's repo-server does: go-jsonnet
    (Argo CD v3.5.1 uses go-jsonnet v0.22.0) on the root's include, its extVars with
    $ARGOCD_APP_REVISION substituted, imports resolved in the app's folder only."""
    import _gojsonnet

    root = yaml.safe_load((REPO / "rendered" / env / "bootstrap" / "root-app.yaml").read_text())
    directory = root["spec"]["source"]["directory"]
    folder = REPO / root["spec"]["source"]["path"]
    ext_vars = {v["name"]: v["value"].replace("$ARGOCD_APP_REVISION", revision) for v in directory["jsonnet"]["extVars"]}

    def import_callback(base: str, rel: str):
        target = (folder / rel).resolve()
        assert target.parent == folder.resolve(), f"the pin imports {rel} outside {folder}"
        return str(target), target.read_bytes()

    text = (folder / directory["include"]).read_text()
    return json.loads(_gojsonnet.evaluate_snippet(directory["include"], text, ext_vars=ext_vars,
                                                  import_callback=import_callback))


def yaml_objects(env: str) -> list[dict]:
    return [yaml.safe_load(p.read_text()) for p in sorted((REPO / "rendered" / env / "apps").glob("*.yaml"))]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_root_applies_every_file_of_apps_once_with_git_sources_pinned_to_its_revision(env):
    applied = evaluate_root(env)
    expected = yaml_objects(env)
    key = lambda o: (o["kind"], o["metadata"]["name"])  # noqa: E731
    assert sorted(map(key, applied)) == sorted(map(key, expected)), "every apps/ file, each exactly once"
    repo = yaml.safe_load((REPO / "rendered" / env / "bootstrap" / "root-app.yaml").read_text())["spec"]["source"]["repoURL"]
    by_key = {key(o): o for o in expected}
    pinned = 0
    for obj in applied:
        original = by_key[key(obj)]
        if obj["kind"] != "Application":
            assert obj == original
            continue
        sources = obj["spec"].get("sources") or [obj["spec"]["source"]]
        originals = original["spec"].get("sources") or [original["spec"]["source"]]
        for source, before in zip(sources, originals, strict=True):
            if source["repoURL"] == repo:
                assert source["targetRevision"] == REVISION
                pinned += 1
            else:  # a chart: its exact version, untouched
                assert source == before and source["targetRevision"] == before["targetRevision"]
            assert {k: v for k, v in source.items() if k != "targetRevision"} == \
                   {k: v for k, v in before.items() if k != "targetRevision"}
        rest = lambda o: {**o, "spec": {k: v for k, v in o["spec"].items() if k not in ("source", "sources")}}  # noqa: E731
        assert rest(obj) == rest(original)
    assert pinned >= len([o for o in expected if o["kind"] == "Application"])


def test_a_new_commit_changes_every_childs_revision_and_nothing_else():
    before, after = evaluate_root("prod", "a" * 40), evaluate_root("prod", "b" * 40)
    changed = [o["metadata"]["name"] for o, p in zip(before, after, strict=True) if o != p]
    assert changed == [o["metadata"]["name"] for o in before if o["kind"] == "Application"]
    assert json.dumps(after).count("a" * 40) == 0


# -- the verification Job checks that the running LiteLLM is the rendered release ------------------------

@pytest.fixture
def litellm_pods():
    """A loopback stand-in for LiteLLM's Service: /health/readiness answers like LiteLLM does
    (litellm/proxy/health_endpoints/_health_endpoints.py), each request from the next "pod" in turn."""
    import itertools

    from loopback import serve

    pods: list[str] = []
    turn = itertools.count()

    def answer(path: str) -> tuple[int, bytes]:
        return 200, json.dumps({"status": "healthy", "db": "connected", "cache": None,
                                "litellm_version": pods[next(turn) % len(pods)], "success_callbacks": []}).encode()

    with serve(answer) as url:
        yield f"{url}/health/readiness", pods


def run_version_check(url: str, want: str):
    """The rendered Job's own script (its check_version function), run by a POSIX sh with the real curl."""
    import shutil
    import subprocess

    from generator.components import verification
    from generator.environment import load_environment

    assert shutil.which("curl"), "curl is needed to run the verification script"
    script = verification.SCRIPT + f'check_version "{url}" "{want}"\n'
    env = {"PATH": "/usr/bin:/bin", "ATTEMPTS": "2", "DELAY_SECONDS": "0", "CURL_TIMEOUT_SECONDS": "5", "SAMPLES": "4"}
    assert verification.samples(load_environment(REPO / "environments", "prod")) == 8
    return subprocess.run(["/bin/sh", "-c", script], env=env, capture_output=True, text=True, timeout=60)


def test_the_version_check_passes_only_when_every_pod_runs_the_rendered_release(litellm_pods):
    url, pods = litellm_pods
    pods[:] = ["1.83.10", "1.83.10"]
    done = run_version_check(url, "1.83.10")
    assert done.returncode == 0 and "ok: LiteLLM runs the rendered release 1.83.10 (4 of 4 answers)" in done.stdout
    pods[:] = ["1.83.10", "1.82.6"]  # a rollout half way: one old pod left
    done = run_version_check(url, "1.83.10")
    assert done.returncode == 1
    assert "FAILED: LiteLLM does not run the rendered release 1.83.10 (last answer: 1.82.6)" in done.stderr


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_rendered_job_checks_the_release_the_environment_pins(env):
    from generator.components import litellm
    from generator.environment import load_environment

    config = yaml.safe_load((REPO / "rendered" / env / "manifests" / "verification" / "configmap-verify-stack.yaml").read_text())
    release = litellm.release(load_environment(REPO / "environments", env))
    assert release == "1.83.10" and config["data"]["litellm-release"] == release
    assert config["data"]["verify.sh"].rstrip().splitlines()[-2] == \
        f'check_version "http://litellm.litellm.svc.cluster.local:4000/health/readiness" "{release}"'


# -- the root waits for each child at the revision it pinned: tests/test_argocd_health.py ------------


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_argo_cd_evaluates_no_jsonnet_but_the_roots_pin(env):
    """A directory source evaluates every *.jsonnet in its folder unless `include` says otherwise."""
    for obj in evaluate_root(env):
        if obj["kind"] != "Application":
            continue
        for source in obj["spec"].get("sources") or [obj["spec"]["source"]]:
            if "path" in source:
                assert source["directory"]["include"] == "*.yaml", obj["metadata"]["name"]
    root = yaml.safe_load((REPO / "rendered" / env / "bootstrap" / "root-app.yaml").read_text())
    assert root["spec"]["source"]["directory"]["include"] == "pin-revision.jsonnet"
    jsonnet = sorted(p.relative_to(REPO / "rendered" / env).as_posix() for p in (REPO / "rendered" / env).rglob("*.jsonnet"))
    assert jsonnet == ["apps/pin-revision.jsonnet"]
