"""`litellm-gitops diff [--base REV|DIR] [--head DIR]`: what a pull request changes, as a plan."""

from __future__ import annotations

import argparse
import json
from contextlib import ExitStack
from pathlib import Path

from generator import shard
from generator.commands.common import add_hydrate_options, write_report
from generator.console import add_color_option, console
from generator.errors import EXIT_FAILED, EXIT_OK, InputError
from generator.guard import diff, tree

NAME = "diff"
HELP = "show what changes between two checkouts, per environment, wave and Application, field by field"
DESCRIPTION = """\
Compare two checkouts by meaning, like `terraform plan` or `argocd app diff`: per environment, per
sync wave, per Application, the objects added (+), removed (-) and changed (~), and for each changed
field `before → after`. A value that is or may be a secret (Secret data, a SecretString, inline Helm
values, a credential's env entry, anything that looks like a key: the guard's redaction,
generator/guard/redact.py) shows as `(changed)`, and a Secret's data is named as that field only.
Chart version bumps are called out. The Kubernetes objects are the applied state: every object the
Applications will apply, hydrated as Argo CD would (see `litellm-gitops hydrate --help`), so a chart
bump or a values change shows what it does to the objects. Helm values, CloudFormation and other
files are compared as rendered.

--base is a checkout folder or a git revision of the head's repository (a branch, tag or commit),
read through a temporary `git worktree`; without it, the merge base of HEAD with the default branch
(origin/HEAD, origin/main, origin/master, main or master). --head defaults to the current directory.
Each checkout is hydrated with its own chart lock; the chart folder must hold the archives of both
(`charts sync --root base` and `--root head` into the same --cache); with a revision base and no
--charts, the archives and renders are cached in $XDG_CACHE_HOME/litellm-gitops (~/.cache). --no-hydrate
compares the rendered files only (then both may be bare rendered/ folders).

Colour on a terminal (--color; NO_COLOR turns it off). --markdown FILE writes the same plan for a PR
comment: totals first, one collapsed section per environment, truncated with a count beyond the
size limit. --json prints it with the values. --exit-code exits 1 when there are changes, 0 when
there are none (like `git diff --exit-code`).

--shard I/N compares only the environments and hubs of shard I of N (generator/shard.py, the same
partition as `validate` and `guard`) and prints its JSON with "shard": "I/N" for `diff-combine`,
which writes the one plan of all N (review.yml's matrix).

examples:
  litellm-gitops diff                                  # the merge base with main vs the working tree
  litellm-gitops diff --base HEAD~1 --exit-code
  litellm-gitops diff --base ../base --head .
  litellm-gitops diff --base base --head head --markdown diff.md --charts "$RUNNER_TEMP/charts"
  litellm-gitops diff --base base/rendered --head head/rendered --no-hydrate --json
  litellm-gitops diff --shard 2/4 --base base --head head > diff-shard-2.json   # then diff-combine
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base", metavar="REV|DIR",
                        help="the base: a checkout (or its rendered/ with --no-hydrate), or a git revision of the head's "
                             "repository (default: the merge base of HEAD with the default branch)")
    parser.add_argument("--head", type=Path, default=Path("."), metavar="DIR",
                        help="the head checkout (or its rendered/ with --no-hydrate); default: the current directory")
    parser.add_argument("--markdown", type=Path, metavar="FILE", help="also write Markdown for a PR comment")
    parser.add_argument("--json", action="store_true", help="print JSON (with the values) instead of text")
    parser.add_argument("--exit-code", action="store_true", help="exit 1 when there are changes, 0 when there are none")
    parser.add_argument("--shard", metavar="I/N",
                        help="compare only the environments and hubs of shard I of N (generator/shard.py) and print "
                             "its JSON for `diff-combine`")
    add_color_option(parser)
    add_hydrate_options(parser)
    parser.add_argument("--no-hydrate", action="store_true", help="compare the rendered files only")


def _user_cache() -> Path:
    import os

    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "litellm-gitops"


def _base(args: argparse.Namespace, stack: ExitStack) -> dict | None:
    """Point args.base at a folder: as given, or a temporary worktree of the revision it names.
    Returns what was resolved ({"revision", "commit"}), or None for a folder."""
    from generator import gitrev

    if args.base is not None and Path(args.base).is_dir():
        args.base = Path(args.base)
        return None
    if args.base is None:
        revision, commit = gitrev.default_base(args.head)
    else:
        revision, commit = args.base, gitrev.resolve(args.head, args.base)
    args.base = stack.enter_context(gitrev.worktree(args.head, commit))
    if not args.no_hydrate and args.charts is None:
        from generator import autosync

        for side in (args.base, args.head):  # one folder holding both sides' locked archives
            args.charts = autosync.fill_chart_folder(_user_cache() / "charts", side, args.head, complete=True)
        args.hydrate_cache = args.hydrate_cache or _user_cache() / "hydrated"
    return {"revision": revision, "commit": commit}


def run(args: argparse.Namespace) -> int:
    part = shard.parse(args.shard)
    if part is not None:
        args.json = True  # a shard's plan is for diff-combine
        if args.markdown:
            raise InputError("--markdown with --shard: a shard's plan is a part of the whole",
                             hint="write the Markdown with `diff-combine --markdown FILE` over every shard")
    with ExitStack() as stack:
        resolved = _base(args, stack)
        pair = tree.load_pair(args.base, args.head, diff.select, part.owns if part else None)
        states: tuple[dict, dict] = ({}, {})
        if not args.no_hydrate:
            from generator.commands.hydrate import hydrate_pair  # helm and the charts: imported only to hydrate

            states = hydrate_pair(args, list(pair.base), list(pair.head), ids=pair.ids)
        result = diff.plan(pair, states)
    if args.markdown:
        write_report(args.markdown, diff.markdown(result))
    if args.json:
        document = diff.to_json(result)
        if resolved:
            document["base"] = resolved
        if part is not None:
            document["shard"] = str(part)
        print(json.dumps(document, indent=2))
    else:
        out = console(args.color)
        if resolved:
            out.print(f"base: {resolved['revision']} ({resolved['commit'][:12]})", style="dim")
        out.print(diff.rich_text(result))
    return EXIT_FAILED if args.exit_code and not result.empty else EXIT_OK
