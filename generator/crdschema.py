"""Strict JSON Schemas derived from CustomResourceDefinitions, in kubeconform's layout.

kubeconform validates custom resources against JSON Schemas produced from their CRDs by its
openapi2jsonschema script in strict mode (the layout the public CRD catalogs use):
`{group}/{kind lowercased}_{version}.json`, one file per *served* version. This module reproduces
that output byte for byte from the upstream CRD file, so `schemas sync` downloads only pinned
upstream CRDs and derives the schemas itself, instead of trusting a third-party catalog.

What strict mode does to the CRD's `openAPIV3Schema`:
- every object with `properties` gets `additionalProperties: false` (unknown fields are rejected),
  unless it already says otherwise or is `x-kubernetes-preserve-unknown-fields`;
- every `x-kubernetes-int-or-string` gets `oneOf: [string, integer]`;
- the root pins `apiVersion` and `kind` to the CRD's own, accepts any `metadata`, rejects unknown
  top-level fields and requires apiVersion, kind and metadata first.
The result is serialised as JSON with one-space indentation, sorted keys and a final newline.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from generator.yamlio import load_plain

BASE_REQUIRED = ["apiVersion", "kind", "metadata"]


class CrdError(ValueError):
    """The file is not a CustomResourceDefinition this module can convert."""


def strict(node: Any) -> Any:
    """A copy of an OpenAPI v3 schema node with kubeconform's strict additions, recursively."""
    if isinstance(node, list):
        return [strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: strict(value) for key, value in node.items()}
    if "properties" in out and "additionalProperties" not in out and not out.get("x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    if out.get("x-kubernetes-int-or-string") and "oneOf" not in out:
        out["oneOf"] = [{"type": "string"}, {"type": "integer"}]
    return out


def schema_path(crd: dict, version: dict) -> str:
    """Where kubeconform looks for this version's schema: {group}/{kind}_{version}.json."""
    return f"{crd['spec']['group']}/{crd['spec']['names']['kind'].lower()}_{version['name']}.json"


def schema_text(crd: dict, version: dict) -> str:
    """The strict JSON Schema of one version of a CRD, serialised as kubeconform writes it."""
    schema = strict(version["schema"]["openAPIV3Schema"])
    group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
    properties = schema.setdefault("properties", {})
    properties["apiVersion"] = {"enum": [f"{group}/{version['name']}"], "type": "string"}
    properties["kind"] = {"enum": [kind], "type": "string"}
    properties["metadata"] = {"type": "object"}
    schema["additionalProperties"] = False
    schema["required"] = BASE_REQUIRED + [r for r in schema.get("required", []) if r not in BASE_REQUIRED]
    return json.dumps(schema, indent=1, sort_keys=True) + "\n"


def load_crd(data: bytes) -> dict:
    """Parse one CRD file; CrdError when it is not a single CustomResourceDefinition with schemas."""
    try:
        crd = load_plain(data)  # PyYAML reads bytes as well as text
    except yaml.YAMLError as exc:
        raise CrdError(f"not YAML: {exc}") from None
    if not isinstance(crd, dict) or crd.get("kind") != "CustomResourceDefinition":
        raise CrdError("not a CustomResourceDefinition")
    try:
        for version in crd["spec"]["versions"]:
            version["schema"]["openAPIV3Schema"]
        crd["spec"]["group"], crd["spec"]["names"]["kind"]
    except (KeyError, TypeError) as exc:
        raise CrdError(f"CustomResourceDefinition without {exc} (needs spec.group, spec.names.kind and "
                       "an openAPIV3Schema for every version)") from None
    return crd


def derive(data: bytes) -> dict[str, bytes]:
    """Every served version's strict schema, by its kubeconform path."""
    crd = load_crd(data)
    return {schema_path(crd, version): schema_text(crd, version).encode("utf-8")
            for version in crd["spec"]["versions"] if version.get("served")}
