"""Every Service and ServiceMonitor selects something that exists, on a named port that exists.

- A Service with a `selector` must match the pod template labels of a workload in its namespace
  (a StatefulSet's pods also carry their pod-name label; pods an operator runs for a custom
  resource are in pods.OPERATOR_PODS); a named `targetPort` must be a container port name of a
  matched pod.
- A ServiceMonitor's `selector` (matchLabels and matchExpressions) must match a Service in the
  namespaces of its `namespaceSelector` (its own by default; `any: true`: all); each endpoint's
  `port` must be a port name of a matched Service. Services outside the applied state (the
  kube-system ones kube-prometheus-stack scrapes, or namespaces no Application here manages) are
  not judged: the check only speaks about namespaces this environment applies objects to.
"""

from __future__ import annotations

from typing import Any

from generator.applied.model import AppliedState
from generator.validate.wiring import Finding
from generator.validate.wiring.pods import containers, operator_pods, pod_label_sets, pod_spec


def matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A LabelSelector (matchLabels + matchExpressions) or a plain map (a Service's selector)."""
    plain = {k: v for k, v in selector.items() if k not in ("matchLabels", "matchExpressions")}
    wanted = {**plain, **(selector.get("matchLabels") or {})}
    if any(labels.get(str(k)) != str(v) for k, v in wanted.items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = str(expr.get("key")), expr.get("operator"), [str(v) for v in expr.get("values") or []]
        if op == "In" and labels.get(key) not in values or op == "NotIn" and labels.get(key) in values \
                or op == "Exists" and key not in labels or op == "DoesNotExist" and key in labels:
            return False
    return True


def _service_findings(state: AppliedState) -> list[Finding]:
    findings = []
    pods: list[tuple[str, dict[str, str], set[str]]] = []  # (namespace, labels, port names) of every pod to be
    for obj in state:
        found = pod_spec(obj)
        if found is not None:
            ports = {str(p.get("name")) for c, _ in containers(found[0], "") for p in c.get("ports") or [] if p.get("name")}
            pods += [(obj.namespace, labels, ports) for labels in pod_label_sets(obj)]
        elif (operated := operator_pods(obj)) is not None:
            pods.append((obj.namespace, *operated))
    for service in state.of_kind("Service"):
        selector = service.spec.get("selector")
        if service.group or not isinstance(selector, dict) or not selector:
            continue
        picked = [ports for ns, labels, ports in pods if ns == service.namespace and matches(selector, labels)]
        if not picked:
            findings.append(Finding(service, "spec.selector", f"selects no pods: no workload in {service.namespace} has labels "
                                                               + ", ".join(f"{k}={v}" for k, v in sorted(selector.items()))))
            continue
        names = set().union(*picked)
        for index, port in enumerate(service.spec.get("ports") or []):
            target = port.get("targetPort")
            if isinstance(target, str) and not target.isdigit() and target not in names:
                findings.append(Finding(service, f"spec.ports[{index}].targetPort",
                                        f"no selected pod has a container port named {target!r}"))
    return findings


def _monitor_findings(state: AppliedState) -> list[Finding]:
    findings = []
    managed = {o.namespace for o in state if o.namespace} | {o.name for o in state.of_kind("Namespace")}
    services = state.of_kind("Service")
    for monitor in state.of_kind("ServiceMonitor"):
        ns_selector = monitor.spec.get("namespaceSelector") or {}
        namespaces = None if ns_selector.get("any") else set(ns_selector.get("matchNames") or [monitor.namespace])
        if namespaces is not None and not namespaces & managed:
            continue  # only Services outside the applied state: not ours to judge
        selector = monitor.spec.get("selector") or {}
        picked = [s for s in services if (namespaces is None or s.namespace in namespaces)
                  and matches(selector, {str(k): str(v) for k, v in ((s.doc.get("metadata") or {}).get("labels") or {}).items()})]
        if not picked:
            findings.append(Finding(monitor, "spec.selector", "selects no Service in the applied state"))
            continue
        names = {str(p.get("name")) for s in picked for p in s.spec.get("ports") or [] if p.get("name")}
        for index, endpoint in enumerate(monitor.spec.get("endpoints") or []):
            port = endpoint.get("port")
            if port and port not in names:
                findings.append(Finding(monitor, f"spec.endpoints[{index}].port",
                                        f"no selected Service has a port named {port!r} (they have: {', '.join(sorted(names)) or 'none'})"))
    return findings


def check(state: AppliedState) -> list[Finding]:
    return _service_findings(state) + _monitor_findings(state)
