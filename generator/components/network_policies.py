"""NetworkPolicies: default-deny in each namespace the stack runs its own workloads in, then exactly
the flows the stack is wired for, defined once as data (`flows`), each with its reason.

A policed namespace (litellm, open-webui, external-secrets, when the project deploys what runs
there) gets `default-deny` (every pod, ingress and egress, no rule) and, for each flow, an egress
policy on the source's side and an ingress policy on the target's side (NetworkPolicy semantics:
traffic needs both when both ends are policed; networking.k8s.io/v1, kubernetes.io/docs/concepts/
services-networking/network-policies). Ports are the pods' container ports, not the Services'.
Rendered with the namespaces (phase 6), so every allow rule exists before the pods it admits.

`validate` proves the result on the applied state (generator/validate/wiring/network.py): every
flow the wiring needs (a `service[:port]` reference in what a workload runs with, a ServiceMonitor's
scrape, a webhook the API server calls) is allowed, and no other pod-to-pod traffic into a policed
namespace is. `monitoring` is not policed: see docs/security.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from generator.components import litellm, openwebui_key
from generator.components.secret_store import licensed
from generator.environment import Environment

ANYWHERE = "0.0.0.0/0"
NS_LABEL = "kubernetes.io/metadata.name"  # set by the API server on every namespace
TCP, UDP = "TCP", "UDP"
DEFAULT_DATABASE_PORT = 5432

# Policed namespace -> the component whose deployment puts the project in charge of it.
POLICED = {"litellm": "litellm", "open-webui": "open-webui", "external-secrets": "external-secrets"}


@dataclass(frozen=True)
class Pods:
    """Pods by namespace and labels ({}: every pod of the namespace)."""

    namespace: str
    labels: tuple[tuple[str, str], ...] = ()
    absent: tuple[str, ...] = ()  # label keys the pods must not carry

    def selector(self) -> dict[str, Any]:
        result: dict[str, Any] = {"matchLabels": dict(self.labels)} if self.labels else {}
        if self.absent:
            result["matchExpressions"] = [{"key": key, "operator": "DoesNotExist"} for key in self.absent]
        return result

    def peer(self) -> list[dict[str, Any]]:
        return [{"namespaceSelector": {"matchLabels": {NS_LABEL: self.namespace}}, "podSelector": self.selector()}]


@dataclass(frozen=True)
class Addresses:
    """Addresses outside the cluster's pods (AWS endpoints, the database, the API server)."""

    cidrs: tuple[str, ...]

    def peer(self) -> list[dict[str, Any]]:
        return [{"ipBlock": {"cidr": cidr}} for cidr in self.cidrs]


Peer = Pods | Addresses


@dataclass(frozen=True)
class Flow:
    name: str
    source: Peer
    target: Peer
    ports: tuple[tuple[int, str], ...]
    why: str


def _pods(namespace: str, labels: dict[str, str]) -> Pods:
    return Pods(namespace, tuple(sorted(labels.items())))


# The pods of each workload, by the labels their pod templates carry (the pinned charts' templates).
LITELLM = _pods("litellm", litellm.SELECTOR)  # the proxy and its migration Job (same template labels)
# The Job controller labels a Job's pods batch.kubernetes.io/job-name (kubernetes
# pkg/controller/job, JobNameLabel): without it, the proxy alone.
JOB_NAME = "batch.kubernetes.io/job-name"
LITELLM_PROXY = Pods("litellm", LITELLM.labels, (JOB_NAME,))
HAPROXY = _pods("litellm", {"app": "redis-ha-haproxy", "release": "redis-ha"})
REDIS = _pods("litellm", {"app": "redis-ha", "release": "redis-ha"})
VERIFY = _pods("litellm", {"app.kubernetes.io/name": "verify-stack"})
REGISTER_KEY = _pods("litellm", {"app.kubernetes.io/name": openwebui_key.JOB_NAME})
OPEN_WEBUI = _pods("open-webui", {"app.kubernetes.io/instance": "open-webui", "app.kubernetes.io/component": "open-webui"})
ESO = _pods("external-secrets", {"app.kubernetes.io/name": "external-secrets"})
ESO_WEBHOOK = _pods("external-secrets", {"app.kubernetes.io/name": "external-secrets-webhook"})
ESO_CERTS = _pods("external-secrets", {"app.kubernetes.io/name": "external-secrets-cert-controller"})
RELOADER = _pods("external-secrets", {"app.kubernetes.io/name": "reloader"})  # generator/components/reloader.py
PROMETHEUS = _pods("monitoring", {"app.kubernetes.io/name": "prometheus"})  # prometheus-operator's pod labels
JAEGER = _pods("monitoring", {"app.kubernetes.io/name": "jaeger", "app.kubernetes.io/instance": "jaeger"})
KUBE_DNS = _pods("kube-system", {"k8s-app": "kube-dns"})  # CoreDNS on EKS


def settings(env: Environment) -> dict[str, Any]:
    return env.config.get("networkPolicies") or {}


def policed(env: Environment) -> list[str]:
    return sorted(ns for ns, component in POLICED.items() if env.enabled(component))


def flows(env: Environment) -> list[Flow]:
    conf = settings(env)
    everywhere = Addresses((ANYWHERE,))
    database = Addresses(tuple(conf.get("databaseCidrs") or (ANYWHERE,)))
    api_server = Addresses(tuple(conf.get("apiServerCidrs") or (ANYWHERE,)))
    ingress = conf.get("ingress") or {}
    https = ((443, TCP),)
    result = [Flow(f"dns-{ns}", Pods(ns), KUBE_DNS, ((53, UDP), (53, TCP)), "every pod resolves Service names")
              for ns in policed(env)]
    if env.enabled("litellm"):
        result += [
            Flow("litellm-database", LITELLM, database, ((int(conf.get("databasePort", DEFAULT_DATABASE_PORT)), TCP),),
                 "LiteLLM and its migration Job use the PostgreSQL database (DATABASE_URL)"),
            Flow("litellm-aws", LITELLM_PROXY, everywhere, https, "Bedrock and STS (IRSA web identity) over HTTPS"),
            Flow("verification-litellm", VERIFY, LITELLM_PROXY, ((4000, TCP),), "the PostSync Job checks LiteLLM's health"),
        ]
        result += [Flow(f"ingress-litellm-from-{ns}", Pods(ns), LITELLM_PROXY, ((4000, TCP),), "the environment's ingress namespace")
                   for ns in ingress.get("namespaces") or []]
        if ingress.get("cidrs"):
            result.append(Flow("ingress-litellm-from-cidrs", Addresses(tuple(ingress["cidrs"])), LITELLM_PROXY, ((4000, TCP),),
                               "the environment's ingress CIDRs"))
    if env.enabled("redis-ha"):
        result += [
            Flow("litellm-redis", LITELLM_PROXY, HAPROXY, ((6379, TCP),), "cache and router state through HAProxy (endpoints.REDIS_MASTER)"),
            Flow("haproxy-redis", HAPROXY, REDIS, ((6379, TCP), (26379, TCP)), "HAProxy finds the master through Sentinel and routes to it"),
            Flow("redis-redis", REDIS, REDIS, ((6379, TCP), (26379, TCP)), "replication and Sentinel between the Redis pods"),
        ]
    if env.enabled("jaeger") and env.enabled("litellm"):
        result.append(Flow("litellm-jaeger", LITELLM, JAEGER, ((4318, TCP),),
                           "OpenTelemetry traces (OTLP/HTTP); the tracing variables reach the migration Job too"))
    if env.enabled("open-webui"):
        result += [
            Flow("open-webui-litellm", OPEN_WEBUI, LITELLM_PROXY, ((4000, TCP),), "Open WebUI calls LiteLLM's OpenAI API"),
            Flow("verification-open-webui", VERIFY, OPEN_WEBUI, ((8080, TCP),), "the PostSync Job checks Open WebUI's health"),
        ]
        if env.enabled("litellm") and openwebui_key.wanted(env):
            result.append(Flow("openwebui-key-litellm", REGISTER_KEY, LITELLM_PROXY, ((4000, TCP),),
                               "Open WebUI's PreSync Job registers its virtual key through LiteLLM's key API"))
        result += [Flow(f"ingress-open-webui-from-{ns}", Pods(ns), OPEN_WEBUI, ((8080, TCP),), "the environment's ingress namespace")
                   for ns in ingress.get("namespaces") or []]
        if ingress.get("cidrs"):
            result.append(Flow("ingress-open-webui-from-cidrs", Addresses(tuple(ingress["cidrs"])), OPEN_WEBUI, ((8080, TCP),),
                               "the environment's ingress CIDRs"))
    if env.enabled("external-secrets"):
        result += [
            Flow("external-secrets-aws", ESO, everywhere, https, "Secrets Manager, STS and the Kubernetes API over HTTPS"),
            Flow("external-secrets-webhook-api", ESO_WEBHOOK, api_server, https, "the webhook watches its certificate Secret"),
            Flow("external-secrets-certs-api", ESO_CERTS, api_server, https, "the cert-controller writes the webhook's certificate"),
            Flow("api-server-external-secrets-webhook", api_server, ESO_WEBHOOK, ((10250, TCP),),
                 "the API server calls the ExternalSecret validating webhook"),
        ]
    if env.enabled("reloader"):
        result.append(Flow("reloader-api", RELOADER, api_server, https,
                           "Reloader watches Secrets and patches the workloads that read them (Kubernetes API)"))
    if env.enabled("kube-prometheus-stack"):
        if env.enabled("litellm") and licensed(env):  # the metrics are an Enterprise feature (components/litellm.py)
            result.append(Flow("prometheus-litellm", PROMETHEUS, LITELLM_PROXY, ((4000, TCP),), "ServiceMonitor litellm: /metrics"))
        if env.enabled("redis-ha"):
            result += [Flow("prometheus-haproxy", PROMETHEUS, HAPROXY, ((9101, TCP),), "ServiceMonitor redis-ha-haproxy"),
                       Flow("prometheus-redis", PROMETHEUS, REDIS, ((9121, TCP),), "ServiceMonitor redis-ha (redis_exporter)")]
        if env.enabled("external-secrets"):
            result += [Flow(f"prometheus-{pods.labels[0][1]}", PROMETHEUS, pods, ((8080, TCP),), "the chart's ServiceMonitors")
                       for pods in (ESO, ESO_WEBHOOK, ESO_CERTS)]
    return result


def _ports(flow: Flow) -> list[dict[str, Any]]:
    return [{"protocol": protocol, "port": port} for port, protocol in flow.ports]


def _policy(namespace: str, name: str, spec: dict[str, Any], why: str) -> dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": namespace, "annotations": {"litellm-gitops/why": why}},
            "spec": spec}


def policies(env: Environment) -> list[dict[str, Any]]:
    watched = set(policed(env))
    result = [_policy(ns, "default-deny", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
                      "nothing in or out unless a policy below allows it") for ns in sorted(watched)]
    for flow in flows(env):
        if isinstance(flow.source, Pods) and flow.source.namespace in watched:
            result.append(_policy(flow.source.namespace, f"allow-{flow.name}-egress",
                                  {"podSelector": flow.source.selector(), "policyTypes": ["Egress"],
                                   "egress": [{"to": flow.target.peer(), "ports": _ports(flow)}]}, flow.why))
        if isinstance(flow.target, Pods) and flow.target.namespace in watched:
            result.append(_policy(flow.target.namespace, f"allow-{flow.name}-ingress",
                                  {"podSelector": flow.target.selector(), "policyTypes": ["Ingress"],
                                   "ingress": [{"from": flow.source.peer(), "ports": _ports(flow)}]}, flow.why))
    return result


def objects(env: Environment) -> list[tuple[str, dict[str, Any]]]:
    return [(f"networkpolicy-{p['metadata']['namespace']}-{p['metadata']['name']}.yaml", p) for p in policies(env)]
