"""The smaller day-2 findings of issue 12, each read from what Argo CD applies (the applied state: the real `helm
template` over the pinned charts, tests/applied_objects.py) or from the rendered manifests."""

from __future__ import annotations

import pytest
import yaml

import applied_objects
from conftest import REPO

ENVIRONMENTS = ("dev", "prod")


def rendered(env: str, path: str) -> dict:
    return yaml.safe_load((REPO / "rendered" / env / path).read_text())


def by_kind(objects: list[dict], kind: str) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in objects if o.get("kind") == kind}


# -- External Secrets' ServiceMonitors exist on the first install ----------------------------------

@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_external_secrets_monitors_sync_after_the_monitor_crd_and_select_the_charts_services(env):
    """The chart syncs in wave 7, the ServiceMonitor CRD in wave 9: the chart renders no monitor (it
    would be skipped on a first install), wave 10 holds them, and each selects a Service of the chart
    with a `metrics` port in the chart's namespace."""
    chart = applied_objects.objects(env, "external-secrets")
    assert not by_kind(chart, "ServiceMonitor")
    services = [s for s in chart if s.get("kind") == "Service"]
    folder = REPO / "rendered" / env / "manifests" / "grafana-dashboards"
    monitors = [yaml.safe_load(p.read_text()) for p in sorted(folder.glob("servicemonitor-external-secrets*.yaml"))]
    assert len(monitors) == 3
    for monitor in monitors:
        assert monitor["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] == "10"
        assert monitor["metadata"]["namespace"] == "external-secrets"
        assert monitor["spec"]["namespaceSelector"]["matchNames"] == ["external-secrets"]
        wanted = monitor["spec"]["selector"]["matchLabels"]
        [port] = {e["port"] for e in monitor["spec"]["endpoints"]}
        selected = [s for s in services if wanted.items() <= s["metadata"]["labels"].items()]
        assert selected, f"{monitor['metadata']['name']} selects no Service of the chart"
        assert all(port in {p["name"] for p in s["spec"]["ports"]} for s in selected), monitor["metadata"]["name"]


# -- dev's Redis fits on fewer nodes than replicas ----------------------------------------------------

def _anti_affinity(statefulset: dict) -> dict:
    return statefulset["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]


def test_dev_redis_prefers_separate_nodes_and_prod_requires_them():
    dev = by_kind(applied_objects.objects("dev", "redis-ha"), "StatefulSet")
    prod = by_kind(applied_objects.objects("prod", "redis-ha"), "StatefulSet")
    [dev_redis] = [s for name, s in dev.items() if name.endswith("server")]
    [prod_redis] = [s for name, s in prod.items() if name.endswith("server")]
    assert dev_redis["spec"]["replicas"] == 3
    assert set(_anti_affinity(dev_redis)) == {"preferredDuringSchedulingIgnoredDuringExecution"}
    assert set(_anti_affinity(prod_redis)) == {"requiredDuringSchedulingIgnoredDuringExecution"}
    for name, deployment in by_kind(applied_objects.objects("dev", "redis-ha"), "Deployment").items():
        affinity = deployment["spec"]["template"]["spec"].get("affinity", {}).get("podAntiAffinity", {})
        assert "requiredDuringSchedulingIgnoredDuringExecution" not in affinity, name


# -- only the migration Job migrates, and without the Bedrock role ------------------------------------

def _container_env(container: dict) -> dict[str, str]:
    """A container's environment as the kubelet builds it: the last entry of a name wins."""
    env = {}
    for entry in container.get("env") or []:
        env[entry["name"]] = entry.get("value", "(from a reference)")
    return env


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_only_the_presync_job_migrates_the_database(env):
    objects = applied_objects.objects(env, "litellm")
    [deployment] = by_kind(objects, "Deployment").values()
    [job] = by_kind(objects, "Job").values()
    assert job["metadata"]["annotations"]["argocd.argoproj.io/hook"] == "PreSync"
    for container in deployment["spec"]["template"]["spec"]["containers"]:
        # LiteLLM's prisma_migration.py skips on exactly "True"; prisma_client's str_to_bool accepts it too.
        assert _container_env(container)["DISABLE_SCHEMA_UPDATE"] == "True", container["name"]
    [migrate] = job["spec"]["template"]["spec"]["containers"]
    assert _container_env(migrate)["DISABLE_SCHEMA_UPDATE"] == "false"
    assert "DATABASE_URL" in _container_env(migrate)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_migration_job_gets_no_bedrock_role(env):
    objects = applied_objects.objects(env, "litellm")
    [job] = by_kind(objects, "Job").values()
    pod = job["spec"]["template"]
    skipped = set(pod["metadata"]["annotations"]["eks.amazonaws.com/skip-containers"].split(","))
    assert {c["name"] for c in pod["spec"]["containers"]} <= skipped
    [deployment] = by_kind(objects, "Deployment").values()
    assert "eks.amazonaws.com/skip-containers" not in (
        deployment["spec"]["template"]["metadata"].get("annotations") or {})
    account = rendered(env, "manifests/secret-store/serviceaccount-litellm.yaml")
    assert account["metadata"]["name"] == pod["spec"]["serviceAccountName"]
    assert account["automountServiceAccountToken"] is False


# -- the bastion README points at what works -----------------------------------------------------------

def test_the_bastion_readme_does_not_suggest_helm_list():
    text = (REPO / "rendered" / "prod" / "cloudformation" / "README.md").read_text()
    commands = [line for block in text.split("```")[1::2] for line in block.splitlines()]
    assert not any(line.strip().startswith("helm") or "; helm" in line for line in commands)
    assert "kubectl -n litellm rollout status deploy/litellm" in commands
    assert "AmazonEKSViewPolicy" in text and "helm template" in text


# -- secrets rotate end to end: Open WebUI uses the value in its environment ------------------------


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_open_webui_takes_its_settings_from_the_environment_not_its_database(env):
    [workload] = by_kind(applied_objects.objects(env, "open-webui"), "StatefulSet").values()
    [container] = [c for c in workload["spec"]["template"]["spec"]["containers"] if c["name"] == "open-webui"]
    assert _container_env(container)["ENABLE_PERSISTENT_CONFIG"] == "False"


