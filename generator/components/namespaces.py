"""Phase 6, namespaces: litellm, open-webui, monitoring, external-secrets.

Protected from pruning and deletion: losing a namespace deletes everything in it. The
NetworkPolicies of the namespaces the stack runs its workloads in ride along
(generator/components/network_policies.py).

Each carries Pod Security Admission labels (enforce, audit and warn, all at one level, pinned to
the cluster's Kubernetes version) at the strictest Pod Security Standard its workloads pass;
`validate` checks every hydrated pod template against it (generator/validate/podsecurity.py).
"""

from __future__ import annotations

from generator.argocd import manifest_application
from generator.artifacts import Artifact
from generator.components import network_policies
from generator.environment import Environment
from generator.phases import NAMESPACES
from generator.validate.podsecurity import LABEL, MODES

# namespace -> (Pod Security Standard, why)
POD_SECURITY: dict[str, tuple[str, str]] = {
    "litellm": ("restricted", "LiteLLM, its migration Job, Redis HA and the verification Job run as "
                              "the project writes them: non-root, no escalation, no capabilities, RuntimeDefault seccomp"),
    "open-webui": ("restricted", "Open WebUI runs non-root with every capability dropped"),
    "external-secrets": ("restricted", "the chart's controller, webhook and cert-controller are restricted by default"),
    # prometheus-node-exporter reads the node itself: hostNetwork, hostPID and hostPath mounts of
    # /proc, /sys and / (kube-prometheus-stack's node-exporter DaemonSet), which even `baseline`
    # forbids. Everything else in the namespace would pass `baseline`.
    "monitoring": ("privileged", "node-exporter needs the host's network and PID namespaces and hostPath volumes"),
}


def labels(env: Environment, name: str) -> dict[str, str]:
    level, _ = POD_SECURITY[name]
    version = f"v{env.config['cluster']['kubernetesVersion']}"
    result = {"kubernetes.io/metadata.name": name}
    for mode in MODES:
        result[f"{LABEL}{mode}"] = level
        result[f"{LABEL}{mode}-version"] = version
    return result


def render(env: Environment) -> list[Artifact]:
    objects = []
    for name in sorted(NAMESPACES):
        namespace = {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": name,
                "labels": labels(env, name),
                "annotations": {"argocd.argoproj.io/sync-options": "Prune=false,Delete=false",
                                "litellm-gitops/pod-security-reason": POD_SECURITY[name][1]},
            },
        }
        objects.append((f"namespace-{name}.yaml", namespace))
    # Default-deny and the wired flows, before anything runs in the namespaces.
    objects += network_policies.objects(env)
    return manifest_application(env, "namespaces", objects)
