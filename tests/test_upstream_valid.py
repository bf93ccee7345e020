"""Every rendered Kubernetes object of every environment validates strictly: custom resources
against ../shared/schemas-upstream (kubeconform layout, read by path, never copied), core objects
against Kubernetes' own schemas from the kubernetes-validate package."""

from __future__ import annotations

import json
from functools import cache

import jsonschema
import kubernetes_validate
import pytest
import yaml

from conftest import REPO, UPSTREAM_SCHEMAS
from generator.environment import environment_names, load_environment
from generator.render import render_environment

KUBERNETES_FOLDERS = ("apps/", "bootstrap/", "manifests/")


def kubernetes_documents():
    for name in environment_names(REPO / "environments"):
        env = load_environment(REPO / "environments", name)
        for path, text in render_environment(env).files.items():
            if path.startswith(KUBERNETES_FOLDERS) and path.endswith(".yaml"):
                for index, doc in enumerate(yaml.safe_load_all(text)):
                    if doc is not None:
                        yield pytest.param(env.cluster["kubernetesVersion"], doc, id=f"{name}/{path}:{index}")


@cache
def upstream_validator(group: str, kind: str, version: str) -> jsonschema.protocols.Validator:
    path = UPSTREAM_SCHEMAS / group / f"{kind.lower()}_{version}.json"
    assert path.is_file(), f"no upstream schema for {group}/{kind} {version} at {path}"
    schema = json.loads(path.read_text())
    return jsonschema.validators.validator_for(schema)(schema)


@pytest.mark.parametrize("k8s_version, doc", list(kubernetes_documents()))
def test_rendered_object_is_valid_upstream(k8s_version, doc):
    group, _, version = doc["apiVersion"].rpartition("/")
    if group and "." in group and not group.endswith(".k8s.io"):
        errors = sorted(upstream_validator(group, doc["kind"], version).iter_errors(doc), key=lambda e: list(e.path))
        assert not errors, "\n".join(f"{'.'.join(map(str, e.path))}: {e.message}" for e in errors)
    else:
        kubernetes_validate.validate(doc, f"{k8s_version}.0", strict=True)


def test_upstream_validation_rejects_an_unknown_field():
    """The check above can fail: a misspelt field in an Application is caught."""
    app = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": "x"},
           "spec": {"project": "p", "destination": {"server": "https://kubernetes.default.svc"},
                    "sources": [], "syncPolicy": {"automated": {"prune": True, "selfheal": True}}}}
    assert list(upstream_validator("argoproj.io", "Application", "v1alpha1").iter_errors(app))
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x", "lables": {}}},
                                     "1.33.0", strict=True)
