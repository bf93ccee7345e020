"""`litellm-gitops plan --env NAME [--json]`: the 15-phase table for one environment."""

from __future__ import annotations

import argparse
import sys

from generator.commands.common import add_one_environment_options, load_one
from generator.errors import EXIT_OK
from generator.plan import plan_json, plan_rows, plan_table
from generator.skiprules import decide
from generator.phases import check_catalogue

NAME = "plan"
HELP = "print the phase table for one environment"
DESCRIPTION = """\
Print the spec's 15 phases for one environment: phase, Argo CD wave, components, their state,
the spec's skip policy, and warnings (critical components that are not enabled).

examples:
  litellm-gitops plan --env prod
  litellm-gitops plan --env dev --json | jq '.phases[] | select(.warnings != [])'
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_one_environment_options(parser, "the environment to plan", "print JSON instead of a table")


def run(args: argparse.Namespace) -> int:
    check_catalogue()
    env = load_one(args)
    decisions = decide(env)
    rows = plan_rows(decisions)
    sys.stdout.write(plan_json(env.name, rows) if args.json else plan_table(env.name, rows))
    for d in decisions:
        if d.warning:
            print(f"warning: {env.name}: {d.warning}", file=sys.stderr)
    return EXIT_OK
