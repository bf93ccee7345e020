"""`litellm-gitops validate`: check environments and rendered/ against their schemas (exit 1 on any problem)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from generator import shard
from generator.commands.common import add_repository_options
from generator.errors import EXIT_FAILED, EXIT_OK
from generator.commands.common import add_hydrate_options
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
    parser.add_argument("--jobs", type=int, default=0, metavar="N", help="parallel workers (default: one per CPU)")
    parser.add_argument("--record", type=Path, metavar="DIR",
                        help="validation records (default: $LITELLM_GITOPS_VALIDATE_CACHE or .cache/validated under --root)")
    parser.add_argument("--shard", metavar="I/N",
                        help="only the environments and hubs of shard I of N (a stable partition by sha256 of the name; "
                             "the CI matrix runs N of them)")
    parser.add_argument("--revalidate", action="store_true",
                        help="check every environment again, whatever the records say (new records are still written)")


def run(args: argparse.Namespace) -> int:
    report = validate(Options(root=args.root, environments=args.env, schema_locations=args.schema_location,
                              cache=args.cache, jobs=args.jobs, hydrate=not args.no_hydrate,
                              charts=args.charts, hydrate_cache=args.hydrate_cache, record=args.record,
                              revalidate=args.revalidate, shard=shard.parse(args.shard)))
    sys.stdout.write(report.as_json() if args.json else report.text())
    return EXIT_OK if report.ok else EXIT_FAILED
