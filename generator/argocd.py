"""Argo CD objects: the root Application, the AppProjects, child Applications, argocd-cm and
argocd-cmd-params-cm.

Conventions every child Application shares live here once: the sync-wave annotation (the phase
number, as a string), automated sync with prune and self-heal, retry with backoff, the resources
finalizer, and multi-source Helm with a `$values` reference to the values file in Git.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from generator.artifacts import GENERATED_HEADER, Artifact
from generator.errors import InputError
from generator.phases import BY_NAME, COMPONENTS, NAMESPACES

if TYPE_CHECKING:  # type hints only: the guard imports argocd's names without loading environments
    from generator.environment import Environment

WAVE = "argocd.argoproj.io/sync-wave"
FINALIZER = "resources-finalizer.argocd.argoproj.io"
PART_OF = {"app.kubernetes.io/part-of": "litellm-gitops", "app.kubernetes.io/managed-by": "argocd"}

# Retry a failed sync until it heals, with backoff (10s, 20s, ... then every 3 minutes), always at
# the newest revision. A wave that is Degraded for a reason that heals (a secret put later, a node
# arriving) fails the sync: gitops-engine marks a Degraded resource of a multi-wave sync
# OperationFailed (argo-cd v3.5.1 gitops-engine/pkg/sync/sync_context.go, the HealthStatusDegraded
# case). With a finite limit, Argo CD then stops: autoSync skips a revision whose last sync failed
# ("Skipping auto-sync: failed previous sync attempt", controller/appcontroller.go autoSync), so the
# rollout would wait for a new commit. A negative limit retries without end
# (`state.RetryCount < Retry.Limit || Retry.Limit < 0`, controller/appcontroller.go processRequestedAppOperations),
# and since a retrying operation blocks new automated syncs ("another operation is in progress"),
# `refresh: true` makes each retry use the latest revision (`Retry.Refresh` clears the operation's
# revisions), so a fix pushed meanwhile is picked up by the next attempt. The retries of one
# operation are bounded in time by the sync timeout (SYNC_TIMEOUT_KEY below).
RETRY = {"limit": -1, "refresh": True, "backoff": {"duration": "10s", "factor": 2, "maxDuration": "3m"}}

# Cluster-scoped kinds the stack's charts create; nothing else cluster-wide is allowed.
CLUSTER_RESOURCES = (
    ("", "Namespace"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
    ("external-secrets.io", "ClusterSecretStore"),
    ("storage.k8s.io", "StorageClass"),  # phase 6, components/storage_class.py
)

# Application health as Argo CD >= 3.4 needs it to make waves wait for child Applications: an
# application whose resources partly failed can report Healthy, so require Synced as well. And
# Synced at the commit the root pinned it to (pin_revision_jsonnet): right after the root applies a
# child with a new revision, the child's status still describes the previous one until Argo CD
# refreshes it, and the wave must not count that stale status, neither a stale Synced and Healthy
# nor a stale Degraded (the pending revision is checked first, so a child Degraded at the old
# commit is given the new one, which may be the fix).
#
# Argo CD runs a custom health script in a sandbox: util/lua/lua.go (v3.5.1)
# runLuaWithResourceActionParameters opens only package, base, table and a safe os (reachable by
# require only, util/lua/oslib_safe.go), unless argocd-cm sets
# resource.customizations.useOpenLibs.<group>_<kind>; a script that calls the string library
# errors, and a wave never completes on a resource whose health errors. So the script uses base
# and table only: `#s` (the VM's length operator), never string.* or s:method(). Which sources the
# root pinned is the pin's own rule (pin_revision_jsonnet): Git sources, those without `chart`,
# whose targetRevision is then the root's commit, 40 (SHA-1) or 64 (SHA-256) characters long. A
# source that follows a branch (an Application applied by hand) is judged on health and sync only.
APPLICATION_HEALTH_LUA = """\
hs = {}
hs.status = "Progressing"
hs.message = "Waiting for the application to be Synced and Healthy"
local function pinned(source)
  local revision = source.targetRevision
  return source.chart == nil and type(revision) == "string" and (#revision == 40 or #revision == 64)
end
local function waiting_for_revision(spec, sync)
  if spec == nil then
    return nil
  end
  if spec.source ~= nil and pinned(spec.source) and sync.revision ~= spec.source.targetRevision then
    return spec.source.targetRevision
  end
  if spec.sources ~= nil then
    for i, source in ipairs(spec.sources) do
      if pinned(source) and (sync.revisions == nil or sync.revisions[i] ~= source.targetRevision) then
        return source.targetRevision
      end
    end
  end
  return nil
end
if obj.status ~= nil and obj.status.health ~= nil then
  local health = obj.status.health.status
  local sync = "Unknown"
  local synced = obj.status.sync or {}
  if synced.status ~= nil then
    sync = synced.status
  end
  local pending = waiting_for_revision(obj.spec, synced)
  if pending ~= nil then
    hs.message = "Waiting for the application to sync revision " .. pending
  elseif health == "Degraded" or health == "Suspended" or health == "Missing" then
    hs.status = health
    hs.message = "Application is " .. health .. " (sync: " .. sync .. ")"
  elseif health == "Healthy" and sync == "Synced" then
    hs.status = "Healthy"
    hs.message = "Synced and Healthy"
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


def app_namespace(env: Environment) -> str:
    """Where the environment's child Applications live. Standalone: Argo CD's own namespace. On a
    hub: a namespace of the environment's own, `<argocd.namespace>-<env>` (Argo CD's "applications
    in any namespace", docs/operator-manual/app-any-namespace.md, v3.5.1): its AppProject lists
    only that namespace in `sourceNamespaces`, so no other environment's Application may use it,
    and its root may create Applications only there (generator.fleet)."""
    return f"{env.argocd['namespace']}-{env.name}" if hub(env) else env.argocd["namespace"]


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
    meta = metadata(env, app_name(env, component), app_namespace(env), entry.phase)
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
        # YAML only: Argo CD would also evaluate a *.jsonnet file dropped into the folder, which
        # neither the guard nor validate reads. The root's pin is the only jsonnet Argo CD runs.
        "directory": {"recurse": False, "include": "*.yaml"},
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
        # Only Applications in the environment's own namespace may use this project (besides Argo
        # CD's own namespace, which may use any: app-any-namespace.md, "For backwards compatibility").
        spec["sourceNamespaces"] = [app_namespace(env)]
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


# Waves order every change, not only the first install: every child's Git sources (its manifests
# folder, the `$values` reference) are pinned to the commit the root is syncing, so a child reads
# a new commit only when the root applies it, in the child's wave. The root does not apply the
# YAML files of apps/ directly: it evaluates PIN_FILE (jsonnet, generated from the file list), which
# imports each of them and replaces the Git revision with the root's own resolved revision. Argo CD
# substitutes $ARGOCD_APP_REVISION into jsonnet extVars (argo-cd v3.5.1
# reposerver/repository/repository.go makeJsonnetVM; docs/user-guide/build-environment.md) and
# evaluates with go-jsonnet v0.22.0 (go.mod), whose std.parseYaml reads the YAML files.
PIN_FILE = "pin-revision.jsonnet"
REVISION_VAR = "revision"


def pin_revision_jsonnet(env_name: str, repo_url: str, app_files: list[str]) -> str:
    """The root's jsonnet: every file of apps/ (names relative to apps/), with the Git repository's
    sources of each Application pinned to the root's revision. Chart sources keep their version.
    The guard recomputes it from a tree (generator.guard.synced): this exact text is the only
    Jsonnet it accepts."""
    imports = "\n".join(f"  std.parseYaml(importstr '{name}')," for name in sorted(app_files))
    return f"""// Rendered by litellm-gitops for environment {env_name}: do not edit (`litellm-gitops render`).
// The root Application evaluates this file instead of applying the YAML files beside it: each is
// applied as it is, except that the sources reading this Git repository are pinned to the commit
// the root is syncing (extVar {REVISION_VAR} = $ARGOCD_APP_REVISION). A child therefore moves to a
// new commit only when the root applies it, in the child's sync wave.
local revision = std.extVar('{REVISION_VAR}');
local repo = {json.dumps(repo_url)};
local pin(source) =
  if std.objectHas(source, 'repoURL') && source.repoURL == repo && !std.objectHas(source, 'chart')
  then source {{ targetRevision: revision }}
  else source;
local pinned(doc) =
  if doc.kind != 'Application' then doc
  else doc {{
    spec+: (if std.objectHas(doc.spec, 'source') then {{ source: pin(doc.spec.source) }} else {{}})
           + (if std.objectHas(doc.spec, 'sources') then {{ sources: [pin(s) for s in doc.spec.sources] }} else {{}}),
  }};
[pinned(doc) for doc in [
{imports}
]]
"""


def root_directory() -> dict[str, Any]:
    """How a root Application reads apps/: only the revision pin, evaluated with the commit it syncs
    (standalone roots and the roots a hub's ApplicationSet generates alike)."""
    return {"recurse": False, "include": PIN_FILE,
            "jsonnet": {"extVars": [{"name": REVISION_VAR, "value": "$ARGOCD_APP_REVISION"}]}}


# Deleting a root must not tear down the stack. Argo CD cascades an Application's deletion to its
# resources only with the resources finalizer (docs/user-guide/app_deletion.md, "About The Deletion
# Finalizer"), so a root carries none: `kubectl delete` removes the root alone. But `argocd app
# delete` cascades by default and adds the finalizer itself (same page: "When you invoke `argocd app
# delete` with `--cascade`, the finalizer is added automatically"), and so does the UI's default
# (Foreground). So every root also says Delete=false: a cascading deletion deletes a resource only
# when its Delete sync option, else the Application's, is not "false" (argo-cd v3.5.1
# controller/appcontroller.go shouldBeDeleted, lines 1251-1260; gitops-engine/pkg/sync/common/types.go
# SyncOptionDelete). The children, the stack's AppProject and the repository Secrets survive any
# deletion of the root. Delete only governs deleting the Application; pruning (Prune) is untouched,
# so a child removed from Git is still pruned, and its own resources finalizer (kept on every child)
# then removes its workloads, which is what disabling a component means.
ROOT_SYNC_OPTIONS = ["PruneLast=true", "Delete=false"]


def root_application(env: Environment) -> dict[str, Any]:
    meta = metadata(env, root_name(env), env.argocd["namespace"], None)
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
                "directory": root_directory(),
            },
            "destination": {"server": env.cluster["server"], "namespace": env.argocd["namespace"]},
            "syncPolicy": {
                "automated": {"prune": True, "selfHeal": True},
                "syncOptions": ROOT_SYNC_OPTIONS,
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
        "data": {
            "resource.customizations.health.argoproj.io_Application": APPLICATION_HEALTH_LUA,
            # Annotation tracking (argocd.argoproj.io/tracking-id), stated rather than assumed: with
            # label tracking Argo CD rewrites app.kubernetes.io/instance on every object it applies,
            # which breaks the charts' ServiceMonitor and Service selectors built on that label.
            "application.resourceTrackingMethod": "annotation",
        },
    }



# controller.sync.timeout.seconds (argocd-cmd-params-cm; docs/operator-manual/argocd-cmd-params-cm.yaml
# v3.5.1 line 77: "Specifies a sync timeout for applications. "0" means no timeout (default "0")").
# Without it an operation whose wave never turns Healthy nor Degraded (a StatefulSet waiting for a
# volume, a health script that errors) runs for ever: gitops-engine waits while any task of a
# multi-wave sync is running (gitops-engine/pkg/sync/sync_context.go Sync, "if (a) we are
# multi-step and we have any running tasks ... then wait"), automated sync is skipped meanwhile
# ("another operation is in progress", controller/appcontroller.go autoSync) and a fix pushed to
# Git never reaches the children. With it, controller/appcontroller.go processRequestedAppOperation
# (v3.5.1 lines 1536-1640) terminates an operation `syncTimeout` after its StartedAt (which retries
# keep), does not retry a terminated operation (`!terminating`), and completes it Failed, "...,
# triggered by controller sync timeout"; automated sync then starts a new operation at the newest
# commit, but not again at the commit that failed (alreadyAttemptedSync).
#
# The clock covers the root's whole operation, every wave and every retry, so it must exceed the
# sum of the waves' budgets: the verification Job's own deadline for wave 15 (its PostSync hook),
# and for every other wave Kubernetes' default Deployment progressDeadlineSeconds (600 s), after
# which a rollout that makes no progress turns Degraded and the sync fails and retries on its own.
# The value is one constant, not computed per environment: the bootstrap is applied by hand and
# guarded, so an everyday change (LiteLLM's replicas, which lengthen the verification) must not
# rewrite it. Twelve hours fit the largest environment the schema admits (50 LiteLLM replicas:
# about 10.6 h); `check_sync_timeout` refuses an environment whose rollout would not fit.
SYNC_TIMEOUT_KEY = "controller.sync.timeout.seconds"
SYNC_TIMEOUT_SECONDS = 12 * 3600
WAVE_BUDGET_SECONDS = 600


def rollout_budget_seconds(env: Environment) -> int:
    """The longest a first install of `env` may take before something is Degraded or done."""
    from generator.components import verification  # verification imports this module

    waves = {c.wave for c in COMPONENTS if c.wave is not None and c.name != "verification" and env.enabled(c.name)}
    return len(waves) * WAVE_BUDGET_SECONDS + verification.deadline_seconds(env)


def check_sync_timeout(env: Environment) -> None:
    budget = rollout_budget_seconds(env)
    if budget > SYNC_TIMEOUT_SECONDS:
        raise InputError(
            f"environment {env.name}: its rollout may take {budget} s ({WAVE_BUDGET_SECONDS} s a wave and the "
            f"verification Job's deadline), longer than Argo CD's sync timeout, {SYNC_TIMEOUT_SECONDS} s: "
            "the timeout would end a rollout that is still making progress",
            file=str(env.source), hint="lower components.litellm.replicas (the verification asks twice as many "
                                       "answers), or raise SYNC_TIMEOUT_SECONDS in generator/argocd.py")


def argocd_cmd_params_cm(namespace: str, envs: list[Environment]) -> dict[str, Any]:
    """argocd-cmd-params-cm for an Argo CD driving `envs`: the sync timeout, which each must fit."""
    for env in envs:
        check_sync_timeout(env)
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "argocd-cmd-params-cm",
            "namespace": namespace,
            "labels": {"app.kubernetes.io/name": "argocd-cmd-params-cm", "app.kubernetes.io/part-of": "argocd"},
        },
        "data": {SYNC_TIMEOUT_KEY: str(SYNC_TIMEOUT_SECONDS)},
    }
