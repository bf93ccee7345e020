"""The stack's own workloads are hardened, on the objects Argo CD applies (the real `helm template`
of the pinned charts with the rendered values, tests/applied_objects.py), and validate's Pod
Security check holds them to their namespace's level."""

from __future__ import annotations

import copy
from dataclasses import replace

import pytest

from applied_objects import _state
from conftest import REPO
from generator.components import litellm, namespaces
from generator.environment import load_environment
from generator.validate import podsecurity
from generator.validate.wiring.pods import pod_spec

OWN = ("litellm", "open-webui", "redis-ha", "verification", "jaeger")  # Applications whose values the project writes
DIGEST = "sha256:" + "ab" * 32


def _containers(env: str, component: str):
    for obj in _state(env).of_application(f"{env}-{component}"):
        found = pod_spec(obj)
        if found is None:
            continue
        spec, _ = found
        for group in ("initContainers", "containers"):
            for container in spec.get(group) or []:
                yield obj, spec, container


@pytest.mark.parametrize("env", ["dev", "prod"])
@pytest.mark.parametrize("component", OWN)
def test_every_own_container_is_hardened(env, component):
    seen = 0
    for obj, spec, container in _containers(env, component):
        seen += 1
        pod, own = spec.get("securityContext") or {}, container.get("securityContext") or {}
        where = f"{obj.kind}/{obj.name} {container['name']}"
        assert own.get("runAsNonRoot", pod.get("runAsNonRoot")) is True, where
        assert own.get("runAsUser", pod.get("runAsUser")) not in (None, 0), where
        assert own.get("allowPrivilegeEscalation") is False, where
        assert own.get("capabilities", {}).get("drop") == ["ALL"] and not own["capabilities"].get("add"), where
        assert (own.get("seccompProfile") or pod.get("seccompProfile")) == {"type": "RuntimeDefault"}, where
        assert own.get("readOnlyRootFilesystem") is True, where
        resources = container.get("resources") or {}
        assert resources.get("requests", {}).get("cpu") and resources["requests"].get("memory"), where
        assert resources.get("limits", {}).get("memory"), where
    assert seen, f"no pods in {env}-{component}"


def _mounts(container: dict, spec: dict) -> dict[str, dict]:
    volumes = {v["name"]: v for v in spec.get("volumes") or []}
    return {m["mountPath"]: volumes[m["name"]] for m in container.get("volumeMounts") or []}


def test_writable_paths_are_emptydirs_where_the_programs_write():
    by_name = {(obj.kind, container["name"]): (container, spec) for obj, spec, container in _containers("prod", "litellm")}
    proxy, proxy_spec = by_name[("Deployment", "litellm")]
    job, job_spec = by_name[("Job", litellm.MIGRATION_CONTAINER)]
    for path in ("/tmp", litellm.MIGRATION_DIR):
        assert "emptyDir" in _mounts(proxy, proxy_spec)[path]
    assert "emptyDir" in _mounts(job, job_spec)[litellm.MIGRATION_DIR]
    assert {"name": "LITELLM_MIGRATION_DIR", "value": litellm.MIGRATION_DIR} in job["env"]
    assert job["image"].startswith(litellm.IMAGE + ":")
    (webui, webui_spec), = [(c, s) for o, s, c in _containers("prod", "open-webui") if c["name"] == "open-webui"]
    mounts = _mounts(webui, webui_spec)
    assert "emptyDir" in mounts["/tmp"] and "persistentVolumeClaim" in mounts["/app/backend/data"]
    assert webui_spec["securityContext"]["fsGroup"] == webui["securityContext"]["runAsUser"]


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_every_pod_passes_its_namespace_level(env):
    state = _state(env)
    levels = podsecurity.namespace_levels(state, (1, 33))
    assert {ns: level for ns, (level, _) in levels.items()} == {ns: level for ns, (level, _) in namespaces.POD_SECURITY.items()}
    assert podsecurity.check(state, "1.33") == []


def test_node_exporter_is_why_monitoring_is_privileged():
    """monitoring runs `privileged` only because of node-exporter: at baseline, exactly its pod fails."""
    state = _state("prod")
    failing = set()
    for obj in state:
        found = pod_spec(obj)
        if found and obj.namespace == "monitoring" and podsecurity.evaluate("baseline", {}, found[0], (1, 33), found[1]):
            failing.add(obj.name)
    assert failing == {"kube-prometheus-stack-prometheus-node-exporter"}


@pytest.mark.parametrize("edit, field, check_id", [
    (lambda s: s["containers"][0]["securityContext"].update(allowPrivilegeEscalation=True),
     "spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation", "allowPrivilegeEscalation"),
    (lambda s: s["containers"][0]["securityContext"].update(runAsNonRoot=False),
     "spec.template.spec.containers[0].securityContext.runAsNonRoot", "runAsNonRoot"),
    (lambda s: s.update(hostNetwork=True), "spec.template.spec.hostNetwork", "hostNetwork"),
    (lambda s: s["volumes"].append({"name": "host", "hostPath": {"path": "/"}}), "spec.template.spec.volumes[", "restrictedVolumes"),
])
def test_a_pod_breaking_its_level_is_reported(edit, field, check_id):
    state = _state("prod")
    key, = [k for k, o in state.objects.items() if o.kind == "Deployment" and o.name == "litellm"]
    doc = copy.deepcopy(state.objects[key].doc)
    edit(doc["spec"]["template"]["spec"])
    broken = replace(state, objects={**state.objects, key: replace(state.objects[key], doc=doc)})
    findings = podsecurity.check(broken, "1.33")
    assert findings and all(f.obj.name == "litellm" for f in findings)
    assert any(f.field.startswith(field) and check_id in f.message and "restricted" in f.message for f in findings), findings


def test_an_image_digest_pins_litellm_beside_its_tag():
    env = load_environment(REPO / "environments", "prod")
    env.config["components"]["litellm"]["imageDigest"] = DIGEST
    values = litellm.values(env)
    assert values["image"]["tag"] == f"{env.component('litellm')['imageTag']}@{DIGEST}"
    assert litellm.release(env) == env.component("litellm")["imageTag"].split("-")[1].removeprefix("v")
