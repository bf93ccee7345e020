"""The phase catalogue: the spec's 15 phases and the components they render, defined once as data.

Everything here comes from `seed-deployment-dependencies.md`: phase dependencies from its
"Complete Deployment Flow", skip policies from its "Deployment Order Summary", component
dependencies from its per-phase diagrams. The Argo CD sync wave of everything a phase renders is
its phase number. `check_catalogue` proves that every dependency syncs in an earlier wave and that
the graph has no cycle; render runs it every time.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from generator.errors import InputError


class Delivery(str, Enum):
    """How a component reaches the world."""

    CHECK = "check"  # a command and a CI job, nothing rendered
    CLOUDFORMATION = "cloudformation"  # a stack under rendered/<env>/cloudformation/
    ARGOCD_CONFIG = "argocd-config"  # objects in Argo CD's namespace, synced by the root Application
    ARGOCD_APP = "argocd-app"  # a child Application synced by the root Application


@dataclass(frozen=True)
class Phase:
    number: int
    title: str
    depends_on: tuple[int, ...]
    can_skip: str  # the spec's words


@dataclass(frozen=True)
class Component:
    name: str
    phase: int | None  # None: outside the phase order (the bastion)
    delivery: Delivery
    depends_on: tuple[str, ...] = ()
    critical: bool = False
    can_disable: bool = True
    namespace: str | None = None  # the namespace its Argo CD Application deploys into
    renderer: str | None = None  # module under generator.components that renders it
    notes: str = ""

    @property
    def wave(self) -> int | None:
        return self.phase if self.delivery in (Delivery.ARGOCD_APP, Delivery.ARGOCD_CONFIG) else None


PHASES: tuple[Phase, ...] = (
    Phase(1, "Prerequisites Check", (), "Never: always first"),
    Phase(2, "YAML Validation", (1,), "Not recommended: fast failure, always run"),
    Phase(3, "IRSA Roles", (2,), "If exists & healthy"),
    Phase(4, "AWS Secrets", (3,), "With warning: skip if exist, WARN on regenerate"),
    Phase(5, "Helm Repos", (4,), "Yes: idempotent"),
    Phase(6, "Namespaces", (5,), "If exists"),
    Phase(7, "External Secrets Operator", (6,), "Critical: skip if healthy"),
    Phase(8, "ClusterSecretStore & ExternalSecrets", (7,), "If secrets synced"),
    Phase(9, "kube-prometheus-stack", (8,), "If healthy: independent"),
    Phase(10, "Grafana Dashboards", (8, 9), "Yes: requires prometheus"),
    Phase(11, "Jaeger", (8,), "If healthy: independent"),
    Phase(12, "Redis HA", (8,), "Critical: skip if healthy, CRITICAL for LiteLLM"),
    Phase(13, "LiteLLM", (12,), "Critical: skip if healthy, CRITICAL for OpenWebUI"),
    Phase(14, "OpenWebUI", (13,), "If healthy: depends on LiteLLM"),
    Phase(15, "Verification", (14,), "Recommended: always last"),
)

NAMESPACES: tuple[str, ...] = ("litellm", "open-webui", "monitoring", "external-secrets")

COMPONENTS: tuple[Component, ...] = (
    Component("prerequisites", 1, Delivery.CHECK, can_disable=False,
              notes="litellm-gitops preflight, and a CI job"),
    Component("yaml-validation", 2, Delivery.CHECK, ("prerequisites",), can_disable=False,
              notes="litellm-gitops validate, kubeconform and cfn-lint in CI"),
    Component("irsa-roles", 3, Delivery.CLOUDFORMATION, renderer="irsa_roles"),
    Component("aws-secrets", 4, Delivery.CLOUDFORMATION, renderer="aws_secrets"),
    Component("helm-repos", 5, Delivery.ARGOCD_CONFIG, renderer="helm_repos"),
    # Namespaces are cluster-scoped; the destination namespace only has to be one the AppProject
    # permits (Argo CD refuses an empty one unless the project allows every namespace).
    Component("namespaces", 6, Delivery.ARGOCD_APP, namespace="litellm", renderer="namespaces"),
    # Storage is cluster groundwork like the namespaces: every volume of waves 9 to 14 names this
    # class, so it is rendered in phase 6 (its own Application). `external`: an existing class.
    Component("storage-class", 6, Delivery.ARGOCD_APP, namespace="litellm", renderer="storage_class",
              notes="an encrypted gp3 StorageClass on the EBS CSI driver, or an existing class (external)"),
    Component("external-secrets", 7, Delivery.ARGOCD_APP, ("namespaces", "irsa-roles", "helm-repos"),
              critical=True, namespace="external-secrets", renderer="external_secrets"),
    # Reloader syncs with the operator, before wave 8 writes the Secrets it restarts workloads for.
    Component("reloader", 7, Delivery.ARGOCD_APP, ("namespaces", "helm-repos"),
              namespace="external-secrets", renderer="reloader",
              notes="restarts the workloads that read a Secret when External Secrets rewrites it"),
    Component("secret-store", 8, Delivery.ARGOCD_APP, ("external-secrets", "aws-secrets"),
              namespace="litellm", renderer="secret_store"),
    Component("kube-prometheus-stack", 9, Delivery.ARGOCD_APP, ("namespaces", "storage-class", "helm-repos"),
              namespace="monitoring", renderer="kube_prometheus_stack"),
    Component("grafana-dashboards", 10, Delivery.ARGOCD_APP, ("kube-prometheus-stack",),
              namespace="monitoring", renderer="grafana_dashboards"),
    Component("jaeger", 11, Delivery.ARGOCD_APP, ("namespaces", "helm-repos"),
              namespace="monitoring", renderer="jaeger"),
    Component("redis-ha", 12, Delivery.ARGOCD_APP, ("namespaces", "storage-class", "secret-store", "helm-repos"),
              critical=True, namespace="litellm", renderer="redis_ha"),
    Component("litellm", 13, Delivery.ARGOCD_APP,
              ("namespaces", "irsa-roles", "secret-store", "redis-ha", "helm-repos"),
              critical=True, namespace="litellm", renderer="litellm"),
    Component("open-webui", 14, Delivery.ARGOCD_APP,
              ("namespaces", "storage-class", "secret-store", "litellm", "helm-repos"),
              namespace="open-webui", renderer="open_webui"),
    Component("verification", 15, Delivery.ARGOCD_APP, ("litellm",), can_disable=False,
              namespace="litellm", renderer="verification"),
    Component("bastion", None, Delivery.CLOUDFORMATION, renderer="bastion",
              notes="SSM-only EC2 host in its own CloudFormation stack"),
)

BY_NAME: dict[str, Component] = {c.name: c for c in COMPONENTS}


def check_catalogue(phases: tuple[Phase, ...] | None = None, components: tuple[Component, ...] | None = None) -> None:
    """Refuse a catalogue whose order Argo CD could not honour: a cycle, or a dependency that
    would sync in the same or a later wave than its dependent. Defaults to the catalogue above."""
    phases = PHASES if phases is None else phases
    components = COMPONENTS if components is None else components
    numbers = {p.number for p in phases}
    graph: dict[str, tuple[str, ...]] = {}
    for p in phases:
        for dep in p.depends_on:
            if dep not in numbers:
                raise InputError(f"phase {p.number} ({p.title}) depends on unknown phase {dep}",
                                 hint="fix the phase catalogue in generator/phases.py")
            if dep >= p.number:
                raise InputError(
                    f"phase {p.number} ({p.title}) depends on phase {dep}, which would sync in the same or a later wave",
                    hint="a dependency must have a lower phase number than its dependent")
        graph[f"phase {p.number}"] = tuple(f"phase {d}" for d in p.depends_on)
    by_name = {c.name: c for c in components}
    for c in components:
        for dep_name in c.depends_on:
            dep = by_name.get(dep_name)
            if dep is None:
                raise InputError(f"component {c.name} depends on unknown component {dep_name}",
                                 hint="fix the phase catalogue in generator/phases.py")
            if c.phase is not None and dep.phase is not None and dep.phase >= c.phase:
                raise InputError(
                    f"component {c.name} (wave {c.phase}) depends on {dep.name} (wave {dep.phase}), "
                    "which would sync in the same or a later wave",
                    hint="move the dependency to an earlier phase or the dependent to a later one")
        graph[c.name] = c.depends_on
    _refuse_cycles(graph)


def _refuse_cycles(graph: dict[str, tuple[str, ...]]) -> None:
    done: set[str] = set()
    for start in sorted(graph):
        stack: list[tuple[str, int]] = [(start, 0)]
        on_path = [start]
        if start in done:
            continue
        while stack:
            node, index = stack[-1]
            deps = graph.get(node, ())
            if index < len(deps):
                stack[-1] = (node, index + 1)
                nxt = deps[index]
                if nxt in on_path:
                    cycle = on_path[on_path.index(nxt):] + [nxt]
                    raise InputError("dependency cycle: " + " -> ".join(cycle),
                                     hint="break the cycle in generator/phases.py")
                if nxt not in done:
                    stack.append((nxt, 0))
                    on_path.append(nxt)
            else:
                done.add(node)
                stack.pop()
                on_path.pop()
