"""Sources: everything that decides which content Argo CD applies, compared as data.

Guarded objects, wherever they are rendered: every Application, ApplicationSet and AppProject
(sources with every field — repoURL, targetRevision, path, chart, ref, directory, helm, kustomize,
plugin —, destination, project, sync options, the `operation` field), every Secret Argo CD reads as
configuration (`argocd.argoproj.io/secret-type`: repositories, credential templates, clusters),
everything under bootstrap/ (the root Application, its AppProject, argocd-cm, argocd-cmd-params-cm)
and the namespaces a hub creates for its environments' Applications (hub/<env>/namespace.yaml).

A change to one of them that can reach the salt key's chain (REACH, below) is blocked; any other
needs two approvals. A chart version bump (only a Helm source's `targetRevision` differs, same
repository and chart) is marked `chart_bump`: when both sides are hydrated, the rules judge it by
what `helm template` renders for each version (the data flow of the guarded variables) and it
needs two approvals like any other source change; unhydrated, it counts like any other change.

Only objects in files that differ between base and head are compared: a byte-identical file
holds the same objects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from generator import naming
from generator.argoglob import glob_match
from generator.argocd import WAVE
from generator.guard.flatten import flatten
from generator.guard.redact import MISSING
from generator.guard.tree import EnvTree, Obj, app_sources

SECRET_TYPE = "argocd.argoproj.io/secret-type"
ARGO_KINDS = ("Application", "ApplicationSet", "AppProject")
# Fields that change nothing Argo CD applies: history kept, links shown in the UI, retry pacing,
# labels, the sync wave (order, not content), an AppProject's description.
IGNORED = ("status", "metadata.labels", f"metadata.annotations.{WAVE}", "metadata.creationTimestamp",
           "spec.revisionHistoryLimit", "spec.info", "spec.syncPolicy.retry", "spec.description")
# Keys of an Argo CD repository Secret that are not credentials (Argo CD's declarative setup docs);
# every other key (password, sshPrivateKey, tlsClientCertKey, githubAppPrivateKey, ...) is.
PUBLIC_SECRET_KEYS = ("name", "type", "url", "project", "enableOCI", "insecure", "enableLfs",
                      "forceHttpBasicAuth", "proxy", "noProxy", "githubAppID", "githubAppInstallationID")


@dataclass(frozen=True)
class Reach:
    """What makes an Application able to reach the salt key's chain (as data).

    It deploys a chart that reads or writes the salt key (LiteLLM; External Secrets, which writes
    the Secret under its own IRSA identity), or it lands in a namespace where the Secret, LiteLLM's
    pods or External Secrets live, or its directory delivers a kind that can write, read, redirect
    or delete the Secret or the pods reading it, or its content cannot be read by the guard.
    AppProjects, credential templates and cluster Secrets govern every Application: they reach.
    A repository Secret reaches when an Application that reaches uses its URL.
    """

    charts: tuple[str, ...] = ("litellm-helm", "litellm", "external-secrets")
    namespaces: tuple[str, ...] = (naming.LITELLM_SECRET[0], naming.EXTERNAL_SECRETS.namespace)
    kinds: tuple[str, ...] = (
        "ExternalSecret", "ClusterExternalSecret", "PushSecret", "SecretStore", "ClusterSecretStore",
        "Secret", "ServiceAccount", "Namespace", "Application", "ApplicationSet", "AppProject",
        "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod",
        "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration", "MutatingAdmissionPolicy",
        "CustomResourceDefinition", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding",
        "PodTemplate", "Kustomization", "HelmRelease",
    )
    secret_types: tuple[str, ...] = ("repo-creds", "cluster", "repository-write", "repo-write-creds")


REACH = Reach()
_KIND = re.compile(rb"""["']?kind["']?\s*:\s*["']?(%s)["'\s,}]""" % b"|".join(k.encode() for k in REACH.kinds))
_DISGUISE = re.compile(rb"\\[xuU]|\\\r?\n|!!|!<|%TAG|<<")


def hub_namespace(obj: Obj) -> bool:
    """A namespace a hub creates for an environment's Applications (generator.fleet, hub/<env>/):
    which namespaces exist decides where Applications may live, so it is judged as a source."""
    return obj.kind == "Namespace" and obj.file.startswith("hub/") and obj.key.startswith("k8s/")


def is_guarded(obj: Obj) -> bool:
    if obj.kind in ARGO_KINDS or (obj.file.startswith("bootstrap/") and obj.key.startswith("k8s/")) or hub_namespace(obj):
        return True
    labels = (obj.doc.get("metadata") or {}).get("labels") if isinstance(obj.doc, dict) else None
    return obj.kind == "Secret" and isinstance(labels, dict) and SECRET_TYPE in labels


def _strip(doc: Any) -> Any:
    if not isinstance(doc, dict):
        return doc
    out = dict(doc)
    for path in IGNORED:
        parts = path.split(".", 2) if path.startswith("metadata.annotations.") else path.split(".")
        node = out
        for part in parts[:-1]:
            if not isinstance(node.get(part), dict):
                break
            node[part] = dict(node[part])
            node = node[part]
        else:
            node.pop(parts[-1], None)
    return out


def env_prefix(env: EnvTree) -> str:
    return f"rendered/{env.name}/"


def readable_path(env: EnvTree, source: dict[str, Any]) -> str | None:
    """The folder inside rendered/<env>/ a Git source syncs; None when it is anywhere else."""
    path = source.get("path")
    if not isinstance(path, str):
        return None
    path = path.strip("/") + "/"
    return path[len(env_prefix(env)):] if path.startswith(env_prefix(env)) else None


def source_files(env: EnvTree, folder: str, directory: Any) -> list[str]:
    """The files of `folder` a directory source reads: sub-folders only with `recurse`, filtered by
    `include`/`exclude` with Argo CD's globs (the one implementation hydrate uses too)."""
    settings = directory if isinstance(directory, dict) else {}
    recurse, include, exclude = bool(settings.get("recurse")), str(settings.get("include") or ""), str(settings.get("exclude") or "")
    folder = folder.rstrip("/")
    prefix = folder + "/" if folder else ""
    found = []
    for rel in env.files:
        inner = rel[len(prefix):]
        if not rel.startswith(prefix) or (not recurse and "/" in inner):
            continue
        if (exclude and glob_match(exclude, inner)) or (include and not glob_match(include, inner)):
            continue
        found.append(rel)
    return found


def _delivers_reaching_kind(env: EnvTree, source: dict[str, Any]) -> bool:
    folder = readable_path(env, source)
    if folder is None:
        return True  # content the guard cannot read: assume the worst
    parsed: dict[str, list[str]] = {}
    for obj in env.objects.values():
        parsed.setdefault(obj.file, []).append(obj.kind)
    # A file the guard parsed is judged by the kinds it holds (the allowlist judges the objects
    # themselves); one it did not parse, by a scan of its bytes that fails closed.
    return any(any(kind in REACH.kinds for kind in parsed[rel]) if rel in parsed
               else (_KIND.search(env.files[rel]) or _DISGUISE.search(env.files[rel])) is not None
               for rel in source_files(env, folder, source.get("directory")))


def _chart_name(source: dict[str, Any]) -> str:
    return str(source.get("chart") or "").rsplit("/", 1)[-1]


def app_reaches(app: Obj, env: EnvTree) -> bool:
    spec = app.spec
    destination = spec.get("destination") if isinstance(spec.get("destination"), dict) else {}
    if app.kind == "ApplicationSet":
        # Evaluated as Argo CD does (tree.py): each Application it generates is compared on its
        # own, so a template change shows up on every generated root it changes.
        return False
    if str(destination.get("namespace") or "") in REACH.namespaces:
        return True
    for source in app_sources(app):
        if source.get("chart"):
            if _chart_name(source) in REACH.charts:
                return True
        elif source.get("ref") and not source.get("path"):
            continue  # a `$ref` source only lends files to the others
        elif _delivers_reaching_kind(env, source):
            return True
    return False


def _reaching_urls(env: EnvTree) -> set[str]:
    urls: set[str] = set()
    for app in env.of_kind("Application"):
        if app_reaches(app, env):
            urls |= {str(s.get("repoURL") or "").rstrip("/") for s in app_sources(app)}
    return urls


def reaches(obj: Obj, env: EnvTree) -> bool:
    """Whether a change to `obj` (a guarded object of `env`) can reach the salt key's chain."""
    if obj.kind in ("Application", "ApplicationSet"):
        return app_reaches(obj, env)
    if obj.kind == "AppProject":
        # What a project allows (destinations, source repositories, kind allow-lists) limits what
        # its Applications may apply; what they do apply is judged on its own (the Applications,
        # the applied state). Two approvals, like any other source change.
        return False
    if obj.kind == "Secret" and isinstance(obj.doc, dict):
        labels = (obj.doc.get("metadata") or {}).get("labels") or {}
        if labels.get(SECRET_TYPE) in REACH.secret_types:
            return True
        data = obj.doc.get("stringData") if isinstance(obj.doc.get("stringData"), dict) else {}
        url = str(data.get("url") or "").rstrip("/")
        return not url or url in _reaching_urls(env)  # base64 `data` only: unknown, so it reaches
    return False


# Inline Helm values and parameters, plugin environment: they may feed a guarded variable.
_INLINE = re.compile(r"\.(helm\.(values|valuesObject|parameters|fileParameters)|plugin\.(env|parameters))([.\[]|\Z)")


def sensitive_field(obj: Obj, field: str) -> bool:
    """Values are secret by where they are, whatever they look like."""
    if obj.kind in ("Application", "ApplicationSet"):
        return _INLINE.search(field) is not None
    if obj.kind != "Secret":
        return False
    parts = field.split(".")
    if parts[0] == "data":
        return True
    return parts[0] == "stringData" and (len(parts) < 2 or parts[1] not in PUBLIC_SECRET_KEYS)


@dataclass(frozen=True)
class SourceChange:
    environment: str
    object: str
    field: str
    before: Any
    after: Any
    file: str
    reaches: bool
    sensitive: bool
    chart_bump: bool = False


def _guarded(env: EnvTree | None) -> dict[str, Obj]:
    if env is None:
        return {}
    # An Application a hub's ApplicationSet generates depends on files besides its own (the
    # environments' files the git generator reads): it is always compared.
    return {k: o for k, o in env.objects.items() if is_guarded(o) and (env.touched(o.file) or _generated(o))}


def _cluster(obj: Obj) -> tuple[str, str] | None:
    """(name, server) of an Argo CD cluster Secret, None for anything else or an unreadable one."""
    if obj.kind != "Secret" or not isinstance(obj.doc, dict):
        return None
    labels = (obj.doc.get("metadata") or {}).get("labels") or {}
    data = obj.doc.get("stringData")
    if not isinstance(labels, dict) or labels.get(SECRET_TYPE) != "cluster" or not isinstance(data, dict):
        return None
    return str(data.get("name") or ""), str(data.get("server") or "")


def _destination(app: Obj) -> tuple[str, str]:
    destination = app.spec.get("destination") if isinstance(app.spec.get("destination"), dict) else {}
    return str(destination.get("name") or ""), str(destination.get("server") or "")


def _new_target(obj: Obj, old: EnvTree) -> bool:
    """A hub's new cluster Secret, or the root generated for it, naming no cluster that the base
    already knows (by name or server): it deploys to a new cluster only."""
    known = {c for o in old.objects.values() for c in (_cluster(o) or ()) if c}
    known |= {d for o in old.of_kind("Application") if _generated(o) for d in _destination(o) if d}
    cluster = _cluster(obj)
    if cluster is not None:
        return all(part and part not in known for part in cluster)
    if _generated(obj):  # a root for an environment no base root syncs
        paths = {str(src.get("path")) for o in old.of_kind("Application") if _generated(o) for src in app_sources(o)}
        mine = {str(src.get("path")) for src in app_sources(obj)}
        return obj.key not in old.objects and not mine & paths
    return False


def _generated(obj: Obj) -> bool:
    return obj.kind == "Application" and not obj.file.startswith(("apps/", "bootstrap/")) and b"ApplicationSet" in obj.raw


def compare(name: str, old: EnvTree | None, new: EnvTree | None) -> list[SourceChange]:
    """Every difference in a guarded object between the sides of one environment.

    A new environment brings its own Applications (nothing existing changes: its root is applied by
    hand); a removed one is judged by the red lines (everything it delivered is pruned).
    """
    if old is None or new is None:
        return []
    before, after = _guarded(old), _guarded(new)
    changes = []
    for key in sorted(set(before) | set(after)):
        a, b = before.get(key), after.get(key)
        left, right = (_strip(a.doc) if a else MISSING), (_strip(b.doc) if b else MISSING)
        if left == right:
            continue
        obj = b or a
        assert obj is not None
        reach = (a is not None and reaches(a, old)) or (b is not None and reaches(b, new))
        if a is None and b is not None and _new_target(b, old):
            reach = False  # a new environment's root or cluster: nothing that exists changes
        label = obj.label or key
        if a is None or b is None:
            changes.append(SourceChange(name, label, "(whole object)", "present" if a else MISSING,
                                        "present" if b else MISSING, obj.file, reach, False))
            continue
        flat_a, flat_b = flatten(left), flatten(right)
        for path in sorted(set(flat_a) | set(flat_b)):
            va, vb = flat_a.get(path, MISSING), flat_b.get(path, MISSING)
            if va != vb or type(va) is not type(vb):
                changes.append(SourceChange(name, label, path or "(document)", va, vb, obj.file, reach,
                                            sensitive_field(obj, path), _is_chart_bump(left, right, path)))
    return changes


def _is_chart_bump(left: Any, right: Any, path: str) -> bool:
    """`path` is the targetRevision of a Helm source whose repository and chart are the same on both sides."""
    match = re.fullmatch(r"spec\.(source|sources\[(\d+)\])\.targetRevision", path)
    if not match or not isinstance(left, dict) or not isinstance(right, dict):
        return False

    def source(doc: dict) -> Any:
        spec = doc.get("spec") or {}
        if match.group(2) is None:
            return spec.get("source")
        listed = spec.get("sources")
        index = int(match.group(2))
        return listed[index] if isinstance(listed, list) and index < len(listed) else None

    a, b = source(left), source(right)
    return (isinstance(a, dict) and isinstance(b, dict) and bool(a.get("chart")) and a.get("chart") == b.get("chart")
            and a.get("repoURL") == b.get("repoURL"))
