"""Render one environment into its files: the catalogue check, the skip rules, every
component's renderer, the Argo CD bootstrap and the environment's README."""

from __future__ import annotations

from dataclasses import dataclass

from generator import argocd, docs, fleet
from generator.artifacts import Artifact
from generator.components import grafana_dashboards, render_component
from generator.environment import Environment
from generator.errors import InputError
from generator.phases import check_catalogue
from generator.skiprules import Decision, decide


@dataclass(frozen=True)
class RenderedEnvironment:
    env: Environment
    decisions: list[Decision]
    files: dict[str, str]  # path relative to rendered/<env>/ -> text
    notes: tuple[str, ...] = ()  # what the rendered stack will not see (grafana_dashboards.blind_spots)

    @property
    def warnings(self) -> list[str]:
        return [d.warning for d in self.decisions if d.warning] + list(self.notes)


def render_environment(env: Environment) -> RenderedEnvironment:
    check_catalogue()
    decisions = decide(env)
    if argocd.hub(env):
        fleet.check(env)
    artifacts: list[Artifact] = [] if argocd.hub(env) else [  # a hub's folder holds these (generator.fleet)
        Artifact.yaml("bootstrap/project.yaml", argocd.bootstrap_project(env)),
        Artifact.yaml("bootstrap/root-app.yaml", argocd.root_application(env)),
        Artifact.yaml("bootstrap/argocd-cm.yaml", argocd.argocd_cm(env)),
        Artifact.yaml("bootstrap/argocd-cmd-params-cm.yaml", argocd.argocd_cmd_params_cm(env.argocd["namespace"], [env])),
        Artifact.yaml(argocd.PROJECT_PATH, argocd.app_project(env)),
    ]
    for decision in decisions:
        if decision.state == "enabled":
            artifacts.extend(render_component(env, decision.component))
    app_files = [a.path.removeprefix("apps/") for a in artifacts if a.path.startswith("apps/")]
    artifacts.append(Artifact(f"apps/{argocd.PIN_FILE}", argocd.pin_revision_jsonnet(env.name, env.git["repoURL"], app_files)))
    artifacts.extend(docs.render_docs(env, decisions, [a.path for a in artifacts]))

    files: dict[str, str] = {}
    for artifact in artifacts:
        if artifact.path in files:
            raise InputError(f"two renderers wrote {artifact.path}", hint="this is a bug in litellm-gitops: report it")
        content = artifact.content if artifact.content.endswith("\n") else artifact.content + "\n"
        files[artifact.path] = content.replace("\r\n", "\n")
    return RenderedEnvironment(env, decisions, dict(sorted(files.items())), tuple(grafana_dashboards.blind_spots(env)))
