"""Phase 7, Reloader (stakater/Reloader chart 2.2.16) into namespace external-secrets: rolls the
workloads that read a Secret when External Secrets rewrites it.

It syncs in wave 7, with the External Secrets Operator and before the ExternalSecrets of wave 8,
so it is watching before any Secret it restarts for is written or rewritten.

- Opt-in, by name: a workload restarts only for the Secrets its annotation lists
  (`secret.reloader.stakater.com/reload`, `reload_annotations`), never by discovery
  (`autoReloadAll` stays off). Redis HA is deliberately not annotated: Redis and Sentinel read
  `requirepass`/`masterauth` once at start, and restarting them one by one on a password change
  would split replication (docs/day2-rotation.md rotates it through ACLs instead).
- `reloadStrategy: annotations`: Reloader writes one pod-template annotation
  (`reloader.stakater.com/last-reloaded-from`, stakater/Reloader v1.4.21
  internal/pkg/constants/constants.go LastReloadedFromAnnotation) instead of injecting an
  environment variable that Argo CD's self-heal would revert; the Applications of the annotated
  workloads ignore that one annotation (`ignore_reloads`), as upstream's guide asks
  (https://docs.stakater.com/reloader/1.4/how-to-guides/use-reloader-with-argocd.html).
- Scoped: it watches only the stack's workload namespaces, through namespaced Roles (the chart's
  `watchGlobally: false` + `namespaces` mode), Secrets only; Jobs and CronJobs are left alone (the
  migration Job is an Argo CD PreSync hook, recreated and re-reading the Secret on every sync;
  Reloader recreating it outside a sync would run migrations out of order).
"""

from __future__ import annotations

from typing import Any

from generator.argocd import helm_application
from generator.artifacts import Artifact
from generator.components import resources
from generator.environment import Environment

COMPONENT = "reloader"
NAMESPACE = "external-secrets"
RELEASE = "reloader"
# Namespaces whose workloads it may restart (the chart adds its own namespace to them).
WATCHED = ("litellm", "monitoring", "open-webui")

RELOAD_ANNOTATION = "secret.reloader.stakater.com/reload"
LAST_RELOADED = "reloader.stakater.com/last-reloaded-from"


def active(env: Environment) -> bool:
    """Whether a Reloader (rendered here, or managed elsewhere: external) watches the cluster."""
    return env.state(COMPONENT) != "disabled"


def reload_annotations(env: Environment, *secrets: str) -> dict[str, str]:
    """The workload annotation that restarts it when one of `secrets` (names in its namespace)
    changes; nothing when no Reloader runs."""
    return {RELOAD_ANNOTATION: ",".join(secrets)} if active(env) and secrets else {}


def ignore_reloads(env: Environment, kind: str = "Deployment") -> list[dict[str, Any]]:
    """Argo CD ignoreDifferences for the annotation Reloader writes into a pod template."""
    if not active(env):
        return []
    return [{"group": "apps", "kind": kind,
             "jqPathExpressions": [f'.spec.template.metadata.annotations."{LAST_RELOADED}"']}]


def values(env: Environment) -> dict[str, Any]:
    return {
        "reloader": {
            "autoReloadAll": False,
            "reloadStrategy": "annotations",
            "watchGlobally": False,
            "namespaces": list(WATCHED),
            "ignoreConfigMaps": True,
            "ignoreJobs": True,
            "ignoreCronJobs": True,
            "readOnlyRootFileSystem": True,
            "deployment": {
                "resources": resources("10m", "128Mi"),
                "containerSecurityContext": {"allowPrivilegeEscalation": False,
                                             "capabilities": {"drop": ["ALL"]}},
            },
        },
    }


def render(env: Environment) -> list[Artifact]:
    return helm_application(env, COMPONENT, values(env), release_name=RELEASE)
