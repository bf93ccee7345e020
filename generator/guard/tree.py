"""Loading a rendered tree (`rendered/` or a repository root holding it) into objects by identity.

Every environment becomes {object key: Obj}. A Kubernetes object's key is its group, kind,
namespace and name (the namespace defaults to the destination of the Application that syncs it);
Helm values are keyed by the component they configure; a CloudFormation template or parameters
file, and any other file, by its path. Each object knows the Application (and sync wave) that
delivers it, so the diff can group by wave and Application.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

from generator.argocd import WAVE
from generator.errors import InputError
from generator.guard import cfn, gitsnap, shapes
from generator.yamlio import MAX_RENDERED_BYTES, StrictLoader, decode, load_all_bounded, read_limited

ENV_MARKERS = ("apps", "manifests", "values", "bootstrap", "cloudformation")
CLUSTER_SCOPED = frozenset({
    "Namespace", "ClusterSecretStore", "ClusterExternalSecret", "ClusterRole", "ClusterRoleBinding",
    "CustomResourceDefinition", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration",
    "StorageClass", "PriorityClass", "PersistentVolume", "IngressClass", "APIService",
})
YAML_SUFFIXES = (".yaml", ".yml")


class _Loader(StrictLoader):
    """Safe loading (duplicate keys refused: yamlio.StrictLoader) and CloudFormation short tags."""


cfn.register_tags(_Loader)


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
    raw: bytes = b""  # the file's content (several objects may share it)

    @property
    def spec(self) -> dict[str, Any]:
        spec = self.doc.get("spec") if isinstance(self.doc, dict) else None
        return spec if isinstance(spec, dict) else {}


@dataclass
class EnvTree:
    name: str
    objects: dict[str, Obj] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)  # every file's content, parsed or not
    changed: set[str] | None = None  # files that differ from the other side (None: not compared)
    applied: Any = None  # generator.applied.AppliedState once hydrated: what its Applications apply

    def touched(self, rel: str) -> bool:
        return self.changed is None or rel in self.changed

    def of_kind(self, *kinds: str) -> list[Obj]:
        return [o for o in self.objects.values() if o.kind in kinds]


Tree = dict[str, EnvTree]


def _no_link(path: Path) -> None:
    """Refuse a symbolic link in a tree: it is never followed (it may point outside the checkout,
    or loop), and Argo CD does not read the same thing through it."""
    if path.is_symlink():
        raise InputError("a symbolic link in a rendered tree; links are refused, never followed", file=path,
                         hint="replace it with the file or folder itself (re-run `litellm-gitops render`)")


def resolve_root(directory: Path) -> Path | None:
    """The rendered/ folder of `directory`; None when it is a repository without rendered/ yet."""
    _no_link(directory / "rendered")
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


def _refuse_aliases(path: Path, text: str) -> None:
    """An alias shares a node; expanded (as comparing does) a few lines can become billions."""
    if "&" not in text or "*" not in text:
        return
    for event in yaml.parse(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
        if isinstance(event, yaml.AliasEvent):
            raise InputError("YAML alias (*anchor): refused, readers expand shared nodes differently and a few "
                             "aliases can expand to billions of values", file=path, line=event.start_mark.line + 1,
                             hint="write the values out; the generator never emits anchors")


def _parse_yaml(path: Path, text: str) -> list[Any]:
    try:
        _refuse_aliases(path, text)
        return load_all_bounded(text, path, _Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(f"unparsable YAML: {getattr(exc, 'problem', None) or exc}", file=path,
                         line=mark.line + 1 if mark else None, column=mark.column + 1 if mark else None,
                         hint="the rendered tree must be valid YAML; re-run `litellm-gitops render`") from None


def _k8s_identity(doc: dict[str, Any], path: Path | None = None) -> tuple[str, str, str, str] | None:
    kind, api, meta = doc.get("kind"), doc.get("apiVersion"), doc.get("metadata")
    if not isinstance(kind, str) or not isinstance(api, str):
        return None
    if not isinstance(meta, dict):
        raise InputError(f"{kind}: metadata must be a mapping, not {type(meta).__name__}", file=path,
                         hint="fix the object (re-run `litellm-gitops render` if it is generated)")
    group = api.split("/", 1)[0] if "/" in api else ""
    return group, kind, str(meta.get("namespace") or ""), str(meta.get("name") or "")


# Parsed documents by content digest: a file identical in base and head is parsed once, and the
# two trees share its (read-only) documents.
_PARSED: dict[bytes, list[Any]] = {}
_PARSED_LIMIT = 50_000


def _text(path: Path, raw: bytes) -> str:
    return decode(path, raw, hint="rendered files are UTF-8; re-run `litellm-gitops render`")


def _documents(rel: str, path: Path, raw: bytes) -> list[Any]:
    digest = hashlib.sha1(raw).digest() + (b"j" if rel.endswith(".json") else b"y")
    cached = _PARSED.get(digest)
    if cached is not None:
        return cached
    if rel.endswith(".json"):
        try:
            docs = [json.loads(_text(path, raw))]
        except json.JSONDecodeError as exc:
            raise InputError(f"unparsable JSON: {exc.msg}", file=path, line=exc.lineno, column=exc.colno) from None
    else:
        docs = _parse_yaml(path, _text(path, raw))
    if len(_PARSED) >= _PARSED_LIMIT:
        _PARSED.clear()
    _PARSED[digest] = docs
    return docs


def _objects_of_file(rel: str, path: Path, raw: bytes) -> list[Obj]:
    if rel.endswith(".json") or rel.endswith(YAML_SUFFIXES):
        docs = _documents(rel, path, raw)
    else:
        return [Obj(f"file/{rel}", "File", f"file {rel}", rel, _text(path, raw))]
    found = []
    for index, doc in enumerate(docs):
        suffix = f"#{index}" if len(docs) > 1 else ""
        if cfn.is_template(doc):
            found.append(Obj(f"cfn/{rel}{suffix}", "CloudFormationTemplate", f"CloudFormation template {rel}{suffix}", rel, doc,
                             owner="cloudformation"))
            continue
        if cfn.is_deploy_manifest(doc):
            found.append(Obj(f"cfn-deploy/{rel}{suffix}", "CloudFormationDeploy", f"CloudFormation deploy manifest {rel}{suffix}",
                             rel, doc, owner="cloudformation"))
            continue
        if cfn.parameter_values(doc) is not None and rel.endswith(".json"):
            found.append(Obj(f"cfn-params/{rel}", "CloudFormationParameters", f"CloudFormation parameters {rel}", rel, doc,
                             owner="cloudformation"))
            continue
        # Argo CD applies the items of any object whose `items` is a list (unstructured.IsList, whatever
        # the kind), and nothing for `items: null` without spec or status (repository.go, isNullList).
        manifest = isinstance(doc, dict) and not rel.startswith("values/")
        items = doc.get("items") if manifest else None
        if manifest and "items" in doc and items is None and "spec" not in doc and "status" not in doc:
            continue
        if not isinstance(items, list):
            items = None
        for inner_index, item in enumerate(items if items is not None else [doc]):
            identity = _k8s_identity(item, path) if isinstance(item, dict) else None
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
        return int(doc["metadata"]["annotations"][WAVE])
    except (KeyError, TypeError, ValueError):
        return None


def app_sources(app: Obj) -> list[dict[str, Any]]:
    """An Application's `source` and `sources`, in that order."""
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
        for source in app_sources(app):
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


Files = dict[str, tuple[str, bytes]]  # relative path -> (path on disk, content)
Select = Callable[[dict[str, bytes], set[str]], set[str]]


def _files(directory: Path) -> Files:
    found: Files = {}
    prefix = len(str(directory)) + 1
    for base, dirs, names in os.walk(directory, onerror=_walk_error):
        dirs.sort()  # hidden ones too: Argo CD's directory source reads them (filepath.Walk)
        for name in dirs:
            if os.path.islink(os.path.join(base, name)):
                _no_link(Path(base, name))
        for name in names:
            path = os.path.join(base, name)  # read_limited refuses a link, never following it
            found[path[prefix:].replace(os.sep, "/")] = (path, read_limited(path, MAX_RENDERED_BYTES, "rendered file"))
    return dict(sorted(found.items()))


def _walk_error(exc: OSError) -> None:
    raise InputError(f"cannot read the folder: {exc.strerror}", file=exc.filename, hint="check its permissions")


def _build(name: str, files: Files, chosen: set[str] | None = None) -> EnvTree:
    env = EnvTree(name, files={rel: raw for rel, (_, raw) in files.items()})
    for rel, (path, raw) in files.items():
        if chosen is not None and rel not in chosen:
            continue
        for obj in _objects_of_file(rel, Path(path), raw):
            obj.raw = raw
            shapes.check_object(obj)
            env.objects[obj.key + ("" if obj.key not in env.objects else f"@{rel}")] = obj
    if name.startswith(f"{FLEET}/"):
        _generated_applications(env, files)
    _assign_owners(env)
    if name.startswith(f"{FLEET}/"):
        _fleet_owners(env)
    _relabel(env)
    return env


def _generated_applications(env: EnvTree, files: Files) -> None:
    """A hub's ApplicationSets, evaluated as Argo CD does (generator.appset) over the hub's own
    files: each generated Application becomes an ordinary object of the tree, "generated by" its
    ApplicationSet's file, so rules and the diff see the roots' sources and destinations. An
    ApplicationSet that reads outside its hub's folder, or uses what the evaluator does not
    implement, is refused: the guard cannot know what it would generate."""
    from generator import appset

    prefix = f"rendered/{env.name}/"
    contents = {prefix + rel: raw for rel, (_, raw) in files.items()}
    for rel, (path, raw) in files.items():
        if not rel.endswith(YAML_SUFFIXES) or b"ApplicationSet" not in raw:
            continue
        for doc in _documents(rel, Path(path), raw):
            if not (isinstance(doc, dict) and doc.get("kind") == "ApplicationSet"):
                continue
            try:
                for generator in doc["spec"]["generators"]:
                    for item in (generator.get("git") or {}).get("files") or []:
                        if not str(item.get("path", "")).startswith(prefix):
                            raise appset.Unsupported(f"git files generator path {item.get('path')!r} is outside {prefix}")
                generated = appset.generate(doc, contents)
            except (appset.Unsupported, appset.TemplateError, KeyError, TypeError, AttributeError) as exc:
                raise InputError(f"ApplicationSet cannot be evaluated: {exc}", file=path,
                                 hint="the fleet's ApplicationSet is rendered by litellm-gitops (generator.fleet); "
                                      "re-run `litellm-gitops render`") from None
            for app in generated:
                meta = app["metadata"]
                obj = Obj(f"k8s/argoproj.io/Application/{meta['namespace']}/{meta['name']}", "Application", "",
                          rel, app, str(meta["namespace"]), str(meta["name"]), raw=raw)
                env.objects[obj.key + ("" if obj.key not in env.objects else f"@{rel}")] = obj


def _fleet_owners(env: EnvTree) -> None:
    """In a hub's tree, what belongs to one environment (hub/<env>/..., environments/<env>.json)
    is grouped under that environment; the rest of hub/ under the hub's root, which syncs it."""
    for obj in env.objects.values():
        parts = obj.file.split("/")
        if parts[0] == "hub" and len(parts) == 3:
            obj.owner = f"environment {parts[1]}"
        elif parts[0] == "environments" and len(parts) == 2:
            obj.owner = f"environment {parts[1].rsplit('.', 1)[0]}"
        elif obj.kind == "Application" and parts[0] == "hub":  # generated by an ApplicationSet
            labels = (obj.doc.get("metadata") or {}).get("labels") or {}
            obj.owner = f"environment {labels.get('litellm-gitops/environment', obj.name)}"
        elif parts[0] == "hub":
            obj.owner = f"fleet-{env.name.split('/', 1)[1]}"


def load_env(name: str, directory: Path) -> EnvTree:
    return _build(name, _files(directory))


FLEET = "fleet"  # rendered/fleet/<hub>/ (generator.fleet): each hub is one more tree, "fleet/<hub>"


def _env_dirs(directory: Path) -> dict[str, Path]:
    root = resolve_root(Path(directory))
    if root is None:
        return {}
    found = dict(_folders(root))
    fleet = found.pop(FLEET, None)
    if fleet is not None:
        found.update((f"{FLEET}/{name}", path) for name, path in _folders(fleet))
    return found


def _folders(directory: Path) -> list[tuple[str, Path]]:
    """(name, path) of the folders in `directory`, by name, hidden ones left out; a symbolic link
    is refused. One scandir (its entries know their type): 1,000 environments cost no stat each."""
    with os.scandir(directory) as entries:
        listed = sorted((entry.name, entry) for entry in entries if not entry.name.startswith("."))
    found = []
    for name, entry in listed:
        if entry.is_symlink():
            _no_link(Path(entry.path))
        if entry.is_dir(follow_symlinks=False):
            found.append((name, directory / name))
    return found


def load_tree(directory: Path) -> Tree:
    """Every environment of a rendered tree, by name, every file parsed."""
    return {name: load_env(name, path) for name, path in _env_dirs(directory).items()}


@dataclass
class Pair:
    """The environments of two trees that differ (unchanged ones are only named)."""

    base: Tree
    head: Tree
    names: list[str]  # every environment in either tree
    ids: tuple[dict[str, str] | None, dict[str, str] | None] = (None, None)  # gitsnap's tree ids, per side


def load_pair(base_dir: Path, head_dir: Path, select: Select | None = None,
              owns: Callable[[str], bool] | None = None,
              ids: tuple[dict[str, str] | None, dict[str, str] | None] | None = None) -> Pair:
    """Both trees, reading only what a comparison needs.

    An environment whose files are byte-identical on both sides is skipped: by its git tree id
    when git vouches for both checkouts (guard.gitsnap: unchanged environments cost a hash, no
    read), otherwise by reading its files. In the others,
    `select(files, changed)` names, per side, the unchanged files to parse (None: every file); both
    sides parse the union of the two choices, so an unchanged file is read on both or neither. Files that
    differ between the sides are always parsed. A file identical on both sides is parsed once.
    `owns(name)`: only those environments (and `fleet/<hub>` trees) are compared (a --shard).
    `ids`: the Pair.ids of an earlier load of the same two checkouts in this process (the guard's,
    for the plan it writes with --diff-markdown), so git is not asked again.
    """
    base_envs, head_envs = _env_dirs(base_dir), _env_dirs(head_dir)
    pair = Pair({}, {}, sorted(name for name in set(base_envs) | set(head_envs) if owns is None or owns(name)))
    base_ids, head_ids = ids if ids is not None else gitsnap.fingerprints(Path(base_dir), Path(head_dir))
    pair.ids = (base_ids, head_ids)
    for name in pair.names:
        if base_ids and head_ids and base_ids.get(name, "base") == head_ids.get(name, "head"):
            continue
        old = _files(base_envs[name]) if name in base_envs else {}
        new = _files(head_envs[name]) if name in head_envs else {}
        old_raw, new_raw = {k: v[1] for k, v in old.items()}, {k: v[1] for k, v in new.items()}
        if name in base_envs and name in head_envs and old_raw == new_raw:
            continue
        changed = {k for k in set(old_raw) | set(new_raw) if old_raw.get(k) != new_raw.get(k)}
        # Both sides read the same unchanged files: either side's choice is read on both.
        common = None if select is None else select(old_raw, changed) | select(new_raw, changed) | changed
        for env_dirs, files, raw, tree in ((base_envs, old, old_raw, pair.base), (head_envs, new, new_raw, pair.head)):
            if name in env_dirs:
                chosen = None if common is None else common & set(raw)
                tree[name] = _build(name, files, chosen)
                tree[name].changed = changed
    return pair
