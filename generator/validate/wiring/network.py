"""NetworkPolicies on the applied state: every flow the wiring needs is allowed, and nothing else
reaches a pod a policy isolates.

The flows the wiring needs, read from the applied objects (not from the policies' own table):
- references: a workload names a Service as `name[.namespace[.svc[.cluster.local]]]:port` (or an
  http URL, or a host of `generator.endpoints` with its port) in its pod spec or in a ConfigMap it
  mounts or reads; the Service's port leads to the selected pods' container port;
- scrapes: each ServiceMonitor's endpoints, from the Prometheus pods (prometheus-operator);
- webhooks: each webhook and CRD conversion webhook's Service, from the API server (outside);
- the environment's ingress namespaces and CIDRs, to LiteLLM and Open WebUI;
- AWS: a pod whose ServiceAccount carries an IRSA role (eks.amazonaws.com/role-arn) reaches AWS
  over 443; a pod reading DATABASE_URL reaches the database port.

Policy semantics (networking.k8s.io/v1 NetworkPolicy, kubernetes.io/docs/concepts/services-networking/
network-policies): a pod selected by no policy of a direction is open in that direction; otherwise
traffic must match a rule (peers: podSelector within the policy's namespace, namespaceSelector
against namespace labels, ipBlock; ports by number, range or container port name, TCP by default),
on both the sender's egress and the receiver's ingress. An ipBlock is taken to match addresses
outside the stack's pods (the upstream documentation: ipBlock is meant for cluster-external IPs).
hostNetwork pods and helm test hooks (which Argo CD never runs: gitops-engine pkg/sync/hook/helm/
type.go knows only the install and upgrade hooks) are left out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterator

import yaml

from generator import endpoints as catalogue
from generator.applied.model import AppliedObject, AppliedState
from generator.validate.wiring import Finding
from generator.validate.wiring.pods import containers, operator_pods, pod_label_sets, pod_spec
from generator.validate.wiring.selectors import matches

NS_LABEL = "kubernetes.io/metadata.name"
OUTSIDE = "(outside the stack)"  # the API server, ingress CIDRs, any other address
IRSA = "eks.amazonaws.com/role-arn"
SKIP_IRSA = "eks.amazonaws.com/skip-containers"  # pod annotation: containers the webhook gives no role
# Labels a controller adds to the pods it creates from a template (kubernetes pkg/controller/job:
# JobNameLabel and LegacyJobNameLabel).
JOB_LABELS = ("batch.kubernetes.io/job-name", "job-name")
DATABASE_ENV = "DATABASE_URL"


@dataclass(frozen=True)
class Pod:
    obj: AppliedObject | None = field(compare=False, hash=False)
    namespace: str
    labels: tuple[tuple[str, str], ...]
    ports: tuple[tuple[str, int, str], ...] = ()  # (name, containerPort, protocol)
    external: bool = False  # an address outside the stack's pods
    ident: str = ""  # the object's key: what makes two pods the same

    def __post_init__(self) -> None:
        if self.obj is not None and not self.ident:
            object.__setattr__(self, "ident", self.obj.key)

    @property
    def label_map(self) -> dict[str, str]:
        return dict(self.labels)

    def describe(self) -> str:
        return OUTSIDE if self.external else f"{self.obj.kind}/{self.obj.name} ({self.namespace})" if self.obj else f"any pod in {self.namespace}"


@dataclass
class Model:
    pods: list[Pod]
    namespace_labels: dict[str, dict[str, str]]
    policies: list[AppliedObject]
    needed: dict[tuple[Pod, Pod, int, str], str] = field(default_factory=dict)  # -> why

    def ns_labels(self, namespace: str) -> dict[str, str]:
        return self.namespace_labels.get(namespace, {NS_LABEL: namespace})


def _never_runs(obj: AppliedObject) -> bool:
    hook = str(((obj.doc.get("metadata") or {}).get("annotations") or {}).get("helm.sh/hook") or "")
    return hook.startswith("test")


def _pods(state: AppliedState) -> list[Pod]:
    result = []
    for obj in state:
        found = pod_spec(obj)
        if found is not None:
            spec, base = found
            if spec.get("hostNetwork") or _never_runs(obj):
                continue
            ports = tuple((str(p.get("name") or ""), int(p["containerPort"]), str(p.get("protocol") or "TCP"))
                          for c, _ in containers(spec, base) for p in c.get("ports") or [] if isinstance(p, dict) and "containerPort" in p)
            extra = {key: obj.name for key in JOB_LABELS} if obj.kind in ("Job", "CronJob") else {}
            result += [Pod(obj, obj.namespace, tuple(sorted({**labels, **extra}.items())), ports) for labels in pod_label_sets(obj)]
        elif (operated := operator_pods(obj)) is not None:
            labels, _ = operated
            result.append(Pod(obj, obj.namespace, tuple(sorted(labels.items()))))
    return result


# --- policy evaluation --------------------------------------------------------------------------

def _types(spec: dict[str, Any]) -> list[str]:
    return spec.get("policyTypes") or (["Ingress"] + (["Egress"] if "egress" in spec else []))


def _selecting(model: Model, pod: Pod, direction: str) -> list[dict[str, Any]]:
    if pod.external:
        return []
    return [p.spec for p in model.policies if p.namespace == pod.namespace and direction in _types(p.spec)
            and matches(p.spec.get("podSelector") or {}, pod.label_map)]


def _peer(model: Model, peer: dict[str, Any], policy_ns: str, other: Pod) -> bool:
    if "ipBlock" in peer:
        return other.external
    if other.external:
        return False
    ns_selector, pod_selector = peer.get("namespaceSelector"), peer.get("podSelector")
    if ns_selector is None and other.namespace != policy_ns:
        return False
    if ns_selector is not None and not matches(ns_selector, model.ns_labels(other.namespace)):
        return False
    return pod_selector is None or matches(pod_selector, other.label_map)


def _port(rule_ports: list[dict[str, Any]] | None, target: Pod, port: int, protocol: str) -> bool:
    if not rule_ports:
        return True
    names = {name for name, number, proto in target.ports if number == port and proto == protocol and name}
    for entry in rule_ports:
        if str(entry.get("protocol") or "TCP") != protocol:
            continue
        wanted = entry.get("port")
        if wanted is None or wanted == port or (isinstance(wanted, int) and wanted <= port <= int(entry.get("endPort") or wanted)) \
                or (isinstance(wanted, str) and wanted in names):
            return True
    return False


def _side(model: Model, pod: Pod, other: Pod, direction: str, target: Pod, port: int, protocol: str) -> bool:
    policies = _selecting(model, pod, direction)
    if not policies:
        return True
    rules_key, peers_key = ("egress", "to") if direction == "Egress" else ("ingress", "from")
    for spec in policies:
        for rule in spec.get(rules_key) or []:
            peers = rule.get(peers_key)
            if (not peers or any(_peer(model, p, pod.namespace, other) for p in peers)) and _port(rule.get("ports"), target, port, protocol):
                return True
    return False


def allowed(model: Model, source: Pod, target: Pod, port: int, protocol: str = "TCP") -> bool:
    return _side(model, source, target, "Egress", target, port, protocol) and _side(model, target, source, "Ingress", target, port, protocol)


# --- the flows the wiring needs -------------------------------------------------------------------

def _service_pods(model: Model, service: AppliedObject, service_port: dict[str, Any]) -> Iterator[tuple[Pod, int, str]]:
    selector = service.spec.get("selector") or {}
    if not selector:
        return
    target = service_port.get("targetPort", service_port.get("port"))
    protocol = str(service_port.get("protocol") or "TCP")
    for pod in model.pods:
        if pod.namespace == service.namespace and not pod.external and matches(selector, pod.label_map):
            for name, number, proto in pod.ports:
                if proto == protocol and (number == target or name == target):
                    yield pod, number, protocol


def _text(state: AppliedState, obj: AppliedObject, spec: dict[str, Any]) -> str:
    """The pod spec and every ConfigMap it mounts or reads, as text."""
    names = {v["configMap"].get("name") for v in spec.get("volumes") or [] if isinstance(v, dict) and isinstance(v.get("configMap"), dict)}
    names |= {s["configMap"].get("name") for v in spec.get("volumes") or [] if isinstance(v, dict)
              for s in (v.get("projected") or {}).get("sources") or [] if isinstance(s, dict) and isinstance(s.get("configMap"), dict)}
    for c, _ in containers(spec, ""):
        names |= {(e.get("configMapRef") or {}).get("name") for e in c.get("envFrom") or [] if isinstance(e, dict)}
        names |= {((e.get("valueFrom") or {}).get("configMapKeyRef") or {}).get("name") for e in c.get("env") or [] if isinstance(e, dict)}
    parts = [yaml.safe_dump(spec)]
    parts += [yaml.safe_dump(cm.doc.get("data") or {}) for cm in state.of_kind("ConfigMap")
              if cm.namespace == obj.namespace and cm.name in names]
    return "\n".join(parts)


def _references(state: AppliedState, model: Model) -> None:
    services = [s for s in state.of_kind("Service") if s.group == ""]
    known = {e.host: e.port for e in vars(catalogue).values() if isinstance(e, catalogue.Endpoint)}
    texts: dict[str, str] = {}
    for source in model.pods:
        if source.obj is None or pod_spec(source.obj) is None:
            continue
        if source.obj.key not in texts:
            texts[source.obj.key] = _text(state, source.obj, pod_spec(source.obj)[0])
        text = texts[source.obj.key]
        for service in services:
            suffix = rf"(?:\.{re.escape(service.namespace)}(?:\.svc(?:\.cluster\.local)?)?)"
            pattern = rf"(?<![\w.-])(https?://)?({re.escape(service.name)}{suffix if service.namespace != source.namespace else suffix + '?'})(?::(\d+))?(?![\w-])"
            for match in re.finditer(pattern, text):
                scheme, host, port = match.groups()
                number = int(port) if port else known.get(host) or (443 if scheme == "https://" else 80 if scheme else None)
                if number is None:
                    continue
                for service_port in service.spec.get("ports") or []:
                    if service_port.get("port") == number:
                        for target, container_port, protocol in _service_pods(model, service, service_port):
                            model.needed.setdefault((source, target, container_port, protocol),
                                                    f"{source.obj.kind}/{source.obj.name} names {host}:{number}")


def _scrapes(state: AppliedState, model: Model) -> None:
    prometheus = [p for p in model.pods if p.obj is not None and p.obj.kind == "Prometheus"]
    services = [s for s in state.of_kind("Service") if s.group == ""]
    for monitor in state.of_kind("ServiceMonitor"):
        ns_selector = monitor.spec.get("namespaceSelector") or {}
        namespaces = None if ns_selector.get("any") else set(ns_selector.get("matchNames") or [monitor.namespace])
        for service in services:
            if namespaces is not None and service.namespace not in namespaces:
                continue
            if not matches(monitor.spec.get("selector") or {}, {str(k): str(v) for k, v in ((service.doc.get("metadata") or {}).get("labels") or {}).items()}):
                continue
            for endpoint in monitor.spec.get("endpoints") or []:
                for service_port in service.spec.get("ports") or []:
                    target_port = endpoint.get("targetPort")
                    if endpoint.get("port") not in (None, service_port.get("name")):
                        continue
                    if endpoint.get("port") is None and target_port not in (service_port.get("targetPort"), service_port.get("port")):
                        continue
                    for target, number, protocol in _service_pods(model, service, service_port):
                        for source in prometheus:
                            model.needed.setdefault((source, target, number, protocol), f"ServiceMonitor {monitor.namespace}/{monitor.name} scrapes it")


def _webhooks(state: AppliedState, model: Model, outside: Pod) -> None:
    refs = []
    for kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
        for obj in state.of_kind(kind):
            refs += [(f"{kind} {obj.name}", (w.get("clientConfig") or {}).get("service")) for w in obj.doc.get("webhooks") or []]
    for crd in state.of_kind("CustomResourceDefinition"):
        webhook = (crd.spec.get("conversion") or {}).get("webhook") or {}
        refs.append((f"CRD {crd.name} conversion", (webhook.get("clientConfig") or {}).get("service")))
    services = {(s.namespace, s.name): s for s in state.of_kind("Service") if s.group == ""}
    for why, ref in refs:
        service = services.get((str((ref or {}).get("namespace")), str((ref or {}).get("name"))))
        if service is None:
            continue
        for service_port in service.spec.get("ports") or []:
            if service_port.get("port") == int(ref.get("port") or 443):
                for target, number, protocol in _service_pods(model, service, service_port):
                    model.needed.setdefault((outside, target, number, protocol), f"the API server calls {why}")


def _ingress(model: Model, outside: Pod, ingress: dict[str, Any]) -> list[Pod]:
    """The environment's ingress sources, to LiteLLM's and Open WebUI's pods."""
    sources = [Pod(None, str(ns), ()) for ns in ingress.get("namespaces") or []]
    sources += [outside] if ingress.get("cidrs") else []
    for endpoint in (catalogue.LITELLM, catalogue.OPEN_WEBUI):
        for pod in model.pods:
            if pod.obj is None or pod.namespace != endpoint.namespace:
                continue
            for name, number, protocol in pod.ports:
                if (endpoint is catalogue.LITELLM and number == endpoint.port) or (endpoint is catalogue.OPEN_WEBUI and name == "http"):
                    for source in sources:
                        model.needed.setdefault((source, pod, number, protocol), "the environment's networkPolicies.ingress")
    return sources


def _external(state: AppliedState, model: Model, outside: Pod, database_port: int) -> list[tuple[Pod, int, str]]:
    """(pod, port, why) of the traffic to outside addresses the wiring needs: AWS for IRSA pods, the database."""
    roles = {sa.name for sa in state.of_kind("ServiceAccount") if IRSA in ((sa.doc.get("metadata") or {}).get("annotations") or {})}
    result = []
    for pod in model.pods:
        found = pod.obj and pod_spec(pod.obj)
        if not found:
            continue
        spec, base = found
        skipped = set(str(_pod_annotations(pod.obj).get(SKIP_IRSA) or "").split(","))
        role_containers = {c.get("name") for c, _ in containers(spec, base)} - skipped
        if role_containers and spec.get("serviceAccountName") in roles and any(
                pod.obj.namespace == sa.namespace for sa in state.of_kind("ServiceAccount") if sa.name == spec.get("serviceAccountName")):
            result.append((pod, 443, "its ServiceAccount has an IRSA role: AWS APIs over HTTPS"))
        if any(e.get("name") == DATABASE_ENV for c, _ in containers(spec, "") for e in c.get("env") or [] if isinstance(e, dict)):
            result.append((pod, database_port, "it reads DATABASE_URL: the database"))
    return result


def _pod_annotations(obj: AppliedObject) -> dict[str, Any]:
    node: Any = obj.doc
    for key in {"Pod": ()}.get(obj.kind, ("spec", "template") if obj.kind != "CronJob" else ("spec", "jobTemplate", "spec", "template")):
        node = (node or {}).get(key)
    return ((node or {}).get("metadata") or {}).get("annotations") or {}


def check(state: AppliedState, network: dict[str, Any] | None = None) -> list[Finding]:
    network = network or {}
    policies = [p for p in state.of_kind("NetworkPolicy") if p.group == "networking.k8s.io"]
    if not policies:
        return []
    labels = {ns.name: {NS_LABEL: ns.name, **{str(k): str(v) for k, v in ((ns.doc.get("metadata") or {}).get("labels") or {}).items()}}
              for ns in state.of_kind("Namespace")}
    model = Model(_pods(state), labels, policies)
    outside = Pod(None, OUTSIDE, (), external=True)
    _references(state, model)
    _scrapes(state, model)
    _webhooks(state, model, outside)
    ingress_sources = _ingress(model, outside, network.get("ingress") or {})
    findings = []
    for (source, target, port, protocol), why in sorted(model.needed.items(), key=lambda i: (i[0][0].describe(), i[0][1].describe(), i[0][2])):
        if not allowed(model, source, target, port, protocol):
            findings.append(Finding(target.obj, "-", f"NetworkPolicies deny {source.describe()} -> port {port}/{protocol}, "
                                                     f"which the wiring needs ({why})"))
    for pod, port, why in _external(state, model, outside, int(network.get("databasePort") or 5432)):
        if not allowed(model, pod, outside, port):
            findings.append(Finding(pod.obj, "-", f"NetworkPolicies deny egress to port {port} outside the cluster, which the wiring needs ({why})"))
    sources = [p for p in model.pods if p.obj is not None] + [outside] + [s for s in ingress_sources if s is not outside]
    sources += [Pod(None, "default", ())]  # any pod of a namespace the stack does not manage
    reported = set()
    for target in model.pods:
        if target.obj is None or not _selecting(model, target, "Ingress"):
            continue
        for source in sources:
            for _, port, protocol in target.ports:
                key = (source.describe(), target.obj.key, port, protocol)
                if key in reported or (source, target, port, protocol) in model.needed:
                    continue
                if any(k[0] == source and k[1].obj is target.obj and k[2] == port for k in model.needed):
                    continue
                if allowed(model, source, target, port, protocol):
                    reported.add(key)
                    findings.append(Finding(target.obj, "-", f"NetworkPolicies allow {source.describe()} -> port {port}/{protocol}, "
                                                             "which no wiring needs"))
    return findings
