"""Grafana dashboards: ConfigMaps labelled `grafana_dashboard` must carry dashboards as JSON.

Every entry under `data` must parse as JSON and be a dashboard object (a JSON object with a
string `title`; `panels`, when present, a list). The ConfigMap itself is checked against
Kubernetes' schema like any other document.
"""

from __future__ import annotations

import json
from typing import Any

from generator.validate.kubernetes import identity
from generator.validate.problems import Problem

LABEL = "grafana_dashboard"


def is_dashboard_configmap(document: Any) -> bool:
    if not isinstance(document, dict) or document.get("kind") != "ConfigMap":
        return False
    labels = (document.get("metadata") or {}).get("labels") or {}
    return isinstance(labels, dict) and LABEL in labels


def check_dashboards(document: dict, path: str, number: int | None) -> list[Problem]:
    kind, name = identity(document)
    data = document.get("data") or {}
    if not isinstance(data, dict) or not data:
        return [Problem(path, number, kind, name, "data", "a grafana_dashboard ConfigMap must hold at least one dashboard", "dashboard")]
    problems = []
    for key, text in sorted(data.items()):
        field = f"data.{key}"
        try:
            dashboard = json.loads(text) if isinstance(text, str) else None
        except json.JSONDecodeError as exc:
            problems.append(Problem(path, number, kind, name, field,
                                    f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})", "dashboard"))
            continue
        if not isinstance(dashboard, dict):
            problems.append(Problem(path, number, kind, name, field, "a dashboard must be a JSON object", "dashboard"))
        elif not isinstance(dashboard.get("title"), str) or not dashboard["title"]:
            problems.append(Problem(path, number, kind, name, f"{field}.title", "a dashboard needs a string title", "dashboard"))
        elif "panels" in dashboard and not isinstance(dashboard["panels"], list):
            problems.append(Problem(path, number, kind, name, f"{field}.panels", "panels must be a list", "dashboard"))
    return problems
