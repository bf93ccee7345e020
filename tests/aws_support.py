"""Shared by the AWS tests: moto in server mode on 127.0.0.1, AWS variables that keep boto3 and
the AWS CLI away from any real configuration, a moto EKS cluster shaped like a real one, and
editing a scratch environment. Imported by test_aws_*.py and test_cloudformation_*.py."""

from __future__ import annotations

import json
import logging
import socket
import subprocess
from pathlib import Path
from typing import Any, Callable

import boto3
import pytest
import requests
from ruamel.yaml import YAML

ACCOUNT = "123456789012"  # moto's account for any credentials
CREDENTIAL_VARS = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
                   "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                   "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_REGION", "AWS_CA_BUNDLE")


def isolate_from_real_aws(monkeypatch: pytest.MonkeyPatch, region: str = "us-east-1") -> None:
    """Dummy credentials, no config files, no instance metadata, one attempt per call."""
    for name in CREDENTIAL_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", region)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("AWS_RETRY_MODE", "standard")
    monkeypatch.setenv("AWS_PAGER", "")


def run_cli(root: Path, *args: str) -> subprocess.CompletedProcess:
    """litellm-gitops in its own process, so that an unhandled error would show as a traceback."""
    return subprocess.run(["litellm-gitops", *args, "--root", str(root)], capture_output=True, text=True, timeout=120)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def moto_endpoint() -> str:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def aws(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh, empty moto (every service reset) that boto3 reaches through AWS_ENDPOINT_URL."""
    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=10).raise_for_status()
    isolate_from_real_aws(monkeypatch)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    return moto_endpoint


def edit_environment(root: Path, name: str, change: Callable[[Any], None]) -> Path:
    """Apply `change` to environments/<name>/environment.yaml (round trip) and return its path."""
    path = root / "environments" / name / "environment.yaml"
    yaml = YAML(typ="rt")
    yaml.width = 4096
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    doc = yaml.load(path.read_text(encoding="utf-8"))
    change(doc)
    with path.open("w", encoding="utf-8") as handle:
        yaml.dump(doc, handle)
    return path


def issuer_for(region: str, ident: str = "0123456789ABCDEF0123456789ABCDEF") -> str:
    return f"https://oidc.eks.{region}.amazonaws.com/id/{ident}"


def make_cluster(region: str, name: str, *, issuer: str | None = None, mode: str | None = "API_AND_CONFIG_MAP",
                 oidc_provider: bool = True, status: str | None = None) -> dict[str, Any]:
    """A VPC with two private subnets (one only through its internal-elb tag, one through a route
    table without an internet gateway) and one public subnet, and an EKS cluster across all three.

    moto's EKS model omits vpcId, clusterSecurityGroupId and accessConfig and invents an OIDC
    issuer of the wrong shape: the moto server runs in this process, so the cluster model is
    given the fields real EKS reports."""
    from moto.eks.models import eks_backends

    ec2 = boto3.client("ec2", region_name=region)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    azs = [f"{region}a", f"{region}b", f"{region}c"]
    private_a = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", AvailabilityZone=azs[0])["Subnet"]["SubnetId"]
    private_b = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.2.0/24", AvailabilityZone=azs[1])["Subnet"]["SubnetId"]
    public = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.3.0/24", AvailabilityZone=azs[2])["Subnet"]["SubnetId"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    public_rt = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=public_rt, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    ec2.associate_route_table(RouteTableId=public_rt, SubnetId=public)
    # private_a: routes through a public table but is tagged for internal load balancers.
    ec2.associate_route_table(RouteTableId=public_rt, SubnetId=private_a)
    ec2.create_tags(Resources=[private_a], Tags=[{"Key": "kubernetes.io/role/internal-elb", "Value": "1"}])
    private_rt = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.associate_route_table(RouteTableId=private_rt, SubnetId=private_b)
    cluster_sg = ec2.create_security_group(GroupName=f"eks-cluster-sg-{name}", Description="EKS cluster", VpcId=vpc)["GroupId"]

    eks = boto3.client("eks", region_name=region)
    eks.create_cluster(name=name, roleArn=f"arn:aws:iam::{ACCOUNT}:role/eks", version="1.33",
                       resourcesVpcConfig={"subnetIds": [public, private_b, private_a]})
    issuer = issuer or issuer_for(region)
    model = eks_backends[ACCOUNT][region].clusters[name]
    model.resources_vpc_config = {"subnetIds": [public, private_b, private_a], "securityGroupIds": [],
                                  "clusterSecurityGroupId": cluster_sg, "vpcId": vpc,
                                  "endpointPublicAccess": False, "endpointPrivateAccess": True}
    model.identity = {"oidc": {"issuer": issuer}}
    if mode:
        model.access_config = {"authenticationMode": mode}
    if status:
        model.status = status
    if oidc_provider:
        boto3.client("iam", region_name=region).create_open_id_connect_provider(
            Url=issuer, ClientIDList=["sts.amazonaws.com"], ThumbprintList=["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"])
    return {"vpc": vpc, "private": sorted([private_a, private_b]), "private_a": private_a, "private_b": private_b,
            "public": public, "cluster_sg": cluster_sg, "issuer": issuer, "name": name, "region": region}


def parameters(path: Path) -> dict[str, str]:
    """A parameters file as a dict (it is a JSON array of "Key=Value" strings)."""
    return dict(line.split("=", 1) for line in json.loads(path.read_text(encoding="utf-8")))


def load_template(path: Path) -> dict[str, Any]:
    from generator.yamlio import load_plain

    return load_plain(path.read_text(encoding="utf-8"))


def create_stack(name: str, template: dict[str, Any], params: dict[str, str], region: str) -> dict[str, Any]:
    """Create a stack in moto's CloudFormation and return its description."""
    cf = boto3.client("cloudformation", region_name=region)
    cf.create_stack(StackName=name, TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_NAMED_IAM"],
                    Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()])
    return cf.describe_stacks(StackName=name)["Stacks"][0]


def create_key_like_the_template(template: dict[str, Any], region: str) -> str | None:
    """The template's KMS key (and its alias) through the KMS API, from the template's own
    properties; returns the key's ARN (None when the template creates no key). Not through moto's
    CloudFormation: moto 5.2 there ignores MultiRegion and keeps an object KeyPolicy unserialised."""
    kms = boto3.client("kms", region_name=region)
    resources = template["Resources"]
    keys = [k for k, r in resources.items() if r["Type"] == "AWS::KMS::Key"]
    if not keys:
        return None
    [key_id] = keys
    props = resources[key_id]["Properties"]
    arn = kms.create_key(Policy=json.dumps(props["KeyPolicy"]), Description=props["Description"],
                         MultiRegion=props.get("MultiRegion", False),
                         )["KeyMetadata"]["Arn"]
    if props.get("EnableKeyRotation"):
        kms.enable_key_rotation(KeyId=arn)
    for resource in resources.values():
        if resource["Type"] == "AWS::KMS::Alias":
            assert resource["Properties"]["TargetKeyId"] == {"Ref": key_id}
            kms.create_alias(AliasName=resource["Properties"]["AliasName"], TargetKeyId=arn)
    return arn


def _resolve(node: Any, key_arn: str | None) -> Any:
    """The two intrinsics a secret uses for its key: GetAtt <key>.Arn and the Fn::Sub of a replica's ARN."""
    if isinstance(node, dict) and "Fn::GetAtt" in node:
        assert key_arn and node["Fn::GetAtt"][1] == "Arn", node
        return key_arn
    if isinstance(node, dict) and "Fn::Sub" in node:
        assert key_arn, node
        text = node["Fn::Sub"]
        for name, value in {"AWS::Partition": "aws", "AWS::AccountId": ACCOUNT, "SecretsKey": key_arn.rsplit("/", 1)[1]}.items():
            text = text.replace("${" + name + "}", value)
        assert "${" not in text, text
        return text
    return node


def create_secrets_like_the_template(template: dict[str, Any], region: str, key_arn: str | None = None) -> list[str]:
    """moto's CloudFormation has no AWS::SecretsManager::Secret: create each secret the template
    declares with the Secrets Manager API, from the template's own properties (a generated value
    comes from get_random_password with the template's generation settings; a secret without
    GenerateSecretString is created without a value, as CloudFormation does). `key_arn`: the key
    create_key_like_the_template made, for KmsKeyId and the replicas' keys."""
    sm = boto3.client("secretsmanager", region_name=region)
    names = []
    for resource in template["Resources"].values():
        if resource["Type"].startswith("AWS::KMS::"):
            continue
        assert resource["Type"] == "AWS::SecretsManager::Secret"
        props = resource["Properties"]
        kwargs: dict[str, Any] = {"Name": props["Name"], "Description": props["Description"]}
        if "KmsKeyId" in props:
            kwargs["KmsKeyId"] = _resolve(props["KmsKeyId"], key_arn)
        if "ReplicaRegions" in props:
            kwargs["AddReplicaRegions"] = [{"Region": r["Region"], "KmsKeyId": _resolve(r["KmsKeyId"], key_arn)}
                                           for r in props["ReplicaRegions"]]
        generate = props.get("GenerateSecretString")
        if generate:
            kwargs["SecretString"] = sm.get_random_password(
                PasswordLength=generate["PasswordLength"], ExcludePunctuation=generate["ExcludePunctuation"],
                IncludeSpace=generate["IncludeSpace"], RequireEachIncludedType=generate["RequireEachIncludedType"],
            )["RandomPassword"]
        sm.create_secret(**kwargs)
        names.append(props["Name"])
    return names
