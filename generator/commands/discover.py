"""`litellm-gitops discover --env NAME [--write] [--json]`: read the EKS cluster with boto3 and
print (or write into the environment file) what the AWS side needs to know about it."""

from __future__ import annotations

import argparse
import json
import sys

from generator.aws.client import Aws, AwsError
from generator.aws.discover import discover, report, write
from generator.commands.common import add_one_environment_options, load_one
from generator import deadline
from generator.errors import EXIT_FAILED, EXIT_OK

NAME = "discover"
HELP = "read the EKS cluster (VPC, private subnets, security group, OIDC, auth mode) with boto3"
DESCRIPTION = """\
Read the environment's EKS cluster with boto3 and print what it found: VPC, subnets (private
ones preferred: no route to an internet gateway, or tagged kubernetes.io/role/internal-elb),
cluster security group, OIDC issuer, authentication mode, and whether IAM has the cluster's
OIDC provider. Credentials and endpoint come from the usual AWS variables (AWS_PROFILE,
AWS_ENDPOINT_URL, ...); the region is the environment's aws.region.

With --write, set cluster.oidcIssuer, cluster.authenticationMode and cluster.network.{vpcId,
subnetIds, clusterSecurityGroupId} in environments/<env>/environment.yaml in place, keeping every
comment and the order and formatting of everything else. Then run `litellm-gitops render`.

exit codes: 0 found, 1 an AWS call failed, 2 bad input (unknown environment or cluster).

examples:
  litellm-gitops discover --env prod
  AWS_PROFILE=prod-admin litellm-gitops discover --env prod --write && litellm-gitops render --env prod
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_one_environment_options(parser, "the environment whose cluster to read", "print JSON instead of text")
    parser.add_argument("--write", action="store_true", help="update environments/<env>/environment.yaml in place")
    deadline.add_option(parser)


def run(args: argparse.Namespace) -> int:
    deadline.start(args.deadline)
    env = load_one(args)
    try:
        found = discover(Aws(env.region), env)
    except AwsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        if args.json:  # stdout stays one JSON document (generator/cli.py)
            print(json.dumps({"ok": False, "exit": EXIT_FAILED, "error": {"message": str(exc)}}, indent=2))
        return EXIT_FAILED
    sys.stdout.write(json.dumps(found.as_dict(), indent=2) + "\n" if args.json else report(found))
    if args.write:
        changed = write(env, args.root / "environments", found)
        where = env.source
        print(f"updated {where}" if changed else f"{where} already up to date", file=sys.stderr)
    return EXIT_OK
