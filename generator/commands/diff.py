"""`litellm-gitops diff --base DIR --head DIR`: what a pull request changes, object by object."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from generator.commands.common import add_hydrate_options, write_report
from generator.errors import EXIT_OK
from generator.guard import diff, tree

NAME = "diff"
HELP = "show what changes between two checkouts, per environment, wave and Application, object by object"
DESCRIPTION = """\
Compare two checkouts by meaning: per environment, per sync wave, per Application, the objects
added, removed and changed, with the dotted paths of the fields that changed, and chart version
bumps called out. The Kubernetes objects are the applied state: every object the Applications will
apply, hydrated as Argo CD would (see `litellm-gitops hydrate --help`), so a chart bump or a values
change shows what it does to the objects. Helm values, CloudFormation and other files are compared
as rendered. Values are never printed, nor the keys of a Secret's data.

Each checkout is hydrated with its own chart lock; the chart folder must hold the archives of both
(`charts sync --root base` and `--root head` into the same --cache). --no-hydrate compares the
rendered files only (then both may be bare rendered/ folders).

--markdown FILE writes a version for a PR comment: totals first, one collapsed section per
environment, truncated with a count beyond the size limit.

examples:
  litellm-gitops diff --base ../base --head .
  litellm-gitops diff --base base --head head --markdown diff.md --charts "$RUNNER_TEMP/charts"
  litellm-gitops diff --base base/rendered --head head/rendered --no-hydrate
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base", type=Path, required=True, metavar="DIR", help="the base checkout (or its rendered/ with --no-hydrate)")
    parser.add_argument("--head", type=Path, required=True, metavar="DIR", help="the head checkout (or its rendered/ with --no-hydrate)")
    parser.add_argument("--markdown", type=Path, metavar="FILE", help="also write Markdown for a PR comment")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    add_hydrate_options(parser)
    parser.add_argument("--no-hydrate", action="store_true", help="compare the rendered files only")


def run(args: argparse.Namespace) -> int:
    pair = tree.load_pair(args.base, args.head, diff.select)
    if not args.no_hydrate:
        from generator.commands.hydrate import hydrate_pair  # helm and the charts: imported only to hydrate

        for trees, states in zip((pair.base, pair.head), hydrate_pair(args, list(pair.base), list(pair.head), ids=pair.ids)):
            for name, state in states.items():
                trees[name] = diff.with_applied(trees[name], state)
    result = diff.diff_trees(pair.base, pair.head, pair.names)
    if args.markdown:
        write_report(args.markdown, diff.markdown(result))
    print(json.dumps(diff.to_json(result), indent=2) if args.json else diff.text(result), end="\n" if args.json else "")
    return EXIT_OK
