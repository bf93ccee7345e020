"""The verification component: its child Application and manifests (filled in by the stack issue)."""

from __future__ import annotations

from generator.argocd import manifest_application
from generator.artifacts import Artifact
from generator.environment import Environment


def render(env: Environment) -> list[Artifact]:
    return manifest_application(env, "verification", [])
