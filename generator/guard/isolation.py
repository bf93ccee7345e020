"""Hubs isolate environments, as the guard reads it (generator.fleet, generator.appnamespaces).

On a hub each environment's Applications live in a namespace of its own. A pull request must not
let one environment reach another's: for every environment and every hub that the pull request
changes, in each checkout,

- each child Application of a hub-managed environment (rendered/<env>/apps; of every environment
  of the hub when its bootstrap/ or its ApplicationSet changes) is judged as Argo CD
  would (generator.appnamespaces): its root's AppProject must admit its namespace as a
  destination (else the root may not create or modify it), `application.namespaces` of the hub's
  argocd-cmd-params-cm must enable the namespace, and the AppProject it names must list the
  namespace in `sourceNamespaces` (else Argo CD refuses to reconcile it);
- each AppProject of an environment on a hub (hub/<env>/...) may admit, among the hub's
  environments' namespaces (`application.namespaces`), only that environment's own (the
  destination namespace of the root the hub's ApplicationSet generates for it): neither in
  `sourceNamespaces` nor as an in-cluster destination.

Whatever the head refuses that the base did not is blocked whatever the approvals: one
environment's files, or a hub's, crossing into another environment's namespace.

The environment's root is evaluated from the hub's ApplicationSet over that environment's
parameter file alone (generator.appset), and only the hub files an environment needs are read
(bootstrap/, hub/<env>/, and every hub/*/ only when an Application names a project found nowhere
else), so a one-environment pull request reads a handful of files whatever the fleet's size.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from generator import appnamespaces, appset, hubfolder
from generator.argoglob import glob_match
from generator.errors import InputError
from generator.guard.tree import resolve_root

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
CROSSING = "crosses-environments"


@dataclass(frozen=True)
class Crossing:
    environment: str  # the environment (or fleet/<hub>) whose files cross
    object: str
    field: str
    reason: str
    file: str


def _docs(path: Path, rendered: Path) -> list[dict[str, Any]]:
    try:
        return [d for d in yaml.load_all(path.read_bytes(), Loader=_LOADER) if isinstance(d, dict)]
    except yaml.YAMLError as exc:
        raise InputError(f"unparsable YAML: {exc}", file=f"rendered/{path.relative_to(rendered).as_posix()}",
                         hint="re-run `litellm-gitops render`") from None


def _yaml_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.y*ml") if p.is_file()) if folder.is_dir() else []


def _hubs(rendered: Path) -> list[Path]:
    folder = rendered / hubfolder.FOLDER
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")) if folder.is_dir() else []


def _root(hub: Path, env: str, rendered: Path) -> dict[str, Any] | None:
    """The root Application the hub's ApplicationSet generates for `env`, from its file alone."""
    parameters = hub / hubfolder.GENERATOR_FOLDER / f"{env}.json"
    if not parameters.is_file():
        return None
    prefix = f"rendered/{hubfolder.FOLDER}/{hub.name}/"
    files = {f"{prefix}{hubfolder.GENERATOR_FOLDER}/{env}.json": parameters.read_bytes()}
    for path in _yaml_files(hub / hubfolder.SYNCED_FOLDER):
        for doc in _docs(path, rendered):
            if doc.get("kind") == "ApplicationSet":
                try:
                    for app in appset.generate(doc, files):
                        if ((app["metadata"].get("labels") or {}).get("litellm-gitops/environment")) == env:
                            return app
                except (appset.Unsupported, appset.TemplateError, KeyError, TypeError, AttributeError) as exc:
                    raise InputError(f"ApplicationSet cannot be evaluated: {exc}", file=f"{prefix}{path.relative_to(hub).as_posix()}",
                                     hint="re-run `litellm-gitops render`") from None
    return None


class _Hub:
    """One hub's Argo CD, read lazily: bootstrap/ and the environments' own folders."""

    def __init__(self, hub: Path, rendered: Path, namespace: str):
        self.hub, self.rendered, self.namespace = hub, rendered, namespace
        self.docs: list[dict[str, Any]] = [d for p in _yaml_files(hub / "bootstrap") for d in _docs(p, rendered)]
        self.read: set[str] = set()
        self.everything = False

    def argocd(self, env: str, projects: set[str]) -> appnamespaces.ArgoCD:
        self._read_env(env)
        argo = appnamespaces.ArgoCD.of(self.namespace, self.docs)
        if not self.everything and projects - set(argo.projects):
            for folder in sorted((self.hub / hubfolder.SYNCED_FOLDER).iterdir()):
                if folder.is_dir():
                    self._read_env(folder.name)
            self.everything = True
            argo = appnamespaces.ArgoCD.of(self.namespace, self.docs)
        return argo

    def _read_env(self, env: str) -> None:
        if env not in self.read:
            self.read.add(env)
            self.docs += [d for p in _yaml_files(self.hub / hubfolder.SYNCED_FOLDER / env) for d in _docs(p, self.rendered)]


def _label(doc: dict[str, Any]) -> str:
    meta = doc.get("metadata") or {}
    return f"{doc.get('kind')} {meta.get('namespace')}/{meta.get('name')}" if meta.get("namespace") else f"{doc.get('kind')} {meta.get('name')}"


def _environment(rendered: Path, env: str, hubs: dict[str, _Hub]) -> list[Crossing]:
    for hub_dir in _hubs(rendered):
        root = _root(hub_dir, env, rendered)
        if root is None:
            continue
        hub = hubs.setdefault(hub_dir.name, _Hub(hub_dir, rendered, str(root["metadata"].get("namespace") or "")))
        children = [(p, d) for p in _yaml_files(rendered / env / "apps") for d in _docs(p, rendered)
                    if d.get("kind") == "Application" and str(d.get("apiVersion", "")).startswith("argoproj.io/")]
        root_project = str((root.get("spec") or {}).get("project") or "")
        named = {root_project} | {str((d.get("spec") or {}).get("project") or "") for _, d in children}
        argo = hub.argocd(env, named)
        placed_by = argo.projects.get(root_project)
        server = str(((root.get("spec") or {}).get("destination") or {}).get("server") or "")
        found = []
        for path, doc in children:
            reason = (f"the root's AppProject {root_project!r} does not exist" if placed_by is None
                      else argo.refusal(doc, placed_by, server))
            if reason:
                found.append(Crossing(env, _label(doc), "metadata.namespace / spec.project", reason,
                                      f"apps/{path.name}"))
        return found
    return []


def _own_namespace(hub_dir: Path, env: str, rendered: Path) -> str | None:
    root = _root(hub_dir, env, rendered)
    return str(((root or {}).get("spec") or {}).get("destination", {}).get("namespace") or "") or None if root else None


def _hub(rendered: Path, hub_name: str, changed: set[str] | None) -> list[Crossing]:
    """Every AppProject of an environment on the hub admits only its own namespace among the
    environments' namespaces: in every folder hub/<env>/ with a file in `changed` (None: all)."""
    hub_dir = rendered / hubfolder.FOLDER / hub_name
    if not hub_dir.is_dir():
        return []
    bootstrap = [d for p in _yaml_files(hub_dir / "bootstrap") for d in _docs(p, rendered)]
    params = next((d for d in bootstrap if d.get("kind") == "ConfigMap"
                   and (d.get("metadata") or {}).get("name") == appnamespaces.CMD_PARAMS), None)
    enabled = appnamespaces.enabled_namespaces(params)
    found = []
    synced = hub_dir / hubfolder.SYNCED_FOLDER
    for folder in sorted(p for p in synced.iterdir() if p.is_dir()) if synced.is_dir() else []:
        prefix = f"{hubfolder.SYNCED_FOLDER}/{folder.name}/"
        if changed is not None and not any(c.startswith(prefix) for c in changed):
            continue
        own = _own_namespace(hub_dir, folder.name, rendered)
        others = [n for n in enabled if n != own]
        for path in _yaml_files(folder):
            for doc in _docs(path, rendered):
                if doc.get("kind") != "AppProject":
                    continue
                spec = doc.get("spec") if isinstance(doc.get("spec"), dict) else {}
                file = f"{hubfolder.SYNCED_FOLDER}/{folder.name}/{path.name}"
                for entry in appnamespaces.source_namespaces(doc):
                    crossed = [n for n in others if appnamespaces.match_in_list([entry], n)]
                    if crossed:
                        found.append(Crossing(f"{hubfolder.FOLDER}/{hub_name}", _label(doc), "spec.sourceNamespaces",
                                              f"environment {folder.name}'s AppProject admits Applications in "
                                              f"{', '.join(crossed)} (another environment's namespace on the hub)", file))
                for dest in spec.get("destinations") or []:
                    if not isinstance(dest, dict) or str(dest.get("namespace") or "").startswith("!"):
                        continue
                    in_cluster = (glob_match(str(dest.get("server")), hubfolder.IN_CLUSTER) if dest.get("server")
                                  else glob_match(str(dest.get("name") or ""), "in-cluster"))
                    crossed = [n for n in others if in_cluster and glob_match(str(dest.get("namespace") or ""), n)]
                    if crossed:
                        found.append(Crossing(f"{hubfolder.FOLDER}/{hub_name}", _label(doc), "spec.destinations",
                                              f"environment {folder.name}'s AppProject may deploy into {', '.join(crossed)} "
                                              "(another environment's namespace on the hub)", file))
    return found


def crossings(checkout: Path, names: dict[str, set[str] | None]) -> list[Crossing]:
    """What crosses between environments in `checkout`, for the environments and `fleet/<hub>`
    trees named (with the files that changed in each, None: every file)."""
    rendered = resolve_root(Path(checkout))
    if rendered is None:
        return []
    hubs: dict[str, _Hub] = {}
    found: list[Crossing] = []
    environments = {name for name in names if not name.startswith(f"{hubfolder.FOLDER}/")}
    for name in sorted(names):
        if name.startswith(f"{hubfolder.FOLDER}/"):
            hub_name = name.split("/", 1)[1]
            found += _hub(rendered, hub_name, names[name])
            if _hub_wide(names[name]):  # what every root of the hub is or may use: every environment again
                folder = rendered / hubfolder.FOLDER / hub_name / hubfolder.GENERATOR_FOLDER
                environments |= {p.stem for p in folder.glob("*.json")} if folder.is_dir() else set()
    for name in sorted(environments):
        if (rendered / name).is_dir():
            found += _environment(rendered, name, hubs)
    return found


def _hub_wide(changed: set[str] | None) -> bool:
    """A change to the hub's bootstrap/ or to hub/ files beside the environments' folders (the
    ApplicationSet): it may change what every environment's root or children are allowed."""
    return changed is None or any(c.startswith("bootstrap/") or (c.startswith(f"{hubfolder.SYNCED_FOLDER}/") and c.count("/") == 1)
                                  for c in changed)


def compare(base: Path, head: Path, names: dict[str, set[str] | None]) -> list[Crossing]:
    """What crosses in the head and did not in the base."""
    before = {(c.environment, c.object, c.field, c.reason) for c in crossings(base, names)}
    return [c for c in crossings(head, names) if (c.environment, c.object, c.field, c.reason) not in before]
