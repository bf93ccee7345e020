"""Run every check for the selected environments and collect one Report.

For each environment: load it (a bad environment is reported as a problem, and its rendered
files are not checked, since their Kubernetes version and charts come from it); read every file
under rendered/<env>/apps, bootstrap, manifests (Kubernetes documents), values/ (Helm values) and
cloudformation/ (templates); then the environment's applied state (every object its Applications
apply, hydrated as Argo CD would: validate/hydrated.py); and the Kubernetes documents of
rendered/fleet/<hub>/ (generator.fleet). The parent process parses the YAML and compiles each schema once;
the files are then checked in parallel by forked workers that inherit the compiled validators
(concurrent.futures.ProcessPoolExecutor), one task per file, CloudFormation first (slowest).

Each environment and hub folder is a part of the run: an environment (or hub folder) whose
validation record matches (validate/record.py: the key covers everything that decides its result)
is neither loaded, planned nor checked, and its recorded counts and notes stand in. Parts are
checked a batch at a time (BATCH_WEIGHT of planned work), and each part checked clean is recorded
once its batch has run.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

from generator import fleet
from generator.applied import cache as render_cache
from generator.applied.helm import find_helm
from generator.applied.build import Hydrator, hydrate_environment
from generator.environment import Environment, config_error, environment_names, load_environment
from generator.console import progress
from generator.errors import InputError
from generator.schemacache import Lock, default_cache_dir, load_lock
from generator.shard import Shard
from generator import autosync
from generator.validate import cfn, dashboards, hydrated, record, values
from generator.validate.wiring import storage
from generator.validate.kubernetes import (CoreSchemas, CustomSchemas, SchemaLocation, check_document, default_location,
                                           shape_problem)
from generator.validate.problems import Problem, Report
from generator.yamlio import MAX_RENDERED_BYTES, decode, load_all_bounded, read_limited
from generator.projectfiles import UPSTREAM_LOCK, project_file

KUBERNETES_FOLDERS = ("apps", "bootstrap", "manifests")
YAML_SUFFIXES = (".yaml", ".yml")
# Below this much work (a document weighs 1, a CloudFormation template 100) forking workers costs
# more than it saves, unless --jobs asks for them explicitly.
PARALLEL_MIN_WEIGHT = 400
# Planned work checked at once (about a dozen environments): the documents of a batch are held in
# memory until its checks have run, so a fleet's validate stays within a few hundred MB.
BATCH_WEIGHT = 20_000


@dataclass
class Options:
    root: Path = Path(".")
    environments: list[str] | None = None  # None: all
    schema_locations: list[str] | None = None  # None: the verified schema cache
    cache: Path | None = None  # None: $LITELLM_GITOPS_SCHEMA_CACHE or <root>/.cache/schemas
    jobs: int = 0  # 0: one per CPU
    hydrate: bool = True  # also check the applied state (generator/applied/, validate/hydrated.py)
    charts: Path | None = None  # None: $LITELLM_GITOPS_CHARTS or <root>/.cache/charts
    hydrate_cache: Path | None = None  # None: $LITELLM_GITOPS_HYDRATE_CACHE or <root>/.cache/hydrated
    record: Path | None = None  # None: $LITELLM_GITOPS_VALIDATE_CACHE or <root>/.cache/validated (validate/record.py)
    revalidate: bool = False  # read no record (still write new ones)
    shard: Shard | None = None  # only this shard's environments and hubs (generator/shard.py)
    prune_records: bool = False  # then delete every record this run neither read nor wrote (validate/record.py)


@dataclass
class _Task:
    """One file's checks, run in a worker: a callable and its arguments (all inherited on fork)."""

    weight: int
    run: Callable[..., list[Problem]]
    args: tuple


@dataclass
class _Plan:
    tasks: list[_Task] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    files: int = 0
    documents: dict[str, int] = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)  # what hydration read (AppliedState.inputs)

    def count(self, check: str, n: int = 1) -> None:
        self.documents[check] = self.documents.get(check, 0) + n


@dataclass
class _Part:
    """What one environment or hub folder contributes to the report: its plan (then its problems
    too), its record key, and what the hubs' planning needs from it."""

    kind: str  # environment | hub
    name: str
    plan: _Plan
    key: record.Key | None = None  # None: not recordable (no records, or an input that gives no key)
    reused: bool = False  # from a record: nothing planned or checked
    hub: str | None = None  # an environment's hub
    kubernetes_version: str | None = None  # an environment's, or what a hub folder is checked with

    @classmethod
    def from_record(cls, kind: str, name: str, key: record.Key, found: record.Record) -> _Part:
        plan = _Plan(problems=list(found.notes), files=found.files, documents=dict(found.documents))
        return cls(kind, name, plan, key, True, found.hub, found.kubernetes_version)


_PLANNED: list[_Task] = []  # set in the parent before forking; workers read it by index


def _run_planned(index: int) -> list[Problem]:
    task = _PLANNED[index]
    return task.run(*task.args)


def _rel(root: Path, path: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _check_kubernetes_file(path: str, checks: list[tuple[Any, Any, int | None]]) -> list[Problem]:
    problems = []
    for validator, document, number in checks:
        problems.extend(check_document(validator, document, path, number))
        if dashboards.is_dashboard_configmap(document):
            problems.extend(dashboards.check_dashboards(document, path, number))
    return problems


def _parse_error(path: str, exc: yaml.YAMLError, check: str, kind: str = "?", name: str = "?") -> Problem:
    mark = getattr(exc, "problem_mark", None)
    where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
    return Problem(path, None, kind, name, "-", f"malformed YAML: {getattr(exc, 'problem', None) or exc}{where}", check)


def _read(root: Path, file: Path, check: str, plan: _Plan) -> str | None:
    """A rendered file's text, or None after recording why it cannot be read (a link, too large,
    not UTF-8, not readable) as a problem."""
    try:
        return decode(file, read_limited(file, MAX_RENDERED_BYTES, "rendered file"),
                      hint="rendered files are UTF-8 text; re-run `litellm-gitops render`")
    except InputError as exc:
        where = f" (line {exc.line})" if exc.line else ""
        plan.problems.append(Problem(_rel(root, file), None, "File", file.name, "-", f"{exc.message}{where}", check))
        return None


def _load(root: Path, file: Path, path: str, check: str, plan: _Plan, kind: str = "?", name: str = "?") -> list[Any] | None:
    """The documents of a rendered YAML file, bounded (yamlio.load_all_bounded), or None after
    recording a problem."""
    text = _read(root, file, check, plan)
    if text is None:
        return None
    try:
        return load_all_bounded(text, file)
    except yaml.YAMLError as exc:
        plan.problems.append(_parse_error(path, exc, check, kind, name))
    except InputError as exc:
        plan.problems.append(Problem(path, None, kind, name, "-", exc.message, check))
    return None


def _links(root: Path, folder: Path, plan: _Plan) -> None:
    """Symbolic links in a rendered tree are problems, never followed."""
    for base, dirs, names in os.walk(folder):
        for name in dirs + names:
            if os.path.islink(os.path.join(base, name)):
                plan.problems.append(Problem(_rel(root, Path(base, name)), None, "File", name, "-",
                                             "a symbolic link in a rendered tree (not followed); re-run `litellm-gitops render`",
                                             "kubernetes"))


def _plan_kubernetes(root: Path, folder: Path, folders: tuple[str, ...], core: CoreSchemas, custom: CustomSchemas,
                     plan: _Plan) -> list[Any]:
    """Plan the strict checks of every Kubernetes document under folder/<each of folders>; return the documents."""
    all_documents: list[Any] = []
    for sub in folders:
        for file in sorted((folder / sub).rglob("*")) if (folder / sub).is_dir() else []:
            if file.is_symlink() or not file.is_file() or file.suffix not in YAML_SUFFIXES:
                continue
            plan.files += 1
            path = _rel(root, file)
            documents = _load(root, file, path, "kubernetes", plan)
            if documents is None:
                continue
            all_documents.extend(documents)
            checks = []
            for index, document in enumerate(documents):
                number = index + 1 if len(documents) > 1 else None
                plan.count("kubernetes")
                if dashboards.is_dashboard_configmap(document):
                    plan.count("dashboard")
                shape = shape_problem(document, path, number)
                if shape:
                    plan.problems.append(shape)
                    continue
                api_version, kind = document["apiVersion"], document["kind"]
                validator = core.lookup(api_version, kind) or custom.lookup(api_version, kind)
                if validator is None:
                    tried = [f"kubernetes-validate {core.folder.name}"] + custom.tried(api_version, kind)
                    plan.problems.append(Problem(path, number, kind, str(document["metadata"]["name"]), "-",
                                                 f"no schema for {api_version} {kind} (looked in: {'; '.join(tried)})"))
                    continue
                checks.append((validator, document, number))
            if checks:
                plan.tasks.append(_Task(len(checks), _check_kubernetes_file, (path, checks)))
    return all_documents


def _plan_environment(env: Environment, root: Path, lock: Lock, values_schemas: values.ValuesSchemas,
                      locations: list[SchemaLocation], schemas_by_version: dict[str, tuple[CoreSchemas, CustomSchemas]],
                      plan: _Plan, hydrator: Hydrator | None = None) -> None:
    folder = root / "rendered" / env.name
    if folder.is_symlink() or not folder.is_dir():
        plan.problems.append(Problem(_rel(root, folder), None, "Environment", env.name, "-",
                                     "not rendered: run `litellm-gitops render`", "environment"))
        return
    version = str(env.cluster["kubernetesVersion"])
    if version not in schemas_by_version:  # one set per Kubernetes version, shared by its environments
        try:
            core_schemas = CoreSchemas(version)
        except InputError as exc:  # name the line that sets the version, not a folder of kubernetes-validate
            raise config_error(env, ["cluster", "kubernetesVersion"], exc.message, exc.hint or "") from None
        schemas_by_version[version] = (core_schemas, CustomSchemas(locations, lock, version))
    core, custom = schemas_by_version[version]
    _links(root, folder, plan)

    all_documents = _plan_kubernetes(root, folder, KUBERNETES_FOLDERS, core, custom, plan)

    value_charts = values.charts_from_applications(env.name, all_documents)
    values_folder = folder / "values"
    for file in sorted(values_folder.glob("*")) if values_folder.is_dir() else []:
        if file.is_symlink() or not file.is_file() or file.suffix not in YAML_SUFFIXES:
            continue
        plan.files += 1
        plan.count("values")
        path = _rel(root, file)
        documents = _load(root, file, path, "values", plan, values.KIND, file.stem)
        if documents is None:
            continue
        if len(documents) > 1:
            plan.problems.append(Problem(path, None, values.KIND, file.stem, "-", "more than one YAML document", "values"))
            continue
        data = documents[0] if documents else None
        chart = value_charts.get(file.name) or values.chart_from_config(env.config, file.name)
        problems, validator = values.plan_values(path, data, chart, values_schemas)
        plan.problems.extend(problems)
        if validator is not None:
            plan.tasks.append(_Task(1, values.check_values, (path, f"{chart[0]}@{chart[1]}", validator, data)))

    cfn_folder = folder / "cloudformation"
    for file in sorted(cfn_folder.rglob("*")) if cfn_folder.is_dir() else []:
        if file.is_symlink() or not file.is_file() or file.suffix not in cfn.TEMPLATE_SUFFIXES:
            continue
        plan.files += 1
        plan.count("cloudformation")
        text = _read(root, file, "cloudformation", plan)
        if text is None:
            continue
        if file.name.endswith(cfn.PARAMETERS_SUFFIX):
            template = next((t for t in (file.with_name(file.name[:-len(cfn.PARAMETERS_SUFFIX)] + s) for s in (".yaml", ".yml", ".json"))
                             if t.is_file()), file.with_name(file.name[:-len(cfn.PARAMETERS_SUFFIX)] + ".yaml"))
            template_text = _read(root, template, "cloudformation", plan) if template.is_file() else None
            plan.tasks.append(_Task(2, cfn.check_parameters, (_rel(root, file), text, _rel(root, template), template_text)))
            continue
        if not cfn.is_template(file.name, text):
            present = [p.relative_to(file.parent).as_posix() for p in file.parent.rglob("*") if p.is_file()]
            plan.problems.extend(cfn.check_manifest(_rel(root, file), text, present))
            continue
        plan.tasks.append(_Task(100, cfn.check_template, (_rel(root, file), text, env.region)))
    if hydrator is not None:
        try:
            state = hydrate_environment(root, env.name, version, hydrator)
        except InputError as exc:  # the rendered tree cannot be hydrated: a problem of that tree
            fix = f"; fix: {exc.hint}" if exc.hint else ""
            plan.problems.append(Problem(f"hydrated/{env.name}", None, "Environment", env.name, "-",
                                         f"{exc.file}: {exc.message}{fix}" if exc.file else f"{exc.message}{fix}", "hydrated"))
            return
        plan.inputs = state.inputs
        plan.count("hydrated", len(state.objects) + len(state.duplicates))
        plan.problems.extend(hydrated.schema_check(state, core, custom)
                             + hydrated.wiring_check(state, storage.declared_classes(env.config), env.config.get("networkPolicies"))
                             + hydrated.pod_security_check(state, env.cluster["kubernetesVersion"]))


def _plan_fleets(root: Path, versions: dict[str, str], every: bool, fallback: str | None, lock: Lock,
                 locations: list[SchemaLocation], schemas_by_version: dict[str, tuple[CoreSchemas, CustomSchemas]],
                 records: record.Records | None, shard: Shard | None = None) -> list[_Part]:
    """rendered/fleet/<hub>/ (generator.fleet): its Kubernetes documents, strictly, for the hubs of
    the selected environments (`versions`: hub -> the Kubernetes version of its first environment,
    since the hub's own is not configured anywhere; else `fallback`, the first environment's), and
    every hub on disk when `every`. A hub folder whose record matches is not checked again."""
    fleet_root = root / "rendered" / fleet.FOLDER
    hubs = set(versions)
    if every and fleet_root.is_dir():
        hubs |= {p.name for p in fleet_root.iterdir() if p.is_dir() and not p.name.startswith(".")}
    if shard is not None:  # a hub is checked by the shard that owns it, whichever shards own its environments
        hubs = {hub for hub in hubs if shard.hub(hub)}
    parts = []
    for hub in sorted(hubs):
        version = versions.get(hub) or fallback
        key = records.hub_key(hub, version) if records is not None and version is not None else None
        found = records.read(key) if key is not None else None
        if found is not None:
            parts.append(_Part.from_record("hub", hub, key, found))
            continue
        part = _Part("hub", hub, _Plan(), key, kubernetes_version=version)
        parts.append(part)
        folder = fleet_root / hub
        _links(root, folder, part.plan)
        if folder.is_symlink() or not folder.is_dir():
            part.plan.problems.append(Problem(_rel(root, folder), None, "Hub", hub, "-", "not rendered: run `litellm-gitops render`",
                                              "environment"))
            continue
        if version is None:
            continue
        if version not in schemas_by_version:
            schemas_by_version[version] = (CoreSchemas(version), CustomSchemas(locations, lock, version))
        core, custom = schemas_by_version[version]
        _plan_kubernetes(root, folder, fleet.KUBERNETES_FOLDERS, core, custom, part.plan)
    return parts


def _execute(tasks: list[_Task], jobs: int) -> list[list[Problem]]:
    """Each task's problems, in the order of `tasks` (run heaviest first, in forked workers when worth it)."""
    global _PLANNED
    order = sorted(range(len(tasks)), key=lambda i: -tasks[i].weight)
    workers = min(jobs or os.cpu_count() or 1, len(tasks))
    small = not jobs and sum(t.weight for t in tasks) < PARALLEL_MIN_WEIGHT
    if workers <= 1 or small or "fork" not in multiprocessing.get_all_start_methods():
        results = [tasks[i].run(*tasks[i].args) for i in order]
    else:
        for region in sorted({t.args[2] for t in tasks if t.run is cfn.check_template}):
            cfn.runner_for(region)  # load cfn-lint's rules once, in the parent: forked workers inherit them
        _PLANNED = tasks
        try:
            with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork")) as pool:
                # Few, large chunks: most files take a millisecond, so per-task IPC would dominate.
                results = list(pool.map(_run_planned, order, chunksize=max(1, len(order) // (workers * 4))))
        finally:
            _PLANNED = []
    by_task: list[list[Problem]] = [[] for _ in tasks]
    for index, problems in zip(order, results):
        by_task[index] = problems
    return by_task


def _run_parts(parts: list[_Part], jobs: int) -> None:
    """Run the planned checks of every part together; each part gets its tasks' problems."""
    owned = [(part, task) for part in parts for task in part.plan.tasks]
    for (part, _), problems in zip(owned, _execute([task for _, task in owned], jobs)):
        part.plan.problems.extend(problems)


def _environment_part(root: Path, name: str, records: record.Records | None, lock: Lock, values_schemas: values.ValuesSchemas,
                      locations: list[SchemaLocation], schemas_by_version: dict[str, tuple[CoreSchemas, CustomSchemas]],
                      hydrator: Hydrator | None) -> _Part:
    """One environment: from its record when one matches its key, else loaded (a bad environment
    is a problem) and planned."""
    key = records.environment_key(name) if records is not None else None
    found = records.read(key) if key is not None else None
    if found is not None:
        return _Part.from_record("environment", name, key, found)
    part = _Part("environment", name, _Plan(), key)
    part.plan.files += 1
    part.plan.count("environment")
    try:
        env = load_environment(root / "environments", name)
    except InputError as exc:
        for one in exc.problems():  # every problem of the environment's files, each where it is
            where = f" (line {one.line}, column {one.column})" if one.line else ""
            fix = f"; fix: {one.hint}" if one.hint else ""
            part.plan.problems.append(Problem(_rel(root, Path(one.file or root / "environments" / name)), None, "Environment",
                                              name, "-", f"{one.message}{where}{fix}", "environment"))
        return part
    part.hub, part.kubernetes_version = fleet.hub_name(env), str(env.cluster["kubernetesVersion"])
    _plan_environment(env, root, lock, values_schemas, locations, schemas_by_version, part.plan, hydrator)
    return part


def _open_records(options: Options, lock: Lock, cache: Path, hydrator: Hydrator | None) -> record.Records | None:
    """The run's validation records (generator/validate/record.py); none with --schema-location,
    whose folders the lock does not pin."""
    if options.schema_locations:
        return None
    folder = options.record or record.default_dir(options.root)
    return record.Records.open(options.root, folder, lock, cache, hydrator, options.revalidate)


def _record(records: record.Records, parts: list[_Part]) -> None:
    """Record each part checked in this run that is clean, whose key covers everything hydration
    read, and whose content still hashes to its key."""
    for part in parts:
        if part.key is None or part.reused or any(p.fails for p in part.plan.problems):
            continue
        if part.key.holds(part.plan.inputs) and records.still(part.key):
            records.write(part.key, record.Record(part.plan.files, dict(part.plan.documents), list(part.plan.problems),
                                                  part.hub, part.kubernetes_version))


def _report(names: list[str], parts: list[_Part]) -> Report:
    documents: dict[str, int] = {}
    for part in parts:
        for check, n in part.plan.documents.items():
            documents[check] = documents.get(check, 0) + n
    return Report(problems=[p for part in parts for p in part.plan.problems], environments=names,
                  files=sum(part.plan.files for part in parts), documents=documents,
                  reused=[p.name for p in parts if p.reused and p.kind == "environment"],
                  reused_hubs=[p.name for p in parts if p.reused and p.kind == "hub"])


def validate(options: Options) -> Report:
    """Check the selected environments; bad flags or a broken schema setup raise InputError."""
    root = options.root
    lock = load_lock(project_file(root, UPSTREAM_LOCK))
    cache = options.cache or default_cache_dir(root)
    if options.schema_locations:
        locations = [SchemaLocation.parse(text) for text in options.schema_locations]
    else:
        autosync.fill_if_empty(lock, cache, root)
        locations = [default_location(cache)]
    names = sorted(set(options.environments)) if options.environments else environment_names(root / "environments")
    if options.shard is not None:
        names = [name for name in names if options.shard.owns(name)]
    for name in names:
        if not (root / "environments" / name).is_dir():
            raise InputError(f"no environment named {name!r}", file=root / "environments",
                             hint=f"pick one of: {', '.join(environment_names(root / 'environments')) or 'none yet'}")

    hydrator = Hydrator(charts=autosync.chart_folder(root, options.charts),
                        cache_dir=options.hydrate_cache or render_cache.default_dir(root)) if options.hydrate else None
    if hydrator is not None:
        hydrator.helm = find_helm()  # no helm is bad input (exit 2), not a problem of the tree
        from generator.guard import gitsnap

        hydrator.hub_ids.update(gitsnap.hub_folders(root))  # by git tree id, as guard and diff ask for them
    records = _open_records(options, lock, cache, hydrator)
    schemas_by_version: dict[str, tuple[CoreSchemas, CustomSchemas]] = {}
    hub_versions: dict[str, str] = {}
    fallback: str | None = None  # the Kubernetes version of the first environment checked (or recorded)
    values_schemas = values.ValuesSchemas(lock, cache)
    parts: list[_Part] = []
    pending: list[_Part] = []
    weight = 0
    with progress("validating", len(names)) as step:  # a bar on a terminal only
        for name in names:
            part = _environment_part(root, name, records, lock, values_schemas, locations, schemas_by_version, hydrator)
            parts.append(part)
            pending.append(part)
            weight += sum(task.weight for task in part.plan.tasks)
            if part.hub and part.kubernetes_version:
                hub_versions.setdefault(part.hub, part.kubernetes_version)
            if fallback is None:
                fallback = part.kubernetes_version if part.reused else next(iter(schemas_by_version), None)
            if weight >= BATCH_WEIGHT:
                _finish(pending, options.jobs, records)
                pending, weight = [], 0
            step(name)

    hubs = _plan_fleets(root, hub_versions, options.environments is None, fallback, lock, locations, schemas_by_version, records,
                        options.shard)
    parts += hubs
    _finish(pending + hubs, options.jobs, records)
    report = _report(names, parts)
    if options.prune_records and records is not None:
        report.pruned = records.prune()
    return report


def _finish(parts: list[_Part], jobs: int, records: record.Records | None) -> None:
    """Run the planned checks of `parts`, record the clean ones, and let their documents go: a
    fleet is validated a batch at a time, in bounded memory."""
    _run_parts(parts, jobs)
    if records is not None:
        records.rehash()
        _record(records, parts)
    for part in parts:
        part.plan.tasks.clear()
