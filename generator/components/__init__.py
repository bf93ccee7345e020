"""One module per component; each exposes `render(env) -> list[Artifact]`.

Which module renders which component is data in the phase catalogue (`generator.phases`).
"""

from __future__ import annotations

from importlib import import_module

from generator.artifacts import Artifact
from generator.environment import Environment
from generator.phases import Component


def render_component(env: Environment, component: Component) -> list[Artifact]:
    if component.renderer is None:
        return []
    module = import_module(f"generator.components.{component.renderer}")
    return module.render(env)
