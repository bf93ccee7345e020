"""Phase 9, kube-prometheus-stack into namespace monitoring: Prometheus, Alertmanager, Grafana and
the Prometheus operator with its CRDs (server-side apply: the CRDs exceed client-side apply's
annotation limit).

Prometheus selects ServiceMonitors, PodMonitors, Probes, ScrapeConfigs and rules from every
namespace, not only those labelled with this release. Grafana's admin credentials come from the
`grafana-admin` Secret that an ExternalSecret owns (phase 8); its dashboard sidecar loads every
ConfigMap labelled `grafana_dashboard: "1"` (phase 10); Jaeger is added as a data source when it
is enabled. EKS runs the control plane, so the chart's scrapers for it are off, and CoreDNS is
scraped through the add-on's own Service: nothing is created in kube-system.
"""

from __future__ import annotations

from typing import Any

from generator import endpoints
from generator.argocd import helm_application
from generator.artifacts import Artifact
from generator.components import reloader, resources, storage_class
from generator.components.secret_store import GRAFANA_PASSWORD_KEY, GRAFANA_USER_KEY
from generator.environment import Environment

COMPONENT = "kube-prometheus-stack"
DASHBOARD_LABEL = "grafana_dashboard"
DASHBOARD_LABEL_VALUE = "1"
PROMETHEUS_DATASOURCE_UID = "prometheus"
JAEGER_DATASOURCE_UID = "jaeger"
SELECT_EVERYTHING = ("serviceMonitor", "podMonitor", "rule", "probe", "scrapeConfig")
# Control-plane components EKS manages; their endpoints are not reachable from the cluster.
MANAGED_BY_EKS = ("kubeControllerManager", "kubeScheduler", "kubeEtcd", "kubeProxy")
# CoreDNS: the chart would add its own metrics Service in kube-system, outside the project's
# destinations; scrape the Service the EKS CoreDNS add-on already has (kube-dns, port "metrics").
CORE_DNS = {"service": {"enabled": False},
            "serviceMonitor": {"selector": {"matchLabels": {"k8s-app": "kube-dns"}}, "port": "metrics"}}

# Certificates the admission webhook patch Job writes into the webhook configurations.
IGNORE_DIFFERENCES = [
    {"group": "admissionregistration.k8s.io", "kind": kind, "jqPathExpressions": [".webhooks[]?.clientConfig.caBundle"]}
    for kind in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")
]


def _volume(env: Environment, size: str) -> dict[str, Any]:
    """The operator's StorageSpec: a volumeClaimTemplate, so the claim belongs to the operator's
    StatefulSet (not to Argo CD) and survives the Application's deletion and prune."""
    return {"volumeClaimTemplate": {"spec": {
        "storageClassName": storage_class.name(env),
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": size}},
    }}}


def prometheus(env: Environment, settings: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = {f"{kind}SelectorNilUsesHelmValues": False for kind in SELECT_EVERYTHING}
    spec.update({
        "retention": settings.get("retention", "15d"),
        "replicas": 1,
        "resources": resources("500m", "2Gi", "4Gi"),
        "storageSpec": _volume(env, settings.get("storageSize", "50Gi")),
    })
    return {"prometheusSpec": spec}


def grafana(env: Environment) -> dict[str, Any]:
    namespace, secret = endpoints.GRAFANA_ADMIN_SECRET
    values: dict[str, Any] = {
        "enabled": True,
        "defaultDashboardsEnabled": True,
        "admin": {"existingSecret": secret, "userKey": GRAFANA_USER_KEY, "passwordKey": GRAFANA_PASSWORD_KEY},
        # The Grafana subchart's Deployment annotations: rolled when its admin Secret changes.
        "annotations": reloader.reload_annotations(env, secret),
        "sidecar": {
            "dashboards": {"enabled": True, "label": DASHBOARD_LABEL, "labelValue": DASHBOARD_LABEL_VALUE,
                           "searchNamespace": "ALL"},
            "datasources": {"enabled": True, "uid": PROMETHEUS_DATASOURCE_UID},
        },
    }
    if env.enabled("jaeger"):
        values["additionalDataSources"] = [{
            "name": "Jaeger",
            "type": "jaeger",
            "uid": JAEGER_DATASOURCE_UID,
            "access": "proxy",
            "url": endpoints.JAEGER_QUERY.url(),
            "editable": False,
        }]
    return values


def values(env: Environment) -> dict[str, Any]:
    settings = env.component(COMPONENT)
    result: dict[str, Any] = {
        "crds": {"enabled": True},
        "prometheus": prometheus(env, settings),
        "alertmanager": {"alertmanagerSpec": {"storage": _volume(env, "10Gi")}},
        "grafana": grafana(env),
    }
    for component in MANAGED_BY_EKS:
        result[component] = {"enabled": False}
    result["coreDns"] = CORE_DNS
    return result


def render(env: Environment) -> list[Artifact]:
    return helm_application(env, COMPONENT, values(env), release_name=endpoints.KPS_RELEASE,
                            server_side_apply=True, ignore_differences=IGNORE_DIFFERENCES + reloader.ignore_reloads(env))
