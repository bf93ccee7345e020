"""Building an environment's applied state: the root Application, its children, their objects.

The root Application is the one in `rendered/<env>/bootstrap/` (applied by a person, with the
rest of that folder, which becomes the pseudo-Application `bootstrap`); its directory source is
read for the children (`rendered/<env>/apps/`). Each child's sources are read in order: a `path`
as a directory (generator/applied/directory.py), a `chart` with `helm template`
(generator/applied/helm.py) on the locked archive (generator/chartlock.py), a `ref`-only source
contributes nothing but its checkout to `$ref/...` value files. Every source must come from this
repository (the root's `repoURL`) or a locked chart: what hydrate cannot read as Argo CD does is
an InputError, never skipped.

API versions depend on the CRDs the environment installs, which come out of the charts: every Helm
source is rendered with Kubernetes' and Argo CD's own API versions first, then, if the CRDs found
add any, again with those, until they add none (a fixed point; every render is cached, so a warm
run renders nothing). Environments with the same starting API versions start, within one process,
from the fixed point the previous one reached: a hint that saves the first round, never trusted,
since the round it starts is checked to be a fixed point like any other.

Namespaces: a namespaced object without one gets its Application's destination namespace, as
gitops-engine does at sync time; cluster-scoped are Kubernetes' own (model.CLUSTER_SCOPED) and
the custom kinds whose CRD in the applied state says `scope: Cluster`.

Applications in any namespace: the root's children that Argo CD would refuse (their namespace not
admitted by the root's AppProject, not enabled by `application.namespaces`, or not in their own
AppProject's `sourceNamespaces`) are listed in `AppliedState.refused` (generator.appnamespaces).

Not modelled: Argo CD's tracking annotation (`argocd.argoproj.io/tracking-id`), added at sync.
"""

from __future__ import annotations

import copy
import json
import os
import re
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from generator import chartlock, hubfolder
from generator.applied import apiversions, cache, directory
from generator.applied import helm as helmrun
from generator.applied.model import (BOOTSTRAP, CLUSTER_SCOPED, Application, AppliedObject, AppliedState, applied_by_argo_cd,
                                     sync_wave)
from generator.errors import InputError

SOURCE_COMMENT = re.compile(r"^# Source: (.+)$", re.M)
DOC_SEPARATOR = re.compile(r"^---[ \t]*(?:#.*)?$", re.M)


@dataclass
class Hydrator:
    """What hydration needs beside the checkout: charts folder, cache, helm (found on first use).

    `renders` counts `helm template` runs (cache misses), for tests and benchmarks."""

    charts: Path
    cache_dir: Path | None = None
    helm: helmrun.Helm | None = None
    locks: dict[Path, chartlock.ChartLock] = field(default_factory=dict)  # each checkout's own chart lock
    workers: int = field(default_factory=lambda: min(8, os.cpu_count() or 2))  # helm runs at once
    renders: int = 0
    api_hints: dict[tuple[str, tuple[str, ...]], tuple[str, ...]] = field(default_factory=dict)
    _memory: dict[str, list[tuple[str, dict[str, Any]]]] = field(default_factory=dict)
    _archives: dict[chartlock.LockedChart, tuple[Path, str]] = field(default_factory=dict)
    _hubs: dict[tuple[Path, str], list[tuple[str, dict[str, Any]]]] = field(default_factory=dict)
    _hub_outputs: dict[str, list[tuple[str, dict[str, Any]]]] = field(default_factory=dict)  # by content digest
    hub_ids: dict[Path, str] = field(default_factory=dict)  # resolved hub folder -> its git tree id (guard.gitsnap)
    _outputs: dict[tuple[str, str], tuple[list[tuple[str, dict[str, Any]]], list[list[str]] | None]] = field(default_factory=dict)

    def archive(self, locked: chartlock.LockedChart) -> tuple[Path, str]:
        """The locked chart's archive and sha256, checked once per process."""
        if locked not in self._archives:
            self._archives[locked] = chartlock.archive(locked, self.charts)
        return self._archives[locked]

    def hub_roots(self, hub: Path, prefix: str) -> list[tuple[str, dict[str, Any]]]:
        """The root Applications a hub folder's ApplicationSets generate, its files read once per
        run (a Hydrator lives one command; every environment of the hub asks). Evaluated once per
        distinct content: base and head share an unchanged hub, and the render cache keeps the
        result by the sha256 of every path and byte of the folder (cache.read_hub), so the next
        command (or a run restoring the default branch's cache) evaluates none.
        A folder in `hub_ids` (its git tree id, which git vouches for: guard.gitsnap) is looked up
        by that id first, without reading a file of it."""
        return self._per_hub(hub, prefix, {}, lambda: sorted(p for p in hub.rglob("*") if p.is_file()), _generated_roots)

    def hub_documents(self, hub: Path, prefix: str) -> list[tuple[str, dict[str, Any]]]:
        """(file, document) of every Kubernetes document in a hub folder's bootstrap/ and hub/
        (hubfolder.KUBERNETES_FOLDERS: its argocd-cmd-params-cm and every environment's AppProject),
        which judge the Applications its roots create (_refusals). Parsed once per distinct
        content, kept like `hub_roots`: at 1,000 environments a hub holds about a thousand files,
        which take longer to parse than everything else a one-environment change costs."""
        def files() -> list[Path]:
            return [path for kube in hubfolder.KUBERNETES_FOLDERS if (hub / kube).is_dir() for path in sorted((hub / kube).rglob("*.y*ml"))]

        return self._per_hub(hub, prefix, {"documents": list(hubfolder.KUBERNETES_FOLDERS)}, files, _hub_documents)

    def _per_hub(self, hub: Path, prefix: str, what: dict[str, Any], paths, compute) -> list[tuple[str, dict[str, Any]]]:
        """`compute(files)` of a hub folder's `paths()` ({prefix + relative path: bytes}), kept in
        memory by folder, and in the render cache by the folder's git tree id (when vouched) and by
        the sha256 of every path and byte read; `what` tells one result of a folder from another."""
        memo = (hub, json.dumps(what, sort_keys=True))
        if memo in self._hubs:
            return self._hubs[memo]
        oid = self.hub_ids.get(hub.resolve())
        by_tree = cache.key({"hubTree": oid, "prefix": prefix, **what}) if oid else None
        found = self._lookup_hub(by_tree) if by_tree else None
        if found is None:
            files = {prefix + p.relative_to(hub).as_posix(): p.read_bytes() for p in paths()}
            digest = cache.key({"hub": [[rel, chartlock.sha256_hex(raw)] for rel, raw in files.items()], **what})
            found = self._lookup_hub(digest)
            if found is None:
                found = compute(files)
                self._keep_hub(digest, found)
            if by_tree:
                self._keep_hub(by_tree, found)
        self._hubs[memo] = found
        return found

    def _lookup_hub(self, digest: str) -> list[tuple[str, dict[str, Any]]] | None:
        found = self._hub_outputs.get(digest)
        if found is None and self.cache_dir is not None:
            found = cache.read_hub(self.cache_dir, digest)
        if found is not None:
            self._hub_outputs[digest] = found
        return found

    def _keep_hub(self, digest: str, roots: list[tuple[str, dict[str, Any]]]) -> None:
        self._hub_outputs[digest] = roots
        if self.cache_dir is not None:
            cache.write_hub(self.cache_dir, digest, roots)

    def _helm(self) -> helmrun.Helm:
        if self.helm is None:
            self.helm = helmrun.find_helm()
        return self.helm

    def render_key(self, request: helmrun.TemplateRequest) -> str:
        """The render cache key of `request`: everything that determines helm's output."""
        return cache.key({
            "helm": self._helm().version, "chart": request.chart_sha256, "release": request.release,
            "namespace": request.namespace, "kubeVersion": request.kube_version, "apiVersions": list(request.api_versions),
            "values": [chartlock.sha256_hex(data) for _, data in request.values], "includeCrds": request.include_crds,
            "skipSchemaValidation": request.skip_schema_validation, "skipTests": request.skip_tests})

    def render(self, request: helmrun.TemplateRequest, label: str) -> list[tuple[str, dict[str, Any]]]:
        helm = self._helm()
        digest = self.render_key(request)
        if digest in self._memory:
            return self._memory[digest]
        found = cache.read(self.cache_dir, digest) if self.cache_dir else None
        if found is None:
            with tempfile.TemporaryDirectory(prefix="hydrate-") as tmp:
                output = helmrun.template(helm, request, Path(tmp))
            self.renders += 1
            found = self._parsed(output, label, digest)
        _remember(self._memory, digest, found)
        return found

    def _parsed(self, output: str, label: str, digest: str) -> list[tuple[str, dict[str, Any]]]:
        """helm's output as objects, parsed and stored once per distinct output: most charts print
        the same whatever the API versions, so the second round of a render costs helm only."""
        printed = (label, chartlock.sha256_hex(output.encode()))
        if printed in self._outputs:
            found, index = self._outputs[printed]
            if self.cache_dir and index is not None:
                cache.write_index(self.cache_dir, digest, index)
            return found
        found = split_helm_output(output, label)
        index = cache.write(self.cache_dir, digest, found) if self.cache_dir else None
        _remember(self._outputs, printed, (found, index))
        return found


MEMORY_RENDERS = 48  # renders kept in memory: a few environments' worth (a big chart is tens of MB parsed)


def _remember(memory: dict[Any, Any], key: Any, value: Any) -> None:
    """Keep `value` for the rest of this environment and the next few; forget the oldest half
    beyond MEMORY_RENDERS, so validating a fleet holds a bounded number of renders."""
    if len(memory) >= MEMORY_RENDERS:
        for old in list(memory)[:MEMORY_RENDERS // 2]:
            del memory[old]
    memory[key] = value


def split_helm_output(output: str, label: str) -> list[tuple[str, dict[str, Any]]]:
    """(origin, object) of each non-empty document `helm template` printed."""
    found = []
    for chunk in DOC_SEPARATOR.split(output):
        source = SOURCE_COMMENT.search(chunk)
        where = f"{label}: {source.group(1).strip()}" if source else label
        for doc in directory.parse_yaml(chunk, where):
            for item in directory.flatten(doc, where):
                found.append((where, item))
    return found


def _repo_url(url: str) -> str:
    return url.rstrip("/").removesuffix(".git").lower()


@dataclass
class _Context:
    root: Path  # the checkout
    env: str
    repo_url: str  # the repository this checkout is (the root Application's source)
    kubernetes_version: str
    hydrator: Hydrator
    inputs: list[str] = field(default_factory=list)  # what of the checkout was read (AppliedState.inputs)


def _helm_request(ctx: _Context, app: Application, source: dict[str, Any], index: int,
                  api_versions: tuple[str, ...]) -> tuple[helmrun.TemplateRequest, str]:
    where = f"rendered/{ctx.env}/{app.file}: spec.sources[{index}]"
    spec = source.get("helm") if isinstance(source.get("helm"), dict) else {}
    helmrun.check_supported(spec, where)
    lock = ctx.hydrator.locks.get(ctx.root) or ctx.hydrator.locks.setdefault(ctx.root, chartlock.load(ctx.root))
    locked = lock.find(str(source.get("repoURL", "")), str(source["chart"]), str(source.get("targetRevision", "")))
    if locked is None:
        raise InputError(f"chart {source['chart']} {source.get('targetRevision')} from {source.get('repoURL')} is not in "
                         f"{chartlock.CHARTS_LOCK}", file=where, hint="pin the chart (exact version) in the chart lock")
    chart_file, chart_sha = ctx.hydrator.archive(locked)
    refs = {str(s["ref"]): s for s in app.sources if s.get("ref")}
    values: list[tuple[str, bytes]] = []
    for value_file in spec.get("valueFiles") or []:
        ref, _, rel = str(value_file).partition("/")
        if not ref.startswith("$") or ref[1:] not in refs:
            raise InputError(f"value file {value_file!r} is not read through a $ref source", file=where,
                             hint="reference value files as $values/<path> with a `ref: values` source of this repository")
        if _repo_url(str(refs[ref[1:]].get("repoURL", ""))) != ctx.repo_url:
            raise InputError(f"value file {value_file!r} comes from another repository", file=where,
                             hint="hydrate reads value files from this repository only")
        path = (ctx.root / rel).resolve()
        ctx.inputs.append(directory.repo_path(path, ctx.root.resolve()))
        if not path.is_relative_to(ctx.root.resolve()) or not path.is_file():
            if spec.get("ignoreMissingValueFiles") and path.is_relative_to(ctx.root.resolve()):
                continue
            raise InputError(f"value file {value_file!r} does not exist", file=where, hint="render again")
        values.append((rel, path.read_bytes()))
    inline = spec.get("valuesObject") or spec.get("values")
    if inline:
        values.append(("inline", (yaml.safe_dump(inline) if not isinstance(inline, str) else inline).encode()))
    request = helmrun.TemplateRequest(
        chart_file=chart_file, chart_sha256=chart_sha,
        release=str(spec.get("releaseName") or app.name),
        namespace=str(spec.get("namespace") or app.namespace),
        kube_version=helmrun.kube_version(str(spec.get("kubeVersion") or ctx.kubernetes_version)),
        api_versions=tuple(spec["apiVersions"]) if spec.get("apiVersions") else api_versions,
        values=tuple(values), include_crds=not spec.get("skipCrds"),
        skip_schema_validation=bool(spec.get("skipSchemaValidation")), skip_tests=bool(spec.get("skipTests")))
    return request, f"chart {locked.chart} {locked.version}"


def _directory(ctx: _Context, app: Application, source: dict[str, Any], index: int) -> list[tuple[str, dict[str, Any]]]:
    where = f"rendered/{ctx.env}/{app.file}: spec.source" + (f"s[{index}]" if len(app.sources) > 1 or "sources" in app.spec else "")
    if _repo_url(str(source.get("repoURL", ""))) != ctx.repo_url:
        raise InputError(f"source {source.get('repoURL')!r} is not this repository ({ctx.repo_url})", file=where,
                         hint="hydrate reads directory sources from this repository only")
    revision = str(source.get("targetRevision") or "HEAD")
    build_env = {  # reposerver/repository/repository.go newEnv (offline: no resolved commit, see directory.py)
        "ARGOCD_APP_NAME": app.name, "ARGOCD_APP_NAMESPACE": app.namespace or "",
        "ARGOCD_APP_PROJECT_NAME": str(app.spec.get("project") or ""), "ARGOCD_APP_REVISION": revision,
        "ARGOCD_APP_REVISION_SHORT": revision[:7], "ARGOCD_APP_REVISION_SHORT_8": revision[:8],
        "ARGOCD_APP_SOURCE_REPO_URL": str(source.get("repoURL") or ""), "ARGOCD_APP_SOURCE_PATH": str(source["path"]),
        "ARGOCD_APP_SOURCE_TARGET_REVISION": str(source.get("targetRevision") or ""),
    }
    return directory.read(ctx.root, str(source["path"]), source.get("directory"), ctx.hydrator.cache_dir, build_env,
                          ctx.inputs)


def _applications(objects: list[tuple[str, dict[str, Any]]], env: str, wave: bool) -> list[Application]:
    apps = []
    for origin, doc in objects:
        if doc.get("kind") == "Application" and str(doc.get("apiVersion", "")).startswith("argoproj.io/"):
            name = str((doc.get("metadata") or {}).get("name") or "")
            file = origin.split("#", 1)[0].removeprefix(f"rendered/{env}/")
            apps.append(Application(name, file, doc, sync_wave(doc) if wave else None))
    return apps


def _scope_namespaces(state: AppliedState, objects: list[AppliedObject], crd_docs: list[dict[str, Any]]) -> None:
    cluster = set(CLUSTER_SCOPED) | {str((c.get("spec") or {}).get("names", {}).get("kind"))
                                     for c in crd_docs if (c.get("spec") or {}).get("scope") == "Cluster"}
    for obj in objects:
        meta = obj.doc.get("metadata") if isinstance(obj.doc.get("metadata"), dict) else {}
        ns = str(meta.get("namespace") or "")
        app = state.applications.get(obj.application)
        obj.namespace = "" if obj.kind in cluster else (ns or (app.namespace if app else ""))


def _hub_root(root: Path, env: str, inputs: list[str], hydrator: Hydrator) -> list[tuple[str, dict[str, Any]]]:
    """A hub-managed environment's root Application: what the hub's ApplicationSet generates for it
    (generator.appset evaluates it as Argo CD's controller does, over the hub folder's files). Every
    hub's files are read: `inputs` gets rendered/fleet."""
    folder = root / "rendered" / hubfolder.FOLDER
    inputs.append(f"rendered/{hubfolder.FOLDER}")
    for hub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.is_symlink()) if folder.is_dir() else []:
        for rel, app in hydrator.hub_roots(hub, f"rendered/{hubfolder.FOLDER}/{hub.name}/"):
            if ((app["metadata"].get("labels") or {}).get("litellm-gitops/environment")) == env:
                return [(f"{rel}#generated", copy.deepcopy(app))]
    return []


def _generated_roots(files: dict[str, bytes]) -> list[tuple[str, dict[str, Any]]]:
    """(file, Application) for every Application the ApplicationSets among `files` generate."""
    from generator import appset

    found = []
    for rel, raw in files.items():
        if not rel.endswith((".yaml", ".yml")) or b"ApplicationSet" not in raw:
            continue
        for doc in directory.parse_yaml(raw.decode("utf-8"), rel):
            if not isinstance(doc, dict) or doc.get("kind") != "ApplicationSet":
                continue
            try:
                found += [(rel, app) for app in appset.generate(doc, files)]
            except (appset.Unsupported, appset.TemplateError, KeyError, TypeError) as exc:
                raise InputError(f"ApplicationSet cannot be evaluated: {exc}", file=rel,
                                 hint="re-run `litellm-gitops render`") from None
    return found


def _hub_documents(files: dict[str, bytes]) -> list[tuple[str, dict[str, Any]]]:
    """(file, document) of every mapping the YAML files hold, in file order."""
    return [(rel, doc) for rel, raw in files.items() for doc in directory.parse_yaml(raw.decode("utf-8"), rel) if isinstance(doc, dict)]


def _refusals(root: Path, root_app: Application, bootstrap: list[tuple[str, dict[str, Any]]],
              children: list[tuple[str, dict[str, Any]]], hydrator: Hydrator) -> dict[str, str]:
    """The root's Applications Argo CD would refuse (generator.appnamespaces), judged against the
    Argo CD that runs the root: its namespace, argocd-cmd-params-cm and AppProjects, read from the
    root's bootstrap/ and apps/ (standalone) or its hub's folder (rendered/fleet/<hub>/)."""
    from generator import appnamespaces

    docs = [d for _, d in bootstrap] + [d for _, d in children]
    parts = root_app.file.split("/")
    if parts[:2] == ["rendered", hubfolder.FOLDER] and len(parts) > 2:  # generated by a hub's ApplicationSet
        hub = root / "rendered" / hubfolder.FOLDER / parts[2]
        docs += [d for _, d in hydrator.hub_documents(hub, f"rendered/{hubfolder.FOLDER}/{parts[2]}/")]
    namespace = str((root_app.doc.get("metadata") or {}).get("namespace") or "")
    argo = appnamespaces.ArgoCD.of(namespace, docs)
    placed_by = argo.projects.get(str(root_app.spec.get("project") or ""))
    refused = {}
    for _, doc in children:
        if doc.get("kind") == "Application" and str(doc.get("apiVersion", "")).startswith("argoproj.io/"):
            if placed_by is None:
                reason = f"the root's AppProject {root_app.spec.get('project')!r} does not exist"
            else:
                reason = argo.refusal(doc, placed_by, root_app.server)
            if reason:
                refused[str((doc.get("metadata") or {}).get("name") or "")] = reason
    return dict(sorted(refused.items()))


def hydrate_environment(root: Path, env: str, kubernetes_version: str, hydrator: Hydrator) -> AppliedState:
    """The applied state of `rendered/<env>/` in the checkout `root`. Its root Application is in
    `bootstrap/` (applied by a person), or generated by its hub's ApplicationSet (generator.fleet)."""
    base = root / "rendered" / env
    inputs: list[str] = []
    if (base / "bootstrap").is_dir():
        bootstrap = directory.read(root, f"rendered/{env}/bootstrap", None, hydrator.cache_dir, reads=inputs)
    else:
        bootstrap = _hub_root(root, env, inputs, hydrator)
        if not bootstrap:
            raise InputError("no bootstrap/ folder with the root Application, and no hub generates one", file=base,
                             hint="run `litellm-gitops render`")
    roots = _applications(bootstrap, env, wave=False)
    if len(roots) != 1:
        raise InputError(f"bootstrap/ holds {len(roots)} Applications; expected exactly one root", file=base / "bootstrap")
    root_app = roots[0]
    state = AppliedState(env, {root_app.name: root_app}, inputs=inputs)
    raw: list[tuple[str, dict[str, Any], str, int | None]] = [(o, d, BOOTSTRAP, None) for o, d in bootstrap]
    repo_url = _repo_url(str((root_app.sources[0] if root_app.sources else {}).get("repoURL", "")))
    ctx = _Context(root, env, repo_url, kubernetes_version, hydrator, inputs)
    children_objects: list[tuple[str, dict[str, Any]]] = []
    for index, source in enumerate(root_app.sources):
        if source.get("chart") or not source.get("path"):
            raise InputError("the root Application must read a folder of this repository", file=f"rendered/{env}/{root_app.file}")
        children_objects += _directory(ctx, root_app, source, index)
    raw += [(o, d, root_app.name, None) for o, d in children_objects]
    state.refused = _refusals(root, root_app, bootstrap, children_objects, hydrator)
    helm_sources: list[tuple[Application, dict[str, Any], int]] = []
    for app in _applications(children_objects, env, wave=True):
        state.applications[app.name] = app
        for index, source in enumerate(app.sources):
            if source.get("chart"):
                helm_sources.append((app, source, index))
            elif source.get("path"):
                raw += [(o, d, app.name, app.wave) for o, d in _directory(ctx, app, source, index)]
            elif not source.get("ref"):
                raise InputError("source has neither chart, path nor ref", file=f"rendered/{env}/{app.file}")
    crds = [d for _, d, _, _ in raw if d.get("kind") == "CustomResourceDefinition"]
    start = (kubernetes_version, apiversions.api_versions(kubernetes_version, crds))
    api = hydrator.api_hints.get(start, start[1])
    for _ in range(3):  # until the charts' CRDs add no API version (once, in practice)
        requests = [(app, *_helm_request(ctx, app, source, index, api)) for app, source, index in helm_sources]
        with ThreadPoolExecutor(max_workers=max(1, hydrator.workers)) as pool:
            rendered = list(pool.map(lambda r: hydrator.render(r[1], r[2]), requests))
        chart_crds = [d for objs in rendered for _, d in objs if d.get("kind") == "CustomResourceDefinition"]
        wider = apiversions.api_versions(kubernetes_version, crds + chart_crds)
        if wider == api:
            hydrator.api_hints[start] = api
            break
        api = wider
    else:
        raise InputError("the CRDs the charts install keep changing the API versions they are rendered with",
                         file=f"rendered/{env}/apps", hint="a chart renders CRDs depending on .Capabilities; pin helm.apiVersions")
    for (app, _, _), objs in zip(requests, rendered):
        raw += [(o, d, app.name, app.wave) for o, d in objs]
    placed = []
    for origin, doc, owner, wave in raw:
        if not isinstance(doc.get("kind"), str) or not isinstance(doc.get("metadata"), dict):
            raise InputError("not a Kubernetes object (no kind or metadata)", file=origin)
        if applied_by_argo_cd(doc):  # Helm test hooks and Skip: never applied (model.applied_by_argo_cd)
            placed.append(AppliedObject(doc, owner, wave, origin))
    _scope_namespaces(state, placed, crds + chart_crds)
    for obj in placed:
        if obj.key in state.objects:
            state.duplicates.append(obj)
        else:
            state.objects[obj.key] = obj
    state.objects = dict(sorted(state.objects.items()))
    return state


def kubernetes_version_of(root: Path, env: str) -> str:
    """`cluster.kubernetesVersion` of environments/<env> over its layers and environments/defaults.yaml,
    read plainly (validate checks the environment itself; the full loader's positions cost ~30 ms an
    environment)."""
    from generator.environment import ENVIRONMENT_FILE, LAYER_PATH, LAYERS_KEY, deep_merge

    def read(path: Path) -> dict[str, Any]:
        try:
            data = yaml.load(path.read_bytes(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) if path.is_file() else {}
        except yaml.YAMLError as exc:
            raise InputError(f"unparsable YAML: {exc}", file=path, hint="fix the environment file") from None
        return data if isinstance(data, dict) else {}

    own = read(root / "environments" / env / ENVIRONMENT_FILE)
    layers = own.get(LAYERS_KEY) if isinstance(own.get(LAYERS_KEY), list) else []
    merged: dict[str, Any] = read(root / "environments" / "defaults.yaml")
    for rel in layers:
        if isinstance(rel, str) and LAYER_PATH.match(rel):
            merged = deep_merge(merged, read(root / "environments" / rel))
    merged = deep_merge(merged, own)
    version = (merged.get("cluster") or {}).get("kubernetesVersion") if isinstance(merged.get("cluster"), dict) else None
    if not version:
        raise InputError(f"environment {env!r} sets no cluster.kubernetesVersion", file=root / "environments" / env,
                         hint="set cluster.kubernetesVersion (e.g. \"1.33\") in environments/defaults.yaml or the environment")
    return str(version)
