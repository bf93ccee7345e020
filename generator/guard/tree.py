"""Loading a rendered tree (`rendered/` or a repository root holding it) into objects by identity.

Every environment becomes {object key: Obj}. A Kubernetes object's key is its group, kind,
namespace and name (the namespace defaults to the destination of the Application that syncs it);
Helm values are keyed by the component they configure; a CloudFormation template or parameters
file, and any other file, by its path. Each object knows the Application (and sync wave) that
delivers it, so the diff can group by wave and Application.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from generator.errors import InputError
from generator.guard import cfn

WAVE_ANNOTATION = "argocd.argoproj.io/sync-wave"
ENV_MARKERS = ("apps", "manifests", "values", "bootstrap", "cloudformation")
CLUSTER_SCOPED = frozenset({
    "Namespace", "ClusterSecretStore", "ClusterExternalSecret", "ClusterRole", "ClusterRoleBinding",
    "CustomResourceDefinition", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration",
    "StorageClass", "PriorityClass", "PersistentVolume", "IngressClass", "APIService",
})
YAML_SUFFIXES = (".yaml", ".yml")


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe loading, CloudFormation short tags, duplicate keys refused (tools disagree on them)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        keys = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in keys
            except TypeError:
                continue
            if duplicate:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            keys.add(key)
        return super().construct_mapping(node, deep=deep)


cfn.register_tags(_Loader)
_Loader.add_constructor("tag:yaml.org,2002:map", _Loader.construct_yaml_map)


@dataclass
class Obj:
    key: str
    kind: str  # a Kubernetes kind, or HelmValues, CloudFormationTemplate, CloudFormationParameters, File
    label: str  # what people read: "ExternalSecret litellm/litellm-secrets"
    file: str  # path inside rendered/<env>/
    doc: Any
    namespace: str = ""
    name: str = ""
    owner: str = ""  # the Application (or "bootstrap", "cloudformation") that delivers it
    wave: int | None = None

    @property
    def spec(self) -> dict[str, Any]:
        spec = self.doc.get("spec") if isinstance(self.doc, dict) else None
        return spec if isinstance(spec, dict) else {}


@dataclass
class EnvTree:
    name: str
    objects: dict[str, Obj] = field(default_factory=dict)

    def of_kind(self, *kinds: str) -> list[Obj]:
        return [o for o in self.objects.values() if o.kind in kinds]


Tree = dict[str, EnvTree]


def resolve_root(directory: Path) -> Path | None:
    """The rendered/ folder of `directory`; None when it is a repository without rendered/ yet."""
    if not directory.is_dir():
        raise InputError("not a directory", file=directory, hint="pass a checkout of the repository or its rendered/ folder")
    if (directory / "rendered").is_dir():
        return directory / "rendered"
    children = [p for p in directory.iterdir() if p.is_dir() and not p.name.startswith(".")]
    if any((c / marker).is_dir() for c in children for marker in ENV_MARKERS):
        return directory
    if (directory / "environments").is_dir() or (directory / "pyproject.toml").is_file():
        return None  # a repository that has rendered nothing yet: an empty tree
    raise InputError("neither a repository root with rendered/ nor a rendered/ folder", file=directory,
                     hint="pass the checkout's root or its rendered/ folder")


def _parse_yaml(path: Path, text: str) -> list[Any]:
    try:
        return [d for d in yaml.load_all(text, Loader=_Loader) if d is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(f"unparsable YAML: {getattr(exc, 'problem', None) or exc}", file=path,
                         line=mark.line + 1 if mark else None, column=mark.column + 1 if mark else None,
                         hint="the rendered tree must be valid YAML; re-run `litellm-gitops render`") from None


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", file=path, hint="rendered files are UTF-8") from None


def _k8s_identity(doc: dict[str, Any]) -> tuple[str, str, str, str] | None:
    kind, api, meta = doc.get("kind"), doc.get("apiVersion"), doc.get("metadata")
    if not isinstance(kind, str) or not isinstance(api, str) or not isinstance(meta, dict):
        return None
    group = api.split("/", 1)[0] if "/" in api else ""
    return group, kind, str(meta.get("namespace") or ""), str(meta.get("name") or "")


def _objects_of_file(rel: str, path: Path) -> list[Obj]:
    if rel.endswith(".json"):
        try:
            docs = [json.loads(_read(path))]
        except json.JSONDecodeError as exc:
            raise InputError(f"unparsable JSON: {exc.msg}", file=path, line=exc.lineno, column=exc.colno) from None
    elif rel.endswith(YAML_SUFFIXES):
        docs = _parse_yaml(path, _read(path))
    else:
        return [Obj(f"file/{rel}", "File", f"file {rel}", rel, _read(path))]
    found = []
    for index, doc in enumerate(docs):
        suffix = f"#{index}" if len(docs) > 1 else ""
        if cfn.is_template(doc):
            found.append(Obj(f"cfn/{rel}{suffix}", "CloudFormationTemplate", f"CloudFormation template {rel}{suffix}", rel, doc,
                             owner="cloudformation"))
            continue
        if cfn.parameter_values(doc) is not None and rel.endswith(".json"):
            found.append(Obj(f"cfn-params/{rel}", "CloudFormationParameters", f"CloudFormation parameters {rel}", rel, doc,
                             owner="cloudformation"))
            continue
        items = doc.get("items") if isinstance(doc, dict) and str(doc.get("kind", "")).endswith("List") else None
        for inner_index, item in enumerate(items if isinstance(items, list) else [doc]):
            identity = _k8s_identity(item) if isinstance(item, dict) else None
            inner = f"{suffix}[{inner_index}]" if items is not None else suffix
            if identity:
                group, kind, ns, name = identity
                found.append(Obj(f"k8s/{group}/{kind}/{ns}/{name}", kind, "", rel, item, ns, name))
            elif rel.startswith("values/"):
                stem = rel[len("values/"):].rsplit(".", 1)[0]
                found.append(Obj(f"values/{stem}{inner}", "HelmValues", f"Helm values {stem}{inner}", rel, item, name=stem))
            else:
                found.append(Obj(f"yaml/{rel}{inner}", "YAML", f"YAML {rel}{inner}", rel, item))
    return found


def _wave(doc: Any) -> int | None:
    try:
        return int(doc["metadata"]["annotations"][WAVE_ANNOTATION])
    except (KeyError, TypeError, ValueError):
        return None


def _app_sources(app: Obj) -> list[dict[str, Any]]:
    spec = app.spec
    sources = [spec["source"]] if isinstance(spec.get("source"), dict) else []
    sources += [s for s in spec.get("sources") or [] if isinstance(s, dict)]
    return sources


def _assign_owners(env: EnvTree) -> None:
    """Which Application delivers each object, its wave, and the default namespace it lands in."""
    prefixes = (f"rendered/{env.name}/", f"$values/rendered/{env.name}/")
    by_dir: dict[str, tuple[Obj, bool]] = {}
    by_file: dict[str, Obj] = {}
    apps = [o for o in env.objects.values() if o.kind == "Application" and o.file.startswith("apps/")]
    for app in apps:
        for source in _app_sources(app):
            path = source.get("path")
            if isinstance(path, str):
                for prefix in prefixes:
                    if path.startswith(prefix):
                        recurse = bool((source.get("directory") or {}).get("recurse"))
                        by_dir[path[len(prefix):].strip("/")] = (app, recurse)
            for value_file in (source.get("helm") or {}).get("valueFiles") or []:
                for prefix in prefixes:
                    if isinstance(value_file, str) and value_file.startswith(prefix):
                        by_file[value_file[len(prefix):]] = app
    root = next((o for o in env.objects.values() if o.kind == "Application" and o.file.startswith("bootstrap/")), None)
    for obj in list(env.objects.values()):
        owner: Obj | None = None
        if obj.file in by_file:
            owner = by_file[obj.file]
        elif obj.kind == "Application" and obj.file.startswith("apps/"):
            owner = obj
        else:
            directory = obj.file.rsplit("/", 1)[0] if "/" in obj.file else ""
            while directory:
                hit = by_dir.get(directory)
                if hit and (hit[1] or directory == obj.file.rsplit("/", 1)[0]):
                    owner = hit[0]
                    break
                directory = directory.rsplit("/", 1)[0] if "/" in directory else ""
        if owner is not None:
            obj.owner, obj.wave = owner.name, _wave(owner.doc)
            if obj.owner and not obj.namespace and obj.kind not in CLUSTER_SCOPED and obj.key.startswith("k8s/"):
                obj.namespace = str((owner.spec.get("destination") or {}).get("namespace") or "")
        elif obj.file.startswith("apps/"):
            obj.owner, obj.wave = (root.name if root else "root"), _wave(obj.doc)
        elif obj.file.startswith("bootstrap/"):
            obj.owner = "bootstrap"
        elif obj.file.startswith("cloudformation/"):
            obj.owner = "cloudformation"
        else:
            obj.owner = obj.owner or "other"


def _relabel(env: EnvTree) -> None:
    objects: dict[str, Obj] = {}
    for obj in env.objects.values():
        if obj.key.startswith("k8s/"):
            group = obj.key.split("/")[1]
            obj.key = f"k8s/{group}/{obj.kind}/{obj.namespace}/{obj.name}"
            obj.label = f"{obj.kind} {obj.namespace}/{obj.name}" if obj.namespace else f"{obj.kind} {obj.name}"
        key = obj.key
        if key in objects:  # the same object twice: keep both, the second named by its file
            key = obj.key = f"{obj.key}@{obj.file}"
            obj.label = f"{obj.label} ({obj.file})"
        objects[key] = obj
    env.objects = dict(sorted(objects.items()))


def load_env(name: str, directory: Path) -> EnvTree:
    env = EnvTree(name)
    files = []
    for base, dirs, names in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        files += [Path(base) / n for n in names if not n.startswith(".")]
    for path in sorted(files):
        rel = path.relative_to(directory).as_posix()
        for obj in _objects_of_file(rel, path):
            env.objects[obj.key + ("" if obj.key not in env.objects else f"@{rel}")] = obj
    _assign_owners(env)
    _relabel(env)
    return env


def load_tree(directory: Path) -> Tree:
    """Every environment of a rendered tree, by name."""
    root = resolve_root(Path(directory))
    if root is None:
        return {}
    return {p.name: load_env(p.name, p) for p in sorted(root.iterdir()) if p.is_dir() and not p.name.startswith(".")}
