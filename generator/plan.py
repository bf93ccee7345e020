"""The plan: the 15-phase table for one environment (phase, wave, components, state, skip
policy, warnings), shared by `litellm-gitops phases` and the rendered README."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from generator.phases import PHASES, Delivery
from generator.skiprules import Decision


@dataclass(frozen=True)
class PlanRow:
    phase: int | None
    title: str
    wave: str
    delivery: str
    components: list[str]
    states: dict[str, str]
    skip_policy: str
    depends_on: list[int]
    warnings: list[str]


def _wave(decisions: list[Decision]) -> str:
    delivery = decisions[0].component.delivery if decisions else None
    if delivery in (Delivery.ARGOCD_APP, Delivery.ARGOCD_CONFIG):
        return str(decisions[0].component.phase)
    if delivery is Delivery.CLOUDFORMATION:
        return "CloudFormation"
    return "CI / command"


def plan_rows(decisions: list[Decision]) -> list[PlanRow]:
    rows = []
    for phase in PHASES:
        mine = [d for d in decisions if d.component.phase == phase.number]
        rows.append(PlanRow(
            phase=phase.number,
            title=phase.title,
            wave=_wave(mine),
            delivery=mine[0].component.delivery.value if mine else "",
            components=[d.component.name for d in mine],
            states={d.component.name: d.state for d in mine},
            skip_policy=phase.can_skip,
            depends_on=list(phase.depends_on),
            warnings=[d.warning for d in mine if d.warning],
        ))
    for d in decisions:
        if d.component.phase is None:
            rows.append(PlanRow(None, d.component.name, "CloudFormation", d.component.delivery.value,
                                [d.component.name], {d.component.name: d.state},
                                "Outside the phase order: " + d.component.notes, [], [d.warning] if d.warning else []))
    return rows


def plan_table(env_name: str, rows: list[PlanRow]) -> str:
    header = ("phase", "wave", "components", "state", "skip policy", "warnings")
    table = [header]
    for r in rows:
        table.append((
            str(r.phase) if r.phase is not None else "-",
            r.wave,
            ", ".join(r.components) or "-",
            ", ".join(sorted(set(r.states.values()))) or "-",
            r.skip_policy,
            "; ".join(r.warnings),
        ))
    widths = [max(len(row[i]) for row in table) for i in range(len(header) - 1)]
    lines = [f"Plan for environment {env_name}"]
    for row in table:
        cells = [row[i].ljust(widths[i]) for i in range(len(widths))] + [row[-1]]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"


def plan_json(env_name: str, rows: list[PlanRow]) -> str:
    return json.dumps({"environment": env_name, "phases": [asdict(r) for r in rows]}, indent=2) + "\n"
