"""`litellm-gitops hydrate`: every object Argo CD will apply, per environment and Application."""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from generator import autosync, chartlock
from generator.applied import AppliedState, Hydrator, hydrate, out
from generator.applied import cache as render_cache
from generator.commands.common import add_hydrate_options, add_repository_options, selected_names
from generator.environment import environment_names
from generator.errors import EXIT_OK, InputError
from generator.guard import gitsnap

NAME = "hydrate"
HELP = "render every Application as Argo CD will (helm template, directories) into the applied state"
DESCRIPTION = """\
Builds the applied state of each environment: the root Application from rendered/<env>/bootstrap/,
its children from rendered/<env>/apps/, and every object each one applies. Directory sources are
read as Argo CD's repo-server reads them; Helm sources are rendered with the real `helm template`,
invoked as Argo CD v3.5.1 invokes it (release, namespace, value files in order, --kube-version from
cluster.kubernetesVersion, the cluster's --api-versions, --include-crds), on the chart archives
pinned in schemas/charts.lock.json.

Renders are cached in .cache/hydrated/ (git-ignored; $LITELLM_GITOPS_HYDRATE_CACHE), keyed by the
helm version, chart sha256, values bytes, release, namespace, Kubernetes and API versions: an
unchanged Application is never rendered twice. Helm is $LITELLM_GITOPS_HELM or `helm` on PATH.

examples:
  litellm-gitops charts sync --from ../shared/charts && litellm-gitops hydrate
  litellm-gitops hydrate --env dev --out /tmp/hydrated        # one YAML file per object
  litellm-gitops hydrate --charts ../shared/charts --json
"""


def checkout_root(directory: Path, required: bool = True) -> Path | None:
    """The repository a checkout or rendered/ folder belongs to (it needs environments/ for
    hydration); None for a bare rendered tree when not `required`."""
    root = directory.parent if directory.name == "rendered" and not (directory / "rendered").is_dir() else directory
    if not (root / "environments").is_dir():
        if not required:
            return None
        raise InputError("hydrating needs the checkout's environments/ (cluster.kubernetesVersion)", file=directory,
                         hint="pass the repository root, or compare the rendered files only with --no-hydrate")
    return root


def hydrate_pair(args: argparse.Namespace, base: list[str], head: list[str], required: bool = True,
                 ids: tuple[dict[str, str] | None, dict[str, str] | None] = (None, None),
                 ) -> tuple[dict[str, AppliedState], dict[str, AppliedState]]:
    """The applied states of the named environments of --base and --head (guard and diff), each
    checkout hydrated with its own chart lock, one Hydrator (and render cache) for both. Not
    `required`: a side that is a bare rendered tree is not hydrated (empty). `ids`: each side's
    git tree ids (guard.tree.Pair.ids), so a hub folder git vouches for is not read again.

    The head is the pull request's: nothing under it is read as a cache. A committed
    .cache/hydrated/ would hand over objects helm never rendered (its keys are computable), a
    committed .cache/charts/ archives its own lock vouches for. So the render cache and the chart
    folder default to the base checkout's (or the current directory's), and one inside the head
    checkout, given or defaulted, is refused."""
    roots = checkout_root(args.base, required), checkout_root(args.head, required)
    if roots == (None, None):
        return {}, {}
    anchor = roots[0] or Path(".")
    _outside_head(args.charts or chartlock.default_cache_dir(anchor), args.head, "chart folder")
    cache_dir = _outside_head(args.hydrate_cache or render_cache.default_dir(anchor), args.head, "render cache")
    hydrator = Hydrator(charts=autosync.chart_folder(anchor, args.charts), cache_dir=cache_dir)
    for root, side in zip(roots, ids):  # hub folders git vouches for are known by their tree id (guard.gitsnap)
        if root is not None and side:  # None: git did not vouch for that side (asking again would not help)
            hydrator.hub_ids.update(gitsnap.hub_folders(root, side))
    base_states = hydrate(roots[0], sorted(base), hydrator) if roots[0] else {}
    return base_states, (hydrate(roots[1], sorted(head), hydrator) if roots[1] else {})


def _outside_head(folder: Path, head: Path, what: str) -> Path:
    """`folder`, unless it is inside the head checkout (the pull request's content)."""
    if folder.resolve().is_relative_to(head.resolve()):
        raise InputError(f"the {what} {folder} is inside the head checkout, which the pull request controls",
                         file=folder, hint="use a folder outside it (--charts, --hydrate-cache, $LITELLM_GITOPS_CHARTS, "
                                           "$LITELLM_GITOPS_HYDRATE_CACHE), as the workflows do with $RUNNER_TEMP")
    return folder


def hydrator_for(args: argparse.Namespace) -> Hydrator:
    root: Path = args.root
    hydrator = Hydrator(charts=autosync.chart_folder(root, args.charts),
                        cache_dir=args.hydrate_cache or render_cache.default_dir(root))
    hydrator.hub_ids.update(gitsnap.hub_folders(root))  # as guard and diff will ask for them
    return hydrator


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_repository_options(parser)
    add_hydrate_options(parser)
    parser.add_argument("--out", type=Path, metavar="DIR", help="also write each object as DIR/<env>/<application>/<kind>_<namespace>_<name>.yaml")
    parser.add_argument("--json", action="store_true", help="print a JSON summary")


def run(args: argparse.Namespace) -> int:
    hydrator = hydrator_for(args)
    if args.out:
        out.claim(args.out, args.root)
    names = selected_names(args)
    known = environment_names(args.root / "environments")
    for name in names:
        if name not in known:
            raise InputError(f"no environment named {name!r}", file=args.root / "environments" / name,
                             hint=f"pick one of: {', '.join(known) or 'none yet'}")
    states = hydrate(args.root, names, hydrator)
    summary = {}
    for env, state in states.items():
        written = out.write(state, args.out) if args.out else 0
        summary[env] = {"applications": len(state.applications), "objects": len(state.objects),
                        "duplicates": [d.key for d in state.duplicates],
                        "byApplication": dict(sorted(Counter(o.application for o in state).items())), "written": written}
    if args.json:
        print(json.dumps({"environments": summary, "helmRenders": hydrator.renders}, indent=2))
        return EXIT_OK
    for env, info in summary.items():
        line = f"{env}: {info['objects']} object(s) from {info['applications']} Application(s)"
        if args.out:
            line += f", written to {args.out / env}"
        print(line)
        for dup in info["duplicates"]:
            print(f"  warning: {dup} is applied more than once")
    print(f"helm template ran {hydrator.renders} time(s) (the rest from the cache)")
    return EXIT_OK
