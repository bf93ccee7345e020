"""The shapes of the fields the guard reads, checked before it reads them: a malformed object is
bad input (exit 2) naming file, object and field, never a traceback.

Each path is dotted; `[]` stands for every item of a list, `{}` for every value of a mapping. A field that is absent or null is fine
(Kubernetes and Argo CD treat null as absent); one of the wrong type is not.
"""

from __future__ import annotations

from typing import Any

from typing import TYPE_CHECKING

from generator.errors import InputError

if TYPE_CHECKING:
    from generator.guard.tree import Obj

_SOURCE = ("", dict), (".directory", dict), (".helm", dict), (".helm.valueFiles", list), (".helm.valueFiles[]", str), \
    (".helm.parameters", list), (".helm.parameters[]", dict), (".kustomize", dict), (".plugin", dict), \
    (".path", str), (".repoURL", str), (".chart", str), (".ref", str)
_POD = ("spec.template", dict), ("spec.template.spec", dict)
_CONTAINER = ("", dict), (".env", list), (".env[]", dict), (".env[].valueFrom", dict), (".envFrom", list), \
    (".envFrom[]", dict), (".volumeMounts", list), (".volumeMounts[]", dict), (".args", list), (".command", list)
_ES = ("spec", dict), ("spec.data", list), ("spec.data[]", dict), ("spec.data[].remoteRef", dict), \
    ("spec.data[].sourceRef", dict), ("spec.dataFrom", list), ("spec.dataFrom[]", dict), ("spec.target", dict), \
    ("spec.target.template", dict), ("spec.target.template.data", dict), ("spec.target.template.templateFrom", list), \
    ("spec.secretStoreRef", dict)


def _prefixed(prefix: str, shapes: tuple[tuple[str, type], ...]) -> tuple[tuple[str, type], ...]:
    return tuple((prefix + path, kind) for path, kind in shapes)


def _workload(pod: str) -> tuple[tuple[str, type], ...]:
    return (((f"{pod}.spec", dict), (f"{pod}.spec.volumes", list), (f"{pod}.spec.volumes[]", dict))
            + _prefixed(f"{pod}.spec.containers", (("", list),)) + _prefixed(f"{pod}.spec.containers[]", _CONTAINER)
            + _prefixed(f"{pod}.spec.initContainers", (("", list),)) + _prefixed(f"{pod}.spec.initContainers[]", _CONTAINER))


METADATA = (("metadata", dict), ("metadata.labels", dict), ("metadata.annotations", dict))
SHAPES: dict[str, tuple[tuple[str, type], ...]] = {
    "Application": (("spec", dict), ("spec.sources", list), ("spec.destination", dict), ("spec.syncPolicy", dict))
    + _prefixed("spec.source", _SOURCE) + _prefixed("spec.sources[]", _SOURCE),
    "AppProject": (("spec", dict), ("spec.sourceRepos", list), ("spec.destinations", list)),
    "ExternalSecret": _ES,
    "ClusterExternalSecret": (("spec", dict),) + _prefixed("spec.externalSecretSpec", (("", dict),) + tuple(
        (p[len("spec"):], k) for p, k in _ES if p != "spec")),
    "PushSecret": (("spec", dict), ("spec.data", list), ("spec.data[]", dict), ("spec.data[].match", dict),
                   ("spec.data[].match.remoteRef", dict)),
    "SecretStore": (("spec", dict), ("spec.provider", dict)),
    "ClusterSecretStore": (("spec", dict), ("spec.provider", dict)),
    "Secret": (("data", dict), ("stringData", dict)),
    "ConfigMap": (("data", dict),),
    "Deployment": (("spec", dict),) + _POD + _workload("spec.template"),
    "StatefulSet": (("spec", dict),) + _POD + _workload("spec.template"),
    "DaemonSet": (("spec", dict),) + _POD + _workload("spec.template"),
    "ReplicaSet": (("spec", dict),) + _POD + _workload("spec.template"),
    "Job": (("spec", dict),) + _POD + _workload("spec.template"),
    "Pod": (("spec", dict),) + _prefixed("spec.containers", (("", list),)) + _prefixed("spec.containers[]", _CONTAINER),
    "CronJob": (("spec", dict), ("spec.jobTemplate", dict), ("spec.jobTemplate.spec", dict),
                ("spec.jobTemplate.spec.template", dict)) + _workload("spec.jobTemplate.spec.template"),
    "CloudFormationTemplate": (("Parameters", dict), ("Parameters.{}", dict), ("Conditions", dict),
                               ("Resources.{}", dict), ("Resources.{}.Properties", dict), ("Resources.{}.Type", str)),
    "CloudFormationDeploy": (("stacks[]", dict), ("stacks[].template", str), ("stacks[].name", str),
                             ("stacks[].parameters", str)),
}
TYPE_NAMES = {dict: "a mapping", list: "a list", str: "a string"}


def _values(node: Any, parts: list[str], path: str) -> list[tuple[str, Any]]:
    if not parts:
        return [(path, node)]
    part, rest = parts[0], parts[1:]
    if part == "[]":
        if not isinstance(node, list):
            return []
        return [v for i, item in enumerate(node) for v in _values(item, rest, f"{path}[{i}]")]
    if part == "{}":
        if not isinstance(node, dict):
            return []
        return [v for key, item in node.items() for v in _values(item, rest, f"{path}.{key}" if path else str(key))]
    if not isinstance(node, dict) or node.get(part) is None:
        return []
    return _values(node[part], rest, f"{path}.{part}" if path else part)


def _split(path: str) -> list[str]:
    return [p for p in path.replace("[]", ".[]").split(".") if p]


def label(obj: "Obj") -> str:
    return obj.label or f"{obj.kind} {obj.namespace + '/' if obj.namespace else ''}{obj.name}".strip()


_SPLIT = {kind: tuple((_split(p), t) for p, t in shapes) for kind, shapes in SHAPES.items()}
_SPLIT_METADATA = tuple((_split(p), t) for p, t in METADATA)


def check_object(obj: "Obj") -> None:
    shapes = _SPLIT.get(obj.kind, ())
    if obj.key.startswith("k8s/"):
        shapes = _SPLIT_METADATA + shapes
    for parts, kind in shapes:
        for where, value in _values(obj.doc, parts, ""):
            if not isinstance(value, kind):
                raise InputError(f"{label(obj)}: {where or '(document)'} must be {TYPE_NAMES[kind]}, "
                                 f"not {type(value).__name__}", file=obj.file,
                                 hint="fix the object (re-run `litellm-gitops render` if it is generated)")

