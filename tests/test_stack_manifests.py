"""Phases 10 and 15 and the stack's shape: Grafana dashboards are valid and query LiteLLM's real
metric names, the verification Application runs a locked-down PostSync hook Job that checks the
right endpoints, both environments render every phase, and the README wave tables list them all."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest
import yaml

from conftest import REPO
from generator.components import grafana_dashboards, verification
from generator.environment import deep_merge, load_environment
from generator.errors import InputError
from generator.phases import PHASES
from generator.render import render_environment

# Series LiteLLM's prometheus callback exports (counters get _total, histograms _bucket).
LITELLM_SERIES = {
    "litellm_proxy_total_requests_metric_total", "litellm_proxy_failed_requests_metric_total",
    "litellm_request_total_latency_metric_bucket", "litellm_llm_api_latency_metric_bucket",
    "litellm_spend_metric_total", "litellm_total_tokens_metric_total",
    "litellm_input_tokens_metric_total", "litellm_output_tokens_metric_total",
}


def env(name: str, **overrides):
    base = load_environment(REPO / "environments", name)
    return dataclasses.replace(base, config=deep_merge(base.config, overrides)) if overrides else base


def rendered(name: str) -> dict[str, str]:
    return render_environment(env(name)).files


def dashboards() -> dict[str, dict]:
    return {name: json.loads(text) for name, text in grafana_dashboards.dashboard_files()}


def test_there_is_a_litellm_and_a_redis_dashboard():
    assert {"litellm", "litellm-metrics", "redis"} <= set(dashboards())


@pytest.mark.parametrize("name", ["litellm", "litellm-metrics", "redis"])
def test_each_dashboard_is_one_grafana_accepts(name):
    dashboard = dashboards()[name]
    assert dashboard["uid"] and dashboard["title"] and isinstance(dashboard["schemaVersion"], int)
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in dashboard["panels"]:
        assert panel["datasource"] == {"type": "prometheus", "uid": "prometheus"}
        assert {"h", "w", "x", "y"} <= set(panel["gridPos"])
        for target in panel["targets"]:
            assert target["refId"] and target["expr"]
            assert target["expr"].count("(") == target["expr"].count(")"), target["expr"]


def test_the_licensed_litellm_dashboard_covers_rate_latency_errors_spend_and_tokens():
    exprs = " ".join(t["expr"] for p in dashboards()["litellm-metrics"]["panels"] for t in p["targets"])
    used = set(re.findall(r"\blitellm_[a-z_]+", exprs))
    assert used <= LITELLM_SERIES, f"not a LiteLLM series: {used - LITELLM_SERIES}"
    for series in ("litellm_proxy_total_requests_metric_total", "litellm_proxy_failed_requests_metric_total",
                   "litellm_request_total_latency_metric_bucket", "litellm_spend_metric_total",
                   "litellm_total_tokens_metric_total"):
        assert series in used


def test_dashboards_render_as_configmaps_for_the_grafana_sidecar():
    files = rendered("dev")
    maps = [obj for obj in (yaml.safe_load(text) for path, text in files.items()
                            if path.startswith("manifests/grafana-dashboards/")) if obj["kind"] == "ConfigMap"]
    # No licence in dev: the dashboard on LiteLLM's Enterprise metrics would stay empty, so it is left out.
    assert {m["metadata"]["name"] for m in maps} == {"grafana-dashboard-litellm", "grafana-dashboard-redis"}
    for config_map in maps:
        assert config_map["metadata"]["namespace"] == "monitoring"
        assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
        (text,) = config_map["data"].values()
        assert json.loads(text)["uid"] == config_map["metadata"]["annotations"]["litellm-gitops/dashboard-uid"]


def test_a_broken_dashboard_is_refused():
    with pytest.raises(InputError, match="not valid JSON"):
        grafana_dashboards.check_dashboard("broken", "{")
    with pytest.raises(InputError, match="uid"):
        grafana_dashboards.check_dashboard("partial", json.dumps({"title": "x", "schemaVersion": 39, "panels": []}))
    with pytest.raises(InputError, match="datasource"):
        grafana_dashboards.check_dashboard("nodatasource", json.dumps(
            {"uid": "u", "title": "x", "schemaVersion": 39, "panels": [{"id": 1, "title": "p", "targets": [{"expr": "up"}]}]}))


def verification_objects(name: str) -> dict[str, dict]:
    """The verification Application's objects by kind."""
    files = rendered(name)
    return {obj["kind"]: obj for obj in (yaml.safe_load(text) for path, text in files.items()
                                         if path.startswith("manifests/verification/"))}


def test_verification_is_a_post_sync_hook_job_that_fails_loudly():
    objects = verification_objects("prod")
    job = objects["Job"]
    annotations = job["metadata"]["annotations"]
    assert annotations["argocd.argoproj.io/hook"] == "PostSync"
    assert annotations["argocd.argoproj.io/hook-delete-policy"] == "BeforeHookCreation,HookSucceeded"
    spec = job["spec"]
    assert spec["backoffLimit"] >= 0 and spec["activeDeadlineSeconds"] > 0
    pod = spec["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    (container,) = pod["containers"]
    assert re.fullmatch(r"[\w./-]+:\d+\.\d+\.\d+", container["image"]), "image pinned to an exact tag"
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["resources"]["limits"]["memory"]
    script = objects["ConfigMap"]["data"]["verify.sh"]
    assert "set -eu" in script and "exit 1" in script and "--fail" in script


def test_verification_checks_litellm_and_open_webui_only_when_enabled():
    urls = dict(verification.checks(env("prod")))
    assert urls["LiteLLM liveliness"] == "http://litellm.litellm.svc.cluster.local:4000/health/liveliness"
    assert urls["LiteLLM readiness"] == "http://litellm.litellm.svc.cluster.local:4000/health/readiness"
    assert urls["Open WebUI health"] == "http://open-webui.open-webui.svc.cluster.local:80/health"
    without = dict(verification.checks(env("prod", components={"open-webui": {"state": "disabled"}})))
    assert "Open WebUI health" not in without
    script = verification.script(env("prod", components={"open-webui": {"state": "disabled"}}))
    assert "open-webui" not in script


def test_verification_reruns_when_a_checked_version_changes():
    before = verification.config_map(env("prod"))
    after = verification.config_map(env("prod", components={"litellm": {"imageTag": "main-v1.83.14-stable"}}))
    assert before["data"] != after["data"]


def test_verification_reruns_when_litellm_or_open_webui_values_change():
    before = verification.config_map(env("prod"))["data"]
    model = {"name": "nova-pro", "model": "eu.amazon.nova-pro-v1:0"}
    models = env("prod").component("litellm")["models"] + [model]
    added = verification.config_map(env("prod", components={"litellm": {"models": models}}))["data"]
    assert added["litellm-values-sha256"] != before["litellm-values-sha256"]
    # Open WebUI's values carry the models its own key may call (components/openwebui_key.py)
    assert added["open-webui-values-sha256"] != before["open-webui-values-sha256"]
    bigger = verification.config_map(env("prod", components={"open-webui": {"storageSize": "20Gi"}}))["data"]
    assert bigger["open-webui-values-sha256"] != before["open-webui-values-sha256"]


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_every_argocd_phase_renders_an_application_with_its_wave(name):
    files = rendered(name)
    waves = {int(yaml.safe_load(text)["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"])
             for path, text in files.items()
             if path.startswith("apps/") and path.endswith(".yaml") and yaml.safe_load(text)["kind"] == "Application"}
    assert set(range(6, 16)) <= waves


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_the_readme_wave_table_shows_every_phase(name):
    readme = rendered(name)["README.md"]
    rows = re.findall(r"^\| (\d+) \|", readme, flags=re.MULTILINE)
    assert {int(r) for r in rows} >= {p.number for p in PHASES}


def test_a_minimal_stack_renders_without_the_optional_components():
    """Observability and the front end off: no dashboards, no Grafana or Jaeger secrets, no checks
    for Open WebUI, and LiteLLM without metrics or tracing still renders."""
    minimal = env("dev", components={name: {"state": "disabled"} for name in
                                     ("kube-prometheus-stack", "grafana-dashboards", "jaeger", "open-webui")})
    files = render_environment(minimal).files
    assert not any(path.startswith("manifests/grafana-dashboards/") for path in files)
    assert "manifests/secret-store/externalsecret-grafana-admin.yaml" not in files
    assert "manifests/secret-store/externalsecret-openwebui-secrets.yaml" not in files
    assert "values/jaeger.yaml" not in files and "values/open-webui.yaml" not in files
    litellm_values = yaml.safe_load(files["values/litellm.yaml"])
    assert litellm_values["serviceMonitor"]["enabled"] is False
    assert "Open WebUI" not in yaml.safe_load(files["manifests/verification/configmap-verify-stack.yaml"])["data"]["verify.sh"]


def test_alerts_watch_litellm_and_redis_with_real_series():
    rule = yaml.safe_load(rendered("prod")["manifests/grafana-dashboards/prometheusrule-litellm-stack.yaml"])
    assert rule["metadata"]["namespace"] == "monitoring"
    alerts = {r["alert"]: r for group in rule["spec"]["groups"] for r in group["rules"]}
    # No licence in prod: LiteLLM's availability from kube-state-metrics, no LiteLLM metric at all.
    assert {"LiteLLMDown", "LiteLLMDegraded", "LiteLLMRestarting", "RedisDown", "RedisNoSingleMaster",
            "RedisReplicasMissing"} <= set(alerts)
    assert not [a for a in alerts.values() if "litellm_" in a["expr"]]
    assert "kube_deployment_status_replicas_available" in alerts["LiteLLMDown"]["expr"]
    assert alerts["RedisReplicasMissing"]["expr"].endswith("< 2"), "prod runs 3 Redis servers"
    for alert in alerts.values():
        assert set(re.findall(r"\blitellm_[a-z_]+", alert["expr"])) <= LITELLM_SERIES
        assert alert["labels"]["severity"] in ("warning", "critical")


def test_with_a_licence_the_metric_alerts_join_the_availability_alerts():
    licensed = env("prod", secrets={"names": {"license": "litellm/license"}})
    rule = yaml.safe_load(render_environment(licensed).files["manifests/grafana-dashboards/prometheusrule-litellm-stack.yaml"])
    groups = {g["name"]: {r["alert"]: r for r in g["rules"]} for g in rule["spec"]["groups"]}
    assert set(groups["litellm"]) == {"LiteLLMDown", "LiteLLMDegraded", "LiteLLMRestarting"}
    assert set(groups["litellm-metrics"]) == {"LiteLLMNotScraped", "LiteLLMMetricsHighErrorRatio",
                                              "LiteLLMMetricsSlowRequests"}
    assert set(groups["litellm-traces"]) == {"LiteLLMSpanMetricsMissing", "LiteLLMHighErrorRatio", "LiteLLMSlowRequests"}
    for alert in groups["litellm-metrics"].values():
        assert set(re.findall(r"\blitellm_[a-z_]+", alert["expr"])) <= LITELLM_SERIES
    dashboards = [path for path in render_environment(licensed).files if "configmap-dashboard-" in path]
    assert "manifests/grafana-dashboards/configmap-dashboard-litellm-metrics.yaml" in dashboards


def test_no_replica_alert_for_a_single_redis():
    rule = grafana_dashboards.prometheus_rule(env("dev", components={"redis-ha": {"replicas": 1}}))
    alerts = {r["alert"] for group in rule["spec"]["groups"] for r in group["rules"]}
    assert "RedisReplicasMissing" not in alerts and "RedisDown" in alerts
