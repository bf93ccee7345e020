"""Discovery: read an EKS cluster with boto3 (VPC, subnets preferring private ones, cluster
security group, OIDC issuer, authentication mode, whether IAM knows its OIDC provider) and
write what the environment needs back into environments/<env>/environment.yaml in place,
round-trip with ruamel.yaml so comments, order and formatting of everything else survive.
"""

from __future__ import annotations

import io
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from generator.aws.client import Aws, AwsError
from generator.environment import Environment, config_error, load_environment

INTERNAL_ELB_TAG = "kubernetes.io/role/internal-elb"


@dataclass
class Subnet:
    id: str
    availability_zone: str
    private: bool
    reason: str


@dataclass
class Discovery:
    cluster: str
    region: str
    status: str
    version: str
    vpc_id: str | None
    cluster_security_group_id: str | None
    oidc_issuer: str | None
    authentication_mode: str
    oidc_provider_arn: str | None
    subnets: list[Subnet] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    endpoint: str | None = None  # the API server, as a hub's Argo CD reaches it (generator.fleet)
    certificate_authority: str | None = None  # base64 PEM, public

    @property
    def chosen_subnets(self) -> list[str]:
        """Private subnets when there are any, else every subnet of the cluster."""
        private = [s.id for s in self.subnets if s.private]
        return private or [s.id for s in self.subnets]

    def network(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        if self.vpc_id:
            found["vpcId"] = self.vpc_id
        if self.subnets:
            found["subnetIds"] = self.chosen_subnets
        if self.cluster_security_group_id:
            found["clusterSecurityGroupId"] = self.cluster_security_group_id
        return found

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["network"] = self.network()
        return data


def oidc_host(issuer: str) -> str:
    return issuer.removeprefix("https://")


def find_oidc_provider(aws: Aws, issuer: str) -> str | None:
    """ARN of the IAM OIDC provider registered for `issuer`, or None."""
    host = oidc_host(issuer)
    for entry in aws.call("iam", "list_open_id_connect_providers").get("OpenIDConnectProviderList", []):
        arn = entry.get("Arn", "")
        if arn.split(":oidc-provider/", 1)[-1] == host:
            return arn
    return None


def describe_cluster(aws: Aws, env: Environment) -> dict[str, Any]:
    """The cluster as EKS describes it; a cluster that does not exist is bad input (exit 2)."""
    try:
        return aws.call("eks", "describe_cluster", name=env.cluster["name"])["cluster"]
    except AwsError as exc:
        if exc.code == "ResourceNotFoundException":
            raise config_error(
                env, ["cluster", "name"],
                f"EKS has no cluster named {env.cluster['name']!r} in {env.region} (account as configured in your AWS credentials)",
                "check cluster.name and aws.region, and that your credentials are for account "
                f"{env.account_id}") from None
        raise


def classify_subnets(aws: Aws, vpc_id: str | None, subnet_ids: list[str]) -> tuple[str | None, list[Subnet]]:
    if not subnet_ids:
        return vpc_id, []
    described = aws.call("ec2", "describe_subnets", SubnetIds=subnet_ids)["Subnets"]
    vpc_id = vpc_id or (described[0]["VpcId"] if described else None)
    tables = aws.call("ec2", "describe_route_tables", Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["RouteTables"]
    main_table: dict | None = None
    by_subnet: dict[str, dict] = {}
    for table in tables:
        for association in table.get("Associations", []):
            if association.get("Main"):
                main_table = table
            elif association.get("SubnetId"):
                by_subnet[association["SubnetId"]] = table
    subnets = []
    for item in described:
        tags = {t["Key"]: t.get("Value", "") for t in item.get("Tags", [])}
        table = by_subnet.get(item["SubnetId"], main_table) or {}
        to_igw = any(str(r.get("GatewayId", "")).startswith("igw-") for r in table.get("Routes", []))
        if tags.get(INTERNAL_ELB_TAG) not in (None, "0"):
            private, reason = True, f"tagged {INTERNAL_ELB_TAG}"
        elif to_igw:
            private, reason = False, "routes to an internet gateway"
        else:
            private, reason = True, "no route to an internet gateway"
        subnets.append(Subnet(item["SubnetId"], item.get("AvailabilityZone", ""), private, reason))
    subnets.sort(key=lambda s: (not s.private, s.availability_zone, s.id))
    return vpc_id, subnets


def discover(aws: Aws, env: Environment) -> Discovery:
    cluster = describe_cluster(aws, env)
    vpc = cluster.get("resourcesVpcConfig", {})
    issuer = cluster.get("identity", {}).get("oidc", {}).get("issuer")
    # Clusters without accessConfig predate access entries: they authenticate through aws-auth only.
    mode = cluster.get("accessConfig", {}).get("authenticationMode", "CONFIG_MAP")
    vpc_id, subnets = classify_subnets(aws, vpc.get("vpcId"), list(vpc.get("subnetIds", [])))
    found = Discovery(
        cluster=env.cluster["name"], region=env.region, status=cluster.get("status", "UNKNOWN"),
        version=cluster.get("version", ""), vpc_id=vpc_id,
        cluster_security_group_id=vpc.get("clusterSecurityGroupId"),
        oidc_issuer=issuer, authentication_mode=mode,
        oidc_provider_arn=find_oidc_provider(aws, issuer) if issuer else None,
        subnets=subnets,
        endpoint=cluster.get("endpoint"),
        certificate_authority=(cluster.get("certificateAuthority") or {}).get("data"),
    )
    if not issuer:
        found.warnings.append("the cluster reports no OIDC issuer; IRSA cannot work")
    elif not found.oidc_provider_arn:
        found.warnings.append(
            f"no IAM OIDC provider for {issuer}; create it: eksctl utils associate-iam-oidc-provider "
            f"--cluster {env.cluster['name']} --region {env.region} --approve")
    if subnets and not any(s.private for s in subnets):
        found.warnings.append("the cluster has no private subnet; the bastion would sit in a public subnet (without a public IP)")
    if not found.cluster_security_group_id:
        found.warnings.append("EKS reports no cluster security group")
    if mode == "CONFIG_MAP":
        found.warnings.append("authentication mode CONFIG_MAP does not allow access entries (the bastion needs "
                              "API or API_AND_CONFIG_MAP)")
    return found


def report(found: Discovery) -> str:
    lines = [
        f"cluster               {found.cluster} ({found.region}), {found.status}, Kubernetes {found.version}",
        f"oidc issuer           {found.oidc_issuer or '-'}",
        f"oidc provider (IAM)   {found.oidc_provider_arn or 'MISSING'}",
        f"authentication mode   {found.authentication_mode}",
        f"api endpoint          {found.endpoint or '-'}",
        f"vpc                   {found.vpc_id or '-'}",
        f"cluster sg            {found.cluster_security_group_id or '-'}",
        "subnets:",
    ]
    chosen = set(found.chosen_subnets)
    for s in found.subnets:
        mark = "*" if s.id in chosen else " "
        lines.append(f"  {mark} {s.id}  {s.availability_zone:<12} {'private' if s.private else 'public '}  ({s.reason})")
    if found.subnets:
        lines.append("  (* = written to cluster.network.subnetIds)")
    lines += [f"warning: {w}" for w in found.warnings]
    return "\n".join(lines) + "\n"


# --- writing back ---------------------------------------------------------------------------

def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def hub_updates(env: Environment, found: Discovery) -> tuple[dict[str, Any], dict[str, Any]]:
    """For an environment managed from a hub: cluster.server (the API endpoint the hub reaches)
    and hub.caData (the cluster's CA) to set; nothing for a standalone one."""
    if not env.config.get("hub"):
        return {}, {}
    return ({"server": found.endpoint} if found.endpoint else {},
            {"caData": found.certificate_authority} if found.certificate_authority else {})


def updates(found: Discovery) -> dict[str, Any]:
    """cluster.* keys to set: the issuer, the authentication mode and the network (apply() leaves
    out the mode when the defaults already give it)."""
    result: dict[str, Any] = {}
    if found.oidc_issuer:
        result["oidcIssuer"] = found.oidc_issuer
    result["authenticationMode"] = found.authentication_mode
    network = found.network()
    if network:
        result["network"] = network
    return result


def apply(text: str, changes: dict[str, Any], keep_mode_if_same: str | None, hub_changes: dict[str, Any] | None = None) -> str:
    """The environment file's text with cluster.<key> set for every change (and hub.<key> for
    every hub change); everything else is left byte for byte as it was."""
    yaml = _yaml()
    doc = yaml.load(text)
    cluster = doc.get("cluster")
    if cluster is None:
        doc["cluster"] = cluster = CommentedMap()
    for key, value in changes.items():
        if key == "authenticationMode" and key not in cluster and value == keep_mode_if_same:
            continue  # already right through the defaults: do not add noise
        current = cluster.get(key)
        if key == "network" and isinstance(current, CommentedMap):
            for sub_key, sub_value in value.items():
                if current.get(sub_key) != sub_value:
                    current[sub_key] = _node(sub_value)
        elif current != value:
            _put(cluster, key, _node(value))
    hub = doc.get("hub")
    for key, value in (hub_changes or {}).items() if hub is not None else ():
        if hub.get(key) != value:
            _put(hub, key, value)
    out = io.StringIO()
    yaml.dump(doc, out)
    return out.getvalue()


def _node(value: Any) -> Any:
    if isinstance(value, dict):
        return CommentedMap((k, _node(v)) for k, v in value.items())
    return CommentedSeq(value) if isinstance(value, list) else value


def _put(mapping: CommentedMap, key: str, value: Any) -> None:
    """Set a key. A new one goes at the end of the mapping, and the blank lines and comments that
    followed the previous last key (ruamel keeps them on it) move after it."""
    if key in mapping:
        mapping[key] = value
        return
    last = list(mapping.keys())[-1] if mapping else None
    trailing = mapping.ca.items.pop(last, None) if last is not None else None
    mapping[key] = value
    if trailing is None:
        return
    if isinstance(value, CommentedMap) and value:
        inner_last = list(value.keys())[-1]
        value.ca.items[inner_last] = trailing
    else:
        mapping.ca.items[key] = trailing


def write(env: Environment, root: Path, found: Discovery) -> bool:
    """Update environments/<env>/environment.yaml in place; True when it changed. The result must
    load as a valid environment, or the file is left untouched."""
    path = env.source
    original = path.read_bytes()  # restored byte for byte (CRLF line ends included) when refused
    before = path.read_text(encoding="utf-8")
    mode_through_defaults = env.cluster.get("authenticationMode")
    server, ca = hub_updates(env, found)
    after = apply(before, updates(found) | server, mode_through_defaults, ca)
    if after == before:
        return False
    _replace(path, after.encode("utf-8"))
    try:
        load_environment(root, env.name)
    except BaseException:
        _replace(path, original)
        raise
    return True


def _replace(path: Path, data: bytes) -> None:
    """Write `data` beside `path`, then rename it into place (never a half-written file)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".environment.", suffix=".yaml")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)
