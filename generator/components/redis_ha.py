"""Phase 12, Redis HA (dandydev redis-ha) into namespace litellm: LiteLLM's cache and router state.

A StatefulSet of `replicas` Redis servers with a Sentinel beside each, spread over nodes (hard
anti-affinity, or soft where a cluster has fewer nodes than replicas: `antiAffinity: soft`, dev)
and, where possible, zones (topology spread); HAProxy in front tracks the
Sentinel-elected master so clients use one stable address (endpoints.REDIS_MASTER). Redis and
Sentinel both require the password REDIS_PASSWORD from `litellm-secrets` (phase 8), so the chart
generates none. Data sits on persistent volumes. With kube-prometheus-stack enabled, redis_exporter
and HAProxy's metrics are scraped through ServiceMonitors.
"""

from __future__ import annotations

from typing import Any

from generator import endpoints, naming
from generator.argocd import helm_application
from generator.artifacts import Artifact
from generator.components import resources, security, storage_class
from generator.environment import Environment

COMPONENT = "redis-ha"
REDIS_MEMORY_LIMIT_MI = 1024
# Leave a quarter of the container's memory to replication buffers and fork-on-save.
MAXMEMORY = f"{REDIS_MEMORY_LIMIT_MI * 3 // 4}mb"

# Spread over availability zones when the nodes allow it (the chart's own hard anti-affinity
# already keeps two Redis servers off one node).
ZONE_SPREAD = {"enabled": True, "maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
               "whenUnsatisfiable": "ScheduleAnyway"}


# The chart's own users (values.yaml: securityContext/containerSecurityContext runAsUser 1000, HAProxy
# 99), its contexts completed with a read-only root filesystem: Redis, Sentinel and their init and
# split-brain containers write only under /data (the volume), HAProxy under /run/haproxy and /data
# (the chart's emptyDirs).
REDIS_USER = 1000
HAPROXY_USER = 99
SMALL = resources("10m", "32Mi", "64Mi")  # init, split-brain check and the chart's test pods


def _password() -> dict[str, Any]:
    """Auth from the Secret the litellm-secrets ExternalSecret owns."""
    _, secret = naming.LITELLM_SECRET
    return {"existingSecret": secret, "authKey": naming.REDIS_PASSWORD.env_var}


def values(env: Environment) -> dict[str, Any]:
    settings = env.component(COMPONENT)
    replicas = settings.get("replicas", 3)
    monitored = env.enabled("kube-prometheus-stack")
    hard = settings.get("antiAffinity", "hard") == "hard"
    result: dict[str, Any] = {
        "replicas": replicas,
        "auth": True,
        **_password(),
        "redis": {
            "config": {
                # A write must reach a replica before it is acknowledged, when there is one.
                "min-replicas-to-write": 1 if replicas > 1 else 0,
                "maxmemory": MAXMEMORY,
                "maxmemory-policy": "volatile-lru",
            },
            "resources": resources("100m", f"{REDIS_MEMORY_LIMIT_MI}Mi"),
        },
        "sentinel": {
            "auth": True,
            **_password(),
            "quorum": replicas // 2 + 1,
            "resources": resources("50m", "128Mi"),
        },
        "haproxy": {
            "enabled": True,
            "replicas": 3 if replicas > 1 else 1,
            "hardAntiAffinity": replicas > 1 and hard,
            "resources": resources("50m", "128Mi"),
            "podDisruptionBudget": {"maxUnavailable": 1},
            "metrics": {"enabled": monitored, "serviceMonitor": {"enabled": monitored}},
            "securityContext": security.pod_context(HAPROXY_USER, fs_group=HAPROXY_USER),
            "containerSecurityContext": security.container_context(HAPROXY_USER),
            "init": {"resources": SMALL},
            "tests": {"resources": SMALL},
        },
        "securityContext": security.pod_context(REDIS_USER, fs_group=REDIS_USER),
        "containerSecurityContext": security.container_context(REDIS_USER),
        "init": {"resources": SMALL},
        "splitBrainDetection": {"resources": SMALL},
        "configmapTest": {"resources": SMALL},
        "hardAntiAffinity": hard,
        "topologySpreadConstraints": ZONE_SPREAD,
        "podDisruptionBudget": {"maxUnavailable": 1},
        # volumeClaimTemplates: the claims belong to the StatefulSet, not to Argo CD.
        "persistentVolume": {"enabled": True, "size": settings.get("storageSize", "10Gi"),
                             "storageClass": storage_class.name(env), "accessModes": ["ReadWriteOnce"]},
        "exporter": {
            "enabled": monitored,
            "resources": resources("20m", "64Mi"),
            "serviceMonitor": {"enabled": monitored},
        },
    }
    return result


def render(env: Environment) -> list[Artifact]:
    return helm_application(env, COMPONENT, values(env), release_name=endpoints.REDIS_RELEASE)
