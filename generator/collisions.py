"""Environments that cannot collide, and placeholders that cannot pass unnoticed.

Across all environments (`check`, run by `render` before anything is written), each is bad input
naming both files:
- two environments with the same cluster name in the same account and region (two Argo CDs, two
  sets of stacks, one cluster);
- the same secrets prefix in the same account and region (both would read and write the same
  Secrets Manager secrets: two CloudFormation stacks fighting over one LITELLM_SALT_KEY);
- the same OIDC issuer (one cluster's identity trusted by another environment's IRSA roles);
- the same cluster API server (`cluster.server`; the in-cluster address excepted, which each
  standalone Argo CD resolves to its own cluster): both environments' Applications would deploy
  into one cluster, over each other's namespaces and LiteLLM Secret.
For each environment, an OIDC issuer whose region (https://oidc.eks.<region>.amazonaws.com/id/...,
the form EKS reports) is not aws.region is bad input: the issuer was copied from elsewhere.

`placeholders` lists values that are clearly examples (PLACEHOLDERS below): `render` prints them as
warnings on every run, `validate --strict` fails on them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from generator.environment import Environment, config_error
from generator.errors import InputError

ISSUER_REGION = re.compile(r"^https://oidc\.eks\.([a-z0-9-]+)\.amazonaws\.com/id/")

# (what is shared, the keys that must differ, which keys identify the scope) -- rules as data.
UNIQUE: tuple[tuple[str, tuple[str, ...], tuple[tuple[str, ...], ...]], ...] = (
    ("cluster", ("cluster", "name"), (("aws", "accountId"), ("aws", "region"))),
    ("secrets prefix", ("secrets", "prefix"), (("aws", "accountId"), ("aws", "region"))),
    ("OIDC issuer", ("cluster", "oidcIssuer"), ()),
    ("cluster API server", ("cluster", "server"), ()),
)
# Values many environments may share: each standalone Argo CD's own cluster (generator.fleet.IN_CLUSTER).
SHARED = {("cluster", "server"): ("https://kubernetes.default.svc",)}

# (key path, pattern of a placeholder value, why it is one); "*" matches any list index.
PLACEHOLDERS: tuple[tuple[tuple[str, ...], re.Pattern[str], str], ...] = (
    (("aws", "accountId"), re.compile(r"^(123456789012|111122223333|444455556666|777788889999|999988887777|0{12})\Z"),
     "an account id from the AWS documentation"),
    (("hub", "argocdRoleArn"), re.compile(r"^arn:aws[a-z-]*:iam::(123456789012|111122223333|444455556666|777788889999|999988887777|0{12}):"),
     "a role in an account id from the AWS documentation"),
    (("git", "repoURL"), re.compile(r"[/.:@]example-org[/.]|//(www\.)?example\.(com|org)/"), "an example repository URL"),
    (("cluster", "oidcIssuer"), re.compile(r"/id/0+\Z"), "an all-zero OIDC issuer id"),
    (("cluster", "network", "vpcId"), re.compile(r"^vpc-(0+[1-9]?|0a1b2c3d4e5f\w*)\Z"), "an example VPC id"),
    (("cluster", "network", "subnetIds", "*"), re.compile(r"^subnet-(0+[1-9]?|0a1b2c3d4e5f\w*)\Z"), "an example subnet id"),
    (("cluster", "network", "clusterSecurityGroupId"), re.compile(r"^sg-(0+[1-9]?|0a1b2c3d4e5f\w*)\Z"), "an example security group id"),
    (("components", "bastion", "amiId"), re.compile(r"^ami-(0+[1-9]?|0a1b2c3d4e5f\w*)\Z"), "an example AMI id"),
)


def _get(config: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(config, dict) or part not in config:
            return None
        config = config[part]
    return config


def _where(env: Environment, path: tuple[str | int, ...]) -> str:
    error = config_error(env, list(path), "", "")
    return f"{error.file}:{error.line}" if error.line else str(error.file)


def check(environments: list[Environment]) -> None:
    """Refuse colliding environments (UNIQUE) and an issuer from another region."""
    for env in environments:
        issuer = str(_get(env.config, ("cluster", "oidcIssuer")) or "")
        match = ISSUER_REGION.match(issuer)
        if match and match.group(1) != env.region:
            raise config_error(env, ["cluster", "oidcIssuer"],
                               f"cluster.oidcIssuer is in region {match.group(1)}, but aws.region is {env.region}",
                               "copy the issuer of this environment's own cluster (`litellm-gitops discover --env "
                               f"{env.name} --write` reads it), or fix aws.region", also=[["aws", "region"]])
    for what, key, scope in UNIQUE:
        seen: dict[tuple, Environment] = {}
        for env in environments:
            value = _get(env.config, key)
            if value is None or value in SHARED.get(key, ()) or any(
                    path == key and pattern.search(str(value)) for path, pattern, _ in PLACEHOLDERS):
                continue  # absent, or a placeholder (its own warning): two new environments may share one
            ident = (value, *(_get(env.config, s) for s in scope))
            other = seen.setdefault(ident, env)
            if other is env:
                continue
            within = f" in account {ident[1]} region {ident[2]}" if scope else ""
            shown = value if value != "" else '"" (empty)'
            error = config_error(env, list(key), "", "")
            raise InputError(f"environments {other.name} and {env.name} share the {what} {shown}{within}: "
                             f"{_where(other, key)} and {_where(env, key)}",
                             file=error.file, line=error.line, column=error.column,
                             hint=f"give {env.name} its own {'.'.join(key)} (or a different account or region); "
                                  f"`litellm-gitops env new` sets it for a new environment")


@dataclass(frozen=True)
class Placeholder:
    env: str
    where: str  # file:line
    key: str
    value: str
    why: str

    def __str__(self) -> str:
        return f"{self.where}: {self.key} {self.value} is {self.why}, a placeholder: replace it with the real value"


def _paths(config: Any, path: tuple[str, ...], prefix: tuple[str | int, ...] = ()):
    if not path:
        yield prefix, config
        return
    head, rest = path[0], path[1:]
    if head == "*":
        for index, item in enumerate(config if isinstance(config, list) else []):
            yield from _paths(item, rest, prefix + (index,))
    elif isinstance(config, dict) and head in config:
        yield from _paths(config[head], rest, prefix + (head,))


def placeholders(env: Environment) -> list[Placeholder]:
    found = []
    for path, pattern, why in PLACEHOLDERS:
        for at, value in _paths(env.config, path):
            if isinstance(value, str) and pattern.search(value):
                found.append(Placeholder(env.name, _where(env, at), ".".join(map(str, at)), value, why))
    return found

