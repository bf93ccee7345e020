"""The rendered CloudFormation: cfn-lint clean under the project's linter policy
(generator.validate.cfn: errors and warnings fail, informational rules are notes) for every
environment and for variants of them, and the properties the issue asks for: IRSA trust
and least privilege, retained generated secrets with no value anywhere, the SSM-only bastion,
the skip rules, parameters files and the README."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from generator import naming
from generator.components import aws_secrets
from generator.environment import environment_names, load_environment
from generator.errors import InputError
from generator.render import render_environment
from generator.validate.cfn import check_template
from generator.validate.problems import Report
from generator.yamlio import load_plain
from aws_support import edit_environment

REPO = Path(__file__).resolve().parent.parent
NETWORK = {"vpcId": "vpc-0123456789abcdef0", "subnetIds": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
           "clusterSecurityGroupId": "sg-0123456789abcdef0"}
KMS = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def render(root: Path, name: str) -> dict[str, str]:
    return render_environment(load_environment(root / "environments", name)).files


def template(files: dict[str, str], stem: str) -> dict[str, Any]:
    return load_plain(files[f"cloudformation/{stem}.yaml"])


def lint_findings(text: str, region: str) -> list[str]:
    """What would fail `validate`: the same call and policy (generator.validate.cfn.check_template)."""
    return [p.message for p in check_template("template.yaml", text, region) if p.fails]


def dev_with_everything(doc: Any) -> None:
    """dev with the bastion (unpinned, Graviton), a KMS key and an extra secret name."""
    doc["cluster"]["authenticationMode"] = "API_AND_CONFIG_MAP"
    doc["cluster"]["network"] = NETWORK
    doc["secrets"]["kmsKeyArn"] = KMS
    doc["components"]["bastion"] = {"state": "enabled", "instanceType": "t4g.small", "rootVolumeSize": 30,
                                    "accessPolicy": "AmazonEKSAdminViewPolicy"}


@pytest.fixture
def variant(scratch_repo: Path) -> dict[str, str]:
    edit_environment(scratch_repo, "dev", dev_with_everything)
    return render(scratch_repo, "dev")


# --- cfn-lint ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", environment_names(REPO / "environments"))
def test_every_rendered_template_is_cfn_lint_clean(name):
    env = load_environment(REPO / "environments", name)
    files = render_environment(env).files
    templates = [p for p in files if p.startswith("cloudformation/") and p.endswith(".yaml")]
    assert templates
    for path in templates:
        assert lint_findings(files[path], env.region) == [], path


def test_variant_templates_are_cfn_lint_clean(variant):
    for stem in ("irsa-roles", "secrets", "bastion"):
        assert lint_findings(variant[f"cloudformation/{stem}.yaml"], "us-east-1") == [], stem


def test_cfn_lint_would_catch_a_broken_template(variant):
    broken = variant["cloudformation/bastion.yaml"].replace("HttpTokens: required", "HttpTokens: sometimes")
    assert any(f.startswith("E3030") for f in lint_findings(broken, "us-east-1"))


def test_informational_rules_are_reported_but_do_not_fail():
    """A stateful resource without deletion policies trips informational rule I3011: a note, not a failure."""
    table = ("Resources:\n  Table:\n    Type: AWS::DynamoDB::Table\n    Properties:\n"
             "      KeySchema: [{AttributeName: id, KeyType: HASH}]\n"
             "      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]\n      BillingMode: PAY_PER_REQUEST\n")
    problems = check_template("table.yaml", table, "us-east-1")
    assert problems and {p.severity for p in problems} == {"note"}
    assert all(p.message.startswith("I3011") for p in problems)
    report = Report(problems=problems)
    assert report.ok and "note: table.yaml" in report.text() and "2 note(s)" in report.summary()


# --- IRSA roles --------------------------------------------------------------------------------

def test_irsa_roles_trust_exactly_one_service_account_each():
    env = load_environment(REPO / "environments", "prod")
    doc = template(render_environment(env).files, "irsa-roles")
    host = env.cluster["oidcIssuer"].removeprefix("https://")
    for workload in (naming.BEDROCK, naming.EXTERNAL_SECRETS):
        role = doc["Resources"][workload.logical_id]["Properties"]
        assert role["RoleName"] == naming.role_name(env, workload)
        [statement] = role["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
        assert statement["Principal"]["Federated"]["Fn::Sub"].endswith(f":oidc-provider/{host}")
        assert statement["Condition"] == {"StringEquals": {
            f"{host}:sub": f"system:serviceaccount:{workload.namespace}:{workload.service_account}",
            f"{host}:aud": "sts.amazonaws.com"}}


def statements(doc: dict, logical_id: str) -> list[dict]:
    [policy] = doc["Resources"][logical_id]["Properties"]["Policies"]
    return policy["PolicyDocument"]["Statement"]


def arns(statement: dict) -> list[str]:
    resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
    return [r["Fn::Sub"] if isinstance(r, dict) else r for r in resources]


def test_bedrock_policy_names_profiles_their_foundation_models_and_plain_models():
    env = load_environment(REPO / "environments", "prod")
    doc = template(render_environment(env).files, "irsa-roles")
    by_sid = {s["Sid"]: s for s in statements(doc, naming.BEDROCK.logical_id)}
    for s in by_sid.values():
        assert s["Action"] == ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]
    profiles = arns(by_sid["InvokeThroughInferenceProfiles"])
    assert "arn:${AWS::Partition}:bedrock:${AWS::Region}:${AWS::AccountId}:inference-profile/eu.anthropic.claude-sonnet-4-20250514-v1:0" in profiles
    routed = by_sid["FoundationModelsBehindTheProfiles"]
    assert "arn:${AWS::Partition}:bedrock:eu-*::foundation-model/anthropic.claude-sonnet-4-20250514-v1:0" in arns(routed)
    assert [p["Fn::Sub"] for p in routed["Condition"]["StringEquals"]["bedrock:InferenceProfileArn"]] == profiles
    assert arns(by_sid["InvokeFoundationModelsInRegion"]) == [
        "arn:${AWS::Partition}:bedrock:${AWS::Region}::foundation-model/amazon.titan-embed-text-v2:0"]
    every = [a for s in by_sid.values() for a in arns(s)]
    assert len(every) == len(profiles) * 2 + 1 and not any(a.endswith("/*") or a == "*" for a in every)


def test_a_profile_from_another_geography_is_bad_input(scratch_repo):
    def us_profile_in_eu(doc):
        doc["components"]["litellm"]["models"][0]["model"] = "us.anthropic.claude-sonnet-4-20250514-v1:0"
    edit_environment(scratch_repo, "prod", us_profile_in_eu)
    with pytest.raises(InputError) as error:
        render(scratch_repo, "prod")
    assert "us profile but the environment's region is eu-west-1" in error.value.message
    assert str(error.value.file).endswith("prod/environment.yaml") and error.value.line


def test_secrets_policy_covers_every_secret_name_and_kms_only_via_secrets_manager(variant, scratch_repo):
    env = load_environment(scratch_repo / "environments", "dev")
    doc = template(variant, "irsa-roles")
    read, decrypt = statements(doc, naming.EXTERNAL_SECRETS.logical_id)
    assert read["Action"] == ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    assert arns(read) == [
        f"arn:${{AWS::Partition}}:secretsmanager:${{AWS::Region}}:${{AWS::AccountId}}:secret:{env.secret_name(k)}-??????"
        for k in env.config["secrets"]["names"]]
    assert decrypt["Action"] == "kms:Decrypt" and decrypt["Resource"] == KMS
    assert decrypt["Condition"] == {"StringEquals": {"kms:ViaService": {"Fn::Sub": "secretsmanager.${AWS::Region}.amazonaws.com"}}}
    # Without a key there is no KMS statement.
    plain = template(render(REPO, "dev"), "irsa-roles")
    assert [s["Sid"] for s in statements(plain, naming.EXTERNAL_SECRETS.logical_id)] == ["ReadTheEnvironmentsSecrets"]


# --- secrets -----------------------------------------------------------------------------------

def test_secrets_are_retained_generated_and_never_hold_a_value(variant, scratch_repo):
    env = load_environment(scratch_repo / "environments", "dev")
    doc = template(variant, "secrets")
    keys = list(env.config["secrets"]["names"])
    assert len(doc["Resources"]) == len(keys)
    ids = {s.key: s.logical_id for s in naming.STACK_SECRETS}
    for key in keys:
        logical_id = ids.get(key, key[0].upper() + key[1:] + "Secret")
        secret = doc["Resources"][logical_id]
        assert secret["DeletionPolicy"] == "Retain" and secret["UpdateReplacePolicy"] == "Retain"
        props = secret["Properties"]
        assert props["Name"] == env.secret_name(key)  # a literal name, not an intrinsic function
        assert props["KmsKeyId"] == KMS
        assert "SecretString" not in props
        if key == "databaseUrl":
            assert "GenerateSecretString" not in props
        else:
            generate = props["GenerateSecretString"]
            assert generate["ExcludePunctuation"] is True and generate["IncludeSpace"] is False
            assert generate["PasswordLength"] >= 32
    for path, text in variant.items():
        if path.startswith("cloudformation/") and not path.endswith(".md"):
            assert not re.search(r"(?<!Generate)SecretString", text), path


def test_every_configured_secret_name_gets_a_secret():
    """Names are read from secrets.names, whatever keys it holds (not a fixed list of four)."""
    for name in environment_names(REPO / "environments"):
        env = load_environment(REPO / "environments", name)
        doc = template(render_environment(env).files, "secrets")
        assert {r["Properties"]["Name"] for r in doc["Resources"].values()
                if r["Type"] == "AWS::SecretsManager::Secret"} == {
            env.secret_name(k) for k in env.config["secrets"]["names"]}


# --- bastion -----------------------------------------------------------------------------------

def test_bastion_is_ssm_only(variant):
    doc = template(variant, "bastion")
    res = doc["Resources"]
    instance = res[naming.BASTION_INSTANCE_ID]["Properties"]
    assert "KeyName" not in instance
    [nic] = instance["NetworkInterfaces"]
    assert nic["AssociatePublicIpAddress"] is False and nic["SubnetId"] == {"Ref": "SubnetId"}
    [root] = instance["BlockDeviceMappings"]
    assert root["Ebs"]["Encrypted"] is True and root["Ebs"]["VolumeSize"] == 30
    metadata = res["BastionLaunchTemplate"]["Properties"]["LaunchTemplateData"]["MetadataOptions"]
    assert metadata["HttpTokens"] == "required" and metadata["HttpPutResponseHopLimit"] == 1
    sg = res["BastionSecurityGroup"]["Properties"]
    assert "SecurityGroupIngress" not in sg
    assert {(r["FromPort"], r["ToPort"]) for r in sg["SecurityGroupEgress"]} == {(443, 443)}
    ingress = res["ClusterIngressFromBastion"]["Properties"]
    assert ingress["GroupId"] == {"Ref": "ClusterSecurityGroupId"} and ingress["FromPort"] == 443
    assert ingress["SourceSecurityGroupId"] == {"Fn::GetAtt": ["BastionSecurityGroup", "GroupId"]}
    role = res["BastionRole"]["Properties"]
    assert role["RoleName"] == "dev-bastion-ssm-role"
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}
    assert role["ManagedPolicyArns"] == [{"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"}]
    [inline] = role["Policies"][0]["PolicyDocument"]["Statement"]
    assert all(a.startswith(("eks:Describe", "eks:List")) for a in inline["Action"])
    assert all("cluster/llm-dev" in r["Fn::Sub"] or "/llm-dev/" in r["Fn::Sub"] for r in inline["Resource"])
    assert res["BastionInstanceProfile"]["Properties"]["InstanceProfileName"] == "dev-bastion-profile"
    entry = res["BastionAccessEntry"]["Properties"]
    assert entry["ClusterName"] == "llm-dev" and entry["PrincipalArn"] == {"Fn::GetAtt": ["BastionRole", "Arn"]}
    assert entry["AccessPolicies"] == [{"PolicyArn": {"Fn::Sub": "arn:${AWS::Partition}:eks::aws:cluster-access-policy/AmazonEKSAdminViewPolicy"},
                                        "AccessScope": {"Type": "cluster"}}]


def test_bastion_user_data_pins_tools_and_writes_a_kubeconfig(variant):
    script = template(variant, "bastion")["Resources"][naming.BASTION_INSTANCE_ID]["Properties"]["UserData"]["Fn::Base64"]
    assert script.startswith("#!/bin/bash\n")
    for line in ("KUBECTL_VERSION=1.33.4", "HELM_VERSION=3.17.3", "AWSCLI_VERSION=2.22.35",
                 "aws eks update-kubeconfig --region \"$REGION\" --name \"$CLUSTER\""):
        assert line in script
    assert "linux/arm64/kubectl" in script and "awscli-exe-linux-aarch64" in script  # t4g is Graviton
    assert "sha256sum -c" in script


def test_unpinned_ami_follows_the_ssm_parameter_and_pinned_does_not(variant):
    unpinned = template(variant, "bastion")["Parameters"]["AmiId"]
    assert unpinned["Type"] == "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>"
    assert unpinned["Default"] == "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"
    assert "NOT pinned" in variant["cloudformation/README.md"]
    prod = render(REPO, "prod")
    pinned = template(prod, "bastion")["Parameters"]["AmiId"]
    assert pinned["Type"] == "AWS::EC2::Image::Id" and "Default" not in pinned
    prod_env = load_environment(REPO / "environments", "prod")
    assert f"AmiId={prod_env.component('bastion')['amiId']}" in json.loads(prod["cloudformation/bastion.parameters.json"])


def test_bastion_without_network_is_bad_input_pointing_at_discover(scratch_repo):
    edit_environment(scratch_repo, "prod", lambda doc: doc["cluster"].pop("network"))
    with pytest.raises(InputError) as error:
        render(scratch_repo, "prod")
    assert "cluster.network.vpcId is not known" in error.value.message
    assert "litellm-gitops discover --env prod --write" in error.value.hint
    assert str(error.value.file).endswith("prod/environment.yaml") and error.value.line


def test_bastion_needs_access_entries(scratch_repo):
    edit_environment(scratch_repo, "prod", lambda doc: doc["cluster"].__setitem__("authenticationMode", "CONFIG_MAP"))
    with pytest.raises(InputError) as error:
        render(scratch_repo, "prod")
    assert "authentication mode is CONFIG_MAP" in error.value.message


def test_kubectl_outside_the_version_skew_is_bad_input(scratch_repo):
    edit_environment(scratch_repo, "prod", lambda doc: doc["components"]["bastion"].__setitem__("kubectlVersion", "1.30.2"))
    with pytest.raises(InputError) as error:
        render(scratch_repo, "prod")
    assert "outside the supported skew" in error.value.message


def test_schema_refuses_a_malformed_bastion_setting(scratch_repo):
    edit_environment(scratch_repo, "prod", lambda doc: doc["components"]["bastion"].__setitem__("amiId", "ubuntu-latest"))
    with pytest.raises(InputError) as error:
        load_environment(scratch_repo / "environments", "prod")
    assert "components.bastion.amiId is not valid" in error.value.message


# --- skip rules, parameters, README --------------------------------------------------------------

def test_disabled_or_external_stacks_render_nothing_and_the_readme_says_so(scratch_repo):
    def skip(doc):
        doc["components"]["irsa-roles"] = {"state": "external"}
        doc["components"]["bastion"]["state"] = "disabled"
    edit_environment(scratch_repo, "prod", skip)
    files = render(scratch_repo, "prod")
    cfn = sorted(p for p in files if p.startswith("cloudformation/"))
    assert cfn == ["cloudformation/README.md", "cloudformation/backups.parameters.json", "cloudformation/backups.yaml",
                   "cloudformation/deploy.json", "cloudformation/secrets.parameters.json", "cloudformation/secrets.yaml"]
    assert [s["name"] for s in json.loads(files["cloudformation/deploy.json"])["stacks"]] == [
        "litellm-prod-secrets", "litellm-prod-backups"]
    readme = files["cloudformation/README.md"]
    assert "# litellm-prod-irsa-roles: skipped, components.irsa-roles is external" in readme
    assert "# litellm-prod-bastion: skipped, components.bastion is disabled" in readme
    assert "--stack-name litellm-prod-secrets" in readme


def test_no_cloudformation_folder_when_every_stack_is_skipped(scratch_repo):
    def skip(doc):
        doc["components"]["irsa-roles"] = {"state": "external"}
        doc["components"]["aws-secrets"] = {"state": "external"}
        doc["components"]["storage-class"] = {"state": "external", "name": "gp3"}  # so no backups stack
    edit_environment(scratch_repo, "dev", skip)
    assert not [p for p in render(scratch_repo, "dev") if p.startswith("cloudformation/")]


def test_only_the_backups_stack_left_still_gets_the_readme_and_manifest(scratch_repo):
    def skip(doc):
        doc["components"]["irsa-roles"] = {"state": "external"}
        doc["components"]["aws-secrets"] = {"state": "external"}
    edit_environment(scratch_repo, "dev", skip)
    files = render(scratch_repo, "dev")
    assert [s["name"] for s in json.loads(files["cloudformation/deploy.json"])["stacks"]] == ["litellm-dev-backups"]
    assert "--stack-name litellm-dev-backups" in files["cloudformation/README.md"]


@pytest.mark.parametrize(("name", "daily", "weekly"), [("dev", 7, None), ("prod", 35, 180)])
def test_backups_select_the_classes_tagged_volumes_with_the_environments_retention(name, daily, weekly):
    env = load_environment(REPO / "environments", name)
    files = render_environment(env).files
    doc = template(files, "backups")
    resources = doc["Resources"]
    assert resources["Vault"]["DeletionPolicy"] == "Retain"
    rules = {r["RuleName"]: r for r in resources["Plan"]["Properties"]["BackupPlan"]["BackupPlanRule"]}
    assert rules["daily"]["Lifecycle"] == {"DeleteAfterDays": daily}
    assert (rules["weekly"]["Lifecycle"]["DeleteAfterDays"] if "weekly" in rules else None) == weekly
    selection = resources["Selection"]["Properties"]["BackupSelection"]
    wanted = {(c["ConditionKey"].removeprefix("aws:ResourceTag/"), c["ConditionValue"])
              for c in selection["Conditions"]["StringEquals"]}
    # The very tags the EBS CSI driver puts on each volume of the class (tagSpecification_N).
    sc = load_plain(files["manifests/storage-class/storageclass-gp3-encrypted.yaml"])
    tagged = {tuple(v.split("=", 1)) for k, v in sc["parameters"].items() if k.startswith("tagSpecification_")}
    assert wanted == tagged == {("litellm-gitops/environment", name), ("litellm-gitops/backup", "daily")}
    assert selection["Resources"] == [{"Fn::Sub": "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:volume/*"}]
    assert lint_findings(files["cloudformation/backups.yaml"], env.region) == []


def test_parameters_files_are_key_value_arrays_matching_the_template():
    for name in environment_names(REPO / "environments"):
        env = load_environment(REPO / "environments", name)
        files = render_environment(env).files
        for path in [p for p in files if p.endswith(".parameters.json")]:
            lines = json.loads(files[path])
            assert all(isinstance(line, str) and "=" in line for line in lines)
            values = dict(line.split("=", 1) for line in lines)
            declared = load_plain(files[path.replace(".parameters.json", ".yaml")])["Parameters"]
            assert values["EnvironmentName"] == name == declared["EnvironmentName"]["AllowedValues"][0]
            missing = {k for k, v in declared.items() if "Default" not in v} - set(values)
            assert not missing, (path, missing)


def test_readme_lists_the_deploy_commands_in_order():
    readme = render(REPO, "prod")["cloudformation/README.md"]
    positions = [readme.index(f"--stack-name litellm-prod-{stem}") for stem in ("irsa-roles", "secrets", "bastion")]
    assert positions == sorted(positions)
    assert "--parameter-overrides file://rendered/prod/cloudformation/bastion.parameters.json" in readme
    assert "CAPABILITY_NAMED_IAM" in readme and "API_AND_CONFIG_MAP" in readme
    assert "put-secret-value" in readme and "RDS" in readme


def test_rendering_is_deterministic():
    env = load_environment(REPO / "environments", "prod")
    assert render_environment(env).files == render_environment(env).files


# --- the salt and master keys survive a region (issue 20) --------------------------------------

@pytest.mark.parametrize("name", ["dev", "prod"])
def test_salt_and_master_keys_are_under_the_stacks_own_multi_region_key(name):
    env = load_environment(REPO / "environments", name)
    doc = template(render_environment(env).files, "secrets")
    key = doc["Resources"]["SecretsKey"]
    assert (key["Type"], key["DeletionPolicy"], key["UpdateReplacePolicy"]) == ("AWS::KMS::Key", "Retain", "Retain")
    assert key["Properties"]["MultiRegion"] is True and key["Properties"]["EnableKeyRotation"] is True
    replicas = env.config["secrets"].get("replicaRegions", [])
    assert bool(replicas) == (name == "prod")
    for key_name, secret in ((k, doc["Resources"][aws_secrets.logical_id(k)]) for k in env.config["secrets"]["names"]):
        props = secret["Properties"]
        if key_name in ("saltKey", "masterKey"):
            assert props["KmsKeyId"] == {"Fn::GetAtt": ["SecretsKey", "Arn"]}
            assert [r["Region"] for r in props.get("ReplicaRegions", [])] == replicas
            for replica in props.get("ReplicaRegions", []):
                assert replica["KmsKeyId"] == {
                    "Fn::Sub": f"arn:${{AWS::Partition}}:kms:{replica['Region']}:${{AWS::AccountId}}:key/${{SecretsKey}}"}
        else:
            assert "KmsKeyId" not in props and "ReplicaRegions" not in props, key_name


def test_a_prod_like_environment_without_a_replica_region_is_bad_input(scratch_repo):
    edit_environment(scratch_repo, "prod", lambda d: d["secrets"].pop("replicaRegions"))
    with pytest.raises(InputError) as error:
        render(scratch_repo, "prod")
    assert "prod is prod-like but secrets.replicaRegions is empty" in error.value.message
    assert str(error.value.file).endswith("prod/environment.yaml") and error.value.line
    assert "replicaRegions" in error.value.hint


@pytest.mark.parametrize(("edit", "words"), [
    (lambda s: s.__setitem__("replicaRegions", ["eu-west-1"]), "lists eu-west-1, the environment's own region"),
    (lambda s: s.pop("kmsKeyUsers"), "secrets.kmsKeyUsers is empty"),
    (lambda s: s.__setitem__("kmsKeyArn", KMS.replace("us-east-1", "eu-west-1").replace("111122223333", "444455556666")),
     "single-Region key"),
])
def test_replicas_the_key_cannot_serve_are_bad_input(scratch_repo, edit, words):
    edit_environment(scratch_repo, "prod", lambda d: edit(d["secrets"]))
    with pytest.raises(InputError) as error:
        render(scratch_repo, "prod")
    assert words in error.value.message
    assert str(error.value.file).endswith("prod/environment.yaml")


def test_an_own_multi_region_key_serves_the_replicas_in_their_region(scratch_repo):
    own = "arn:aws:kms:eu-west-1:444455556666:key/mrk-1234abcd12ab34cd56ef1234567890ab"
    edit_environment(scratch_repo, "prod", lambda d: d["secrets"].__setitem__("kmsKeyArn", own))
    doc = template(render(scratch_repo, "prod"), "secrets")
    assert "SecretsKey" not in doc["Resources"]
    salt = doc["Resources"][naming.SALT_KEY.logical_id]["Properties"]
    assert salt["KmsKeyId"] == own
    assert salt["ReplicaRegions"] == [{"Region": "eu-central-1", "KmsKeyId": own.replace("eu-west-1", "eu-central-1")}]
