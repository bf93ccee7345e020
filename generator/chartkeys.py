"""Which value keys the generator may set for each pinned chart.

A key path is real when the chart's own values.yaml (at the pinned version) has it, or when it
sits under a map the chart documents as free-form: config passed through verbatim, Kubernetes
objects (resources, probes, PodDisruptionBudget specs), annotations. Those maps are listed here,
once, per chart; anything else the generator sets must exist in the chart, so a misspelt or renamed
key fails a test instead of being silently ignored by Helm. A list's key must exist; its items are
not looked into.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from generator.yamlio import load_plain

# chart name -> dotted key paths whose contents the chart passes through without a fixed shape.
FREE_FORM: dict[str, frozenset[str]] = {
    "external-secrets": frozenset({
        "serviceAccount.annotations",  # annotations
        "resources", "webhook.resources", "certController.resources",  # core/v1 ResourceRequirements
    }),
    "kube-prometheus-stack": frozenset({
        "prometheus.prometheusSpec.resources",  # ResourceRequirements
        "prometheus.prometheusSpec.storageSpec",  # prometheus-operator StorageSpec
        "alertmanager.alertmanagerSpec.storage",  # prometheus-operator StorageSpec
        "coreDns.serviceMonitor.selector",  # metav1.LabelSelector
        # annotations of the grafana subchart's Deployment (charts/grafana/values.yaml `annotations`,
        # commented out there; templates/deployment.yaml reads .Values.annotations)
        "grafana.annotations",
    }),
    "jaeger": frozenset({
        "userconfig",  # the whole Jaeger v2 (OpenTelemetry Collector) configuration
        # ResourceRequirements (jaeger.resources is only a comment in values.yaml; the Deployment reads it)
        "jaeger.resources", "esIndexCleaner.resources",
        "esIndexCleaner.cmdlineParams",  # flag name -> value
        "jaeger.podSecurityContext", "esIndexCleaner.podSecurityContext",  # core/v1 PodSecurityContext
        "jaeger.securityContext", "esIndexCleaner.securityContext",  # core/v1 SecurityContext
    }),
    "redis-ha": frozenset({
        "redis.resources", "sentinel.resources", "haproxy.resources", "exporter.resources",
        "podDisruptionBudget", "haproxy.podDisruptionBudget",  # PodDisruptionBudget spec fields
        "init.resources", "splitBrainDetection.resources", "configmapTest.resources",  # ResourceRequirements
        "haproxy.init.resources", "haproxy.tests.resources",
        "securityContext", "haproxy.securityContext",  # core/v1 PodSecurityContext
        "containerSecurityContext", "haproxy.containerSecurityContext",  # core/v1 SecurityContext
    }),
    "reloader": frozenset({
        "reloader.deployment.resources",  # ResourceRequirements
        "reloader.deployment.containerSecurityContext",  # core/v1 SecurityContext
    }),
    "litellm-helm": frozenset({
        "proxy_config",  # LiteLLM's config.yaml, rendered verbatim
        "envVars",  # name -> value
        "resources", "migrationJob.resources",  # ResourceRequirements
        "migrationJob.annotations",  # pod annotations
        "deploymentAnnotations",  # the Deployment's annotations
        "securityContext",  # core/v1 SecurityContext
        "podSecurityContext",  # core/v1 PodSecurityContext
        "strategy",  # apps/v1 DeploymentStrategy
    }),
    "open-webui": frozenset({
        "resources",  # ResourceRequirements
        "livenessProbe", "readinessProbe", "startupProbe",  # core/v1 Probe
        "persistence.annotations",  # the claim's annotations
        "podSecurityContext",  # core/v1 PodSecurityContext
        "containerSecurityContext",  # core/v1 SecurityContext
        "copyAppData.resources",  # ResourceRequirements
        "annotations",  # the Deployment's or StatefulSet's annotations
    }),
}


def values_file(folder: Path, chart: str, version: str) -> Path:
    """The chart's values.yaml in `folder`: <chart>-<version>.values.yaml, else <chart>.values.yaml
    (litellm-helm is kept unversioned)."""
    versioned = folder / f"{chart}-{version}.values.yaml"
    return versioned if versioned.is_file() else folder / f"{chart}.values.yaml"


def load_chart_values(path: Path) -> dict[str, Any]:
    return load_plain(path.read_text(encoding="utf-8")) or {}


def unknown_keys(values: dict[str, Any], chart_values: dict[str, Any], free_form: frozenset[str]) -> list[str]:
    """Dotted paths in `values` that the chart neither defines nor leaves free-form."""
    problems: list[str] = []
    _walk(values, chart_values, (), free_form, problems)
    return problems


def _walk(values: dict[str, Any], chart: Any, path: tuple[str, ...], free_form: frozenset[str],
          problems: list[str]) -> None:
    for key, value in values.items():
        here = path + (str(key),)
        dotted = ".".join(here)
        if dotted in free_form:
            continue
        if not isinstance(chart, dict) or key not in chart:
            problems.append(dotted)
            continue
        if isinstance(value, dict):
            _walk(value, chart[key], here, free_form, problems)
