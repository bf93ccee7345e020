"""The security contexts the stack's own workloads run with, defined once.

Every pod whose values the project writes passes the Pod Security Standards' `restricted` profile
(kubernetes/pod-security-admission policy/check_*.go, checked on the applied state by
generator/validate/podsecurity.py): not root, a non-root UID, no privilege escalation, every
capability dropped, the runtime's default seccomp profile; and, beyond the profile, a read-only
root filesystem, with an explicit emptyDir wherever the program must write (each component names
its own, from its image's documented paths).
"""

from __future__ import annotations

from typing import Any

RUNTIME_DEFAULT = {"type": "RuntimeDefault"}


def container_context(user: int, group: int | None = None) -> dict[str, Any]:
    """A container's securityContext: complete on its own, for charts that give a Job's pod no
    pod-level securityContext (LiteLLM's migration Job)."""
    return {"runAsNonRoot": True, "runAsUser": user, "runAsGroup": user if group is None else group,
            "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]}, "seccompProfile": dict(RUNTIME_DEFAULT)}


def pod_context(user: int, group: int | None = None, fs_group: int | None = None) -> dict[str, Any]:
    """A pod's securityContext; `fs_group` makes mounted volumes writable for the pod's group (set
    once on a volume's root, OnRootMismatch, so a large volume is not walked on every start)."""
    result: dict[str, Any] = {"runAsNonRoot": True, "runAsUser": user, "runAsGroup": user if group is None else group,
                              "seccompProfile": dict(RUNTIME_DEFAULT)}
    if fs_group is not None:
        result.update({"fsGroup": fs_group, "fsGroupChangePolicy": "OnRootMismatch"})
    return result


def scratch(name: str, path: str, size: str = "256Mi") -> tuple[dict[str, Any], dict[str, Any]]:
    """A writable emptyDir (volume, mount) under a read-only root filesystem."""
    return {"name": name, "emptyDir": {"sizeLimit": size}}, {"name": name, "mountPath": path}
