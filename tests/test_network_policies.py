"""Default-deny NetworkPolicies with exactly the wired flows (generator/components/network_policies.py),
proved on the applied state by validate (generator/validate/wiring/network.py): every flow the
wiring needs is allowed, nothing else reaches an isolated pod. The states are the real hydrated
environments; each broken variant is one a pull request could produce."""

from __future__ import annotations

import copy
from dataclasses import replace

import pytest

from applied_objects import _state
from conftest import REPO
from generator.applied.model import AppliedObject
from generator.components import network_policies
from generator.environment import load_environment
from generator.validate.wiring import network


def _without(state, name: str):
    keep = {k: o for k, o in state.objects.items() if not (o.kind == "NetworkPolicy" and o.name == name)}
    assert len(keep) == len(state.objects) - 1, name
    return replace(state, objects=keep)


def _with(state, namespace: str, name: str, spec: dict):
    doc = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
           "metadata": {"name": name, "namespace": namespace}, "spec": spec}
    obj = AppliedObject(doc=doc, application="extra", app_wave=6, origin="test", namespace=namespace)
    return replace(state, objects={**state.objects, obj.key: obj})


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_the_rendered_policies_allow_exactly_the_wiring(env):
    state = _state(env)
    assert {p.namespace for p in state.of_kind("NetworkPolicy") if p.name == "default-deny"} == \
        {"litellm", "open-webui", "external-secrets"}
    assert network.check(state, load_environment(REPO / "environments", env).config.get("networkPolicies")) == []


@pytest.mark.parametrize("policy, needed", [
    ("allow-litellm-redis-ingress", "Deployment/litellm (litellm) -> port 6379/TCP"),
    ("allow-litellm-redis-egress", "Deployment/litellm (litellm) -> port 6379/TCP"),
    ("allow-open-webui-litellm-ingress", "StatefulSet/open-webui (open-webui) -> port 4000/TCP"),
    ("allow-redis-redis-ingress", "StatefulSet/redis-ha-server (litellm) -> port 26379/TCP"),
    ("allow-prometheus-redis-ingress", "Prometheus/kube-prometheus-stack-prometheus (monitoring) -> port 9121/TCP"),
    ("allow-api-server-external-secrets-webhook-ingress", "(outside the stack) -> port 10250/TCP"),
])
def test_a_missing_allow_rule_is_a_problem(policy, needed):
    findings = network.check(_without(_state("prod"), policy))
    assert any(needed in f.message and "which the wiring needs" in f.message for f in findings), findings


def test_a_missing_aws_egress_is_a_problem():
    findings = network.check(_without(_state("prod"), "allow-litellm-aws-egress"))
    assert [(f.obj.name, f.message) for f in findings] == [
        ("litellm", "NetworkPolicies deny egress to port 443 outside the cluster, which the wiring needs "
                    "(its ServiceAccount has an IRSA role: AWS APIs over HTTPS)")]


def test_no_pod_outside_litellm_can_reach_redis():
    """A policy opening Redis to the cluster (say, to debug) lets every outside pod in: reported."""
    state = _with(_state("prod"), "litellm", "debug-redis",
                  {"podSelector": {"matchLabels": {"app": "redis-ha"}}, "policyTypes": ["Ingress"],
                   "ingress": [{"from": [{"namespaceSelector": {}}], "ports": [{"port": 6379}]}]})
    findings = [f.message for f in network.check(state)]
    assert "NetworkPolicies allow any pod in default -> port 6379/TCP, which no wiring needs" in findings
    assert "NetworkPolicies allow StatefulSet/open-webui (open-webui) -> port 6379/TCP, which no wiring needs" not in findings
    assert findings and all("-> port 6379/TCP, which no wiring needs" in m for m in findings)


def test_a_named_port_and_a_wider_selector_are_evaluated_as_kubernetes_does():
    """Ingress by container port name (`redis`), from every pod of the litellm namespace: the
    migration and verification Jobs now reach Redis too, which nothing wires."""
    state = _with(_state("prod"), "litellm", "namespace-wide",
                  {"podSelector": {"matchLabels": {"app": "redis-ha"}}, "policyTypes": ["Ingress", "Egress"],
                   "ingress": [{"from": [{"podSelector": {}}], "ports": [{"port": "redis"}]}],
                   "egress": [{}]})
    state = _with(state, "litellm", "jobs-egress", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{}]})
    findings = {f.message for f in network.check(state)}
    assert "NetworkPolicies allow Job/verify-stack (litellm) -> port 6379/TCP, which no wiring needs" in findings
    assert "NetworkPolicies allow Job/litellm-migrations (litellm) -> port 6379/TCP, which no wiring needs" in findings


def test_environment_ingress_namespaces_get_exactly_their_flows():
    env = load_environment(REPO / "environments", "prod")
    env.config["networkPolicies"] = {"ingress": {"namespaces": ["ingress-nginx"]}, "databaseCidrs": ["10.20.0.0/16"],
                                     "databasePort": 5433}
    rendered = {p["metadata"]["name"]: p for p in network_policies.policies(env)}
    ingress = rendered["allow-ingress-litellm-from-ingress-nginx-ingress"]["spec"]["ingress"][0]
    assert ingress == {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}},
                                 "podSelector": {}}], "ports": [{"protocol": "TCP", "port": 4000}]}
    egress = rendered["allow-litellm-database-egress"]["spec"]["egress"][0]
    assert egress == {"to": [{"ipBlock": {"cidr": "10.20.0.0/16"}}], "ports": [{"protocol": "TCP", "port": 5433}]}
    # Without the policy for its namespace, the ingress controller is denied what the environment asks.
    state = _state("prod")
    findings = network.check(state, env.config["networkPolicies"])
    assert any("any pod in ingress-nginx -> port 4000/TCP, which the wiring needs" in f.message for f in findings)
    assert any("any pod in ingress-nginx -> port 8080/TCP, which the wiring needs" in f.message for f in findings)


def test_disabled_components_leave_their_namespace_unpoliced():
    env = load_environment(REPO / "environments", "dev")
    env.config["components"]["open-webui"]["state"] = "disabled"
    names = {(p["metadata"]["namespace"], p["metadata"]["name"]) for p in network_policies.policies(env)}
    assert ("open-webui", "default-deny") not in names and ("litellm", "default-deny") in names
    assert not any("open-webui" in name for _, name in names)


# --- NetworkPolicy semantics, on the cases kubernetes.io/docs/concepts/services-networking/network-policies
# spells out ("Behavior of to and from selectors"; policyTypes defaulting; named ports).

def _policy(namespace: str, spec: dict) -> AppliedObject:
    doc = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "p", "namespace": namespace}, "spec": spec}
    return AppliedObject(doc=doc, application="t", app_wave=0, origin="test", namespace=namespace)


DB = network.Pod(None, "prod", (("role", "db"),), (("postgres", 5432, "TCP"),), ident="db")
CLIENT_PROD = network.Pod(None, "prod", (("role", "client"),), ident="client-prod")
CLIENT_OTHER = network.Pod(None, "other", (("role", "client"),), ident="client-other")
ANY_OTHER = network.Pod(None, "other", (("role", "web"),), ident="web-other")
LABELS = {"prod": {network.NS_LABEL: "prod", "user": "alice"}, "other": {network.NS_LABEL: "other", "user": "alice"}}


def _model(spec: dict) -> network.Model:
    return network.Model([DB, CLIENT_PROD, CLIENT_OTHER, ANY_OTHER], LABELS, [_policy("prod", spec)])


def test_namespace_and_pod_selector_in_one_element_are_anded():
    model = _model({"podSelector": {"matchLabels": {"role": "db"}}, "ingress": [{"from": [
        {"namespaceSelector": {"matchLabels": {"user": "alice"}}, "podSelector": {"matchLabels": {"role": "client"}}}]}]})
    assert network.allowed(model, CLIENT_OTHER, DB, 5432) and network.allowed(model, CLIENT_PROD, DB, 5432)
    assert not network.allowed(model, ANY_OTHER, DB, 5432)


def test_separate_elements_are_ored():
    model = _model({"podSelector": {"matchLabels": {"role": "db"}}, "ingress": [{"from": [
        {"namespaceSelector": {"matchLabels": {"user": "alice"}}}, {"podSelector": {"matchLabels": {"role": "client"}}}]}]})
    assert network.allowed(model, ANY_OTHER, DB, 5432)  # any pod of an alice namespace


def test_a_pod_selector_alone_means_the_policys_namespace():
    model = _model({"podSelector": {"matchLabels": {"role": "db"}}, "ingress": [{"from": [{"podSelector": {"matchLabels": {"role": "client"}}}]}]})
    assert network.allowed(model, CLIENT_PROD, DB, 5432) and not network.allowed(model, CLIENT_OTHER, DB, 5432)


def test_named_ports_and_policy_types():
    by_name = _model({"podSelector": {}, "ingress": [{"ports": [{"port": "postgres"}]}]})
    assert network.allowed(by_name, ANY_OTHER, DB, 5432)
    # No policyTypes and no egress rules: an Ingress policy only; egress stays open.
    assert network.allowed(by_name, DB, ANY_OTHER, 80)
    other_port = _model({"podSelector": {}, "ingress": [{"ports": [{"port": 5433, "endPort": 5440}]}]})
    assert not network.allowed(other_port, ANY_OTHER, DB, 5432)
    egress_only = _model({"podSelector": {}, "policyTypes": ["Egress"]})
    assert not network.allowed(egress_only, CLIENT_PROD, DB, 5432) and network.allowed(egress_only, CLIENT_OTHER, DB, 5432)
