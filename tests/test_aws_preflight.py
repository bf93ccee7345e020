"""`litellm-gitops preflight` against moto: every check passing, each one failing, and AWS
errors (no credentials, unreachable endpoint, access denied, throttling) reported plainly."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from generator.aws import preflight as preflight_module
from generator.aws.client import plain
from generator.aws.preflight import trust_problem
from generator.cli import main
from generator.environment import load_environment
from generator import naming
from generator.components import aws_secrets
from aws_support import (  # noqa: F401
    ACCOUNT, aws, create_key_like_the_template, create_secrets_like_the_template, create_stack, edit_environment,
    free_port, load_template, make_cluster, moto_endpoint, parameters, run_cli,
)

REGION = "us-east-1"


@pytest.fixture
def tools(monkeypatch):
    monkeypatch.setattr(preflight_module.shutil, "which", lambda tool: f"/usr/local/bin/{tool}")


EBS_ROLE = "ebs-csi-driver"


class Addons:
    """EKS add-ons and Pod Identity associations per cluster, answered like the EKS API. moto
    (5.2) implements neither, so describe_addon, list_pod_identity_associations and
    describe_pod_identity_association are answered here; every other call (IAM) still goes to moto."""

    def __init__(self):
        self.installed: dict[str, dict] = {}
        self.associations: list[dict] = []  # {associationId, namespace, serviceAccount, roleArn}

    def list_associations(self, clusterName: str, namespace: str, serviceAccount: str) -> dict:
        return {"associations": [{k: a[k] for k in ("associationId", "namespace", "serviceAccount")}
                                 for a in self.associations
                                 if (a["namespace"], a["serviceAccount"]) == (namespace, serviceAccount)]}

    def describe_association(self, clusterName: str, associationId: str) -> dict:
        [found] = [a for a in self.associations if a["associationId"] == associationId]
        return {"association": {"clusterName": clusterName, **found}}

    def describe(self, clusterName: str, addonName: str) -> dict:
        if addonName not in self.installed:
            raise plain(ClientError({"Error": {"Code": "ResourceNotFoundException",
                                               "Message": f"No addon: {addonName} found in cluster: {clusterName}"}},
                                    "DescribeAddon"), "eks describe-addon")
        return {"addon": {"addonName": addonName, "clusterName": clusterName, **self.installed[addonName]}}


@pytest.fixture
def addons(monkeypatch):
    from generator.aws.client import Aws
    real = Aws.call
    state = Addons()
    state.installed["aws-ebs-csi-driver"] = {"status": "ACTIVE", "addonVersion": "v1.48.0-eksbuild.1",
                                             "serviceAccountRoleArn": f"arn:aws:iam::{ACCOUNT}:role/{EBS_ROLE}"}
    fake = {"describe_addon": state.describe, "list_pod_identity_associations": state.list_associations,
            "describe_pod_identity_association": state.describe_association}

    def call(self, service, operation, **kwargs):
        if service == "eks" and operation in fake:
            return fake[operation](**kwargs)
        return real(self, service, operation, **kwargs)
    monkeypatch.setattr(Aws, "call", call)
    return state


@pytest.fixture
def dev(scratch_repo: Path, aws: str, tools, addons, monkeypatch) -> Path:  # noqa: F811
    """dev pointed at moto's account; its cluster, OIDC provider, rendered IRSA stack and secrets in moto,
    and the EBS CSI controller's role with AWS's AmazonEBSCSIDriverPolicy (moto loads AWS managed
    policies into an account's IAM when it first serves it, if MOTO_IAM_LOAD_MANAGED_POLICIES says so)."""
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    env = load_environment(scratch_repo / "environments", "dev")
    cluster = make_cluster(REGION, "llm-dev", issuer=env.cluster["oidcIssuer"])
    _ebs_role(EBS_ROLE)
    _nodegroup("workers", cluster, min_size=3)  # dev's cluster.minimumNodes
    edit_environment(scratch_repo, "dev", lambda d: d["aws"].__setitem__("accountId", ACCOUNT))
    assert main(["render", "--env", "dev", "--root", str(scratch_repo)]) == 0
    folder = scratch_repo / "rendered" / "dev" / "cloudformation"
    stack = create_stack("litellm-dev-irsa-roles", load_template(folder / "irsa-roles.yaml"),
                         parameters(folder / "irsa-roles.parameters.json"), REGION)
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    secrets = load_template(folder / "secrets.yaml")
    key_arn = create_key_like_the_template(secrets, REGION)
    create_secrets_like_the_template(secrets, REGION, key_arn)
    database_url = load_environment(scratch_repo / "environments", "dev").secret_name("databaseUrl")
    boto3.client("secretsmanager", region_name=REGION).put_secret_value(SecretId=database_url, SecretString="test-only")
    return scratch_repo


def _nodegroup(name: str, cluster: dict, min_size: int) -> None:
    boto3.client("eks", region_name=REGION).create_nodegroup(
        clusterName="llm-dev", nodegroupName=name, nodeRole=f"arn:aws:iam::{ACCOUNT}:role/nodes",
        subnets=cluster["private"],
        scalingConfig={"minSize": min_size, "maxSize": 6, "desiredSize": max(min_size, 1)})


def _ebs_role(name: str, policy: bool = True) -> str:
    """The EBS CSI controller's role in moto (trust left out: preflight reads only its policies)."""
    iam = boto3.client("iam")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
                                                "Action": ["sts:AssumeRole", "sts:TagSession"]}]}))["Role"]["Arn"]
    if policy:
        iam.attach_role_policy(RoleName=name, PolicyArn="arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy")
    return arn


def preflight(root: Path, capsys, env: str = "dev") -> tuple[int, dict]:
    code = main(["preflight", "--env", env, "--root", str(root), "--json"])
    report = json.loads(capsys.readouterr().out)
    return code, {c["name"]: c for c in report["checks"]}


def test_every_check_passes(dev, capsys):
    code, checks = preflight(dev, capsys)
    assert code == 0, checks
    assert {c["status"] for c in checks.values()} == {"pass"}, [c for c in checks.values() if c["status"] != "pass"]
    expected = {"aws-identity", "cluster", "cluster-oidc-issuer", "oidc-provider", "authentication-mode", "ebs-csi-driver",
                "role:litellm-bedrock-role", "role:external-secrets-role", "tool:aws", "tool:kubectl", "tool:helm",
                "secrets-key", "nodes"}
    names = load_environment(dev / "environments", "dev").config["secrets"]["names"]
    expected |= {f"secret:{key}" for key in names}
    assert set(checks) == expected


def test_table_lists_each_check_and_the_exit_names_failures(dev, capsys):
    boto3.client("secretsmanager", region_name=REGION).delete_secret(SecretId="dev/litellm/salt-key", RecoveryWindowInDays=7)
    code = main(["preflight", "--env", "dev", "--root", str(dev)])
    captured = capsys.readouterr()
    assert code == 1
    assert "CHECK" in captured.out and "STATUS" in captured.out
    assert "secret:saltKey" in captured.out and "scheduled for deletion" in captured.out
    assert "preflight failed: secret:saltKey" in captured.err


def test_wrong_account(dev, capsys):
    edit_environment(dev, "dev", lambda d: d["aws"].__setitem__("accountId", "111122223333"))
    code, checks = preflight(dev, capsys)
    assert code == 1 and checks["aws-identity"]["status"] == "fail"
    assert "credentials are for account 123456789012" in checks["aws-identity"]["detail"]


def test_missing_cluster(dev, capsys):
    edit_environment(dev, "dev", lambda d: d["cluster"].__setitem__("name", "llm-missing"))
    code, checks = preflight(dev, capsys)
    assert code == 1 and checks["cluster"]["status"] == "fail" and "no EKS cluster 'llm-missing'" in checks["cluster"]["detail"]


def test_cluster_not_active(dev, capsys):
    from moto.eks.models import eks_backends
    eks_backends[ACCOUNT][REGION].clusters["llm-dev"].status = "UPDATING"
    code, checks = preflight(dev, capsys)
    assert code == 1 and checks["cluster"]["status"] == "fail" and "UPDATING" in checks["cluster"]["detail"]


def test_issuer_differs(dev, capsys):
    other = "https://oidc.eks.us-east-1.amazonaws.com/id/FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"
    edit_environment(dev, "dev", lambda d: d["cluster"].__setitem__("oidcIssuer", other))
    code, checks = preflight(dev, capsys)
    assert code == 1
    assert checks["cluster-oidc-issuer"]["status"] == "fail" and "discover --env dev --write" in checks["cluster-oidc-issuer"]["detail"]
    assert checks["oidc-provider"]["status"] == "fail"  # IAM has no provider for the issuer the file names


def test_oidc_provider_missing_or_without_sts_audience(dev, capsys):
    iam = boto3.client("iam")
    provider = iam.list_open_id_connect_providers()["OpenIDConnectProviderList"][0]["Arn"]
    url = "https://" + provider.split(":oidc-provider/", 1)[1]
    iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=provider)
    code, checks = preflight(dev, capsys)
    assert code == 1 and checks["oidc-provider"]["status"] == "fail"
    assert "eksctl utils associate-iam-oidc-provider --cluster llm-dev" in checks["oidc-provider"]["detail"]
    iam.create_open_id_connect_provider(Url=url, ClientIDList=["some-other-audience"],
                                        ThumbprintList=["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"])
    code, checks = preflight(dev, capsys)
    assert code == 1 and checks["oidc-provider"]["status"] == "fail"
    assert "does not list client id sts.amazonaws.com" in checks["oidc-provider"]["detail"]


def test_config_map_mode_warns_without_bastion_and_fails_with_it(dev, capsys):
    from moto.eks.models import eks_backends
    eks_backends[ACCOUNT][REGION].clusters["llm-dev"].access_config = {"authenticationMode": "CONFIG_MAP"}
    code, checks = preflight(dev, capsys)
    assert code == 0 and checks["authentication-mode"]["status"] == "warn"

    def bastion_on(doc):
        doc["cluster"]["authenticationMode"] = "API"
        doc["cluster"]["network"] = {"vpcId": "vpc-0123456789abcdef0", "subnetIds": ["subnet-0123456789abcdef0"],
                                     "clusterSecurityGroupId": "sg-0123456789abcdef0"}
        doc["components"]["bastion"]["state"] = "enabled"
    edit_environment(dev, "dev", bastion_on)
    code, checks = preflight(dev, capsys)
    assert code == 1 and checks["authentication-mode"]["status"] == "fail"
    # ...and the network the file names is not the cluster's.
    assert checks["network"]["status"] == "fail" and "vpc-0123456789abcdef0" in checks["network"]["detail"]


def test_network_matches_after_discover(dev, capsys):
    edit_environment(dev, "dev", lambda d: d["components"]["bastion"].__setitem__("state", "enabled"))
    assert main(["discover", "--env", "dev", "--root", str(dev), "--write"]) == 0
    capsys.readouterr()
    code, checks = preflight(dev, capsys)
    assert code == 0 and checks["network"]["status"] == "pass"


def test_secrets_missing_warn_until_external_and_fail_without_a_value(dev, capsys):
    sm = boto3.client("secretsmanager", region_name=REGION)
    sm.delete_secret(SecretId="dev/litellm/master-key", ForceDeleteWithoutRecovery=True)
    code, checks = preflight(dev, capsys)
    assert code == 0 and checks["secret:masterKey"]["status"] == "warn"
    assert "deploy cloudformation/secrets.yaml" in checks["secret:masterKey"]["detail"]

    edit_environment(dev, "dev", lambda d: d["components"].__setitem__("aws-secrets", {"state": "external"}))
    code, checks = preflight(dev, capsys)
    assert code == 1 and checks["secret:masterKey"]["status"] == "fail" and "external" in checks["secret:masterKey"]["detail"]

    sm.create_secret(Name="dev/litellm/master-key")  # exists, but no value
    code, checks = preflight(dev, capsys)
    assert code == 1 and "has no value" in checks["secret:masterKey"]["detail"]


def test_disabled_components_are_skipped(dev, capsys):
    def disable(doc):
        doc["components"]["aws-secrets"] = {"state": "disabled"}
        doc["components"]["irsa-roles"] = {"state": "disabled"}
        doc["components"]["secret-store"] = {"state": "disabled"}
        doc["components"]["external-secrets"] = {"state": "disabled", "acknowledge": "test: nothing to sync here"}
        doc["components"]["redis-ha"] = {"state": "external", "acknowledge": "test: managed elsewhere"}
        doc["components"]["litellm"] = {"state": "external", "acknowledge": "test: managed elsewhere"}
        doc["components"]["open-webui"] = {"state": "external"}
    edit_environment(dev, "dev", disable)
    code, checks = preflight(dev, capsys)
    assert checks["secret:saltKey"]["status"] == "skip" and checks["role:litellm-bedrock-role"]["status"] == "skip"


def test_roles_missing_warn_before_the_stack_and_fail_after_it(dev, capsys):
    cf = boto3.client("cloudformation", region_name=REGION)
    cf.delete_stack(StackName="litellm-dev-irsa-roles")  # phase 3 not deployed yet
    code, checks = preflight(dev, capsys)
    assert code == 0
    for check in ("role:litellm-bedrock-role", "role:external-secrets-role"):
        assert checks[check]["status"] == "warn" and "deploy cloudformation/irsa-roles.yaml" in checks[check]["detail"]

    folder = dev / "rendered" / "dev" / "cloudformation"
    create_stack("litellm-dev-irsa-roles", load_template(folder / "irsa-roles.yaml"),
                 parameters(folder / "irsa-roles.parameters.json"), REGION)
    iam = boto3.client("iam")
    name = naming.role_name(load_environment(dev / "environments", "dev"), naming.BEDROCK)
    for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]:
        iam.delete_role_policy(RoleName=name, PolicyName=policy)
    iam.delete_role(RoleName=name)  # drift: the stack is there, the role is not
    code, checks = preflight(dev, capsys)
    assert code == 1 and checks["role:litellm-bedrock-role"]["status"] == "fail"
    assert "although stack litellm-dev-irsa-roles is deployed" in checks["role:litellm-bedrock-role"]["detail"]
    assert checks["role:external-secrets-role"]["status"] == "pass"


def test_role_trusting_too_much_fails(dev, capsys):
    env = load_environment(dev / "environments", "dev")
    host = env.cluster["oidcIssuer"][8:]
    loose = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{host}"},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringLike": {f"{host}:sub": "system:serviceaccount:litellm:*"}}}]}
    boto3.client("iam").update_assume_role_policy(RoleName="dev-litellm-bedrock-role", PolicyDocument=json.dumps(loose))
    code, checks = preflight(dev, capsys)
    assert code == 1 and checks["role:litellm-bedrock-role"]["status"] == "fail"
    assert "StringLike" in checks["role:litellm-bedrock-role"]["detail"]


def test_trust_problem_names_each_flaw(dev):
    env = load_environment(dev / "environments", "dev")
    host = env.cluster["oidcIssuer"][8:]
    good = {"Statement": [{"Effect": "Allow", "Principal": {"Federated": f"arn:aws:iam::1:oidc-provider/{host}"},
                           "Action": "sts:AssumeRoleWithWebIdentity",
                           "Condition": {"StringEquals": {f"{host}:sub": "system:serviceaccount:litellm:litellm",
                                                          f"{host}:aud": "sts.amazonaws.com"}}}]}
    assert trust_problem(env, naming.BEDROCK, good) is None
    assert "want exactly system:serviceaccount:external-secrets" in trust_problem(env, naming.EXTERNAL_SECRETS, good)
    assert "allows nobody" in trust_problem(env, naming.BEDROCK, {"Statement": []})
    other = json.loads(json.dumps(good).replace(host, "oidc.eks.us-east-1.amazonaws.com/id/OTHER"))
    assert "other than the cluster's OIDC provider" in trust_problem(env, naming.BEDROCK, other)
    no_aud = json.loads(json.dumps(good))
    del no_aud["Statement"][0]["Condition"]["StringEquals"][f"{host}:aud"]
    assert ":aud is not sts.amazonaws.com" in trust_problem(env, naming.BEDROCK, no_aud)
    other_account = f"arn:aws:iam::999999999999:oidc-provider/{host}"
    assert "not the registered provider" in trust_problem(env, naming.BEDROCK, good, other_account)


def test_missing_tools_are_warnings(dev, capsys, monkeypatch):
    monkeypatch.setattr(preflight_module.shutil, "which", lambda tool: None if tool == "helm" else f"/bin/{tool}")
    code, checks = preflight(dev, capsys)
    assert code == 0 and checks["tool:helm"]["status"] == "warn" and checks["tool:kubectl"]["status"] == "pass"


# --- AWS errors, plainly ---------------------------------------------------------------------

def test_no_credentials(scratch_repo, aws, monkeypatch):  # noqa: F811
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    result = run_cli(scratch_repo, "preflight", "--env", "dev")
    assert result.returncode == 1
    assert "no AWS credentials found" in result.stdout
    assert "not run: no usable AWS access (aws-identity failed)" in result.stdout
    assert "preflight failed: aws-identity" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_unknown_profile(scratch_repo, aws, monkeypatch):  # noqa: F811
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    result = run_cli(scratch_repo, "preflight", "--env", "dev")
    assert result.returncode == 1
    assert "AWS profile not found" in result.stdout and "Traceback" not in result.stdout + result.stderr


def test_unknown_environment_is_bad_input(scratch_repo, aws, capsys):  # noqa: F811
    assert main(["preflight", "--env", "staging", "--root", str(scratch_repo)]) == 2
    assert "no environment named 'staging'" in capsys.readouterr().err


def test_unreachable_endpoint(scratch_repo, aws, monkeypatch):  # noqa: F811
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    result = run_cli(scratch_repo, "preflight", "--env", "dev", "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False and report["failed"] == ["aws-identity"]
    assert "cannot reach the AWS endpoint" in report["checks"][0]["detail"]
    assert "Traceback" not in result.stderr


def client_error(code: str, message: str = "no") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "DescribeSecret")


@pytest.mark.parametrize("code, words, fatal", [
    ("AccessDeniedException", "access denied", False),
    ("ThrottlingException", "throttled by AWS", False),
    ("ExpiredTokenException", "invalid or expired", True),
])
def test_client_errors_become_one_sentence(code, words, fatal):
    error = plain(client_error(code, "User: x is not authorized"), "secretsmanager describe-secret")
    assert words in str(error) and str(error).startswith("secretsmanager describe-secret: ")
    assert error.fatal is fatal


def test_access_denied_on_one_call_fails_that_check_only(dev, capsys, monkeypatch):
    from generator.aws.client import Aws
    real = Aws.call

    def deny_describe_secret(self, service, operation, **kwargs):
        if operation == "describe_secret":
            raise plain(client_error("AccessDeniedException", "not authorized to perform DescribeSecret"),
                        "secretsmanager describe-secret")
        return real(self, service, operation, **kwargs)
    monkeypatch.setattr(Aws, "call", deny_describe_secret)
    code, checks = preflight(dev, capsys)
    assert code == 1
    assert all(c["status"] == "fail" and "access denied" in c["detail"] for n, c in checks.items() if n.startswith("secret:"))
    assert checks["role:litellm-bedrock-role"]["status"] == "pass"


def test_preflight_never_reads_a_secret_value(dev, capsys, monkeypatch):
    from generator.aws.client import Aws
    real = Aws.call
    calls = []

    def record(self, service, operation, **kwargs):
        calls.append(operation)
        return real(self, service, operation, **kwargs)
    monkeypatch.setattr(Aws, "call", record)
    preflight(dev, capsys)
    assert "describe_secret" in calls and "get_secret_value" not in calls


def test_the_ebs_csi_add_on_must_be_active_for_the_rendered_class(dev, capsys, addons):
    code, checks = preflight(dev, capsys)
    assert code == 0 and "v1.48.0-eksbuild.1 is ACTIVE" in checks["ebs-csi-driver"]["detail"]
    addons.installed["aws-ebs-csi-driver"] = {"status": "DEGRADED", "addonVersion": "v1.48.0-eksbuild.1",
                                              "health": {"issues": [{"code": "InsufficientNumberOfReplicas",
                                                                     "message": "The add-on is unhealthy"}]}}
    code, checks = preflight(dev, capsys)
    assert code == 1 and checks["ebs-csi-driver"]["status"] == "fail"
    assert "DEGRADED, not ACTIVE: The add-on is unhealthy" in checks["ebs-csi-driver"]["detail"]
    del addons.installed["aws-ebs-csi-driver"]
    code, checks = preflight(dev, capsys)
    assert code == 1 and "aws eks create-addon --cluster-name llm-dev --addon-name aws-ebs-csi-driver" in \
        checks["ebs-csi-driver"]["detail"]


def test_a_missing_driver_only_warns_with_an_existing_class(dev, capsys, addons):
    del addons.installed["aws-ebs-csi-driver"]
    edit_environment(dev, "dev", lambda d: d["components"].__setitem__(
        "storage-class", {"state": "external", "name": "team-class"}))
    code, checks = preflight(dev, capsys)
    assert code == 0 and checks["ebs-csi-driver"]["status"] == "warn"


# -- the salt key's customer-managed key and its replicas (issue 20) ----------------------------

REPLICA_REGION = "eu-central-1"


def _with_replica(root: Path) -> None:
    def edit(doc):
        doc["secrets"]["replicaRegions"] = [REPLICA_REGION]
        doc["secrets"]["kmsKeyUsers"] = [f"arn:aws:iam::{ACCOUNT}:role/litellm-gitops-deploy"]
    edit_environment(root, "dev", edit)


def _replicate(root: Path, *, make_replica_key: bool) -> None:
    """What cloudformation/README.md has the operator do: the key's replica (same policy), then the
    salt and master keys replicated under it."""
    policy = aws_secrets.key_policy(load_environment(root / "environments", "dev"))
    sm = boto3.client("secretsmanager", region_name=REGION)
    key_arn = sm.describe_secret(SecretId="dev/litellm/salt-key")["KmsKeyId"]
    if make_replica_key:
        boto3.client("kms", region_name=REGION).replicate_key(
            KeyId=key_arn.rsplit("/", 1)[1], ReplicaRegion=REPLICA_REGION,
            Policy=json.dumps(policy))
    for name in ("dev/litellm/salt-key", "dev/litellm/master-key"):
        if sm.describe_secret(SecretId=name).get("ReplicationStatus"):  # a failed replica: remove, retry
            sm.remove_regions_from_replication(SecretId=name, RemoveReplicaRegions=[REPLICA_REGION])
        sm.replicate_secret_to_regions(SecretId=name, AddReplicaRegions=[
            {"Region": REPLICA_REGION, "KmsKeyId": key_arn.replace(f":{REGION}:", f":{REPLICA_REGION}:")}])


def test_the_salt_key_is_under_an_enabled_customer_managed_key(dev, capsys):
    code, checks = preflight(dev, capsys)
    assert checks["secrets-key"]["status"] == "pass" and "customer-managed key arn:aws:kms:" in checks["secrets-key"]["detail"]
    key_arn = boto3.client("secretsmanager", region_name=REGION).describe_secret(SecretId="dev/litellm/salt-key")["KmsKeyId"]
    boto3.client("kms", region_name=REGION).schedule_key_deletion(KeyId=key_arn.rsplit("/", 1)[1], PendingWindowInDays=30)
    code, checks = preflight(dev, capsys)
    assert code == 1 and checks["secrets-key"]["status"] == "fail"
    assert "PendingDeletion" in checks["secrets-key"]["detail"] and "cancel-key-deletion" in checks["secrets-key"]["detail"]


def test_a_salt_key_under_the_aws_managed_key_fails(dev, capsys):
    sm = boto3.client("secretsmanager", region_name=REGION)
    sm.delete_secret(SecretId="dev/litellm/salt-key", ForceDeleteWithoutRecovery=True)
    sm.create_secret(Name="dev/litellm/salt-key", SecretString="only-a-test-value")  # no KmsKeyId
    code, checks = preflight(dev, capsys)
    assert code == 1 and checks["secrets-key"]["status"] == "fail"
    assert "AWS managed key" in checks["secrets-key"]["detail"]


def test_replicas_pass_only_under_the_keys_replica_in_that_region(dev, capsys):
    _with_replica(dev)
    code, checks = preflight(dev, capsys)  # not replicated yet
    names = [f"secret-replica:{key}:{REPLICA_REGION}" for key in ("saltKey", "masterKey")]
    assert code == 1 and all(checks[n]["status"] == "fail" and "not replicated" in checks[n]["detail"] for n in names)
    _replicate(dev, make_replica_key=False)  # InSync in moto, but the key has no replica there
    code, checks = preflight(dev, capsys)
    assert code == 1 and all("has no replica in eu-central-1" in checks[n]["detail"] for n in names), checks
    _replicate(dev, make_replica_key=True)
    code, checks = preflight(dev, capsys)
    assert all(checks[n]["status"] == "pass" for n in names), [checks[n] for n in names]
    assert code == 0, [c for c in checks.values() if c["status"] != "pass"]


# -- the EBS CSI controller's AWS identity (issue 20) ---------------------------------------------

def test_an_active_ebs_csi_add_on_without_an_identity_fails(dev, capsys, addons):
    addon = addons.installed["aws-ebs-csi-driver"]
    code, checks = preflight(dev, capsys)
    assert code == 0 and f"IRSA role arn:aws:iam::{ACCOUNT}:role/{EBS_ROLE} has AmazonEBSCSIDriverPolicy" in \
        checks["ebs-csi-driver"]["detail"]
    del addon["serviceAccountRoleArn"]  # ACTIVE, but no role: every claim would stay Pending
    code, checks = preflight(dev, capsys)
    assert code == 1 and checks["ebs-csi-driver"]["status"] == "fail"
    assert "no IAM role and no Pod Identity association for kube-system/ebs-csi-controller-sa" in \
        checks["ebs-csi-driver"]["detail"]


def test_a_pod_identity_association_serves_when_its_role_has_the_ebs_policy(dev, capsys, addons):
    del addons.installed["aws-ebs-csi-driver"]["serviceAccountRoleArn"]
    arn = _ebs_role("ebs-csi-pod-identity", policy=False)
    addons.associations.append({"associationId": "a-0123456789abcdef0", "namespace": "kube-system",
                                "serviceAccount": "ebs-csi-controller-sa", "roleArn": arn})
    code, checks = preflight(dev, capsys)
    assert code == 1 and "has no AmazonEBSCSIDriverPolicy attached: aws iam attach-role-policy --role-name " \
        "ebs-csi-pod-identity" in checks["ebs-csi-driver"]["detail"]
    boto3.client("iam").attach_role_policy(RoleName="ebs-csi-pod-identity",
                                           PolicyArn="arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy")
    code, checks = preflight(dev, capsys)
    assert code == 0 and f"Pod Identity association {arn} has AmazonEBSCSIDriverPolicy" in checks["ebs-csi-driver"]["detail"]


# -- dev's node minimum (issue 20) ----------------------------------------------------------------

def test_node_groups_that_may_shrink_below_the_minimum_fail(dev, capsys):
    code, checks = preflight(dev, capsys)
    assert checks["nodes"]["status"] == "pass" and "keep at least 3 node(s) (needs 3)" in checks["nodes"]["detail"]
    boto3.client("eks", region_name=REGION).update_nodegroup_config(
        clusterName="llm-dev", nodegroupName="workers", scalingConfig={"minSize": 1, "maxSize": 6, "desiredSize": 3})
    code, checks = preflight(dev, capsys)
    assert code == 1 and checks["nodes"]["status"] == "fail"
    assert "may scale down to 1 node(s) (workers minSize 1); the stack needs 3" in checks["nodes"]["detail"]
