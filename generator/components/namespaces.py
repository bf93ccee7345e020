"""Phase 6, namespaces: litellm, open-webui, monitoring, external-secrets.

Protected from pruning and deletion: losing a namespace deletes everything in it.
"""

from __future__ import annotations

from generator.argocd import manifest_application
from generator.artifacts import Artifact
from generator.environment import Environment
from generator.phases import NAMESPACES


def render(env: Environment) -> list[Artifact]:
    objects = []
    for name in sorted(NAMESPACES):
        namespace = {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": name,
                "labels": {"kubernetes.io/metadata.name": name},
                "annotations": {"argocd.argoproj.io/sync-options": "Prune=false,Delete=false"},
            },
        }
        objects.append((f"namespace-{name}.yaml", namespace))
    return manifest_application(env, "namespaces", objects)
