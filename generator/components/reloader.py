"""Phase 7, Stakater Reloader (chart reloader from stakater-charts) into namespace litellm: restarts
LiteLLM and Open WebUI when the Secrets they read change, so a rotated master key or a new database
URL reaches the pods without a person.

External Secrets rewrites `litellm-secrets` and `openwebui-secrets` when the Secrets Manager value
changes (every `secrets.refreshInterval`), but environment variables are read at start only. The
workloads name the Secret they follow (`secret.reloader.stakater.com/reload`, see `RELOAD`), and
Reloader rolls them when it changes.

- Scoped, least privilege: it watches only the namespaces of the workloads it restarts, through a
  Role in each (`reloader.watchGlobally: false` with `reloader.namespaces`), no ClusterRole.
- `reloadStrategy: annotations`: Reloader marks the pod template with an annotation instead of an
  environment variable, which upstream recommends for Argo CD (no sync diff, no self-heal fight;
  stakater/Reloader README at chart-v2.2.16, "Reload Strategies").
- Phase 7, its own Application, before the Secrets it watches are created (phase 8) and long
  before the workloads (13, 14).
"""

from __future__ import annotations

from typing import Any

from generator.argocd import helm_application
from generator.artifacts import Artifact
from generator.components import resources
from generator.environment import Environment

COMPONENT = "reloader"
RELOAD = "secret.reloader.stakater.com/reload"  # workload annotation: comma-separated Secret names
WATCHED_NAMESPACES = ("litellm", "open-webui")


def reload_on(secret: str) -> dict[str, str]:
    """The annotation a workload carries to be restarted when `secret` changes."""
    return {RELOAD: secret}


def values(env: Environment) -> dict[str, Any]:
    return {
        "reloader": {
            "watchGlobally": False,
            "namespaces": list(WATCHED_NAMESPACES),
            "reloadStrategy": "annotations",
            "readOnlyRootFileSystem": True,
            "deployment": {
                "replicas": 1,
                "resources": resources("10m", "128Mi"),
                "containerSecurityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                                             "readOnlyRootFilesystem": True},
            },
        },
    }


def render(env: Environment) -> list[Artifact]:
    return helm_application(env, COMPONENT, values(env), release_name=COMPONENT)
