"""Deleting a root does not tear down the stack (issue 18, item 3), decided as Argo CD v3.5.1 decides
it, over the rendered roots and what they apply (the revision pin, evaluated with go-jsonnet).

Upstream: an Application's deletion reaches its resources only with the resources finalizer
(../shared/argocd/v3.5.1/docs/user-guide/app_deletion.md, "About The Deletion Finalizer"), which
`argocd app delete` (cascade by default) and the UI's Foreground option add themselves; the
controller then deletes each live resource for which `shouldBeDeleted` holds (argo-cd v3.5.1
controller/appcontroller.go lines 1251-1260, fetched from github.com/argoproj/argo-cd):

    deleteOption := GetAnnotationOptionValue(obj, "argocd.argoproj.io/sync-options", "Delete")
    if deleteOption == nil && app.Spec.SyncPolicy != nil {
        deleteOption = app.Spec.SyncPolicy.SyncOptions.GetOptionValue("Delete")
    }
    return !kube.IsCRD(obj) && !isSelfReferencedApp(app, obj) &&
        (deleteOption == nil || *deleteOption != "false") &&
        !HasAnnotationOption(obj, "helm.sh/resource-policy", "keep")
"""

from __future__ import annotations

import pytest
import yaml

from conftest import REPO
from test_rollout import ENVIRONMENTS, applications, evaluate_root

FINALIZER = "resources-finalizer.argocd.argoproj.io"
SYNC_OPTIONS = "argocd.argoproj.io/sync-options"


def option(options: list[str], name: str) -> str | None:
    """SyncOptions.GetOptionValue / GetAnnotationOptionValue: the value of `name=value`."""
    for item in options:
        key, _, value = item.strip().partition("=")
        if key == name:
            return value
    return None


def should_be_deleted(app: dict, obj: dict) -> bool:
    annotations = obj.get("metadata", {}).get("annotations") or {}
    delete = option(annotations.get(SYNC_OPTIONS, "").split(","), "Delete")
    if delete is None:
        delete = option((app["spec"].get("syncPolicy") or {}).get("syncOptions", []), "Delete")
    return (obj["kind"] != "CustomResourceDefinition"
            and delete != "false"
            and "keep" not in annotations.get("helm.sh/resource-policy", "").split(","))


def root(env: str) -> dict:
    return yaml.safe_load((REPO / "rendered" / env / "bootstrap" / "root-app.yaml").read_text())


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_kubectl_delete_of_the_root_cascades_to_nothing(env):
    assert FINALIZER not in (root(env)["metadata"].get("finalizers") or [])


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_a_cascading_delete_of_the_root_keeps_everything_it_applied(env):
    """`argocd app delete <env>-root` (the finalizer added): nothing the root applied is deleted."""
    applied = evaluate_root(env)
    assert {o["kind"] for o in applied} >= {"Application", "AppProject"}
    assert [o["metadata"]["name"] for o in applied if should_be_deleted(root(env), o)] == []


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_check_can_fail_the_old_root_would_have_cascaded(env):
    """The root as it was rendered before (no Delete option): every child would be deleted."""
    old = root(env)
    old["spec"]["syncPolicy"]["syncOptions"] = ["PruneLast=true"]
    children = [o for o in evaluate_root(env) if o["kind"] == "Application"]
    assert children and all(should_be_deleted(old, o) for o in children)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_children_keep_their_finalizer_so_disabling_a_component_removes_it(env):
    """A child pruned by the root (its file gone from Git) still cascades to its workloads; only
    what a child marks Delete=false (namespaces, the storage class) outlives it."""
    for name, app in applications(env).items():
        if name == f"{env}-root":
            continue
        assert app["metadata"]["finalizers"] == [FINALIZER], name
        assert option(app["spec"]["syncPolicy"]["syncOptions"], "Delete") is None, name
    kept = []
    for path in sorted((REPO / "rendered" / env / "manifests").rglob("*.yaml")):
        obj = yaml.safe_load(path.read_text())
        if not should_be_deleted({"spec": {}}, obj):
            kept.append(obj["kind"])
    assert set(kept) <= {"Namespace", "StorageClass"} and "Namespace" in kept
