"""The bastion: rendered/<env>/cloudformation/bastion.yaml and its parameters file.

As the spec's "Bastion Host Architecture" draws it: bastion-ssm-role (EC2 trust,
AmazonSSMManagedInstanceCore, inline read-only EKS describe on this cluster), bastion-profile, and
one EC2 instance in a subnet of the cluster's VPC that is reachable only through SSM Session
Manager: no key pair, no ingress, no public IP, IMDSv2 required (a launch template that holds
only the metadata options), encrypted root volume. Its security group may send HTTPS out (SSM,
EKS, the pinned downloads) and the cluster security group admits 443 from it. User data installs
kubectl, helm and AWS CLI v2 at pinned versions and writes a kubeconfig; an EKS access entry
gives the role the configured access policy.

Network values come from cluster.network, which `litellm-gitops discover --write` fills; without
them render stops with an InputError that says so.
"""

from __future__ import annotations

import re
from typing import Any

from generator import naming
from generator.artifacts import Artifact
from generator.aws import cfn, readme
from generator.environment import Environment, config_error

STEM = "bastion"
COMPONENT = "bastion"

DEFAULTS: dict[str, Any] = {
    "instanceType": "t3.small",
    "kubectlVersion": "1.33.4",
    "helmVersion": "3.17.3",
    "awsCliVersion": "2.22.35",
    "accessPolicy": "AmazonEKSViewPolicy",
    "rootVolumeSize": 20,
}
AMI_PARAMETERS = {
    "x86_64": "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64",
    "arm64": "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64",
}
NETWORK_KEYS = ("vpcId", "subnetIds", "clusterSecurityGroupId")
# Graviton families carry a 'g' among the letters after the generation digit: t4g, m7gd, c6gn, g5g.
GRAVITON = re.compile(r"^[a-z]+[0-9]+[a-z]*g[a-z]*\.")


def settings(env: Environment) -> dict[str, Any]:
    configured = env.component(COMPONENT)
    return {key: configured.get(key, default) for key, default in DEFAULTS.items()} | {
        "amiId": configured.get("amiId"),
        "amiParameter": configured.get("amiParameter"),
    }


def architecture(instance_type: str) -> str:
    return "arm64" if GRAVITON.match(instance_type) else "x86_64"


def network(env: Environment) -> dict[str, Any]:
    found = env.cluster.get("network") or {}
    missing = [key for key in NETWORK_KEYS if not found.get(key)]
    if missing:
        raise config_error(
            env, ["cluster", "network", missing[0]],
            f"the bastion is enabled but cluster.network.{missing[0]} is not known",
            f"run `litellm-gitops discover --env {env.name} --write` to read the VPC, private subnets and cluster "
            "security group from EKS into the environment file, or set components.bastion.state: disabled")
    return found


def check(env: Environment, chosen: dict[str, Any]) -> None:
    cfn.require_access_entries(env, "the bastion gets cluster access", ", or disable the bastion")
    cluster_minor = int(env.cluster["kubernetesVersion"].split(".")[1])
    kubectl_minor = int(str(chosen["kubectlVersion"]).split(".")[1])
    if abs(kubectl_minor - cluster_minor) > 1:
        raise config_error(
            env, ["components", COMPONENT, "kubectlVersion"],
            f"kubectl {chosen['kubectlVersion']} is outside the supported skew of the cluster's Kubernetes {env.cluster['kubernetesVersion']}",
            f"pin a kubectl 1.{cluster_minor}.x (kubectl supports one minor version either side of the API server)",
            also=[["cluster", "kubernetesVersion"]])
    if chosen["amiId"] and chosen["amiParameter"]:
        raise config_error(
            env, ["components", COMPONENT, "amiParameter"],
            "components.bastion sets both amiId and amiParameter",
            "keep amiId to pin the image (recommended in production), or amiParameter to follow an SSM parameter")


def user_data(env: Environment, chosen: dict[str, Any], arch: str) -> str:
    go_arch = "arm64" if arch == "arm64" else "amd64"
    aws_arch = "aarch64" if arch == "arm64" else "x86_64"
    return f"""\
#!/bin/bash
# litellm-gitops bastion for {env.name}: pinned tools and a kubeconfig for cluster {env.cluster['name']}.
set -euo pipefail
exec > >(tee -a /var/log/litellm-bastion-init.log) 2>&1
KUBECTL_VERSION={chosen['kubectlVersion']}
HELM_VERSION={chosen['helmVersion']}
AWSCLI_VERSION={chosen['awsCliVersion']}
REGION={env.region}
CLUSTER={env.cluster['name']}
work=$(mktemp -d)
cd "$work"
dnf install -y unzip tar gzip

# AWS CLI v2, pinned (replaces the image's copy so every bastion runs the same version)
curl -fsSLo awscliv2.zip "https://awscli.amazonaws.com/awscli-exe-linux-{aws_arch}-${{AWSCLI_VERSION}}.zip"
unzip -q awscliv2.zip
./aws/install --update --bin-dir /usr/local/bin --install-dir /usr/local/aws-cli

# kubectl, pinned and checked against its published SHA-256
curl -fsSLo kubectl "https://dl.k8s.io/release/v${{KUBECTL_VERSION}}/bin/linux/{go_arch}/kubectl"
curl -fsSLo kubectl.sha256 "https://dl.k8s.io/release/v${{KUBECTL_VERSION}}/bin/linux/{go_arch}/kubectl.sha256"
echo "$(cat kubectl.sha256)  kubectl" | sha256sum -c -
install -m 0755 kubectl /usr/local/bin/kubectl

# helm, pinned and checked against its published SHA-256
curl -fsSLo helm.tgz "https://get.helm.sh/helm-v${{HELM_VERSION}}-linux-{go_arch}.tar.gz"
curl -fsSLo helm.tgz.sha256sum "https://get.helm.sh/helm-v${{HELM_VERSION}}-linux-{go_arch}.tar.gz.sha256sum"
echo "$(cut -d ' ' -f 1 helm.tgz.sha256sum)  helm.tgz" | sha256sum -c -
tar -xzf helm.tgz linux-{go_arch}/helm
install -m 0755 linux-{go_arch}/helm /usr/local/bin/helm

# kubeconfig for every Session Manager user (it holds no credential: it runs `aws eks get-token`)
install -d -m 0755 /etc/litellm-bastion
/usr/local/bin/aws eks update-kubeconfig --region "$REGION" --name "$CLUSTER" --kubeconfig /etc/litellm-bastion/kubeconfig
chmod 0644 /etc/litellm-bastion/kubeconfig
echo 'export KUBECONFIG=/etc/litellm-bastion/kubeconfig' > /etc/profile.d/litellm-bastion.sh
cd /
rm -rf "$work"
echo "litellm-bastion ready: kubectl $KUBECTL_VERSION, helm $HELM_VERSION, aws-cli $AWSCLI_VERSION"
"""


def eks_read_policy(env: Environment) -> dict[str, Any]:
    cluster = env.cluster["name"]
    prefix = "arn:${AWS::Partition}:eks:${AWS::Region}:${AWS::AccountId}"
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "DescribeThisClusterOnly",
            "Effect": "Allow",
            "Action": ["eks:DescribeCluster", "eks:ListNodegroups", "eks:DescribeNodegroup",
                       "eks:ListAddons", "eks:DescribeAddon"],
            "Resource": [
                cfn.sub(f"{prefix}:cluster/{cluster}"),
                cfn.sub(f"{prefix}:nodegroup/{cluster}/*/*"),
                cfn.sub(f"{prefix}:addon/{cluster}/*/*"),
            ],
        }],
    }


def template(env: Environment, chosen: dict[str, Any], arch: str) -> dict[str, Any]:
    name = f"{env.name}-bastion"
    pinned = bool(chosen["amiId"])
    parameters: dict[str, Any] = {
        "AmiId": {
            "Type": "AWS::EC2::Image::Id" if pinned else "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>",
            "Description": ("Pinned AMI (components.bastion.amiId): a new Amazon Linux release never replaces the instance."
                            if pinned else
                            "SSM parameter naming the AMI. Re-resolved on EVERY stack update: a new release replaces "
                            "(terminates) the instance. Pin components.bastion.amiId in production."),
        },
        "InstanceType": {"Type": "String", "Description": "EC2 instance type (components.bastion.instanceType)."},
        "VpcId": {"Type": "AWS::EC2::VPC::Id", "Description": "The cluster's VPC (cluster.network.vpcId)."},
        "SubnetId": {"Type": "AWS::EC2::Subnet::Id",
                     "Description": "A private subnet of the cluster's VPC (first of cluster.network.subnetIds)."},
        "ClusterSecurityGroupId": {"Type": "AWS::EC2::SecurityGroup::Id",
                                   "Description": "The EKS cluster security group (cluster.network.clusterSecurityGroupId)."},
    }
    if not pinned:
        parameters["AmiId"]["Default"] = chosen["amiParameter"] or AMI_PARAMETERS[arch]
    resources: dict[str, Any] = {
        "BastionRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "RoleName": naming.bastion_role_name(env),
                "Description": f"SSM-only bastion of cluster {env.cluster['name']}",
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                   "Action": "sts:AssumeRole"}],
                },
                "ManagedPolicyArns": [cfn.sub("arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore")],
                "Policies": [{"PolicyName": "eks-describe-this-cluster", "PolicyDocument": eks_read_policy(env)}],
                "Tags": cfn.tags(COMPONENT),
            },
        },
        "BastionInstanceProfile": {
            "Type": "AWS::IAM::InstanceProfile",
            "Properties": {"InstanceProfileName": naming.bastion_profile_name(env), "Roles": [cfn.ref("BastionRole")]},
        },
        "BastionSecurityGroup": {
            "Type": "AWS::EC2::SecurityGroup",
            "Properties": {
                "GroupDescription": f"{name}: no ingress (Session Manager only); HTTPS out",
                "VpcId": cfn.ref("VpcId"),
                "SecurityGroupEgress": [
                    {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
                     "DestinationSecurityGroupId": cfn.ref("ClusterSecurityGroupId"),
                     "Description": "the EKS API endpoint"},
                    {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0",
                     "Description": "SSM, EKS and STS APIs and the pinned tool downloads, through the VPC's NAT or endpoints"},
                ],
                "Tags": cfn.tags(COMPONENT) + [{"Key": "Name", "Value": name}],
            },
        },
        "ClusterIngressFromBastion": {
            "Type": "AWS::EC2::SecurityGroupIngress",
            "Properties": {
                "GroupId": cfn.ref("ClusterSecurityGroupId"),
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "SourceSecurityGroupId": cfn.get_att("BastionSecurityGroup", "GroupId"),
                "Description": f"kubectl and helm from {name}",
            },
        },
        "BastionLaunchTemplate": {
            "Type": "AWS::EC2::LaunchTemplate",
            "Properties": {
                "LaunchTemplateName": name,
                "LaunchTemplateData": {
                    "MetadataOptions": {
                        "HttpEndpoint": "enabled",
                        "HttpTokens": "required",
                        "HttpPutResponseHopLimit": 1,
                        "InstanceMetadataTags": "disabled",
                    },
                },
            },
        },
        naming.BASTION_INSTANCE_ID: {
            "Type": "AWS::EC2::Instance",
            "Properties": {
                "ImageId": cfn.ref("AmiId"),
                "InstanceType": cfn.ref("InstanceType"),
                "IamInstanceProfile": cfn.ref("BastionInstanceProfile"),
                "LaunchTemplate": {
                    "LaunchTemplateId": cfn.ref("BastionLaunchTemplate"),
                    "Version": cfn.get_att("BastionLaunchTemplate", "LatestVersionNumber"),
                },
                "NetworkInterfaces": [{
                    "DeviceIndex": "0",
                    "SubnetId": cfn.ref("SubnetId"),
                    "GroupSet": [cfn.get_att("BastionSecurityGroup", "GroupId")],
                    "AssociatePublicIpAddress": False,
                    "DeleteOnTermination": True,
                }],
                "BlockDeviceMappings": [{
                    "DeviceName": "/dev/xvda",
                    "Ebs": {"VolumeSize": chosen["rootVolumeSize"], "VolumeType": "gp3", "Encrypted": True,
                            "DeleteOnTermination": True},
                }],
                "UserData": {"Fn::Base64": user_data(env, chosen, arch)},
                "Tags": cfn.tags(COMPONENT) + [{"Key": "Name", "Value": name}],
            },
        },
        "BastionAccessEntry": {
            "Type": "AWS::EKS::AccessEntry",
            "Properties": {
                "ClusterName": env.cluster["name"],
                "PrincipalArn": cfn.get_att("BastionRole", "Arn"),
                "Type": "STANDARD",
                "AccessPolicies": [{
                    "PolicyArn": cfn.sub(f"arn:${{AWS::Partition}}:eks::aws:cluster-access-policy/{chosen['accessPolicy']}"),
                    "AccessScope": {"Type": "cluster"},
                }],
                "Tags": cfn.tags(COMPONENT),
            },
        },
    }
    outputs = {
        "BastionInstanceId": {"Description": "Start a shell: aws ssm start-session --target <this id>",
                              "Value": cfn.ref(naming.BASTION_INSTANCE_ID)},
        "BastionRoleArn": {"Description": "The role the access entry maps into the cluster",
                           "Value": cfn.get_att("BastionRole", "Arn")},
    }
    return cfn.template(env, STEM, "SSM-only bastion with kubectl, helm and AWS CLI v2", parameters, resources, outputs)


def render(env: Environment) -> list[Artifact]:
    chosen = settings(env)
    check(env, chosen)
    found = network(env)
    arch = architecture(chosen["instanceType"])
    values = {
        "AmiId": chosen["amiId"] or chosen["amiParameter"] or AMI_PARAMETERS[arch],
        "InstanceType": chosen["instanceType"],
        "VpcId": found["vpcId"],
        "SubnetId": found["subnetIds"][0],
        "ClusterSecurityGroupId": found["clusterSecurityGroupId"],
    }
    return cfn.artifacts(env, STEM, template(env, chosen, arch), values) + readme.render_if_owner(env, COMPONENT)
