"""Phase 10, Grafana dashboards: one ConfigMap per JSON file in generator/data/dashboards/, in
namespace monitoring, labelled so kube-prometheus-stack's Grafana sidecar loads it.

The dashboards are data files, not Python: edit the JSON (export it from Grafana) and render.
Each must be a dashboard Grafana accepts: a uid, a title, a schemaVersion and panels whose queries
name a data source; render refuses one that is not.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from generator.argocd import manifest_application
from generator.artifacts import Artifact
from generator.components.kube_prometheus_stack import DASHBOARD_LABEL, DASHBOARD_LABEL_VALUE
from generator.environment import Environment
from generator.errors import InputError

COMPONENT = "grafana-dashboards"
NAMESPACE = "monitoring"
DASHBOARD_FOLDER = ("data", "dashboards")


def dashboard_files() -> list[tuple[str, str]]:
    """(stem, JSON text) of every packaged dashboard, sorted by file name."""
    folder = resources.files("generator").joinpath(*DASHBOARD_FOLDER)
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".json")), key=lambda f: f.name)
    return [(f.name.removesuffix(".json"), f.read_text(encoding="utf-8")) for f in files]


def check_dashboard(name: str, text: str) -> dict[str, Any]:
    """The parsed dashboard, or an InputError naming what Grafana would reject."""
    where = f"generator/{'/'.join(DASHBOARD_FOLDER)}/{name}.json"
    try:
        dashboard = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"dashboard is not valid JSON: {exc.msg}", file=where, line=exc.lineno, column=exc.colno,
                         hint="export the dashboard from Grafana again (Share > Export > Save to file)") from None
    problems = [key for key in ("uid", "title", "schemaVersion", "panels") if key not in dashboard]
    for panel in dashboard.get("panels", []):
        if "datasource" not in panel or not panel.get("targets"):
            problems.append(f"panel {panel.get('title', panel.get('id'))!r} needs a datasource and targets")
    if problems:
        raise InputError(f"dashboard is incomplete: {', '.join(map(str, problems))}", file=where,
                         hint="a Grafana dashboard needs uid, title, schemaVersion, and panels with a datasource "
                              "and targets")
    return dashboard


def config_map(name: str, text: str) -> dict[str, Any]:
    dashboard = check_dashboard(name, text)
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": f"grafana-dashboard-{name}",
            "namespace": NAMESPACE,
            "labels": {DASHBOARD_LABEL: DASHBOARD_LABEL_VALUE},
            "annotations": {"litellm-gitops/dashboard-uid": dashboard["uid"]},
        },
        "data": {f"{name}.json": text},
    }


def render(env: Environment) -> list[Artifact]:
    objects = [(f"configmap-dashboard-{name}.yaml", config_map(name, text)) for name, text in dashboard_files()]
    return manifest_application(env, COMPONENT, objects)
