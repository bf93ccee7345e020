"""The spec's skip rules, applied to an environment's component states at render time.

enabled: rendered here. disabled: not deployed at all. external: exists and is healthy but is
managed elsewhere; nothing is rendered for it and its dependents still render.
"""

from __future__ import annotations

from dataclasses import dataclass

from generator.environment import Environment, config_error
from generator.phases import COMPONENTS, Component, Delivery


@dataclass(frozen=True)
class Decision:
    component: Component
    state: str
    warning: str | None = None


def decide(env: Environment) -> list[Decision]:
    """One decision per component in catalogue order; raises InputError on a broken rule."""
    decisions: list[Decision] = []
    for component in COMPONENTS:
        if component.delivery is Delivery.CHECK:
            decisions.append(Decision(component, "enabled"))
            continue
        settings = env.component(component.name)
        state = settings.get("state", "enabled")
        if state != "enabled" and not component.can_disable:
            _fail(env, component.name, "state",
                  f"{component.name} cannot be {state}: the spec never skips it",
                  f"remove components.{component.name}.state or set it to enabled")
        warning = None
        if component.critical and state != "enabled":
            if not settings.get("acknowledge"):
                _fail(env, component.name, "state",
                      f"{component.name} is critical and is {state}, but nothing acknowledges it",
                      f'add components.{component.name}.acknowledge: "<why this is safe>" beside the state')
            warning = (f"critical component {component.name} is {state} ({settings['acknowledge']}); "
                       "everything that depends on it trusts that it exists and is healthy")
        decisions.append(Decision(component, state, warning))

    states = {d.component.name: d.state for d in decisions}
    for decision in decisions:
        if decision.state != "enabled":
            continue
        for dep in decision.component.depends_on:
            if states.get(dep) == "disabled":
                _fail(env, dep, "state",
                      f"{dep} is disabled but {decision.component.name} is enabled and depends on it",
                      f"enable {dep}, mark it external if it is managed elsewhere, or disable {decision.component.name} too")
    return decisions


def _fail(env: Environment, component: str, key: str, message: str, hint: str) -> None:
    raise config_error(env, ["components", component, key], message, hint)
