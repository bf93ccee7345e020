"""The redis-ha component: its child Application and Helm values (filled in by the stack issue)."""

from __future__ import annotations

from generator.argocd import helm_application
from generator.artifacts import Artifact
from generator.environment import Environment


def values(env: Environment) -> dict:
    return {}


def render(env: Environment) -> list[Artifact]:
    return helm_application(env, "redis-ha", values(env), server_side_apply=False)
