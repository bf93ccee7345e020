"""`litellm-gitops diff --base DIR --head DIR`: what a pull request changes in the rendered trees."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from generator.commands.common import write_report
from generator.errors import EXIT_OK
from generator.guard import diff, tree

NAME = "diff"
HELP = "show what changes between two rendered trees, per environment, wave and Application"
DESCRIPTION = """\
Compare two rendered trees (repository roots or rendered/ folders) by meaning: per environment,
per sync wave, per Application, the objects added, removed and changed, with the dotted paths of
the fields that changed, and chart version bumps called out. Values are never printed.

--markdown FILE writes a version for a PR comment: totals first, one collapsed section per
environment, truncated with a count beyond the size limit.

examples:
  litellm-gitops diff --base ../base --head .
  litellm-gitops diff --base base --head head --markdown diff.md
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base", type=Path, required=True, metavar="DIR", help="the base checkout or its rendered/")
    parser.add_argument("--head", type=Path, required=True, metavar="DIR", help="the head checkout or its rendered/")
    parser.add_argument("--markdown", type=Path, metavar="FILE", help="also write Markdown for a PR comment")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def run(args: argparse.Namespace) -> int:
    pair = tree.load_pair(args.base, args.head, diff.select)
    result = diff.diff_trees(pair.base, pair.head, pair.names)
    if args.markdown:
        write_report(args.markdown, diff.markdown(result))
    print(json.dumps(diff.to_json(result), indent=2) if args.json else diff.text(result), end="\n" if args.json else "")
    return EXIT_OK
