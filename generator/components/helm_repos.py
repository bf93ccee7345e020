"""Phase 5, Helm repos: the chart repositories as Argo CD repository Secrets (no credentials).

They live in Argo CD's namespace and are synced by the root Application in wave 5. On a hub
(generator.fleet) many environments share one Argo CD namespace, so the hub's folder holds one
Secret per repository for all of them instead.
"""

from __future__ import annotations

from typing import Any

from generator.argocd import REPOSITORIES_PHASE, enabled_charts, hub, metadata
from generator.artifacts import Artifact
from generator.environment import Environment


def repositories(env: Environment) -> dict[str, str]:
    """Each distinct chart repository of an enabled component (URL -> the first chart's name), by URL."""
    first: dict[str, str] = {}
    for chart in enabled_charts(env):
        first.setdefault(chart["repoURL"], chart["name"])
    return dict(sorted(first.items()))


def secret_name(name: str) -> str:
    return f"repo-{name}"


def repository_secret(meta: dict[str, Any], url: str, name: str) -> dict[str, Any]:
    """An Argo CD repository Secret for one chart repository; `meta` gets the repository label."""
    meta["labels"]["argocd.argoproj.io/secret-type"] = "repository"
    string_data = {"name": name, "type": "helm", "url": url}
    if not url.startswith("https://"):  # an OCI registry path such as ghcr.io/berriai
        string_data["enableOCI"] = "true"
    return {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": "Opaque", "stringData": string_data}


def render(env: Environment) -> list[Artifact]:
    if hub(env):
        return []
    artifacts = []
    for url, name in repositories(env).items():
        meta = metadata(env, secret_name(name), env.argocd["namespace"], REPOSITORIES_PHASE)
        artifacts.append(Artifact.yaml(f"apps/{REPOSITORIES_PHASE:02d}-repository-{name}.yaml",
                                       repository_secret(meta, url, name)))
    return artifacts
