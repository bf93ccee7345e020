"""validate over the applied state: every hydrated object strictly against its schema, plus wiring.

Schemas: Kubernetes' own kinds from kubernetes-validate for the cluster version (CoreSchemas),
custom kinds from the schema locations (the verified cache of schemas/upstream.lock.json), and
else from the CustomResourceDefinitions the applied state itself installs (the charts' own CRDs),
made strict exactly as kubeconform's catalogs are (generator/crdschema.py). Objects read from
rendered/ files are already checked file by file; here the rest (what `helm template` produced).
Wiring: generator/validate/wiring/. Pod Security Standards: generator/validate/podsecurity.py.

A problem's path is `hydrated/<env>/<application>` and its field names the origin template:
`hydrated/dev/dev-litellm: Deployment/litellm: spec.template... : message (litellm-helm/templates/deployment.yaml)`.
"""

from __future__ import annotations

import json
from typing import Any

from generator import crdschema
from generator.applied.model import AppliedObject, AppliedState
from generator.validate.kubernetes import CoreSchemas, CustomSchemas, schema_problems, validator_class
from generator.validate import podsecurity
from generator.validate.problems import Problem
from generator.validate.wiring import Finding, network, references, selectors, storage


class ShippedSchemas:
    """Strict schemas derived from the CRDs in the applied state, compiled once per (apiVersion, kind)."""

    def __init__(self, state: AppliedState):
        self._crds: dict[tuple[str, str], tuple[dict[str, Any], dict[str, Any]]] = {}
        for crd in state.of_kind("CustomResourceDefinition"):
            spec = crd.spec
            for version in spec.get("versions") or []:
                if isinstance(version, dict) and version.get("served") and (version.get("schema") or {}).get("openAPIV3Schema"):
                    self._crds[(f"{spec.get('group')}/{version.get('name')}", str((spec.get("names") or {}).get("kind")))] = (crd.doc, version)
        self._compiled: dict[tuple[str, str], Any] = {}

    def lookup(self, api_version: str, kind: str) -> Any | None:
        key = (api_version, kind)
        if key not in self._compiled:
            found = self._crds.get(key)
            schema = json.loads(crdschema.schema_text(*found)) if found else None
            self._compiled[key] = validator_class(schema)(schema) if schema is not None else None
        return self._compiled[key]


def _where(obj: AppliedObject, env: str) -> str:
    return f"hydrated/{env}/{obj.application}"


def _origin(obj: AppliedObject) -> str:
    return obj.origin.split(": ", 1)[1] if ": " in obj.origin else obj.origin


def _problem(obj: AppliedObject, env: str, field: str, message: str, check: str) -> Problem:
    return Problem(_where(obj, env), None, obj.kind, obj.name, field, f"{message} ({_origin(obj)})", check)


def schema_check(state: AppliedState, core: CoreSchemas, custom: CustomSchemas) -> list[Problem]:
    shipped = ShippedSchemas(state)
    problems = []
    for obj in list(state) + state.duplicates:
        if not obj.origin.startswith("chart "):
            continue  # read from rendered/ files: validate checks those files already
        validator = core.lookup(obj.api_version, obj.kind) or custom.lookup(obj.api_version, obj.kind) \
            or shipped.lookup(obj.api_version, obj.kind)
        if validator is None:
            problems.append(_problem(obj, state.environment, "-", f"no schema for {obj.api_version} {obj.kind} "
                                     "(not a Kubernetes kind, not in the schema cache, no CRD in the applied state)", "kubernetes"))
            continue
        problems += [_problem(obj, state.environment, field, message, "kubernetes")
                     for field, message in schema_problems(validator, obj.doc)]
    for dup in state.duplicates:
        problems.append(_problem(dup, state.environment, "-", f"{dup.key} is also applied by {state.objects[dup.key].application}",
                                 "wiring"))
    for app, reason in state.refused.items():  # applications in any namespace (generator.appnamespaces)
        problems.append(Problem(f"hydrated/{state.environment}/{app}", None, "Application", app, "metadata.namespace",
                                reason, "wiring"))
    return problems


def wiring_check(state: AppliedState, storage_classes: list[str] | None,
                 network_policies: dict[str, Any] | None = None) -> list[Problem]:
    findings: list[Finding] = references.check(state) + selectors.check(state) + storage.check(state, storage_classes) \
        + network.check(state, network_policies)
    return [_problem(f.obj, state.environment, f.field, f.message, "wiring") for f in findings]


def pod_security_check(state: AppliedState, kubernetes_version: str) -> list[Problem]:
    """Every pod template against its namespace's Pod Security Standard (validate/podsecurity.py)."""
    return [_problem(f.obj, state.environment, f.field, f.message, "pod-security")
            for f in podsecurity.check(state, kubernetes_version)]
