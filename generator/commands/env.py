"""`litellm-gitops env new`: scaffold an environment from an existing one, with its own identity.

The copy keeps everything of EXISTING's file (comments included, round-trip with ruamel.yaml)
except what makes an environment itself: aws.accountId, aws.region, cluster.name, the secrets
prefix (NAME/), and with --hub the hub's name and stage. What belongs to the old cluster is not
copied: the OIDC issuer (in the new region), a hub's API endpoint, the network ids and the bastion's AMI become all-zero
placeholders of the same shape, which render warns about (`litellm-gitops discover --env NAME
--write` reads the issuer and the network from the real cluster). A secrets replica region that is
the new region becomes the old region (a replica must be elsewhere). The result must load and must not collide with any environment (generator/collisions.py), or nothing
is written.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import shutil
from pathlib import Path

from generator.console import add_verbosity_options
from generator.environment import ENVIRONMENT_FILE, DNS_LABEL, environment_names, load_environment
from generator.errors import EXIT_OK, InputError

NAME = "env"
HELP = "environments: `env new NAME --from EXISTING ...` scaffolds one that cannot collide with the others"
DESCRIPTION = """\
`env new NAME --from EXISTING --account ID --region R --cluster C [--hub H --stage S]` writes
environments/NAME/environment.yaml: EXISTING's file with its own account, region, cluster name and
secrets prefix (NAME/), and with --hub/--stage its hub. The OIDC issuer, the network ids and the
bastion's AMI become all-zero placeholders (render warns about them until they are replaced): run
`litellm-gitops discover --env NAME --write` to read the issuer and network from the cluster. Refused (exit 2, nothing written) when the result would share a cluster,
a secrets prefix or an OIDC issuer with another environment.

examples:
  litellm-gitops env new staging --from prod --account 210987654321 --region eu-west-1 --cluster llm-staging
  litellm-gitops env new eu-qa --from eu-dev --account 210987654321 --region eu-west-1 --cluster llm-eu-qa --hub central --stage dev
"""
PLACEHOLDER_ISSUER = "https://oidc.eks.{region}.amazonaws.com/id/" + "0" * 32
EKS_ENDPOINT = re.compile(r"^https://[0-9A-F]{32}\.(?P<suffix>[a-z0-9]+)\.[a-z0-9-]+\.eks\.amazonaws\.com")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="env_command", metavar="ACTION", required=True)
    new = sub.add_parser("new", help="scaffold environments/NAME/ from an existing environment")
    new.add_argument("name", metavar="NAME", help="the new environment's name (a DNS label)")
    new.add_argument("--from", dest="source", required=True, metavar="EXISTING", help="the environment to start from")
    new.add_argument("--account", required=True, metavar="ID", help="AWS account id (12 digits)")
    new.add_argument("--region", required=True, metavar="R", help="AWS region, e.g. eu-west-1")
    new.add_argument("--cluster", required=True, metavar="C", help="EKS cluster name")
    new.add_argument("--hub", metavar="H", help="the hub that manages it (EXISTING must be hub-managed)")
    new.add_argument("--stage", choices=("dev", "staging", "prod"), help="its rollout stage on the hub")
    new.add_argument("--root", type=Path, default=Path("."), metavar="DIR", help="repository root (default: .)")
    new.add_argument("--json", action="store_true", help="print JSON instead of text")
    add_verbosity_options(new, suppress=True)


def _zeroed(resource_id: str, number: int = 0) -> str:
    """vpc-0a1b2c... -> vpc-000...0, the Nth of a list ...0N: the same shape, clearly a placeholder
    (generator/collisions.py), and still unique within a list."""
    kind, _, digits = resource_id.partition("-")
    return f"{kind}-{str(number).rjust(len(digits), '0')}"


def _edit(text: str, args: argparse.Namespace) -> str:
    from ruamel.yaml.comments import CommentedMap

    from generator.aws.discover import _put, _yaml

    rt = _yaml()
    doc = rt.load(text)
    for section in ("aws", "cluster", "secrets"):
        if not isinstance(doc.get(section), dict):
            _put(doc, section, CommentedMap())
    old_region = doc["aws"].get("region")
    _put(doc["aws"], "accountId", args.account)
    _put(doc["aws"], "region", args.region)
    replicas = doc["secrets"].get("replicaRegions")
    if isinstance(replicas, list) and args.region in replicas:  # a replica must be in another region:
        replicas.remove(args.region)                                # the old one takes its place
        if isinstance(old_region, str) and old_region not in replicas:
            replicas.append(old_region)
    _put(doc["cluster"], "name", args.cluster)
    _put(doc["cluster"], "oidcIssuer", PLACEHOLDER_ISSUER.format(region=args.region))
    server = doc["cluster"].get("server")
    if isinstance(server, str) and EKS_ENDPOINT.match(server):  # a hub reaches the old cluster there
        _put(doc["cluster"], "server", EKS_ENDPOINT.sub(f"https://{'0' * 32}.\\g<suffix>.{args.region}.eks.amazonaws.com", server))
    network = doc["cluster"].get("network")
    if isinstance(network, dict):  # the old cluster's: all-zero placeholders of the same shape
        for key, value in list(network.items()):
            network[key] = _zeroed(value) if isinstance(value, str) else type(value)(_zeroed(v, n) for n, v in enumerate(value))
    bastion = (doc.get("components") or {}).get("bastion")
    if isinstance(bastion, dict) and isinstance(bastion.get("amiId"), str):
        bastion["amiId"] = _zeroed(bastion["amiId"])  # AMIs are per region and account
    _put(doc["secrets"], "prefix", f"{args.name}/")
    if args.hub or args.stage:
        if not isinstance(doc.get("hub"), dict):
            raise InputError(f"environment {args.source} is not managed from a hub, so --hub/--stage cannot be set on a copy",
                             hint="start from a hub-managed environment (its hub block has the management role), "
                                  "or leave out --hub and --stage")
        if args.hub:
            _put(doc["hub"], "name", args.hub)
        if args.stage:
            _put(doc["hub"], "stage", args.stage)
    out = io.StringIO()
    rt.dump(doc, out)
    return out.getvalue()


def run(args: argparse.Namespace) -> int:
    from generator import collisions

    envs = args.root / "environments"
    if not DNS_LABEL.match(args.name):
        raise InputError(f"environment name {args.name!r} is not a DNS-1123 label",
                         hint="lowercase letters, digits and '-', starting and ending with a letter or digit")
    if not (len(args.account) == 12 and args.account.isdigit()):
        raise InputError(f"--account {args.account!r} is not a 12-digit AWS account id")
    if args.name in environment_names(envs):
        raise InputError(f"environment {args.name} already exists", file=envs / args.name, hint="pick another name")
    source = load_environment(envs, args.source)  # names the choices when EXISTING does not exist
    text = _edit(source.source.read_text(encoding="utf-8"), args)
    target = envs / args.name
    target.mkdir()
    try:
        (target / ENVIRONMENT_FILE).write_text(text, encoding="utf-8", newline="\n")
        everyone = [load_environment(envs, name) for name in environment_names(envs)]
        collisions.check(everyone)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    if args.json:
        print(json.dumps({"ok": True, "created": str(target / ENVIRONMENT_FILE), "from": args.source}, indent=2))
        return EXIT_OK
    print(f"created {target / ENVIRONMENT_FILE} from {args.source}")
    print(f"next: `litellm-gitops discover --env {args.name} --write` (OIDC issuer, network), then `litellm-gitops render`")
    return EXIT_OK
