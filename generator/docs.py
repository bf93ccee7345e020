"""The human side of `rendered/<env>/`: its README (Mermaid phase graph and wave table) and the
bootstrap README with the exact commands a person runs once. Jinja2 templates in templates/."""

from __future__ import annotations

from functools import cache

import jinja2

from generator import argocd
from generator.artifacts import Artifact
from generator.environment import Environment
from generator.plan import plan_rows
from generator.skiprules import Decision


@cache
def _templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("generator", "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )


def render_docs(env: Environment, decisions: list[Decision], paths: list[str]) -> list[Artifact]:
    """README.md, and bootstrap/README.md unless a hub manages the environment (nothing to apply by hand)."""
    rows = plan_rows(decisions)
    hub = argocd.hub(env)
    context = {
        "env": env,
        "rows": rows,
        "root_name": argocd.root_name(env),
        "bootstrap_project": argocd.bootstrap_project_name(env),
        "database_url": env.secret_name("databaseUrl"),
        "paths": sorted(paths),
        "warnings": [d.warning for d in decisions if d.warning],
        "hub": hub,
        "project": argocd.project_name(env),
        "sync_timeout": argocd.SYNC_TIMEOUT_SECONDS,
        "timeout_key": argocd.SYNC_TIMEOUT_KEY,
    }
    readme = Artifact("README.md", _templates().get_template("environment-readme.md.j2").render(context))
    if hub:
        return [readme]
    return [readme, Artifact("bootstrap/README.md", _templates().get_template("bootstrap-readme.md.j2").render(context))]


def render_fleet_readme(hub) -> Artifact:
    """rendered/fleet/<hub>/README.md: what a person does once per hub (generator.fleet)."""
    from generator import fleet

    first = hub.first
    context = {
        "hub": hub,
        "folder": f"rendered/{fleet.FOLDER}/{hub.name}",
        "namespace": hub.namespace,
        "role_arn": argocd.hub(first)["argocdRoleArn"],
        "stages": fleet.STAGES,
        "stage_label": fleet.STAGE_LABEL,
        "sync_timeout": argocd.SYNC_TIMEOUT_SECONDS,
        "timeout_key": argocd.SYNC_TIMEOUT_KEY,
        "appset": fleet.appset_name(hub.name),
        "rows": [{"env": e, "stage": argocd.hub(e)["stage"], "role": fleet.hub_role_arn(e),
                  "project": argocd.project_name(e), "app_namespace": argocd.app_namespace(e)} for e in hub.environments],
    }
    return Artifact("README.md", _templates().get_template("fleet-readme.md.j2").render(context))
