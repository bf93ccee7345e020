"""One module per component; each exposes `render(env) -> list[Artifact]`.

Which module renders which component is data in the phase catalogue (`generator.phases`).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from generator.artifacts import Artifact
from generator.environment import Environment
from generator.phases import Component


def resources(cpu: str, memory: str, memory_limit: str | None = None) -> dict[str, Any]:
    """Container resources as the stack's components set them: CPU and memory requested, memory
    limited (to the request unless `memory_limit` says otherwise), CPU never limited."""
    return {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory_limit or memory}}


def render_component(env: Environment, component: Component) -> list[Artifact]:
    if component.renderer is None:
        return []
    module = import_module(f"generator.components.{component.renderer}")
    return module.render(env)
