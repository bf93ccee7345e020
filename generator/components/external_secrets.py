"""Phase 7, External Secrets Operator: the external-secrets chart into namespace external-secrets.

CRDs come from the chart (server-side apply: they are too large for client-side apply's
last-applied annotation). The controller's service account carries the external-secrets IRSA role,
which is how the ClusterSecretStore of phase 8 reads AWS Secrets Manager. The cert-controller
injects a CA bundle into the webhook configuration (and into CRD conversion webhooks when those are
on) at run time; Argo CD ignores those fields so the Application does not stay OutOfSync.
"""

from __future__ import annotations

from typing import Any

from generator import naming
from generator.argocd import helm_application
from generator.artifacts import Artifact
from generator.components import resources
from generator.environment import Environment

COMPONENT = "external-secrets"
NAMESPACE = "external-secrets"
IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"

# Fields the cert-controller writes after every sync.
IGNORE_DIFFERENCES = [
    {"group": "admissionregistration.k8s.io", "kind": "ValidatingWebhookConfiguration",
     "jqPathExpressions": [".webhooks[]?.clientConfig.caBundle"]},
    {"group": "apiextensions.k8s.io", "kind": "CustomResourceDefinition",
     "jqPathExpressions": [".spec.conversion.webhook.clientConfig.caBundle"]},
]


def values(env: Environment) -> dict[str, Any]:
    replicas = env.component(COMPONENT).get("replicas", 1)
    monitored = env.enabled("kube-prometheus-stack")
    workload = naming.EXTERNAL_SECRETS
    return {
        "installCRDs": True,
        "crds": {"createClusterSecretStore": True, "createSecretStore": True,
                 "createClusterExternalSecret": True, "conversion": {"enabled": False}},
        "replicaCount": replicas,
        "leaderElect": replicas > 1,
        "concurrent": 2,
        "serviceAccount": {
            "create": True,
            "name": workload.service_account,
            "annotations": {IRSA_ANNOTATION: naming.role_arn(env, workload)},
        },
        "resources": resources("50m", "256Mi"),
        "podDisruptionBudget": {"enabled": replicas > 1, "minAvailable": 1},
        # The ServiceMonitor CRD arrives with kube-prometheus-stack in wave 9, after this chart
        # (wave 7): the chart's own monitors would be skipped on a first install (skipIfMissing) or
        # fail it. The chart keeps only the metrics Services; the monitors are rendered in wave 10
        # with the stack's other monitoring objects (service_monitors, grafana_dashboards).
        "serviceMonitor": {"enabled": False},
        "metrics": {"service": {"enabled": monitored}},
        "webhook": {
            "replicaCount": replicas,
            "failurePolicy": "Fail",
            "resources": resources("20m", "128Mi"),
            "podDisruptionBudget": {"enabled": replicas > 1, "minAvailable": 1},
            "metrics": {"service": {"enabled": monitored}},
        },
        "certController": {"resources": resources("20m", "192Mi"), "metrics": {"service": {"enabled": monitored}}},
    }


# (app.kubernetes.io/name of the chart's Service, ServiceMonitor name): the controller's metrics
# Service, the webhook's Service (its `metrics` port) and the cert-controller's metrics Service.
MONITORED = (("external-secrets", "external-secrets-metrics"),
             ("external-secrets-webhook", "external-secrets-webhook-metrics"),
             ("external-secrets-cert-controller", "external-secrets-cert-controller-metrics"))


def service_monitors(env: Environment) -> list[tuple[str, dict[str, Any]]]:
    """ServiceMonitors for the chart's metrics Services, for an Application that syncs after the
    Prometheus operator's CRDs exist (phase 10). Selectors match the chart's own Service labels."""
    if not (env.enabled(COMPONENT) and env.enabled("kube-prometheus-stack")):
        return []
    return [(f"servicemonitor-{name}.yaml", {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "selector": {"matchLabels": {"app.kubernetes.io/name": app, "app.kubernetes.io/instance": COMPONENT}},
            "namespaceSelector": {"matchNames": [NAMESPACE]},
            "endpoints": [{"port": "metrics", "interval": "30s", "scrapeTimeout": "10s"}],
        },
    }) for app, name in MONITORED]


def render(env: Environment) -> list[Artifact]:
    return helm_application(env, COMPONENT, values(env), release_name=COMPONENT, server_side_apply=True,
                            ignore_differences=IGNORE_DIFFERENCES)
