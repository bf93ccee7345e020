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
        "webhook": {
            "replicaCount": replicas,
            "failurePolicy": "Fail",
            "resources": resources("20m", "128Mi"),
            "podDisruptionBudget": {"enabled": replicas > 1, "minAvailable": 1},
        },
        "certController": {"resources": resources("20m", "192Mi")},
        # The ServiceMonitor CRD arrives with kube-prometheus-stack in wave 9, after this chart
        # (wave 7): skipIfMissing renders the monitor once Argo CD sees the CRD in the cluster's
        # API versions, instead of failing the first sync.
        "serviceMonitor": {"enabled": env.enabled("kube-prometheus-stack"), "renderMode": "skipIfMissing"},
    }


def render(env: Environment) -> list[Artifact]:
    return helm_application(env, COMPONENT, values(env), release_name=COMPONENT, server_side_apply=True,
                            ignore_differences=IGNORE_DIFFERENCES)
