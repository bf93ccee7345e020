"""`litellm-gitops preflight --env NAME [--json]`: phase 1, the prerequisites check (boto3,
read-only), as a table of checks."""

from __future__ import annotations

import argparse
import sys

from generator.aws.client import Aws, AwsError
from generator.aws.preflight import FAIL, Check, Preflight, as_json, table
from generator.commands.common import add_one_environment_options, load_one
from generator import deadline
from generator.errors import EXIT_FAILED, EXIT_OK

NAME = "preflight"
HELP = "phase 1: check the cluster, OIDC provider, auth mode, secrets, IRSA roles and local tools"
DESCRIPTION = """\
Phase 1 of the spec, never skipped. Read-only checks against AWS (boto3; credentials and endpoint
from the usual AWS variables) and this machine:

  aws-identity         the credentials work and are for the environment's account
  cluster              the EKS cluster exists and is ACTIVE
  cluster-oidc-issuer  its OIDC issuer is the one the environment names
  oidc-provider        IAM has an OIDC provider for it, with client id sts.amazonaws.com
  authentication-mode  API or API_AND_CONFIG_MAP (access entries); a failure when the bastion is on
  network              (bastion on) cluster.network matches the cluster's VPC, subnets and security group
  secret:<key>         every Secrets Manager secret exists and has a value (DescribeSecret only)
  role:<role>          both IRSA roles exist and trust exactly their service account
  tool:<name>          aws, kubectl and helm on PATH (warnings)

A missing role or secret is a warning while this repository is yet to create it (component
enabled, its stack not deployed) and a failure when the component is external or its stack is
deployed. AWS errors (no credentials, access denied, throttling, unreachable endpoint) are
reported as a failed check, never as a traceback.

exit codes: 0 every check passed (warnings allowed), 1 a check failed (each is named), 2 bad input.

examples:
  litellm-gitops preflight --env prod
  litellm-gitops preflight --env dev --json | jq '.checks[] | select(.status != "pass")'
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_one_environment_options(parser, "the environment to check", "print JSON instead of a table")
    deadline.add_option(parser)


def run(args: argparse.Namespace) -> int:
    deadline.start(args.deadline)
    env = load_one(args)
    try:
        checks = Preflight(env, Aws(env.region)).run()
    except AwsError as exc:
        checks = [Check("aws-session", FAIL, str(exc))]
    sys.stdout.write(as_json(env, checks) if args.json else table(env, checks))
    failed = [c.name for c in checks if c.status == FAIL]
    if failed:
        print(f"preflight failed: {', '.join(failed)}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK
