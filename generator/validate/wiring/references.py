"""Every Secret, ConfigMap, ServiceAccount and PersistentVolumeClaim a workload references exists.

Found in the same namespace of the applied state, or, for a Secret, written by an ExternalSecret
(`spec.target.name`, else its own name) whose `data[].secretKey` carries a referenced key (a
`dataFrom` ExternalSecret may carry any key; with `target.template`, the template's keys, as External
Secrets v2.9.0 writes them). `optional: true` references are not required. `CREATED_AT_RUNTIME`
lists, as data with the reason, Secrets that a chart's own hook Job creates in the cluster.
"""

from __future__ import annotations

from typing import Any, Iterator

from generator.applied.model import AppliedObject, AppliedState
from generator.validate.wiring import Finding
from generator.validate.wiring.pods import containers, pod_spec


def _refs(spec: dict[str, Any], base: str) -> Iterator[tuple[str, str, str | None, str, bool]]:
    """(kind, name, key or None, field, optional) of everything the pod spec references."""
    if spec.get("serviceAccountName"):
        yield "ServiceAccount", str(spec["serviceAccountName"]), None, f"{base}.serviceAccountName", False
    for index, pull in enumerate(spec.get("imagePullSecrets") or []):
        if isinstance(pull, dict) and pull.get("name"):
            yield "Secret", str(pull["name"]), None, f"{base}.imagePullSecrets[{index}].name", False
    for index, volume in enumerate(spec.get("volumes") or []):
        where = f"{base}.volumes[{index}]"
        if not isinstance(volume, dict):
            continue
        if isinstance(volume.get("secret"), dict):
            s = volume["secret"]
            yield "Secret", str(s.get("secretName")), None, f"{where}.secret.secretName", bool(s.get("optional"))
        if isinstance(volume.get("configMap"), dict):
            c = volume["configMap"]
            yield "ConfigMap", str(c.get("name")), None, f"{where}.configMap.name", bool(c.get("optional"))
        if isinstance(volume.get("persistentVolumeClaim"), dict):
            yield "PersistentVolumeClaim", str(volume["persistentVolumeClaim"].get("claimName")), None, \
                f"{where}.persistentVolumeClaim.claimName", False
        for pindex, source in enumerate((volume.get("projected") or {}).get("sources") or []):
            for kind, key in (("Secret", "secret"), ("ConfigMap", "configMap")):
                if isinstance(source, dict) and isinstance(source.get(key), dict):
                    yield kind, str(source[key].get("name")), None, f"{where}.projected.sources[{pindex}].{key}.name", \
                        bool(source[key].get("optional"))
    for container, where in containers(spec, base):
        for index, source in enumerate(container.get("envFrom") or []):
            for kind, key in (("Secret", "secretRef"), ("ConfigMap", "configMapRef")):
                if isinstance(source, dict) and isinstance(source.get(key), dict):
                    ref = source[key]
                    yield kind, str(ref.get("name")), None, f"{where}.envFrom[{index}].{key}.name", bool(ref.get("optional"))
        for index, var in enumerate(container.get("env") or []):
            value_from = var.get("valueFrom") if isinstance(var, dict) else None
            for kind, key in (("Secret", "secretKeyRef"), ("ConfigMap", "configMapKeyRef")):
                if isinstance(value_from, dict) and isinstance(value_from.get(key), dict):
                    ref = value_from[key]
                    yield kind, str(ref.get("name")), str(ref.get("key")), f"{where}.env[{index}].valueFrom.{key}", \
                        bool(ref.get("optional"))


# (Application's chart, Secret name) -> who creates it at runtime
CREATED_AT_RUNTIME = {
    ("kube-prometheus-stack", "kube-prometheus-stack-admission"):
        "the chart's admission-webhook patch Jobs (kube-webhook-certgen, Helm hooks) create it",
}


def _external_secret_keys(state: AppliedState) -> dict[tuple[str, str], set[str] | None]:
    """(namespace, Secret name) -> keys the ExternalSecret writes (None: any, from dataFrom)."""
    found: dict[tuple[str, str], set[str] | None] = {}
    for external in state.of_kind("ExternalSecret"):
        target = str((external.spec.get("target") or {}).get("name") or external.name)
        keys = {str(item.get("secretKey")) for item in external.spec.get("data") or [] if isinstance(item, dict)}
        template = (external.spec.get("target") or {}).get("template")
        if isinstance(template, dict):  # ESO: the template's keys replace (or, mergePolicy Merge, join) the data keys
            if template.get("templateFrom"):
                found[(external.namespace, target)] = None
                continue
            templated = {str(k) for k in template.get("data") or {}}
            keys = keys | templated if template.get("mergePolicy") == "Merge" else templated
        found[(external.namespace, target)] = None if external.spec.get("dataFrom") else keys
    return found


def _keys(obj: AppliedObject) -> set[str]:
    return {str(k) for part in ("data", "stringData", "binaryData") for k in (obj.doc.get(part) or {})}


def check(state: AppliedState) -> list[Finding]:
    findings = []
    external = _external_secret_keys(state)
    for obj in state:
        found = pod_spec(obj)
        if found is None:
            continue
        spec, base = found
        for kind, name, key, field, optional in _refs(spec, base):
            if optional or (kind == "ServiceAccount" and name == "default"):
                continue
            target = state.get("", kind, obj.namespace, name)
            if target is not None:
                if key is not None and kind in ("Secret", "ConfigMap") and key not in _keys(target):
                    findings.append(Finding(obj, field, f"{kind} {obj.namespace}/{name} has no key {key!r}"))
                continue
            chart = obj.origin.split(" ", 2)[1] if obj.origin.startswith("chart ") else ""
            if kind == "Secret" and (chart, name) in CREATED_AT_RUNTIME:
                continue
            if kind == "Secret" and (obj.namespace, name) in external:
                keys = external[(obj.namespace, name)]
                if key is not None and keys is not None and key not in keys:
                    findings.append(Finding(obj, field, f"ExternalSecret for Secret {obj.namespace}/{name} writes no key {key!r} "
                                                        f"(it writes {', '.join(sorted(keys)) or 'none'})"))
                continue
            via = " and no ExternalSecret creates it" if kind == "Secret" else ""
            findings.append(Finding(obj, field, f"{kind} {obj.namespace}/{name} does not exist in the applied state{via}"))
    return findings
