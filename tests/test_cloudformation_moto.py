"""The rendered templates as stacks in a running CloudFormation endpoint (moto in server mode).

moto's CloudFormation implements AWS::IAM::Role, AWS::IAM::InstanceProfile, AWS::EC2::SecurityGroup,
AWS::EC2::SecurityGroupIngress, AWS::EC2::LaunchTemplate and AWS::EC2::Instance, but not
AWS::SecretsManager::Secret or AWS::EKS::AccessEntry. So: irsa-roles.yaml is created as it is;
bastion.yaml is created with the access entry removed (its properties are checked in
test_cloudformation_templates.py); the secrets of secrets.yaml are created through the Secrets
Manager API from the template's own properties. The real AWS CLI's `cloudformation deploy` reads
the rendered parameters file. moto also ignores an instance's NetworkInterfaces GroupSet and
AssociatePublicIpAddress and a role's ManagedPolicyArns, and returns a CloudFormation-created
inline policy as a Python repr; those are checked on the template instead.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
from pathlib import Path

import boto3
import pytest

from generator import naming
from generator.components.aws_secrets import logical_id
from generator.cli import main
from generator.environment import load_environment
from aws_support import (  # noqa: F401
    ACCOUNT, _resolve, aws, create_key_like_the_template, create_secrets_like_the_template, create_stack, load_template,
    make_cluster, moto_endpoint, parameters,
)

# moto warns about each resource type its CloudFormation lacks; the tests account for them.
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse:UserWarning")

# moto also lacks AWS Backup's CloudFormation types and its BackupSelection API: backups.yaml is
# checked on the template (cfn-lint and test_cloudformation_templates.py).
UNSUPPORTED_BY_MOTO = {"AWS::SecretsManager::Secret", "AWS::EKS::AccessEntry", "AWS::Backup::BackupPlan",
                       "AWS::Backup::BackupSelection", "AWS::Backup::BackupVault"}


@pytest.fixture
def rendered(scratch_repo: Path) -> Path:
    assert main(["render", "--root", str(scratch_repo)]) == 0
    return scratch_repo / "rendered"


def test_moto_lacks_exactly_the_resource_types_these_tests_work_around(rendered):
    from moto.cloudformation.parsing import get_model_map

    types = {r["Type"] for path in rendered.glob("*/cloudformation/*.yaml") for r in load_template(path)["Resources"].values()}
    assert types - set(get_model_map()) == UNSUPPORTED_BY_MOTO


@pytest.mark.parametrize("name, region", [("dev", "us-east-1"), ("prod", "eu-west-1")])
def test_irsa_roles_stack(rendered, aws, name, region):  # noqa: F811
    folder = rendered / name / "cloudformation"
    template = load_template(folder / "irsa-roles.yaml")
    stack = create_stack(f"litellm-{name}-irsa-roles", template, parameters(folder / "irsa-roles.parameters.json"), region)
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    iam = boto3.client("iam", region_name=region)
    env = load_environment(rendered.parent / "environments", name)
    host = env.cluster["oidcIssuer"].removeprefix("https://")
    for workload in (naming.BEDROCK, naming.EXTERNAL_SECRETS):
        role = iam.get_role(RoleName=naming.role_name(env, workload))["Role"]
        assert outputs[f"{workload.logical_id}Arn"] == role["Arn"] == naming.role_arn(env, workload).replace(env.account_id, ACCOUNT)
        [statement] = role["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Principal"]["Federated"] == f"arn:aws:iam::{ACCOUNT}:oidc-provider/{host}"
        assert statement["Condition"]["StringEquals"][f"{host}:sub"] == \
            f"system:serviceaccount:{workload.namespace}:{workload.service_account}"
        [policy] = iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"]
        document = iam.get_role_policy(RoleName=role["RoleName"], PolicyName=policy)["PolicyDocument"]
        if isinstance(document, str):  # moto keeps a CloudFormation inline policy as a Python repr
            document = ast.literal_eval(document)
        resources = [r for s in document["Statement"] for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])]
        assert resources and all(f":{ACCOUNT}:" in r or "::foundation-model/" in r for r in resources)
        if workload is naming.EXTERNAL_SECRETS:
            assert f"arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:{env.secret_name('saltKey')}-??????" in resources


def test_bastion_stack_without_the_access_entry(rendered, aws):  # noqa: F811
    region = "eu-west-1"
    cluster = make_cluster(region, "llm-prod")
    folder = rendered / "prod" / "cloudformation"
    template = load_template(folder / "bastion.yaml")
    removed = {k for k, r in template["Resources"].items() if r["Type"] in UNSUPPORTED_BY_MOTO}
    assert removed == {"BastionAccessEntry"}
    for key in removed:
        del template["Resources"][key]
    ec2 = boto3.client("ec2", region_name=region)
    ami = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    values = parameters(folder / "bastion.parameters.json") | {
        "AmiId": ami, "VpcId": cluster["vpc"], "SubnetId": cluster["private_b"], "ClusterSecurityGroupId": cluster["cluster_sg"]}
    stack = create_stack("litellm-prod-bastion", template, values, region)
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}

    [instance] = [i for r in ec2.describe_instances(InstanceIds=[outputs["BastionInstanceId"]])["Reservations"] for i in r["Instances"]]
    assert instance["ImageId"] == ami and instance["InstanceType"] == "t3.small"
    assert "KeyName" not in instance
    assert instance["IamInstanceProfile"]["Arn"].endswith(":instance-profile/prod-bastion-profile")
    profile = boto3.client("iam").get_instance_profile(InstanceProfileName="prod-bastion-profile")["InstanceProfile"]
    assert [r["RoleName"] for r in profile["Roles"]] == ["prod-bastion-ssm-role"]
    # (moto's AWS::IAM::Role ignores ManagedPolicyArns: AmazonSSMManagedInstanceCore is checked on the template.)

    [launch_template] = ec2.describe_launch_templates(LaunchTemplateNames=["prod-bastion"])["LaunchTemplates"]
    [version] = ec2.describe_launch_template_versions(LaunchTemplateId=launch_template["LaunchTemplateId"])["LaunchTemplateVersions"]
    assert version["LaunchTemplateData"]["MetadataOptions"]["HttpTokens"] == "required"

    [bastion_sg] = ec2.describe_security_groups(Filters=[{"Name": "tag:Name", "Values": ["prod-bastion"]}])["SecurityGroups"]
    assert bastion_sg["IpPermissions"] == [] and bastion_sg["VpcId"] == cluster["vpc"]
    cluster_sg = ec2.describe_security_groups(GroupIds=[cluster["cluster_sg"]])["SecurityGroups"][0]
    assert any(p["FromPort"] == 443 and [g["GroupId"] for g in p["UserIdGroupPairs"]] == [bastion_sg["GroupId"]]
               for p in cluster_sg["IpPermissions"])


def test_secrets_from_the_template(rendered, aws):  # noqa: F811
    region = "us-east-1"
    folder = rendered / "dev" / "cloudformation"
    template = load_template(folder / "secrets.yaml")
    key_arn = create_key_like_the_template(template, region)
    names = create_secrets_like_the_template(template, region, key_arn)
    env = load_environment(rendered.parent / "environments", "dev")
    assert sorted(names) == sorted(env.secret_name(k) for k in env.config["secrets"]["names"])
    sm = boto3.client("secretsmanager", region_name=region)
    for key in env.config["secrets"]["names"]:
        described = sm.describe_secret(SecretId=env.secret_name(key))
        if key == "databaseUrl":
            assert not described.get("VersionIdsToStages")  # created without a value
        else:
            value = sm.get_secret_value(SecretId=env.secret_name(key))["SecretString"]  # moto's, not a real secret
            assert value.isalnum() and len(value) >= 32


def test_salt_and_master_keys_under_the_stacks_key_replicated_to_the_replica_region(rendered, aws):  # noqa: F811
    """prod: the stack's multi-Region key (moto's CloudFormation creates it), its replica made as the
    disaster-recovery runbook makes it (kms replicate-key with the same policy), then the secrets:
    the salt and master keys are encrypted with the key and InSync in the replica region under the
    key's replica there; the other secrets keep Secrets Manager's key and stay in one region."""
    region, replica = "eu-west-1", "eu-central-1"
    folder = rendered / "prod" / "cloudformation"
    template = load_template(folder / "secrets.yaml")
    key_arn = create_key_like_the_template(template, region)
    kms = boto3.client("kms", region_name=region)
    metadata = kms.describe_key(KeyId=key_arn)["KeyMetadata"]
    assert metadata["MultiRegion"] and metadata["KeyManager"] == "CUSTOMER"
    assert kms.get_key_rotation_status(KeyId=key_arn)["KeyRotationEnabled"]
    policy = template["Resources"]["SecretsKey"]["Properties"]["KeyPolicy"]
    # (moto finds the key by id only; AWS takes the ARN too)
    made = kms.replicate_key(KeyId=key_arn.rsplit("/", 1)[1], ReplicaRegion=replica,
                             Policy=json.dumps(policy))["ReplicaKeyMetadata"]["Arn"]
    create_secrets_like_the_template(template, region, key_arn)
    env = load_environment(rendered.parent / "environments", "prod")
    sm = boto3.client("secretsmanager", region_name=region)
    for key in env.config["secrets"]["names"]:
        described = sm.describe_secret(SecretId=env.secret_name(key))
        if key in ("saltKey", "masterKey"):
            assert described["KmsKeyId"] == key_arn
            [status] = described["ReplicationStatus"]
            assert status["Region"] == replica and status["Status"] == "InSync"
            # moto reports every replica under alias/aws/secretsmanager: the template's replica key is
            # checked to be the replica the runbook made, which exists in that region as a REPLICA.
            [wanted] = template["Resources"][logical_id(key)]["Properties"]["ReplicaRegions"]
            assert (wanted["Region"], _resolve(wanted["KmsKeyId"], key_arn)) == (replica, made)
            replica_key = boto3.client("kms", region_name=replica).describe_key(KeyId=made)
            assert replica_key["KeyMetadata"]["MultiRegionConfiguration"]["MultiRegionKeyType"] == "REPLICA"
        else:
            assert "KmsKeyId" not in described and not described.get("ReplicationStatus"), key
    # Only the roles that need it may decrypt: External Secrets and the environment's key users.
    [decrypt] = [s for s in policy["Statement"] if "kms:Decrypt" in s["Action"]]
    assert decrypt["Principal"]["AWS"] == [f"arn:aws:iam::{env.account_id}:role/prod-external-secrets-role",
                                           *env.config["secrets"]["kmsKeyUsers"]]
    assert not [s for s in policy["Statement"] if s is not decrypt and
                {"kms:Decrypt", "kms:*", "kms:CreateGrant", "kms:ReEncrypt*"} & set(s["Action"])]


@pytest.mark.skipif(shutil.which("aws") is None, reason="the AWS CLI is not installed")
def test_aws_cli_deploy_reads_the_parameters_file(rendered, aws):  # noqa: F811
    folder = rendered / "dev" / "cloudformation"
    command = ["aws", "cloudformation", "deploy", "--region", "us-east-1", "--stack-name", "litellm-dev-irsa-roles",
               "--template-file", str(folder / "irsa-roles.yaml"),
               "--parameter-overrides", f"file://{folder / 'irsa-roles.parameters.json'}",
               "--capabilities", "CAPABILITY_NAMED_IAM", "--no-fail-on-empty-changeset"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=dict(os.environ))
    assert result.returncode == 0, result.stderr
    cf = boto3.client("cloudformation", region_name="us-east-1")
    stack = cf.describe_stacks(StackName="litellm-dev-irsa-roles")["Stacks"][0]
    assert {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]} == {"EnvironmentName": "dev"}
