"""In-cluster names the stack's charts create, defined once: Helm release names, the Services those
releases expose and the Kubernetes Secrets the stack's ExternalSecrets own beyond the two in
`generator.naming`.

Each Service name is what the pinned chart's `fullname` helper yields for the release name below
(all four charts use "<release>" when the release name contains the chart name), so the value
files that point at each other and the verification Job agree.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Endpoint:
    """A Service inside the cluster."""

    namespace: str
    service: str
    port: int

    @property
    def host(self) -> str:
        return f"{self.service}.{self.namespace}.svc.cluster.local"

    def url(self, path: str = "") -> str:
        return f"http://{self.host}:{self.port}{path}"


# Release names: the Applications' helm.releaseName.
LITELLM_RELEASE = "litellm"  # litellm-helm: fullname "litellm" (nameOverride "litellm" is in the release name)
REDIS_RELEASE = "redis-ha"  # redis-ha: fullname "redis-ha"
JAEGER_RELEASE = "jaeger"  # jaeger: fullname "jaeger"
OPEN_WEBUI_RELEASE = "open-webui"  # open-webui: fullname "open-webui"
KPS_RELEASE = "kube-prometheus-stack"

LITELLM = Endpoint("litellm", "litellm", 4000)
# redis-ha's HAProxy Service ("<fullname>-haproxy") always routes to the current master.
REDIS_MASTER = Endpoint("litellm", "redis-ha-haproxy", 6379)
JAEGER_OTLP_GRPC = Endpoint("monitoring", "jaeger", 4317)
JAEGER_OTLP_HTTP = Endpoint("monitoring", "jaeger", 4318)
JAEGER_QUERY = Endpoint("monitoring", "jaeger", 16686)
JAEGER_SPAN_METRICS = Endpoint("monitoring", "jaeger", 8889)  # the chart's Service port "span-metrics"
PROMETHEUS = Endpoint("monitoring", "kube-prometheus-stack-prometheus", 9090)  # "<fullname>-prometheus", port http-web
OPEN_WEBUI = Endpoint("open-webui", "open-webui", 80)

# Kubernetes Secrets owned by ExternalSecrets in phase 8, besides litellm-secrets and openwebui-secrets.
GRAFANA_ADMIN_SECRET = ("monitoring", "grafana-admin")  # keys admin-user, admin-password
JAEGER_ES_SECRET = ("monitoring", "jaeger-elasticsearch")  # key password
