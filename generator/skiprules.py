"""The spec's skip rules, applied to an environment's component states at render time.

enabled: rendered here. disabled: not deployed at all. external: exists and is healthy but is
managed elsewhere; nothing is rendered for it and its dependents still render.
"""

from __future__ import annotations

from dataclasses import dataclass

from generator.environment import Environment, config_error
from generator.errors import InputError
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
        state = env.state(component.name)
        if state != "enabled" and not component.can_disable:
            raise _state_error(env, component.name, f"{component.name} cannot be {state}: the spec never skips it",
                               f"remove components.{component.name}.state or set it to enabled")
        warning = None
        if component.critical and state != "enabled":
            if not settings.get("acknowledge"):
                raise _state_error(env, component.name,
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
                raise _state_error(env, dep,
                                   f"{dep} is disabled but {decision.component.name} is enabled and depends on it",
                                   f"enable {dep}, mark it external if it is managed elsewhere, "
                                   f"or disable {decision.component.name} too")
    return decisions


def _state_error(env: Environment, component: str, message: str, hint: str) -> InputError:
    """Points at components.<component>.state (or the component, when the state is a default)."""
    return config_error(env, ["components", component, "state"], message, hint)
