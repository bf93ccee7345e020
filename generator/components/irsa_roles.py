"""CloudFormation for irsa-roles: rendered under rendered/<env>/cloudformation/ (see the AWS-side issue)."""

from __future__ import annotations

from generator.artifacts import Artifact
from generator.environment import Environment


def render(env: Environment) -> list[Artifact]:
    return []
