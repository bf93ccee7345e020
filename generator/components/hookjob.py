"""The stack's own Argo CD hook Jobs that run curl: `verify-stack` (PostSync, components/
verification.py) and `register-openwebui-key` (PreSync, components/openwebui_key.py). This module
owns what they share: the curl image, and the restricted Job around their one container (no
service-account token, a non-root user, a read-only root filesystem, deleted before the next run
and once it succeeds)."""

from __future__ import annotations

from typing import Any

from generator.components import resources, security

IMAGE = "docker.io/curlimages/curl:8.16.0"


def job(name: str, namespace: str, hook: str, *, backoff_limit: int, deadline_seconds: int, user: int,
        container: dict[str, Any], volumes: list[dict[str, Any]], fs_group: int | None = None) -> dict[str, Any]:
    """A Job run as Argo CD hook `hook` (PreSync, PostSync); `container` gives its name, command,
    env and mounts, this adds the image and the restricted contexts."""
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "annotations": {
                "argocd.argoproj.io/hook": hook,
                "argocd.argoproj.io/hook-delete-policy": "BeforeHookCreation,HookSucceeded",
            },
        },
        "spec": {
            "backoffLimit": backoff_limit,
            "activeDeadlineSeconds": deadline_seconds,
            "template": {
                "metadata": {"labels": {"app.kubernetes.io/name": name}},
                "spec": {
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": False,
                    "securityContext": security.pod_context(user, fs_group=fs_group),
                    "containers": [{
                        "name": container["name"],
                        "image": IMAGE,
                        "imagePullPolicy": "IfNotPresent",
                        **container,
                        "securityContext": security.container_context(user),
                        "resources": resources("10m", "16Mi", "64Mi"),
                    }],
                    "volumes": volumes,
                },
            },
        },
    }
