"""Phase 5, Helm repos: the chart repositories as Argo CD repository Secrets (no credentials).

They live in Argo CD's namespace and are synced by the root Application in wave 5.
"""

from __future__ import annotations

from generator.argocd import REPOSITORIES_PHASE, enabled_charts, metadata
from generator.artifacts import Artifact
from generator.environment import Environment


def repositories(env: Environment) -> dict[str, str]:
    """Each distinct chart repository of an enabled component (URL -> the first chart's name), by URL."""
    first: dict[str, str] = {}
    for chart in enabled_charts(env):
        first.setdefault(chart["repoURL"], chart["name"])
    return dict(sorted(first.items()))


def render(env: Environment) -> list[Artifact]:
    artifacts = []
    for url, name in repositories(env).items():
        meta = metadata(env, f"repo-{name}", env.argocd["namespace"], REPOSITORIES_PHASE)
        meta["labels"]["argocd.argoproj.io/secret-type"] = "repository"
        string_data = {"name": name, "type": "helm", "url": url}
        if not url.startswith("https://"):  # an OCI registry path such as ghcr.io/berriai
            string_data["enableOCI"] = "true"
        secret = {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": "Opaque", "stringData": string_data}
        artifacts.append(Artifact.yaml(f"apps/{REPOSITORIES_PHASE:02d}-repository-{name}.yaml", secret))
    return artifacts
