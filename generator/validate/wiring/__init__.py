"""Wiring checks on the applied state: what only exists after rendering, checked across objects.

Each module has one job and returns `Finding`s (object, field, message); `generator/validate/hydrated.py`
turns them into validate's Problems. The rules:
- references: every Secret, ConfigMap, ServiceAccount and PersistentVolumeClaim a workload uses
  exists in the applied state, or (Secrets) is the target of an ExternalSecret that writes the key;
- selectors: every Service selects pods that exist, on named target ports those pods declare;
  every ServiceMonitor selects Services that exist, on named ports they declare;
- network: every flow the wiring needs is allowed by the NetworkPolicies, and no other traffic
  reaches a pod they isolate;
- storage: every PersistentVolumeClaim (and volumeClaimTemplate) names a storage class, when the
  environment declares storage classes (data-driven: `storage.RULES`).
"""

from __future__ import annotations

from dataclasses import dataclass

from generator.applied.model import AppliedObject


@dataclass(frozen=True)
class Finding:
    obj: AppliedObject
    field: str
    message: str
