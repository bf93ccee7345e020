"""Restarts on rotation (issue 20): Reloader 2.2.16 syncs before the ExternalSecrets, and every
workload that reads an ExternalSecret-owned Secret, except Redis, is annotated to roll when that
Secret changes. Asserted on what Argo CD applies (the real `helm template` of the pinned charts,
tests/applied_objects.py) and on the rendered Applications."""

from __future__ import annotations

import dataclasses

import pytest
import yaml

import applied_objects
from conftest import REPO
from generator.argocd import app_path
from generator.components import reloader
from generator.environment import deep_merge, load_environment
from generator.phases import BY_NAME
from generator.render import render_environment

ENVIRONMENTS = ("dev", "prod")
# (component, kind, name) of every workload that must roll when a Secret it reads is rewritten.
RELOADED = (("litellm", "Deployment", "litellm"),
            ("open-webui", "StatefulSet", "open-webui"),
            ("kube-prometheus-stack", "Deployment", "kube-prometheus-stack-grafana"))


def _workload(env: str, component: str, kind: str, name: str) -> dict:
    [found] = [o for o in applied_objects.objects(env, component)
               if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


def _secrets_read(workload: dict) -> set[str]:
    """Every Secret the pod template reads: env, envFrom and volumes (projected included)."""
    spec = workload["spec"]["template"]["spec"]
    found: set[str] = set()
    for container in spec.get("containers", []) + spec.get("initContainers", []):
        for var in container.get("env") or []:
            if ref := (var.get("valueFrom") or {}).get("secretKeyRef"):
                found.add(ref["name"])
        for source in container.get("envFrom") or []:
            if ref := source.get("secretRef"):
                found.add(ref["name"])
    for volume in spec.get("volumes") or []:
        if volume.get("secret"):
            found.add(volume["secret"]["secretName"])
        for source in (volume.get("projected") or {}).get("sources", []):
            if source.get("secret"):
                found.add(source["secret"]["name"])
    return found


def _external_secret_targets(env: str) -> set[str]:
    """Secrets (namespace/name) that an ExternalSecret writes, i.e. those a rotation rewrites."""
    return {f"{o['metadata']['namespace']}/{o['spec'].get('target', {}).get('name', o['metadata']['name'])}"
            for o in applied_objects.objects(env, "secret-store") if o["kind"] == "ExternalSecret"}


def _application(env: str, component: str) -> dict:
    return yaml.safe_load((REPO / "rendered" / env / app_path(component)).read_text())


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_reloader_syncs_before_the_external_secrets_from_the_pinned_chart(env):
    app = _application(env, "reloader")
    secret_store = _application(env, "secret-store")
    wave = int(app["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"])
    assert wave == 7 < int(secret_store["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"])
    [chart] = [s for s in app["spec"]["sources"] if s.get("chart")]
    assert (chart["repoURL"], chart["chart"], chart["targetRevision"]) == (
        "https://stakater.github.io/stakater-charts", "reloader", "2.2.16")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_reloader_watches_secrets_in_the_stacks_namespaces_only_with_the_annotation_strategy(env):
    objects = applied_objects.objects(env, "reloader")
    [deployment] = [o for o in objects if o["kind"] == "Deployment"]
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    args = set(container["args"])
    # Argo CD's self-heal would revert the env-vars strategy's injected variable.
    assert "--reload-strategy=annotations" in args
    assert "--namespaces=external-secrets,litellm,monitoring,open-webui" in args
    assert "--resources-to-ignore=configmaps" in args
    assert "--ignored-workload-types=jobs,cronjobs" in args
    assert not any(a.startswith("--auto-reload-all") for a in args)
    # Namespaced Roles, no cluster-wide rights.
    assert not [o for o in objects if o["kind"] in ("ClusterRole", "ClusterRoleBinding")]
    roles = {o["metadata"]["namespace"] for o in objects if o["kind"] == "Role"}
    assert roles == {"external-secrets", "litellm", "monitoring", "open-webui"}


@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize(("component", "kind", "name"), RELOADED)
def test_workloads_roll_when_a_secret_they_read_is_rewritten(env, component, kind, name):
    """The annotation lists exactly the rotatable Secrets the pod reads, and its Application ignores
    the one pod-template annotation Reloader writes, so self-heal does not undo a restart."""
    workload = _workload(env, component, kind, name)
    # a chart that leaves the namespace out deploys into its Application's destination
    namespace = workload["metadata"].get("namespace") or BY_NAME[component].namespace
    read = _secrets_read(workload)
    rotated = {s for s in read if f"{namespace}/{s}" in _external_secret_targets(env)}
    assert rotated, f"{name} reads no ExternalSecret-owned Secret"
    listed = workload["metadata"]["annotations"][reloader.RELOAD_ANNOTATION].split(",")
    assert sorted(listed) == sorted(rotated)
    ignored = _application(env, component)["spec"]["ignoreDifferences"]
    assert {"group": "apps", "kind": kind,
            "jqPathExpressions": ['.spec.template.metadata.annotations."reloader.stakater.com/last-reloaded-from"']
            } in ignored
    assert "RespectIgnoreDifferences=true" in _application(env, component)["spec"]["syncPolicy"]["syncOptions"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_redis_is_never_restarted_by_reloader(env):
    """Redis and Sentinel read the password once: rolling them on a password change splits
    replication. They read litellm-secrets, yet carry no Reloader annotation."""
    objects = applied_objects.objects(env, "redis-ha")
    workloads = [o for o in objects if o["kind"] in ("StatefulSet", "Deployment")]
    assert any("litellm-secrets" in _secrets_read(w) for w in workloads)
    for workload in workloads:
        annotations = workload["metadata"].get("annotations") or {}
        assert not [k for k in annotations if "reloader.stakater.com" in k], workload["metadata"]["name"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_migration_job_reads_the_current_secret_on_every_sync(env):
    """Reloader leaves Jobs alone; the migration Job is recreated (BeforeHookCreation) by every
    sync, so it reads DATABASE_URL as the Secret holds it then."""
    [job] = [o for o in applied_objects.objects(env, "litellm") if o["kind"] == "Job"]
    annotations = job["metadata"]["annotations"]
    assert annotations["argocd.argoproj.io/hook"] == "PreSync"
    assert annotations["argocd.argoproj.io/hook-delete-policy"] == "BeforeHookCreation"
    assert "litellm-secrets" in _secrets_read(job)


def test_without_reloader_nothing_is_annotated_or_ignored():
    env = load_environment(REPO / "environments", "dev")
    env = dataclasses.replace(env, config=deep_merge(env.config, {"components": {"reloader": {"state": "disabled"}}}))
    files = render_environment(env).files
    assert not [f for f in files if "reloader" in f]
    for component in ("litellm", "open-webui", "kube-prometheus-stack"):
        assert reloader.RELOAD_ANNOTATION not in files[f"values/{component}.yaml"], component
    for path, text in files.items():
        if path.startswith("apps/"):
            assert reloader.LAST_RELOADED not in text, path
