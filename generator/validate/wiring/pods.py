"""Where pod templates live in workload kinds, and what a pod spec refers to (shared by the wiring checks)."""

from __future__ import annotations

from typing import Any, Iterator

from generator.applied.model import AppliedObject

# kind -> path of the pod template's spec (a Pod is its own spec)
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"), "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"), "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"), "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


def pod_spec(obj: AppliedObject) -> tuple[dict[str, Any], str] | None:
    path = POD_SPEC_PATHS.get(obj.kind)
    if path is None or obj.group not in ("", "apps", "batch"):
        return None
    node: Any = obj.doc
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return (node, ".".join(path)) if isinstance(node, dict) else None


def pod_labels(obj: AppliedObject) -> dict[str, str]:
    if obj.kind == "Pod":
        meta = obj.doc.get("metadata") or {}
    else:
        path = POD_SPEC_PATHS.get(obj.kind, ())[:-1]
        meta = obj.doc
        for key in path:
            meta = meta.get(key) if isinstance(meta, dict) else {}
        meta = (meta or {}).get("metadata") or {}
    labels = meta.get("labels") if isinstance(meta, dict) else None
    return {str(k): str(v) for k, v in (labels or {}).items()}


def containers(spec: dict[str, Any], base: str) -> Iterator[tuple[dict[str, Any], str]]:
    for group in CONTAINER_LISTS:
        for index, container in enumerate(spec.get(group) or []):
            if isinstance(container, dict):
                yield container, f"{base}.{group}[{index}]"


def pod_label_sets(obj: AppliedObject) -> list[dict[str, str]]:
    """The label sets the workload's pods will carry: a StatefulSet's pods also get
    `statefulset.kubernetes.io/pod-name` and `apps.kubernetes.io/pod-index` from the controller."""
    labels = pod_labels(obj)
    if obj.kind != "StatefulSet":
        return [labels]
    replicas = obj.spec.get("replicas", 1)
    count = replicas if isinstance(replicas, int) else 1
    return [{**labels, "statefulset.kubernetes.io/pod-name": f"{obj.name}-{i}", "apps.kubernetes.io/pod-index": str(i)}
            for i in range(max(count, 1))]


# Pods an operator creates from a custom resource (prometheus-operator v0.93.0,
# pkg/prometheus/server/statefulset.go and pkg/alertmanager/statefulset.go): labels and port names.
OPERATOR_PODS = {
    ("monitoring.coreos.com", "Prometheus"): (("app.kubernetes.io/name", "prometheus"), ("prometheus", "{name}"),
                                              ("operator.prometheus.io/name", "{name}"), ("app.kubernetes.io/instance", "{name}"),
                                              ("app.kubernetes.io/managed-by", "prometheus-operator")),
    ("monitoring.coreos.com", "Alertmanager"): (("app.kubernetes.io/name", "alertmanager"), ("alertmanager", "{name}"),
                                                ("app.kubernetes.io/instance", "{name}"),
                                                ("app.kubernetes.io/managed-by", "prometheus-operator")),
}
OPERATOR_PORTS = {("monitoring.coreos.com", "Prometheus"): ("web", "reloader-web"),
                  ("monitoring.coreos.com", "Alertmanager"): ("web", "mesh-tcp", "mesh-udp", "reloader-web")}


def operator_pods(obj: AppliedObject) -> tuple[dict[str, str], set[str]] | None:
    """Labels and container port names of the pods an operator runs for this custom resource."""
    labels = OPERATOR_PODS.get((obj.group, obj.kind))
    if labels is None:
        return None
    found = {k: v.format(name=obj.name) for k, v in labels}
    found.update({str(k): str(v) for k, v in ((obj.spec.get("podMetadata") or {}).get("labels") or {}).items()})
    return found, set(OPERATOR_PORTS[(obj.group, obj.kind)])
