"""Content Argo CD syncs that the guard cannot read exactly as Argo CD does: refused unless
byte-identical in base and head.

How Argo CD reads a Git source (argoproj/argo-cd v3.5.1, reposerver/repository/repository.go and
util/app/discovery/discovery.go):

- `GetAppSourceType`: an explicit `kustomize`, `helm`, `plugin` (or `directory`) field decides the
  type; otherwise `discovery.AppType` asks the config management plugins first, then a file named
  `*Chart.yaml` makes it Helm and `kustomization.yaml`, `kustomization.yml` or `Kustomization`
  makes it Kustomize; only then is it a plain directory.
- Before that, `mergeSourceParameters` merges `.argocd-source.yaml` and
  `.argocd-source-<app>.yaml` from the source's path into the source itself (a JSON merge patch).
- A directory source (`findManifests`, `getPotentiallyValidManifests`) walks the path with
  `filepath.Walk` — hidden files included, sub-folders only with `recurse` — and reads every file
  matching `^.*\\.(yaml|yml|json|jsonnet)$`, filtered by `directory.include`/`exclude` globs;
  `.jsonnet` files are evaluated (with `directory.jsonnet` TLAs and ext vars); a file holding
  `+argocd:skip-file-rendering` is skipped; a YAML file that fails to parse is silently ignored
  unless it contains `apiVersion:`, `kind:` and `metadata:`.
- YAML documents go through k8s.io/apimachinery's YAMLOrJSONDecoder (sigs.k8s.io/yaml): the
  differentials with the guard's reader are checked by yamlcheck.

The guard models plain directories of YAML and JSON inside rendered/<env>/ and Helm charts from a
chart repository with values files inside rendered/<env>/. Anything else is refused when it
changes; an Application whose source the guard cannot model is refused whenever it is in head.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from generator import argocd
from generator.guard import yamlcheck
from generator.guard.sources import readable_path
from generator.guard.tree import EnvTree, app_sources

MANIFEST_FILE = re.compile(r"^.*\.(yaml|yml|json|jsonnet)\Z")  # repository.go: manifestFile
SKIP_MARKER = b"+argocd:skip-file-rendering"  # repository.go: skipFileRenderingMarker
KUSTOMIZATIONS = ("kustomization.yaml", "kustomization.yml", "Kustomization")  # util/kustomize: IsKustomization
# Source fields that select a tool the guard does not run. (directory.include/exclude are globs
# the guard evaluates as Argo CD does: generator.guard.sources.source_files.)
UNMODELLED_SOURCE_FIELDS = ("kustomize", "plugin", "directory.jsonnet")
# Files of rendered/<env>/ that Argo CD never reads (CloudFormation is deployed by a workflow).
NOT_SYNCED = ("cloudformation/",)


@dataclass(frozen=True)
class Unmodelled:
    environment: str
    object: str
    field: str
    file: str
    line: int | None = None


def expected_pin(env: EnvTree) -> bytes | None:
    """apps/pin-revision.jsonnet as the generator writes it for this tree's apps/ files and root
    repository (argocd.pin_revision_jsonnet, the guard's own trusted code): the one Jsonnet whose
    meaning the guard knows (it applies apps/*.yaml with their Git sources pinned to the root's
    revision). None without a root Application."""
    roots = [o.doc for o in env.objects.values() if o.kind == "Application" and o.file.startswith("bootstrap/")]
    if not roots:  # bootstrap/ unchanged, so not parsed: read the root from its bytes (the same ones on both sides)
        roots = _bootstrap_roots(env)
    files = [rel.removeprefix("apps/") for rel in env.files
             if rel.startswith("apps/") and "/" not in rel[5:] and rel.endswith(".yaml")]
    if not roots:  # a hub-managed environment: its root is generated on the hub (tree.py evaluates it there)
        return _hub_managed_pin(env, files)
    sources = _doc_sources(roots[0]) if len(roots) == 1 else []
    if len(sources) != 1 or not isinstance(sources[0].get("repoURL"), str):
        return None
    return argocd.pin_revision_jsonnet(env.name, sources[0]["repoURL"], files).encode()


_PIN_REPO = re.compile(rb"^local repo = (\"[^\n]*\");$", re.M)


def _hub_managed_pin(env: EnvTree, files: list[str]) -> bytes | None:
    """The pin the generator writes for a hub-managed environment (no root in bootstrap/): the text
    for the repository it names, accepted only if it is exactly that text, byte for byte."""
    import json

    raw = env.files.get(f"apps/{argocd.PIN_FILE}") or b""
    match = _PIN_REPO.search(raw)
    try:
        repo = json.loads(match.group(1)) if match else None
    except ValueError:
        return None
    return argocd.pin_revision_jsonnet(env.name, repo, files).encode() if isinstance(repo, str) else None


def _doc_sources(doc: Any) -> list[dict[str, Any]]:
    spec = doc.get("spec") if isinstance(doc, dict) and isinstance(doc.get("spec"), dict) else {}
    found = [spec["source"]] if isinstance(spec.get("source"), dict) else []
    return found + [s for s in spec.get("sources") or [] if isinstance(s, dict)]


def _bootstrap_roots(env: EnvTree) -> list[Any]:
    import yaml

    roots = []
    for rel, raw in env.files.items():
        if rel.startswith("bootstrap/") and rel.endswith((".yaml", ".yml")) and b"Application" in raw:
            try:
                docs = list(yaml.safe_load_all(raw))
            except yaml.YAMLError:
                continue  # unreadable: no expected pin, so the pin is refused
            roots += [d for d in docs if isinstance(d, dict) and d.get("kind") == "Application"]
    return roots


def pin_problem(env: EnvTree | None) -> bool:
    """Whether `env` has a revision pin whose text is not the one the generator writes for it:
    decided on the text alone, before anything evaluates Jsonnet."""
    if env is None:
        return False
    raw = env.files.get(f"apps/{argocd.PIN_FILE}")
    return raw is not None and raw != expected_pin(env)


def file_problem(rel: str, raw: bytes, head: bool = True, pin: bytes | None = None) -> tuple[str, int | None] | None:
    """Why the guard cannot read `rel` as Argo CD does, or None. The base side's YAML is not
    checked: once head reads the same everywhere, what base held does not matter."""
    name = rel.rsplit("/", 1)[-1]
    if any(part.startswith(".") for part in rel.split("/")):
        if name.startswith(".argocd-source"):
            return "source parameter override (.argocd-source*.yaml is merged into the Application's source)", None
        return "hidden file (Argo CD's directory source reads hidden files)", None
    if name.endswith((".jsonnet", ".libsonnet")) and raw != pin:
        return "jsonnet (Argo CD evaluates it; the guard accepts only the root's revision pin the generator writes)", None
    if name.endswith("Chart.yaml") or name in KUSTOMIZATIONS:
        return f"{name} turns the folder into a Helm or Kustomize source", None
    if SKIP_MARKER in raw:
        return "skip-rendering marker (Argo CD skips this file, the guard would read it)", None
    if head and MANIFEST_FILE.match(name) and not rel.startswith(NOT_SYNCED) and not name.endswith(".json"):
        found = yamlcheck.first_problem(raw)
        if found:
            return found
    return None


def _value_file_problem(env: EnvTree, value_file: Any) -> str | None:
    if not isinstance(value_file, str):
        return "value file is not a string"
    if "://" in value_file:
        return "remote value file (Argo CD downloads it; the guard cannot read it)"
    ref, _, rest = value_file.partition("/")
    if not ref.startswith("$") or not rest.startswith(f"rendered/{env.name}/") or ".." in rest.split("/"):
        return "value file outside rendered/<env>/ (the guard does not read it)"
    return None


def _hub_root(env: EnvTree, source: dict[str, Any]) -> bool:
    """A root a hub's ApplicationSet generates (generator.fleet): rendered/<env>/apps of this
    repository read only through the revision pin, exactly as argocd.root_directory() says. What
    it applies is the environment's own tree (rendered/<env>/), which the guard judges as any other."""
    if not env.name.startswith("fleet/"):
        return False
    path = source.get("path")
    return (isinstance(path, str) and re.fullmatch(r"rendered/[a-z0-9][a-z0-9-]*/apps", path) is not None
            and source.get("directory") == argocd.root_directory())


def _source_problems(env: EnvTree, source: dict[str, Any]) -> list[tuple[str, str]]:
    problems = []
    for dotted in UNMODELLED_SOURCE_FIELDS if not _hub_root(env, source) else ():
        node: Any = source
        for part in dotted.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node not in (None, "", {}, []):
            problems.append((dotted, f"{dotted} is set (the guard cannot compute what it applies)"))
    if source.get("chart"):
        helm = source.get("helm") if isinstance(source.get("helm"), dict) else {}
        for index, value_file in enumerate(helm.get("valueFiles") or []):
            why = _value_file_problem(env, value_file)
            if why:
                problems.append((f"helm.valueFiles[{index}]", why))
        if helm.get("fileParameters"):
            problems.append(("helm.fileParameters", "Helm file parameters (files the guard does not read)"))
    elif source.get("path") is not None:
        if _hub_root(env, source):
            pass  # a hub's generated root: the environment's own tree is judged on its own
        elif readable_path(env, source) is None:
            problems.append(("path", f"path {source.get('path')!r} is outside rendered/{env.name}/"))
        elif source.get("helm"):
            problems.append(("helm", "a Helm chart from a Git path (the guard does not render it)"))
    return problems


def evaluate(name: str, old: EnvTree | None, new: EnvTree | None) -> list[Unmodelled]:
    if new is None:
        return []
    found = []
    before = old.files if old is not None else {}
    pins = {True: expected_pin(new) if f"apps/{argocd.PIN_FILE}" in new.files else None,
            False: expected_pin(old) if old is not None and f"apps/{argocd.PIN_FILE}" in old.files else None}
    for rel in sorted(set(new.files) | set(before)):
        if not new.touched(rel) or before.get(rel) == new.files.get(rel):
            continue
        for raw, head in ((new.files.get(rel), True), (before.get(rel), False)):
            pin = pins[head] if rel == f"apps/{argocd.PIN_FILE}" else None
            problem = file_problem(rel, raw, head, pin) if raw is not None else None
            if problem:
                found.append(Unmodelled(name, f"file {rel}", problem[0], rel, problem[1]))
                break
    for app in new.of_kind("Application", "ApplicationSet"):
        if app.kind == "ApplicationSet":
            continue  # evaluated as Argo CD does (tree.py): its generated Applications are judged below
        for index, source in enumerate(app_sources(app)):
            for field, why in _source_problems(new, source):
                found.append(Unmodelled(name, app.label, f"sources[{index}].{field}: {why}", app.file))
    return found
