"""Every PersistentVolumeClaim names a storage class the environment declares.

Data-driven: `RULES` says whether a claim without `storageClassName` is a problem. The environment
declares its class in `components.storage-class.name` (generator.components.storage_class: rendered
by the project in phase 6, or an existing one when `external`); `check(state, declared)` reports
claims naming no class (EKS clusters created at 1.30 or later have no default class: such a claim
stays Pending) or another class. Claims are PersistentVolumeClaim objects and every StatefulSet's
`volumeClaimTemplates`.
"""

from __future__ import annotations

from typing import Any, Iterator

from generator.applied.model import AppliedObject, AppliedState
from generator.validate.wiring import Finding

# When the environment declares storage classes, a claim must name one of them.
RULES = {"require_class_when_declared": True}


def claims(state: AppliedState) -> Iterator[tuple[AppliedObject, dict[str, Any], str]]:
    for obj in state:
        if obj.kind == "PersistentVolumeClaim" and obj.group == "":
            yield obj, obj.spec, "spec.storageClassName"
        elif obj.kind == "StatefulSet" and obj.group == "apps":
            for index, template in enumerate(obj.spec.get("volumeClaimTemplates") or []):
                if isinstance(template, dict):
                    yield obj, template.get("spec") or {}, f"spec.volumeClaimTemplates[{index}].spec.storageClassName"


def check(state: AppliedState, declared: list[str] | None) -> list[Finding]:
    """`declared`: the environment's storage class names, or None when it declares none."""
    if not declared:
        return []
    findings = []
    for obj, spec, field in claims(state):
        name = spec.get("storageClassName")
        if not name:
            if RULES["require_class_when_declared"]:
                findings.append(Finding(obj, field, f"names no storage class (declared: {', '.join(declared)})"))
        elif name not in declared:
            findings.append(Finding(obj, field, f"storage class {name!r} is not declared by the environment "
                                                f"(declared: {', '.join(declared)})"))
    return findings


def declared_classes(config: dict[str, Any]) -> list[str] | None:
    """The storage class an environment declares (`components.storage-class.name`), or None."""
    component = (config.get("components") or {}).get("storage-class")
    if not isinstance(component, dict) or component.get("state") == "disabled" or not component.get("name"):
        return None
    return [str(component["name"])]
