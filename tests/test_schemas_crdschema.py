"""generator/crdschema.py: the strict JSON Schemas it derives from the upstream CRDs are, byte for
byte, the kubeconform-layout schemas in ../shared/schemas-upstream, for served versions only."""

from __future__ import annotations

import json

import pytest
import yaml

from generator import crdschema


def test_every_reference_schema_is_derived_byte_for_byte_from_the_crds(shared_dir):
    catalog = shared_dir / "schemas-upstream"
    derived = {}
    for crd in sorted((shared_dir / "crds").glob("*.yaml")):
        derived.update(crdschema.derive(crd.read_bytes()))
    assert sorted(derived) == sorted(p.relative_to(catalog).as_posix() for p in catalog.rglob("*.json"))
    for path, data in derived.items():
        assert data == (catalog / path).read_bytes(), path


def test_only_served_versions_get_a_schema(shared_dir):
    data = (shared_dir / "crds" / "external-secrets.io_externalsecrets.yaml").read_bytes()
    versions = {v["name"]: v.get("served") for v in yaml.safe_load(data)["spec"]["versions"]}
    assert versions.get("v1beta1") is False, "the upstream CRD still lists v1beta1, not served"
    assert sorted(crdschema.derive(data)) == ["external-secrets.io/externalsecret_v1.json"]


CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
spec:
  group: example.com
  names: {kind: Widget}
  versions:
    - name: v1
      served: true
      schema:
        openAPIV3Schema:
          type: object
          required: [spec]
          properties:
            spec:
              type: object
              properties:
                port: {x-kubernetes-int-or-string: true}
                free: {type: object, x-kubernetes-preserve-unknown-fields: true, properties: {a: {type: string}}}
                open: {type: object, additionalProperties: {type: string}, properties: {b: {type: string}}}
"""


def test_strict_mode_closes_objects_and_pins_the_kind():
    schema = json.loads(crdschema.derive(CRD.encode())["example.com/widget_v1.json"])
    spec = schema["properties"]["spec"]
    assert schema["additionalProperties"] is False and spec["additionalProperties"] is False
    assert spec["properties"]["port"]["oneOf"] == [{"type": "string"}, {"type": "integer"}]
    assert "additionalProperties" not in spec["properties"]["free"]
    assert spec["properties"]["open"]["additionalProperties"] == {"type": "string"}
    assert schema["properties"]["apiVersion"] == {"enum": ["example.com/v1"], "type": "string"}
    assert schema["properties"]["kind"] == {"enum": ["Widget"], "type": "string"}
    assert schema["required"] == ["apiVersion", "kind", "metadata", "spec"]


@pytest.mark.parametrize("text, message", [("a: [", "not YAML"), ("kind: ConfigMap\n", "not a CustomResourceDefinition"),
                                           ("kind: CustomResourceDefinition\nspec: {}\n", "without")])
def test_what_is_not_a_crd_is_refused(text, message):
    with pytest.raises(crdschema.CrdError, match=message):
        crdschema.derive(text.encode())
