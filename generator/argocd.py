"""Argo CD objects: the root Application, the AppProjects, child Applications and argocd-cm.

Conventions every child Application shares live here once: the sync-wave annotation (the phase
number, as a string), automated sync with prune and self-heal, retry with backoff, the resources
finalizer, and multi-source Helm with a `$values` reference to the values file in Git.
"""

from __future__ import annotations

from typing import Any

from generator.artifacts import GENERATED_HEADER, Artifact
from generator.environment import Environment
from generator.phases import BY_NAME, COMPONENTS, NAMESPACES

WAVE = "argocd.argoproj.io/sync-wave"
FINALIZER = "resources-finalizer.argocd.argoproj.io"
PART_OF = {"app.kubernetes.io/part-of": "litellm-gitops", "app.kubernetes.io/managed-by": "argocd"}

RETRY = {"limit": 5, "backoff": {"duration": "10s", "factor": 2, "maxDuration": "5m"}}

# Cluster-scoped kinds the stack's charts create; nothing else cluster-wide is allowed.
CLUSTER_RESOURCES = (
    ("", "Namespace"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
    ("external-secrets.io", "ClusterSecretStore"),
)

# Application health as Argo CD >= 3.4 needs it to make waves wait for child Applications: an
# application whose resources partly failed can report Healthy, so require Synced as well.
APPLICATION_HEALTH_LUA = """\
hs = {}
hs.status = "Progressing"
hs.message = "Waiting for the application to be Synced and Healthy"
if obj.status ~= nil and obj.status.health ~= nil then
  local health = obj.status.health.status
  local sync = "Unknown"
  if obj.status.sync ~= nil and obj.status.sync.status ~= nil then
    sync = obj.status.sync.status
  end
  if health == "Healthy" and sync == "Synced" then
    hs.status = "Healthy"
    hs.message = "Synced and Healthy"
  elseif health == "Degraded" or health == "Suspended" or health == "Missing" then
    hs.status = health
    hs.message = "Application is " .. health .. " (sync: " .. sync .. ")"
  else
    hs.message = "Application is " .. tostring(health) .. " and " .. sync
  end
end
return hs
"""


def hub(env: Environment) -> dict[str, Any] | None:
    """The environment's `hub` block when a hub Argo CD manages it (see generator.fleet), else None."""
    return env.config.get("hub")


def project_name(env: Environment) -> str:
    """The stack's AppProject: argocd.project, suffixed with the environment on a hub, where many
    environments share one Argo CD namespace."""
    return f"{env.argocd['project']}-{env.name}" if hub(env) else env.argocd["project"]


def cluster_destination(env: Environment) -> dict[str, str]:
    """Where the stack goes: on a hub, the cluster by the name the hub registers it under (the
    environment's name); standalone, the API server as Argo CD knows it."""
    return {"name": env.name} if hub(env) else {"server": env.cluster["server"]}


def app_name(env: Environment, component: str) -> str:
    return f"{env.name}-{component}"


def labels(env: Environment, phase: int | None = None) -> dict[str, str]:
    result = dict(PART_OF)
    result["litellm-gitops/environment"] = env.name
    if phase is not None:
        result["litellm-gitops/phase"] = str(phase)
    return result


def wave_annotations(phase: int) -> dict[str, str]:
    return {WAVE: str(phase)}


def metadata(env: Environment, name: str, namespace: str | None, phase: int | None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    meta["labels"] = labels(env, phase)
    if phase is not None:
        meta["annotations"] = wave_annotations(phase)
    return meta


def enabled_charts(env: Environment) -> list[dict[str, str]]:
    """The chart pins ({repoURL, name, version}) of the enabled components, in catalogue order."""
    return [env.component(c.name)["chart"] for c in COMPONENTS
            if env.enabled(c.name) and "chart" in env.component(c.name)]


def chart_sources(env: Environment) -> list[str]:
    """Repository URLs the stack may pull from: the Git repository and every enabled chart's."""
    return [env.git["repoURL"]] + sorted({chart["repoURL"] for chart in enabled_charts(env)})


def _sync_policy(server_side_apply: bool, ignores_differences: bool) -> dict[str, Any]:
    options = ["CreateNamespace=false", "PruneLast=true", "FailOnSharedResource=true"]
    if server_side_apply:
        options.append("ServerSideApply=true")
    if ignores_differences:  # otherwise a sync would still overwrite the fields Argo CD ignores
        options.append("RespectIgnoreDifferences=true")
    return {
        "automated": {"prune": True, "selfHeal": True},
        "syncOptions": options,
        "retry": RETRY,
    }


def _application(env: Environment, component: str, spec_sources: dict[str, Any],
                 server_side_apply: bool, ignore_differences: list[dict] | None) -> dict[str, Any]:
    entry = BY_NAME[component]
    meta = metadata(env, app_name(env, component), env.argocd["namespace"], entry.phase)
    meta["finalizers"] = [FINALIZER]
    destination = cluster_destination(env)
    if entry.namespace:
        destination["namespace"] = entry.namespace
    spec: dict[str, Any] = {"project": project_name(env), "destination": destination}
    spec.update(spec_sources)
    spec["syncPolicy"] = _sync_policy(server_side_apply, bool(ignore_differences))
    if ignore_differences:
        spec["ignoreDifferences"] = ignore_differences
    spec["revisionHistoryLimit"] = 10
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": meta, "spec": spec}


def app_path(component: str) -> str:
    return f"apps/{BY_NAME[component].phase:02d}-{component}.yaml"


def values_path(component: str) -> str:
    return f"values/{component}.yaml"


def helm_application(env: Environment, component: str, values: dict[str, Any], *,
                     release_name: str | None = None, server_side_apply: bool = False,
                     ignore_differences: list[dict] | None = None) -> list[Artifact]:
    """A child Application for a pinned chart, its values in a file under rendered/<env>/values/."""
    chart = env.component(component)["chart"]
    helm: dict[str, Any] = {
        "releaseName": release_name or component,
        "valueFiles": [f"$values/rendered/{env.name}/{values_path(component)}"],
    }
    sources = {"sources": [
        {"repoURL": chart["repoURL"], "chart": chart["name"], "targetRevision": chart["version"], "helm": helm},
        {"repoURL": env.git["repoURL"], "targetRevision": env.git["targetRevision"], "ref": "values"},
    ]}
    app = _application(env, component, sources, server_side_apply, ignore_differences)
    header = (f"# Values for the {chart['name']} chart {chart['version']} ({component}, wave {BY_NAME[component].phase}).\n"
              + GENERATED_HEADER.format(env=env.name))
    return [Artifact.yaml(app_path(component), app), Artifact.yaml(values_path(component), values, header)]


def manifests_path(component: str) -> str:
    return f"manifests/{component}"


def manifest_application(env: Environment, component: str, objects: list[tuple[str, dict[str, Any]]], *,
                         ignore_differences: list[dict] | None = None) -> list[Artifact]:
    """A child Application syncing plain manifests from rendered/<env>/manifests/<component>/.

    `objects` are (file name, object) pairs; each object gets the component's wave.
    """
    entry = BY_NAME[component]
    source = {"source": {
        "repoURL": env.git["repoURL"],
        "targetRevision": env.git["targetRevision"],
        "path": f"rendered/{env.name}/{manifests_path(component)}",
        "directory": {"recurse": False},
    }}
    app = _application(env, component, source, False, ignore_differences)
    artifacts = [Artifact.yaml(app_path(component), app)]
    for file_name, obj in objects:
        meta = obj.setdefault("metadata", {})
        meta.setdefault("labels", {}).update(labels(env, entry.phase))
        meta.setdefault("annotations", {}).update(wave_annotations(entry.phase))
        artifacts.append(Artifact.yaml(f"{manifests_path(component)}/{file_name}", obj))
    return artifacts


# The stack's AppProject and the repository Secrets are phase 5 (Helm repos): they say which
# chart repositories may be used.
REPOSITORIES_PHASE = BY_NAME["helm-repos"].phase
PROJECT_PATH = f"apps/{REPOSITORIES_PHASE:02d}-project.yaml"


def app_project(env: Environment) -> dict[str, Any]:
    """The stack's AppProject: only the Git repository and pinned charts as sources, only this
    cluster and the stack's namespaces as destinations."""
    meta = metadata(env, project_name(env), env.argocd["namespace"], REPOSITORIES_PHASE)
    server = env.cluster["server"]
    spec: dict[str, Any] = {
        "description": f"LiteLLM stack, environment {env.name} (rendered by litellm-gitops)",
        "sourceRepos": chart_sources(env),
        "destinations": [{"server": server, "namespace": ns} for ns in NAMESPACES],
        "clusterResourceWhitelist": [{"group": g, "kind": k} for g, k in CLUSTER_RESOURCES],
        "orphanedResources": {"warn": True},
    }
    if hub(env):  # only the cluster Secret scoped to this project (generator.fleet) is a destination
        spec["permitOnlyProjectScopedClusters"] = True
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject", "metadata": meta, "spec": spec}


def bootstrap_project_name(env: Environment) -> str:
    return f"{env.argocd['project']}-bootstrap"


def root_name(env: Environment) -> str:
    return f"{env.name}-root"


def bootstrap_project(env: Environment) -> dict[str, Any]:
    """The project the root Application runs in: Git only, Argo CD's own namespace only, and only
    the kinds the root manages (Applications, the stack's AppProject, repository Secrets)."""
    meta = metadata(env, bootstrap_project_name(env), env.argocd["namespace"], None)
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": meta,
        "spec": {
            "description": f"Root of the LiteLLM stack, environment {env.name}: syncs rendered/{env.name}/apps",
            "sourceRepos": [env.git["repoURL"]],
            "destinations": [{"server": env.cluster["server"], "namespace": env.argocd["namespace"]}],
            "clusterResourceWhitelist": [],
            "namespaceResourceWhitelist": [
                {"group": "argoproj.io", "kind": "Application"},
                {"group": "argoproj.io", "kind": "AppProject"},
                {"group": "", "kind": "Secret"},
            ],
        },
    }


def root_application(env: Environment) -> dict[str, Any]:
    meta = metadata(env, root_name(env), env.argocd["namespace"], None)
    meta["finalizers"] = [FINALIZER]
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": meta,
        "spec": {
            "project": bootstrap_project_name(env),
            "source": {
                "repoURL": env.git["repoURL"],
                "targetRevision": env.git["targetRevision"],
                "path": f"rendered/{env.name}/apps",
                "directory": {"recurse": False},
            },
            "destination": {"server": env.cluster["server"], "namespace": env.argocd["namespace"]},
            "syncPolicy": {
                "automated": {"prune": True, "selfHeal": True},
                "syncOptions": ["PruneLast=true"],
                "retry": RETRY,
            },
            "revisionHistoryLimit": 10,
        },
    }


def argocd_cm(env: Environment) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "argocd-cm",
            "namespace": env.argocd["namespace"],
            "labels": {"app.kubernetes.io/name": "argocd-cm", "app.kubernetes.io/part-of": "argocd"},
        },
        "data": {"resource.customizations.health.argoproj.io_Application": APPLICATION_HEALTH_LUA},
    }

