"""Phase 6, storage: the StorageClass every persistent volume of the stack names.

EKS clusters created at Kubernetes 1.30 or later have no default StorageClass, so a claim that
names none stays Pending (and with it Redis, wave 12, and everything after it). The stack never
relies on a default: `components.storage-class.name` is set on every claim of every chart
(Prometheus, Alertmanager, Redis, Open WebUI).

- `enabled` (the default): this project renders the class, an encrypted gp3 volume on the EBS CSI
  driver (`ebs.csi.aws.com`, the `aws-ebs-csi-driver` add-on; `preflight` checks it is ACTIVE),
  optionally with a customer-managed KMS key. `reclaimPolicy: Retain`: deleting a claim never
  deletes the EBS volume behind it. `WaitForFirstConsumer`: the volume is created in the zone the
  pod is scheduled to. The class is protected from prune and deletion like the namespaces.
- `external`: the cluster already has a class of that name (managed elsewhere); nothing is rendered.
"""

from __future__ import annotations

from typing import Any

from generator.argocd import manifest_application
from generator.artifacts import Artifact
from generator.environment import Environment

COMPONENT = "storage-class"
PROVISIONER = "ebs.csi.aws.com"
EBS_CSI_ADDON = "aws-ebs-csi-driver"  # the EKS add-on that runs the provisioner
KEEP = {"argocd.argoproj.io/sync-options": "Prune=false,Delete=false"}


def name(env: Environment) -> str:
    """The class every claim of the stack names (rendered here or existing)."""
    return env.component(COMPONENT)["name"]


def storage_class(env: Environment) -> dict[str, Any]:
    parameters = {"type": "gp3", "encrypted": "true"}
    if kms := env.component(COMPONENT).get("kmsKeyArn"):
        parameters["kmsKeyId"] = kms
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": name(env), "annotations": dict(KEEP)},
        "provisioner": PROVISIONER,
        "parameters": parameters,
        "reclaimPolicy": "Retain",
        "volumeBindingMode": "WaitForFirstConsumer",
        "allowVolumeExpansion": True,
    }


def render(env: Environment) -> list[Artifact]:
    return manifest_application(env, COMPONENT, [(f"storageclass-{name(env)}.yaml", storage_class(env))])
