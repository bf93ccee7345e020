"""Phase 11, Jaeger v2 (chart jaeger 4.x, one all-in-one Deployment) into namespace monitoring.

Jaeger v2 is an OpenTelemetry Collector distribution; the chart passes `userconfig` to it as its
whole configuration. This module writes that configuration: OTLP on 4317 (gRPC) and 4318 (HTTP),
the query UI on 16686, health on 13133 (the chart's probes) and its own metrics on 8888. Storage:

- memory (dev): traces live in the pod, the newest 100000 kept, lost on restart. One replica.
- elasticsearch (production): an existing Elasticsearch cluster (or an Amazon OpenSearch Service
  domain on the Elasticsearch engine) named by `components.jaeger.elasticsearch`; the password comes
  from the Secret `jaeger-elasticsearch` that an ExternalSecret owns (phase 8), read through an
  environment variable the configuration expands. Stateless, so two replicas, and the chart's
  index cleaner removes indices older than the retention.

Span metrics (when kube-prometheus-stack is enabled): LiteLLM's Prometheus metrics need an
Enterprise licence, its OpenTelemetry traces do not. Jaeger's own binary carries the collector's
`spanmetrics` connector and `prometheus` exporter (jaegertracing/jaeger v2.19.0,
cmd/jaeger/internal/components.go), so the traces pipeline also feeds `spanmetrics`, whose calls
and duration histogram per service, span name, kind and status are served on 8889 (the chart's
Service port `span-metrics`), the layout of upstream's cmd/jaeger/config-spm.yaml. Prometheus
scrapes it (a ServiceMonitor in phase 10), LiteLLM's error-ratio and latency alerts and dashboard
read it, and Jaeger's Monitor tab reads it back from Prometheus. The histogram's buckets reach
SPAN_BUCKETS' last bound: the connector's defaults stop at 15 s
(connector/spanmetricsconnector/config.go, defaultHistogramBucketsMs), below an LLM call's
latency, where `histogram_quantile` could never report a p95 above the alert's threshold.
"""

from __future__ import annotations

from typing import Any

from generator import endpoints
from generator.argocd import helm_application
from generator.artifacts import Artifact
from generator.components import resources, security
from generator.components.secret_store import JAEGER_PASSWORD_KEY
from generator.environment import Environment

COMPONENT = "jaeger"
STORE = "primary_store"
PASSWORD_ENV = "ES_PASSWORD"
MEMORY_MAX_TRACES = 100000
RETENTION_DAYS = 7
SPAN_METRICS_STORE = "span_metrics"
# Explicit histogram buckets (Go durations): from a fast cached answer to a five-minute completion.
SPAN_BUCKETS = ("100ms", "250ms", "500ms", "1s", "2s", "5s", "10s", "20s", "30s", "45s", "60s", "90s",
                "120s", "180s", "300s")
# Span attributes kept as extra labels: LiteLLM sets the requested model on its request span.
SPAN_DIMENSIONS = ("gen_ai.request.model",)
SPAN_METRICS_FLUSH = "15s"


def _listen(port: int) -> str:
    return f"0.0.0.0:{port}"


def storage_backend(settings: dict[str, Any]) -> dict[str, Any]:
    if settings.get("storage", "memory") == "memory":
        return {"memory": {"max_traces": MEMORY_MAX_TRACES}}
    es = settings["elasticsearch"]
    return {"elasticsearch": {
        "server_urls": list(es["serverUrls"]),
        "auth": {"basic": {"username": es["username"], "password": f"${{env:{PASSWORD_ENV}}}"}},
        "indices": {"index_prefix": es.get("indexPrefix", "jaeger")},
    }}


def span_metrics(env: Environment) -> bool:
    """Whether Jaeger turns spans into metrics: only where a Prometheus scrapes and reads them."""
    return env.enabled(COMPONENT) and env.enabled("kube-prometheus-stack")


def _with_span_metrics(config: dict[str, Any]) -> dict[str, Any]:
    """Adds upstream's SPM layout (cmd/jaeger/config-spm.yaml at v2.19.0) to a collector config."""
    pipelines = config["service"]["pipelines"]
    pipelines["traces"]["exporters"].append("spanmetrics")
    pipelines["metrics/spanmetrics"] = {"receivers": ["spanmetrics"], "exporters": ["prometheus"]}
    config["connectors"] = {"spanmetrics": {
        "histogram": {"explicit": {"buckets": list(SPAN_BUCKETS)}},
        "dimensions": [{"name": name} for name in SPAN_DIMENSIONS],
        "metrics_flush_interval": SPAN_METRICS_FLUSH,
    }}
    config["exporters"]["prometheus"] = {"endpoint": _listen(endpoints.JAEGER_SPAN_METRICS.port)}
    extensions = config["extensions"]
    extensions["jaeger_query"]["storage"]["metrics"] = SPAN_METRICS_STORE
    # The reader's names: traces_span_metrics_calls_total, ..._duration_milliseconds_bucket
    # (internal/storage/metricstore/prometheus/metricstore/reader.go, buildFull*MetricName).
    extensions["jaeger_storage"]["metric_backends"] = {SPAN_METRICS_STORE: {"prometheus": {
        "endpoint": endpoints.PROMETHEUS.url(), "normalize_calls": True, "normalize_duration": True}}}
    return config


def collector_config(env: Environment) -> dict[str, Any]:
    config = _collector_config(env.component(COMPONENT))
    return _with_span_metrics(config) if span_metrics(env) else config


def _collector_config(settings: dict[str, Any]) -> dict[str, Any]:
    return {
        "service": {
            "extensions": ["jaeger_storage", "jaeger_query", "healthcheckv2"],
            "pipelines": {"traces": {"receivers": ["otlp"], "processors": ["batch"],
                                     "exporters": ["jaeger_storage_exporter"]}},
            "telemetry": {
                "resource": {"service.name": "jaeger"},
                "metrics": {"level": "detailed", "readers": [
                    {"pull": {"exporter": {"prometheus": {"host": "0.0.0.0", "port": 8888}}}}]},
                "logs": {"level": "info"},
            },
        },
        "extensions": {
            "healthcheckv2": {"use_v2": True, "http": {"endpoint": _listen(13133)}},
            "jaeger_query": {
                "storage": {"traces": STORE},
                "http": {"endpoint": _listen(endpoints.JAEGER_QUERY.port)},
                "grpc": {"endpoint": _listen(16685)},
            },
            "jaeger_storage": {"backends": {STORE: storage_backend(settings)}},
        },
        "receivers": {"otlp": {"protocols": {
            "grpc": {"endpoint": _listen(endpoints.JAEGER_OTLP_GRPC.port)},
            "http": {"endpoint": _listen(endpoints.JAEGER_OTLP_HTTP.port)},
        }}},
        "processors": {"batch": {}},
        "exporters": {"jaeger_storage_exporter": {"trace_storage": STORE}},
    }


def _password_env() -> list[dict[str, Any]]:
    _, secret = endpoints.JAEGER_ES_SECRET
    return [{"name": PASSWORD_ENV, "valueFrom": {"secretKeyRef": {"name": secret, "key": JAEGER_PASSWORD_KEY}}}]


JAEGER_USER = 10001  # the chart's jaeger.podSecurityContext.runAsUser
CLEANER_USER = 1000  # the chart's esIndexCleaner.podSecurityContext.runAsUser


def _index_cleaner(es: dict[str, Any]) -> dict[str, Any]:
    """The chart's nightly CronJob that deletes span indices older than RETENTION_DAYS."""
    return {
        "enabled": True,
        "numberOfDays": RETENTION_DAYS,
        "extraEnv": [{"name": "ES_USERNAME", "value": es["username"]}] + _password_env(),
        "cmdlineParams": {"index-prefix": es.get("indexPrefix", "jaeger")},
        "resources": resources("50m", "64Mi", "128Mi"),
        "podSecurityContext": security.pod_context(CLEANER_USER),
        "securityContext": security.container_context(CLEANER_USER),
    }


def values(env: Environment) -> dict[str, Any]:
    settings = env.component(COMPONENT)
    persistent = settings.get("storage", "memory") == "elasticsearch"
    jaeger: dict[str, Any] = {
        "replicas": 2 if persistent else 1,
        "resources": resources("100m", "512Mi", "1Gi" if persistent else "2Gi"),
        # The chart's users (values.yaml), restricted: Jaeger keeps spans in memory or in
        # Elasticsearch and writes no file, so its root filesystem is read-only.
        "podSecurityContext": security.pod_context(JAEGER_USER, fs_group=JAEGER_USER),
        "securityContext": security.container_context(JAEGER_USER),
    }
    result: dict[str, Any] = {"userconfig": collector_config(env), "jaeger": jaeger}
    if persistent:
        jaeger["extraEnv"] = _password_env()
        es = settings["elasticsearch"]
        result["storage"] = {"type": "elasticsearch", "elasticsearch": {"url": es["serverUrls"][0]}}
        result["esIndexCleaner"] = _index_cleaner(es)
    return result


def service_monitors(env: Environment) -> list[tuple[str, dict[str, Any]]]:
    """The ServiceMonitor of the span metrics, for phase 10 (after the Prometheus operator's CRDs).
    It selects the chart's Service by its own labels (templates/jaeger/jaeger-service.yaml)."""
    if not span_metrics(env):
        return []
    return [("servicemonitor-jaeger-span-metrics.yaml", {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": "jaeger-span-metrics", "namespace": endpoints.JAEGER_SPAN_METRICS.namespace},
        "spec": {
            "selector": {"matchLabels": {"app.kubernetes.io/name": "jaeger",
                                         "app.kubernetes.io/instance": endpoints.JAEGER_RELEASE,
                                         "app.kubernetes.io/component": "all-in-one"}},
            "namespaceSelector": {"matchNames": [endpoints.JAEGER_SPAN_METRICS.namespace]},
            "endpoints": [{"port": "span-metrics", "interval": "30s", "scrapeTimeout": "10s"}],
        },
    })]


def render(env: Environment) -> list[Artifact]:
    return helm_application(env, COMPONENT, values(env), release_name=endpoints.JAEGER_RELEASE)
