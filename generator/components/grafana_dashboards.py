"""Phase 10, Grafana dashboards: one ConfigMap per JSON file in generator/data/dashboards/, in
namespace monitoring, labelled so kube-prometheus-stack's Grafana sidecar loads it; beside them
a PrometheusRule with the alerts the dashboards are about (LiteLLM down, failing or slow; Redis
down, without a master or short of replicas), which Prometheus picks up from any namespace; and the
ServiceMonitors of External Secrets, whose chart syncs in wave 7, before the Prometheus operator's
CRDs exist (wave 9), and of Jaeger's span metrics: rendered here, they are applied on the first
install too.

LiteLLM is watched without an Enterprise licence: availability from kube-state-metrics, request
rate, error ratio and latency from the span metrics Jaeger derives from LiteLLM's OpenTelemetry
traces (components/jaeger.py). Each request to the proxy is one SERVER span, "Received Proxy
Server Request", whose status is ERROR when the answer is 4xx or 5xx (BerriAI/litellm
litellm/integrations/opentelemetry.py, create_litellm_proxy_request_started_span). The dashboard
`litellm-metrics` and the alerts on LiteLLM's own metrics need the licence (REQUIRES).

The dashboards are data files, not Python: edit the JSON (export it from Grafana) and render.
Each must be a dashboard Grafana accepts: a uid, a title, a schemaVersion and panels whose queries
name a data source; render refuses one that is not.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from generator.argocd import manifest_application
from generator.artifacts import Artifact
from generator.components import external_secrets, jaeger, litellm
from generator.components.kube_prometheus_stack import DASHBOARD_LABEL, DASHBOARD_LABEL_VALUE
from generator.environment import Environment
from generator.errors import InputError

COMPONENT = "grafana-dashboards"
NAMESPACE = "monitoring"
DASHBOARD_FOLDER = ("data", "dashboards")
LITELLM = 'namespace="litellm"'
ERROR_RATIO_THRESHOLD = 0.05
MIN_REQUESTS = 20  # in the 5 minutes the error ratio is taken over: a single failure is no trend
P95_LATENCY_SECONDS = 30
# The span metrics' series (the connector's namespace traces.span.metrics, unit ms, normalized by
# the Prometheus exporter: what Jaeger's reader.go queries) and LiteLLM's request spans.
SPAN_CALLS = "traces_span_metrics_calls_total"
SPAN_DURATION = "traces_span_metrics_duration_milliseconds_bucket"
LITELLM_SPANS = f'service_name="{litellm.OTEL_SERVICE_NAME}", span_kind="SPAN_KIND_SERVER"'
SPAN_METRICS_UP = 'up{namespace="monitoring", service="jaeger", endpoint="span-metrics"}'
# When a dashboard file is rendered; a dashboard not named here always is.
REQUIRES = {"litellm-metrics": litellm.metrics}


def dashboard_files() -> list[tuple[str, str]]:
    """(stem, JSON text) of every packaged dashboard, sorted by file name."""
    folder = resources.files("generator").joinpath(*DASHBOARD_FOLDER)
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".json")), key=lambda f: f.name)
    return [(f.name.removesuffix(".json"), f.read_text(encoding="utf-8")) for f in files]


def check_dashboard(name: str, text: str) -> dict[str, Any]:
    """The parsed dashboard, or an InputError naming what Grafana would reject."""
    where = f"generator/{'/'.join(DASHBOARD_FOLDER)}/{name}.json"
    try:
        dashboard = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"dashboard is not valid JSON: {exc.msg}", file=where, line=exc.lineno, column=exc.colno,
                         hint="export the dashboard from Grafana again (Share > Export > Save to file)") from None
    problems = [key for key in ("uid", "title", "schemaVersion", "panels") if key not in dashboard]
    for panel in dashboard.get("panels", []):
        if "datasource" not in panel or not panel.get("targets"):
            problems.append(f"panel {panel.get('title', panel.get('id'))!r} needs a datasource and targets")
    if problems:
        raise InputError(f"dashboard is incomplete: {', '.join(map(str, problems))}", file=where,
                         hint="a Grafana dashboard needs uid, title, schemaVersion, and panels with a datasource "
                              "and targets")
    return dashboard


def config_map(name: str, text: str) -> dict[str, Any]:
    dashboard = check_dashboard(name, text)
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": f"grafana-dashboard-{name}",
            "namespace": NAMESPACE,
            "labels": {DASHBOARD_LABEL: DASHBOARD_LABEL_VALUE},
            "annotations": {"litellm-gitops/dashboard-uid": dashboard["uid"]},
        },
        "data": {f"{name}.json": text},
    }


def _alert(name: str, expr: str, duration: str, severity: str, summary: str) -> dict[str, Any]:
    return {"alert": name, "expr": expr, "for": duration, "labels": {"severity": severity},
            "annotations": {"summary": summary}}


def litellm_availability_alerts() -> list[dict[str, Any]]:
    """From kube-state-metrics (part of kube-prometheus-stack): they need no LiteLLM metrics, so they
    hold on the open-source proxy. Ready replicas come from the readiness probe on /health/readiness."""
    deployment = f'{LITELLM}, deployment="litellm"'
    return [
        _alert("LiteLLMDown", f"(kube_deployment_status_replicas_available{{{deployment}}} or vector(0)) < 1", "5m",
               "critical", "No LiteLLM proxy pod is available (ready)"),
        _alert("LiteLLMDegraded", f"kube_deployment_status_replicas_available{{{deployment}}} < "
               f"kube_deployment_spec_replicas{{{deployment}}}", "15m", "warning",
               "Fewer LiteLLM proxy pods are ready than the Deployment wants"),
        _alert("LiteLLMRestarting",
               f'increase(kube_pod_container_status_restarts_total{{{LITELLM}, container="litellm"}}[30m]) > 2',
               "0m", "warning", "A LiteLLM container restarted more than twice in 30 minutes"),
    ]


def litellm_trace_alerts() -> list[dict[str, Any]]:
    """From Jaeger's span metrics of LiteLLM's request spans: no licence needed."""
    total = f"sum(rate({SPAN_CALLS}{{{LITELLM_SPANS}}}[5m]))"
    failed = f'sum(rate({SPAN_CALLS}{{{LITELLM_SPANS}, status_code="STATUS_CODE_ERROR"}}[5m]))'
    p95 = f"histogram_quantile(0.95, sum by (le) (rate({SPAN_DURATION}{{{LITELLM_SPANS}}}[5m])))"
    return [
        _alert("LiteLLMSpanMetricsMissing", f"absent({SPAN_METRICS_UP} == 1)", "10m", "warning",
               "Jaeger's span metrics are not scraped: LiteLLM's error-ratio and latency alerts see nothing"),
        _alert("LiteLLMHighErrorRatio",
               f"({failed} / clamp_min({total}, 1e-9) > {ERROR_RATIO_THRESHOLD}) and ({total} * 300 >= {MIN_REQUESTS})",
               "10m", "warning", f"More than {ERROR_RATIO_THRESHOLD:.0%} of LiteLLM requests fail (4xx or 5xx)"),
        _alert("LiteLLMSlowRequests", f"{p95} > {P95_LATENCY_SECONDS * 1000}", "15m", "warning",
               f"95th percentile LiteLLM request latency above {P95_LATENCY_SECONDS}s"),
    ]


def litellm_alerts() -> list[dict[str, Any]]:
    """From LiteLLM's own Prometheus metrics: rendered only with a licence (litellm.metrics)."""
    total = f"sum(rate(litellm_proxy_total_requests_metric_total{{{LITELLM}}}[5m]))"
    failed = f"sum(rate(litellm_proxy_failed_requests_metric_total{{{LITELLM}}}[5m]))"
    p95 = f"histogram_quantile(0.95, sum by (le) (rate(litellm_request_total_latency_metric_bucket{{{LITELLM}}}[5m])))"
    return [
        _alert("LiteLLMNotScraped", f'absent(up{{{LITELLM}, service="litellm"}} == 1)', "5m", "warning",
               "No LiteLLM proxy pod is being scraped successfully"),
        _alert("LiteLLMMetricsHighErrorRatio", f"{failed} / clamp_min({total}, 1e-9) > {ERROR_RATIO_THRESHOLD}",
               "10m", "warning", f"More than {ERROR_RATIO_THRESHOLD:.0%} of LiteLLM requests fail (LiteLLM's metrics)"),
        _alert("LiteLLMMetricsSlowRequests", f"{p95} > {P95_LATENCY_SECONDS}", "15m", "warning",
               f"95th percentile LiteLLM request latency above {P95_LATENCY_SECONDS}s (LiteLLM's metrics)"),
    ]


def redis_alerts(replicas: int) -> list[dict[str, Any]]:
    alerts = [
        _alert("RedisDown", f"redis_up{{{LITELLM}}} == 0", "2m", "critical", "A Redis server of redis-ha is down"),
        _alert("RedisNoSingleMaster", f'(count(redis_instance_info{{{LITELLM}, role="master"}}) or vector(0)) != 1',
               "2m", "critical", "redis-ha does not have exactly one master"),
    ]
    if replicas > 1:
        alerts.append(_alert("RedisReplicasMissing", f"max(redis_connected_slaves{{{LITELLM}}}) < {replicas - 1}",
                             "10m", "warning", f"The Redis master has fewer than {replicas - 1} replicas attached"))
    return alerts


def blind_spots(env: Environment) -> list[str]:
    """What the rendered alerts cannot see, for `render` to warn about: LiteLLM's error ratio and
    latency come from Jaeger's span metrics or, with a licence, from LiteLLM's own metrics."""
    if (env.enabled("litellm") and env.enabled(COMPONENT) and not jaeger.span_metrics(env)
            and not litellm.metrics(env)):
        return ["LiteLLM's error ratio and latency are not watched: neither Jaeger (its span metrics of LiteLLM's "
                "traces) nor a licence (LiteLLM's own metrics) is there, so only its availability alerts are rendered"]
    return []


def prometheus_rule(env: Environment) -> dict[str, Any]:
    groups = []
    if env.enabled("litellm"):
        groups.append({"name": "litellm", "rules": litellm_availability_alerts()})
        if jaeger.span_metrics(env):
            groups.append({"name": "litellm-traces", "rules": litellm_trace_alerts()})
        if litellm.metrics(env):
            groups.append({"name": "litellm-metrics", "rules": litellm_alerts()})
    if env.enabled("redis-ha"):
        groups.append({"name": "redis-ha", "rules": redis_alerts(env.component("redis-ha").get("replicas", 3))})
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "litellm-stack", "namespace": NAMESPACE},
        "spec": {"groups": groups},
    }


def render(env: Environment) -> list[Artifact]:
    objects = [(f"configmap-dashboard-{name}.yaml", config_map(name, text)) for name, text in dashboard_files()
               if REQUIRES.get(name, lambda _: True)(env)]
    rule = prometheus_rule(env)
    if rule["spec"]["groups"]:
        objects.append(("prometheusrule-litellm-stack.yaml", rule))
    objects.extend(external_secrets.service_monitors(env))
    objects.extend(jaeger.service_monitors(env))
    return manifest_application(env, COMPONENT, objects)
