"""Storage and data (issue 12, items 1 and 2), read from what Argo CD applies (the applied state: the real `helm
template` over the pinned charts, tests/applied_objects.py) and from the rendered manifests:

- every claim of every chart names the environment's StorageClass (no cluster default is assumed:
  EKS 1.30+ clusters have none);
- the class is encrypted gp3 on the EBS CSI driver, keeps its volumes (Retain), and is rendered in
  wave 6 unless the environment names an existing one;
- every claim that holds data survives the Application's deletion and a prune: it is either a
  StatefulSet volumeClaimTemplate (owned by the StatefulSet, never by Argo CD) or carries
  `argocd.argoproj.io/sync-options` with Delete=false and Prune=false.
"""

from __future__ import annotations

import dataclasses

import pytest
import yaml

import applied_objects
from conftest import REPO
from generator.components import storage_class
from generator.environment import deep_merge, load_environment
from generator.errors import InputError
from generator.render import render_environment
from generator.skiprules import decide

ENVIRONMENTS = ("dev", "prod")
SYNC_OPTIONS = "argocd.argoproj.io/sync-options"


def env_of(name: str, **overrides):
    env = load_environment(REPO / "environments", name)
    return dataclasses.replace(env, config=deep_merge(env.config, overrides)) if overrides else env


def claims(obj: dict) -> list[tuple[str, dict, bool]]:
    """(where, claim spec, standalone) for every volume claim an object makes or asks an operator to make."""
    kind, spec = obj.get("kind"), obj.get("spec") or {}
    name = f"{kind}/{obj['metadata']['name']}"
    if kind == "PersistentVolumeClaim":
        return [(name, spec, True)]
    found = [(f"{name} volumeClaimTemplate {t['metadata']['name']}", t["spec"], False)
             for t in spec.get("volumeClaimTemplates") or []]
    if kind in ("Prometheus", "Alertmanager") and "volumeClaimTemplate" in (spec.get("storage") or {}):
        found.append((f"{name} storage", spec["storage"]["volumeClaimTemplate"]["spec"], False))
    return found


def sync_options(obj: dict) -> set[str]:
    text = (obj["metadata"].get("annotations") or {}).get(SYNC_OPTIONS, "")
    return {part.strip() for part in text.split(",") if part.strip()}


def applied_claims(env_name: str) -> list[tuple[str, str, dict, dict, bool]]:
    result = []
    for component in applied_objects.helm_components(env_name):
        for obj in applied_objects.objects(env_name, component):
            for where, spec, standalone in claims(obj):
                result.append((component, where, spec, obj, standalone))
    return result


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_every_claim_of_every_chart_names_the_environments_class(env_name):
    found = applied_claims(env_name)
    # Prometheus, Alertmanager, Redis and Open WebUI keep data: all four must be found.
    assert {component for component, *_ in found} == {"kube-prometheus-stack", "redis-ha", "open-webui"}
    wanted = storage_class.name(env_of(env_name))
    wrong = [(c, where, spec.get("storageClassName")) for c, where, spec, _, _ in found
             if spec.get("storageClassName") != wanted]
    assert not wrong, f"claims without storageClassName {wanted}: {wrong}"


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_every_claim_survives_application_deletion_and_prune(env_name):
    """A standalone claim is Argo CD's to delete (resources finalizer) or prune unless it says no:
    gitops-engine skips pruning on Prune=false (argo-cd v3.5.1 gitops-engine/pkg/sync/sync_context.go
    pruneObject) and the controller skips cascade deletion on Delete=false
    (controller/appcontroller.go shouldBeDeleted). volumeClaimTemplates belong to their StatefulSet."""
    unprotected = [(c, where) for c, where, _, obj, standalone in applied_claims(env_name)
                   if standalone and not {"Delete=false", "Prune=false"} <= sync_options(obj)]
    assert not unprotected, f"claims Argo CD would delete with their Application: {unprotected}"


def test_the_check_catches_an_unprotected_standalone_claim():
    claim = {"kind": "PersistentVolumeClaim", "metadata": {"name": "data", "annotations": {SYNC_OPTIONS: "Prune=false"}},
             "spec": {"storageClassName": "gp3-encrypted"}}
    [(where, _, standalone)] = claims(claim)
    assert standalone and not {"Delete=false", "Prune=false"} <= sync_options(claim)
    statefulset = {"kind": "StatefulSet", "metadata": {"name": "redis"},
                   "spec": {"volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {}}]}}
    assert claims(statefulset) == [("StatefulSet/redis volumeClaimTemplate data", {}, False)]


def TAGS(env_name: str) -> dict[str, str]:  # noqa: N802
    """What the EBS CSI driver tags each volume with (the backup plan selects by them)."""
    return {"tagSpecification_1": f"litellm-gitops/environment={env_name}",
            "tagSpecification_2": "litellm-gitops/backup=daily"}


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_the_class_is_encrypted_gp3_on_the_ebs_csi_driver_in_wave_6(env_name):
    files = render_environment(env_of(env_name)).files
    [sc] = [yaml.safe_load(text) for path, text in files.items() if path.startswith("manifests/storage-class/")]
    assert sc["kind"] == "StorageClass" and sc["metadata"]["name"] == "gp3-encrypted"
    assert sc["provisioner"] == "ebs.csi.aws.com"
    assert sc["parameters"] == {"type": "gp3", "encrypted": "true", **TAGS(env_name)}
    assert sc["reclaimPolicy"] == "Retain" and sc["volumeBindingMode"] == "WaitForFirstConsumer"
    # kept through a prune or deletion; recreated when its immutable parameters change
    assert {"Delete=false", "Prune=false", "Replace=true", "Force=true"} <= sync_options(sc)
    assert sc["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] == "6"
    app = yaml.safe_load(files["apps/06-storage-class.yaml"])
    assert app["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] == "6"
    project = yaml.safe_load(files["apps/05-project.yaml"])
    assert {"group": "storage.k8s.io", "kind": "StorageClass"} in project["spec"]["clusterResourceWhitelist"]


def test_a_kms_key_is_passed_to_the_driver():
    key = "arn:aws:kms:eu-west-1:444455556666:key/0a1b2c3d-0000-1111-2222-333344445555"
    env = env_of("prod", components={"storage-class": {"kmsKeyArn": key}})
    assert storage_class.storage_class(env)["parameters"] == {"type": "gp3", "encrypted": "true", "kmsKeyId": key,
                                                             **TAGS("prod")}


def test_an_existing_class_is_named_not_rendered():
    env = env_of("prod", components={"storage-class": {"state": "external", "name": "team-gp3"}})
    files = render_environment(env).files
    assert not any(path.startswith("manifests/storage-class/") or path == "apps/06-storage-class.yaml" for path in files)
    assert yaml.safe_load(files["values/redis-ha.yaml"])["persistentVolume"]["storageClass"] == "team-gp3"
    assert yaml.safe_load(files["values/open-webui.yaml"])["persistence"]["storageClass"] == "team-gp3"
    kps = yaml.safe_load(files["values/kube-prometheus-stack.yaml"])
    assert kps["prometheus"]["prometheusSpec"]["storageSpec"]["volumeClaimTemplate"]["spec"]["storageClassName"] == "team-gp3"


def test_disabling_storage_while_redis_needs_it_is_refused():
    env = env_of("dev", components={"storage-class": {"state": "disabled"}})
    with pytest.raises(InputError, match="storage-class is disabled but .* depends on it"):
        decide(env)
