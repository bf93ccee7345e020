"""`litellm-gitops phases --env NAME [--json]`: the 15-phase table for one environment. `plan` is
its deprecated alias (it printed this table before `diff` became the plan of a change, as in
Terraform): it still works, with a notice, until 0.2."""

from __future__ import annotations

import argparse
import sys

from generator.commands.common import add_one_environment_options, load_one
from generator.errors import EXIT_OK
from generator.plan import plan_json, plan_rows, plan_table
from generator.skiprules import decide
from generator.phases import check_catalogue

NAME = "phases"
ALIASES = ("plan",)  # deprecated: removed in 0.2
HELP = "print the phase table for one environment (`plan` is a deprecated alias)"
DESCRIPTION = """\
Print the spec's 15 phases for one environment: phase, Argo CD wave, components, their state,
the spec's skip policy, and warnings (critical components that are not enabled).

examples:
  litellm-gitops phases --env prod
  litellm-gitops phases --env dev --json | jq '.phases[] | select(.warnings != [])'

`litellm-gitops plan` is a deprecated alias of this command (removed in 0.2); the change preview,
what `plan` means in Terraform, is `litellm-gitops diff`.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_one_environment_options(parser, "the environment to plan", "print JSON instead of a table")


def run(args: argparse.Namespace) -> int:
    if args.command in ALIASES:
        print("warning: `litellm-gitops plan` is deprecated and will be removed in 0.2: use `litellm-gitops phases` "
              "(the phase table), or `litellm-gitops diff` to preview a change", file=sys.stderr)
    check_catalogue()
    env = load_one(args)
    decisions = decide(env)
    rows = plan_rows(decisions)
    sys.stdout.write(plan_json(env.name, rows) if args.json else plan_table(env.name, rows))
    for d in decisions:
        if d.warning:
            print(f"warning: {env.name}: {d.warning}", file=sys.stderr)
    return EXIT_OK
