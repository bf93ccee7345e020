"""LiteLLM is watched without an Enterprise licence (issue 20, item 6): request rate, error ratio and
latency come from the span metrics Jaeger v2 derives from LiteLLM's OpenTelemetry traces.

What is checked against upstream rather than our own picture of it:
- the exporter listens where the pinned jaeger chart's Service sends its `span-metrics` port
  (../shared/charts/jaeger-4.11.1.tgz, templates/jaeger/jaeger-service.yaml), in the hydrated state;
- the series names are the ones Jaeger's reader queries with normalize_calls/normalize_duration
  (jaegertracing/jaeger v2.19.0 internal/storage/metricstore/prometheus/metricstore/reader.go,
  buildFullCallsMetricName and buildFullLatencyMetricName, default namespace traces_span_metrics
  from options.go), and the labels the spanmetrics connector sets (service.name, span.name,
  span.kind, status.code and the configured dimensions, dots made underscores by the exporter);
- every alert and panel query parses with Prometheus' PromQL grammar (promql-parser).
"""

from __future__ import annotations

import dataclasses
import json
import re

import promql_parser
import pytest
import yaml

from conftest import REPO
from generator.components import grafana_dashboards, jaeger
from generator.environment import deep_merge, load_environment
from generator.render import render_environment

# The connector's fixed labels (connector/spanmetricsconnector: serviceNameKey, spanNameKey,
# spanKindKey, statusCodeKey) as the Prometheus exporter names them.
CONNECTOR_LABELS = {"service_name", "span_name", "span_kind", "status_code"}
GO_DURATION = re.compile(r"(\d+)(ms|s|m)\Z")
TO_MS = {"ms": 1, "s": 1000, "m": 60000}


def env(name: str, **overrides):
    base = load_environment(REPO / "environments", name)
    return dataclasses.replace(base, config=deep_merge(base.config, overrides)) if overrides else base


def userconfig(name: str, **overrides) -> dict:
    return jaeger.values(env(name, **overrides))["userconfig"]


def reader_series() -> tuple[str, str]:
    """The calls counter and duration histogram Jaeger's reader queries, from our configuration."""
    backend = userconfig("prod")["extensions"]["jaeger_storage"]["metric_backends"][jaeger.SPAN_METRICS_STORE]
    assert backend["prometheus"] == {"endpoint": "http://kube-prometheus-stack-prometheus.monitoring.svc.cluster.local:9090",
                                     "normalize_calls": True, "normalize_duration": True}
    namespace = "traces_span_metrics"  # options.go defaultMetricNamespace = the connector's default
    assert "namespace" not in userconfig("prod")["connectors"]["spanmetrics"], "the default is what the reader expects"
    return f"{namespace}_calls_total", f"{namespace}_duration_milliseconds"


def selectors(node) -> list:
    """Every vector selector of a parsed PromQL expression."""
    if isinstance(node, promql_parser.VectorSelector):
        return [node]
    children = []
    for attribute in ("expr", "lhs", "rhs", "vector_selector", "param"):
        child = getattr(node, attribute, None)
        if child is not None and not isinstance(child, (str, int, float)):
            children.append(child)
    children.extend(getattr(node, "args", None) or [])
    return [found for child in children for found in selectors(child)]


def alert_exprs(environment) -> dict[str, str]:
    rule = grafana_dashboards.prometheus_rule(environment)
    return {r["alert"]: r["expr"] for group in rule["spec"]["groups"] for r in group["rules"]}


def panel_exprs() -> list[str]:
    return [target["expr"] for _, text in grafana_dashboards.dashboard_files()
            for panel in json.loads(text)["panels"] for target in panel["targets"]]


LICENSED = {"secrets": {"names": {"license": "litellm/license"}}}


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_jaeger_feeds_its_traces_to_span_metrics_served_to_prometheus(name):
    config = userconfig(name)
    pipelines = config["service"]["pipelines"]
    assert pipelines["traces"]["exporters"] == ["jaeger_storage_exporter", "spanmetrics"]
    assert pipelines["metrics/spanmetrics"] == {"receivers": ["spanmetrics"], "exporters": ["prometheus"]}
    assert config["exporters"]["prometheus"] == {"endpoint": "0.0.0.0:8889"}
    assert config["extensions"]["jaeger_query"]["storage"]["metrics"] == jaeger.SPAN_METRICS_STORE


def test_without_prometheus_jaeger_makes_no_span_metrics_and_nothing_alerts_on_them():
    bare = env("dev", components={"kube-prometheus-stack": {"state": "disabled"},
                                  "grafana-dashboards": {"state": "disabled"}})
    config = jaeger.values(bare)["userconfig"]
    assert "connectors" not in config and "prometheus" not in config["exporters"]
    assert "metrics/spanmetrics" not in config["service"]["pipelines"]
    assert jaeger.service_monitors(bare) == []


def test_the_latency_buckets_reach_past_the_alert_threshold():
    """The connector's default buckets stop at 15 s (config.go defaultHistogramBucketsMs); an LLM
    request's p95 above the 30 s threshold would read as 15 s and the alert could never fire."""
    buckets = userconfig("prod")["connectors"]["spanmetrics"]["histogram"]["explicit"]["buckets"]
    in_ms = []
    for bucket in buckets:
        match = GO_DURATION.match(bucket)
        assert match, f"{bucket!r} is not a Go duration the connector parses"
        in_ms.append(int(match[1]) * TO_MS[match[2]])
    assert in_ms == sorted(set(in_ms)), "buckets must rise"
    threshold_ms = grafana_dashboards.P95_LATENCY_SECONDS * 1000
    assert in_ms[-1] > threshold_ms
    assert threshold_ms in in_ms, "the threshold is a bucket bound, so the quantile is exact there"


def test_alerts_and_dashboard_read_the_series_and_labels_jaeger_and_the_connector_produce():
    calls, duration = reader_series()
    series = {calls, f"{duration}_bucket"}
    dimensions = {d["name"].replace(".", "_") for d in userconfig("prod")["connectors"]["spanmetrics"]["dimensions"]}
    exprs = [e for e in alert_exprs(env("prod")).values() if "traces_span_metrics" in e]
    exprs += [e for e in panel_exprs() if "traces_span_metrics" in e]
    assert len(exprs) >= 8
    for expr in exprs:
        for selector in selectors(promql_parser.parse(expr)):
            if selector.name.startswith("traces_span_metrics"):
                assert selector.name in series, expr
                labels = {m.name for m in selector.matchers.matchers}
                assert labels <= CONNECTOR_LABELS | dimensions, expr
                assert 'service_name="litellm"' in str(selector) and 'span_kind="SPAN_KIND_SERVER"' in str(selector)
        for grouped in re.findall(r"by \(([^)]*)\)", expr):
            assert {label.strip() for label in grouped.split(",")} <= CONNECTOR_LABELS | dimensions | {"le"}, expr


def test_without_a_licence_litellm_still_has_error_ratio_and_latency_alerts():
    alerts = alert_exprs(env("prod"))
    assert {"LiteLLMHighErrorRatio", "LiteLLMSlowRequests", "LiteLLMSpanMetricsMissing"} <= set(alerts)
    assert not [name for name, expr in alerts.items() if re.search(r"\blitellm_[a-z_]+_metric", expr)]
    assert alerts["LiteLLMSlowRequests"].endswith(f"> {grafana_dashboards.P95_LATENCY_SECONDS * 1000}"), "the unit is ms"
    assert 'status_code="STATUS_CODE_ERROR"' in alerts["LiteLLMHighErrorRatio"]
    assert f">= {grafana_dashboards.MIN_REQUESTS}" in alerts["LiteLLMHighErrorRatio"], "a lone failure is no trend"


def test_the_default_litellm_dashboard_uses_no_enterprise_metric():
    (text,) = [text for name, text in grafana_dashboards.dashboard_files() if name == "litellm"]
    exprs = [t["expr"] for panel in json.loads(text)["panels"] for t in panel["targets"]]
    assert not [e for e in exprs if re.search(r"\blitellm_[a-z_]+_metric", e)]
    used = {s.name for e in exprs for s in selectors(promql_parser.parse(e))}
    assert {"kube_deployment_status_replicas_available", "traces_span_metrics_calls_total",
            "traces_span_metrics_duration_milliseconds_bucket"} <= used


@pytest.mark.parametrize("overrides", [{}, LICENSED], ids=["open-source", "licensed"])
@pytest.mark.parametrize("name", ["dev", "prod"])
def test_every_alert_and_panel_query_is_valid_promql(name, overrides):
    exprs = list(alert_exprs(env(name, **overrides)).values()) + panel_exprs()
    for expr in exprs:
        promql_parser.parse(expr)  # raises ValueError on what Prometheus would refuse
    with pytest.raises(ValueError):
        promql_parser.parse("sum(rate(traces_span_metrics_calls_total[5m])")  # the parser can fail


def test_the_span_metrics_service_monitor_reaches_the_exporter_in_the_hydrated_state(hydrated):
    state = hydrated["prod"]
    (monitor,) = [m for m in state.of_kind("ServiceMonitor") if m.name == "jaeger-span-metrics"]
    labels = monitor.spec["selector"]["matchLabels"]
    (service,) = [s for s in state.of_kind("Service")
                  if labels.items() <= ((s.doc["metadata"].get("labels") or {}).items())]
    (port,) = [p for p in service.spec["ports"] if p["name"] == monitor.spec["endpoints"][0]["port"]]
    assert port["targetPort"] == 8889
    (deployment,) = [d for d in state.of_kind("Deployment") if d.name == "jaeger"]
    container = deployment.spec["template"]["spec"]["containers"][0]
    assert 8889 in [p["containerPort"] for p in container["ports"]]
    config = yaml.safe_load(next(c for c in state.of_kind("ConfigMap") if "user-config.yaml" in (c.doc.get("data") or {}))
                            .doc["data"]["user-config.yaml"])
    assert config["exporters"]["prometheus"]["endpoint"].endswith(":8889")
    assert "spanmetrics" in config["service"]["pipelines"]["traces"]["exporters"]


def test_the_licensed_dashboard_and_alerts_join_only_with_a_licence():
    plain = render_environment(env("prod")).files
    licensed = render_environment(env("prod", **LICENSED)).files
    name = "manifests/grafana-dashboards/configmap-dashboard-litellm-metrics.yaml"
    assert name not in plain and name in licensed
    assert "manifests/grafana-dashboards/servicemonitor-jaeger-span-metrics.yaml" in plain


def test_render_warns_when_nothing_watches_litellm_errors_and_latency(scratch_repo, capsys):
    """Jaeger disabled and no licence: only availability alerts can be rendered, and render says so
    (stderr, exit 0) instead of leaving an SRE to find out when a slow outage pages nobody."""
    from generator.cli import main

    env_file = scratch_repo / "environments" / "dev" / "environment.yaml"
    text = env_file.read_text()
    assert "  jaeger:\n" in text
    env_file.write_text(text.replace("  jaeger:\n", "  jaeger:\n    state: disabled\n", 1))
    assert main(["render", "--root", str(scratch_repo), "--env", "dev"]) == 0
    err = capsys.readouterr().err
    assert "warning: dev: LiteLLM's error ratio and latency are not watched" in err
    rule = yaml.safe_load((scratch_repo / "rendered/dev/manifests/grafana-dashboards/prometheusrule-litellm-stack.yaml").read_text())
    assert [g["name"] for g in rule["spec"]["groups"]] == ["litellm", "redis-ha"]
    assert main(["render", "--root", str(scratch_repo), "--env", "prod"]) == 0
    assert "not watched" not in capsys.readouterr().err  # prod has Jaeger: its span metrics watch LiteLLM
