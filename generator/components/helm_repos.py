"""Phase 5, Helm repos: the chart repositories as Argo CD repository Secrets (no credentials).

They live in Argo CD's namespace and are synced by the root Application in wave 5.
"""

from __future__ import annotations

from generator.argocd import metadata
from generator.artifacts import Artifact
from generator.environment import Environment
from generator.phases import COMPONENTS


def repositories(env: Environment) -> list[dict[str, str]]:
    """Each distinct chart repository of an enabled component, sorted by URL."""
    seen: dict[str, dict[str, str]] = {}
    for component in COMPONENTS:
        chart = env.component(component.name).get("chart")
        if chart and env.enabled(component.name) and chart["repoURL"] not in seen:
            seen[chart["repoURL"]] = {"url": chart["repoURL"], "name": chart["name"],
                                      "oci": "false" if chart["repoURL"].startswith("https://") else "true"}
    return [seen[url] for url in sorted(seen)]


def render(env: Environment) -> list[Artifact]:
    artifacts = []
    for repo in repositories(env):
        name = f"repo-{repo['name']}"
        meta = metadata(env, name, env.argocd["namespace"], 5)
        meta["labels"]["argocd.argoproj.io/secret-type"] = "repository"
        string_data = {"name": repo["name"], "type": "helm", "url": repo["url"]}
        if repo["oci"] == "true":
            string_data["enableOCI"] = "true"
        secret = {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": "Opaque", "stringData": string_data}
        artifacts.append(Artifact.yaml(f"apps/05-repository-{repo['name']}.yaml", secret))
    return artifacts
