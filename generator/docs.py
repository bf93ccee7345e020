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
    rows = plan_rows(decisions)
    context = {
        "env": env,
        "rows": rows,
        "root_name": argocd.root_name(env),
        "bootstrap_project": argocd.bootstrap_project_name(env),
        "database_url": env.secret_name("databaseUrl"),
        "paths": sorted(paths),
        "warnings": [d.warning for d in decisions if d.warning],
    }
    return [
        Artifact("README.md", _templates().get_template("environment-readme.md.j2").render(context)),
        Artifact("bootstrap/README.md", _templates().get_template("bootstrap-readme.md.j2").render(context)),
    ]
