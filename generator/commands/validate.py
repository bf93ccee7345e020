"""`litellm-gitops validate`: check environments and rendered/ against their schemas (exit 1 on any problem)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from generator import shard
from generator.commands.common import add_hydrate_options, add_repository_options
from generator.console import console
from generator.errors import EXIT_FAILED, EXIT_OK, InputError
from generator.validate.runner import Options, validate

NAME = "validate"
HELP = "check environments/ and rendered/ against Kubernetes, CRD, chart and CloudFormation schemas"
DESCRIPTION = """\
Check, for every environment (or those named with --env):
  - environments/<env>/environment.yaml (merged over defaults.yaml) against
    schemas/environment.schema.json; a bad environment is reported as a problem (exit 1) and its
    rendered files are skipped, since their Kubernetes version and charts come from it;
  - every Kubernetes document under rendered/<env>/{apps,bootstrap,manifests}/, strictly: core
    kinds against kubernetes-validate's bundled schemas for cluster.kubernetesVersion, custom kinds
    against {{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json in the schema locations
    (default: the cache filled by `litellm-gitops schemas sync`). No schema is a problem;
  - Helm values files (rendered/<env>/values/) against the chart's values.schema.json, as pinned
    in schemas/upstream.lock.json;
  - CloudFormation templates (rendered/<env>/cloudformation/) with cfn-lint;
  - Grafana dashboards (ConfigMaps labelled grafana_dashboard): every entry is a JSON dashboard;
  - the applied state (unless --no-hydrate): every object the Applications apply, hydrated as Argo
    CD would (see `litellm-gitops hydrate --help`), strictly against Kubernetes' schemas, the
    schema cache and the strict schemas of the CRDs the charts ship; and its wiring: Secrets,
    ConfigMaps, ServiceAccounts and PVCs workloads reference exist (or an ExternalSecret writes
    the key), Service and ServiceMonitor selectors match, on named ports that exist, PVCs name a
    declared storage class (when the environment declares any). Problems name
    `hydrated/<env>/<application>`, the object, the field and the chart template.

Records: an environment (or hub folder) whose inputs are byte-identical to a run that found it
clean is not checked again. Its record's key covers the validator itself (the generator's code,
the libraries' versions, the locks, the schema cache, Helm and the chart archives when hydrating),
hydrate on or off, and every file of environments/defaults.yaml, environments/<env>/ and
rendered/<env>/ (of rendered/fleet/ too when a hub generates the environment's root). The report
prints the same problems and counts as a full run, and says how many came from records. Records
are small files in .cache/validated/ ($LITELLM_GITOPS_VALIDATE_CACHE, --record DIR); with
--schema-location none are read or written; --revalidate reads none.

Each problem prints as `path[:document]: kind/name: field.path: message`, then a summary.
Exit 0 clean, 1 problems found, 2 bad input (unknown --env, a --schema-location that does not exist,
a schema cache never synced or edited since, a Kubernetes version kubernetes-validate has no schemas for).

examples:
  litellm-gitops schemas sync --from ../shared/schemas-upstream && litellm-gitops validate
  litellm-gitops validate --env prod --json
  litellm-gitops validate --revalidate
  litellm-gitops validate --schema-location ../shared/schemas-upstream
  litellm-gitops validate --schema-location 'schemas/{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json'
"""


MAX_JOBS = 256  # more workers than this is a typo, not a machine


def _jobs(text: str) -> int:
    """--jobs: a whole number from 1 to MAX_JOBS (argparse says so and exits 2 otherwise)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= MAX_JOBS:
        raise argparse.ArgumentTypeError(f"must be from 1 to {MAX_JOBS}, not {value}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_repository_options(parser)
    parser.add_argument("--schema-location", action="append", metavar="TEMPLATE",
                        help="where custom kinds' schemas are (repeatable, tried in order): a folder in kubeconform "
                             "layout or a path template; default: the schema cache")
    parser.add_argument("--cache", type=Path, metavar="DIR",
                        help="schema cache (default: $LITELLM_GITOPS_SCHEMA_CACHE or .cache/schemas under --root)")
    parser.add_argument("--json", action="store_true", help="print the problems and summary as JSON")
    add_hydrate_options(parser)
    parser.add_argument("--no-hydrate", action="store_true",
                        help="check the rendered files only, not the objects the Applications will apply")
    parser.add_argument("--jobs", type=_jobs, default=0, metavar="N", help=f"parallel workers, 1-{MAX_JOBS} (default: one per CPU)")
    parser.add_argument("--record", type=Path, metavar="DIR",
                        help="validation records (default: $LITELLM_GITOPS_VALIDATE_CACHE or .cache/validated under --root)")
    parser.add_argument("--strict", action="store_true",
                        help="fail on placeholders (documentation account ids, example-org URLs, all-zero ids) that "
                             "render only warns about")
    parser.add_argument("--shard", metavar="I/N",
                        help="only the environments and hubs of shard I of N (a stable partition by sha256 of the name; "
                             "the CI matrix runs N of them)")
    parser.add_argument("--revalidate", action="store_true",
                        help="check every environment again, whatever the records say (new records are still written)")
    parser.add_argument("--prune-records", action="store_true",
                        help="after the run, delete every validation record it neither read nor wrote (older trees' "
                             "and validators'): what ci.yml runs before saving the records; not with --env")


def run(args: argparse.Namespace) -> int:
    if args.prune_records and args.env:
        raise InputError("--prune-records with --env: the records of every other environment would be deleted",
                         hint="prune on a run over every environment (or over one --shard with a records folder of its own)")
    report = validate(Options(root=args.root, environments=args.env, schema_locations=args.schema_location,
                              cache=args.cache, jobs=args.jobs, hydrate=not args.no_hydrate,
                              charts=args.charts, hydrate_cache=args.hydrate_cache, record=args.record,
                              revalidate=args.revalidate, shard=shard.parse(args.shard), prune_records=args.prune_records))
    if report.pruned is not None and not args.json:
        kept, deleted = report.pruned
        print(f"validation records: kept {kept} this run used, deleted {deleted}", file=sys.stderr)
    if args.json:
        sys.stdout.write(report.as_json())
    elif sys.stdout.isatty():
        _terminal(report)
    else:  # off a terminal: the one summary line scripts and CI logs read, unchanged
        sys.stdout.write(report.text())
    placeholders = _placeholders(args) if args.strict else []
    for placeholder in placeholders:
        print(f"error: {placeholder} (validate --strict)", file=sys.stderr)
    return EXIT_OK if report.ok and not placeholders else EXIT_FAILED


def _terminal(report) -> None:
    """On a terminal: the problems, then what was checked as a table and the verdict, in colour
    (NO_COLOR respected) instead of the one long summary line."""
    from rich.table import Table

    from generator.validate.problems import Problem

    out = console("auto")
    for problem in sorted(report.problems, key=Problem.sort_key):
        out.print(problem.line(), style="red" if problem.fails else "yellow")
    table = Table(title=f"validated {report.files} file(s) for {', '.join(report.environments) or 'no environment'}",
                  title_justify="left", show_edge=False)
    table.add_column("checked")
    table.add_column("documents", justify="right")
    for check, count in sorted(report.documents.items()):
        table.add_row(check, str(count))
    out.print(table)
    if report.reused or report.reused_hubs:
        hubs = f" and {len(report.reused_hubs)} hub folder(s)" if report.reused_hubs else ""
        out.print(f"{len(report.reused)} environment(s){hubs} unchanged since validated, not checked again", style="dim")
    failing = sum(p.fails for p in report.problems)
    notes = len(report.problems) - failing
    verdict = ("no problems" if report.ok else f"{failing} problem(s)") + (f", {notes} note(s)" if notes else "")
    out.print(verdict, style="bold green" if report.ok else "bold red")


def _placeholders(args: argparse.Namespace) -> list[str]:
    """--strict: every placeholder of the selected environments (generator/collisions.py); an
    environment that does not load is already a problem in the report."""
    from generator.collisions import placeholders
    from generator.environment import environment_names, load_environment

    found: dict[str, None] = {}
    for name in args.env or environment_names(args.root / "environments"):
        try:
            env = load_environment(args.root / "environments", name)
        except InputError:
            continue
        found.update(dict.fromkeys(str(p) for p in placeholders(env)))
    return list(found)
