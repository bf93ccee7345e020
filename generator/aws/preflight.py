"""Phase 1, prerequisites: the checks `litellm-gitops preflight` runs against AWS and the local
machine before anything is deployed. Read-only: DescribeSecret and KMS DescribeKey, never GetSecretValue.

Missing roles and secrets: preflight runs first, before the phase 3 and 4 stacks exist, so a role
or secret that is missing while its component is enabled (this repository will create it) is a
warning, unless its CloudFormation stack is already deployed (then it is drift: a failure). When
the component is `external` it must already exist: missing is a failure. A role or secret that
exists but is wrong (trust, scheduled deletion, no value) always fails. An environment managed
from a hub (generator.fleet) also checks its endpoint and CA against EKS, and the role the hub
assumes: trusted by hub.argocdRoleArn alone, no permission (moto has no EKS access entries, so the
access entry is left to CloudFormation).
"""

from __future__ import annotations

import json
import shutil
import urllib.parse
from dataclasses import asdict, dataclass
from typing import Any, Callable

from generator import fleet, naming
from generator.aws import iam
from generator.aws.client import Aws, AwsError
from generator.aws.discover import find_oidc_provider
from generator.components import aws_secrets, storage_class
from generator.environment import Environment
from generator.phases import BY_NAME

PASS, WARN, FAIL, SKIP = "pass", "warn", "fail", "skip"
EBS_CSI_SERVICE_ACCOUNT = ("kube-system", "ebs-csi-controller-sa")  # the add-on's controller
EBS_CSI_POLICY = "AmazonEBSCSIDriverPolicy"
ACCESS_ENTRY_MODES = ("API", "API_AND_CONFIG_MAP")
TOOLS = ("aws", "kubectl", "helm")
LIVE_STACK = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE",
              "UPDATE_IN_PROGRESS", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "IMPORT_ROLLBACK_COMPLETE")


@dataclass
class Check:
    name: str
    status: str
    detail: str


class Preflight:
    """Runs every check once; a fatal AWS error (no credentials, unreachable endpoint) skips the
    AWS checks after it instead of repeating the same failure."""

    def __init__(self, env: Environment, aws: Aws):
        self.env = env
        self.aws = aws
        self.checks: list[Check] = []
        self.fatal: str | None = None
        self.cluster: dict[str, Any] | None = None
        self.provider_arn: str | None = None
        self.regional: dict[str, Aws] = {}  # clients for the replica regions

    # -- plumbing ----------------------------------------------------------------------------
    def add(self, name: str, status: str, detail: str) -> None:
        self.checks.append(Check(name, status, detail))

    def run_aws(self, name: str, check: Callable[[], tuple[str, str]]) -> None:
        if self.fatal:
            self.add(name, SKIP, f"not run: {self.fatal}")
            return
        try:
            status, detail = check()
        except AwsError as exc:
            if exc.fatal:
                self.fatal = f"no usable AWS access ({name} failed)"
            status, detail = FAIL, str(exc)
        self.add(name, status, detail)

    def call(self, service: str, operation: str, **kwargs: Any) -> dict[str, Any]:
        return self.aws.call(service, operation, **kwargs)

    def stack_live(self, stem: str) -> bool:
        try:
            stacks = self.call("cloudformation", "describe_stacks", StackName=naming.stack_name(self.env, stem))["Stacks"]
        except AwsError as exc:
            if exc.code == "ValidationError":  # "Stack with id ... does not exist"
                return False
            raise
        return any(s.get("StackStatus") in LIVE_STACK for s in stacks)

    def missing(self, what: str, component: str, stem: str) -> tuple[str, str]:
        """The verdict on a role or secret that does not exist (see the module docstring)."""
        if self.env.state(component) == "external":
            return FAIL, f"{what} does not exist, and {component} is external (it must exist already)"
        if self.stack_live(stem):
            return FAIL, f"{what} does not exist although stack {naming.stack_name(self.env, stem)} is deployed"
        return WARN, f"{what} does not exist yet: deploy cloudformation/{stem}.yaml (phase {BY_NAME[component].phase})"

    # -- the checks --------------------------------------------------------------------------
    def identity(self) -> tuple[str, str]:
        who = self.call("sts", "get_caller_identity")
        if who.get("Account") != self.env.account_id:
            return FAIL, (f"credentials are for account {who.get('Account')}, the environment is account "
                          f"{self.env.account_id}; switch AWS_PROFILE")
        return PASS, f"account {who['Account']} as {who.get('Arn', '?')}"

    def cluster_active(self) -> tuple[str, str]:
        name = self.env.cluster["name"]
        try:
            self.cluster = self.call("eks", "describe_cluster", name=name)["cluster"]
        except AwsError as exc:
            if exc.code == "ResourceNotFoundException":
                return FAIL, f"no EKS cluster {name!r} in {self.env.region}; check cluster.name and aws.region"
            raise
        status = self.cluster.get("status", "UNKNOWN")
        if status != "ACTIVE":
            return FAIL, f"cluster {name} is {status}, not ACTIVE"
        return PASS, f"{name} is ACTIVE (Kubernetes {self.cluster.get('version', '?')})"

    def oidc_issuer(self) -> tuple[str, str]:
        if self.cluster is None:
            return SKIP, "no cluster"
        actual = self.cluster.get("identity", {}).get("oidc", {}).get("issuer")
        expected = self.env.cluster["oidcIssuer"]
        if actual != expected:
            return FAIL, (f"the cluster's issuer is {actual or 'none'}, the environment says {expected}; "
                          f"run `litellm-gitops discover --env {self.env.name} --write`")
        return PASS, actual

    def oidc_provider(self) -> tuple[str, str]:
        issuer = self.env.cluster["oidcIssuer"]
        self.provider_arn = find_oidc_provider(self.aws, issuer)
        if not self.provider_arn:
            return FAIL, (f"IAM has no OIDC provider for {issuer}; create it: eksctl utils associate-iam-oidc-provider "
                          f"--cluster {self.env.cluster['name']} --region {self.env.region} --approve")
        provider = self.call("iam", "get_open_id_connect_provider", OpenIDConnectProviderArn=self.provider_arn)
        if iam.STS_AUDIENCE not in provider.get("ClientIDList", []):
            return FAIL, f"{self.provider_arn} does not list client id {iam.STS_AUDIENCE}; add it (add-client-id-to-open-id-connect-provider)"
        return PASS, self.provider_arn

    def authentication_mode(self) -> tuple[str, str]:
        if self.cluster is None:
            return SKIP, "no cluster"
        mode = self.cluster.get("accessConfig", {}).get("authenticationMode", "CONFIG_MAP")
        if mode in ACCESS_ENTRY_MODES:
            return PASS, f"{mode} allows access entries"
        detail = (f"{mode} does not allow access entries; switch it: aws eks update-cluster-config --name "
                  f"{self.env.cluster['name']} --access-config authenticationMode=API_AND_CONFIG_MAP")
        return (FAIL, detail + " (the bastion needs it)") if self.env.enabled("bastion") else (WARN, detail)

    def network(self) -> tuple[str, str]:
        if self.cluster is None:
            return SKIP, "no cluster"
        vpc = self.cluster.get("resourcesVpcConfig", {})
        configured = self.env.cluster.get("network") or {}
        problems = []
        if vpc.get("vpcId") and configured.get("vpcId") != vpc.get("vpcId"):
            problems.append(f"VPC is {vpc.get('vpcId')}, the environment says {configured.get('vpcId')}")
        if vpc.get("clusterSecurityGroupId") and configured.get("clusterSecurityGroupId") != vpc.get("clusterSecurityGroupId"):
            problems.append(f"cluster security group is {vpc.get('clusterSecurityGroupId')}, the environment says "
                            f"{configured.get('clusterSecurityGroupId')}")
        stray = [s for s in configured.get("subnetIds", []) if s not in vpc.get("subnetIds", [])]
        if stray:
            problems.append(f"subnets {', '.join(stray)} are not the cluster's")
        if problems:
            return FAIL, "; ".join(problems) + f"; run `litellm-gitops discover --env {self.env.name} --write`"
        return PASS, f"VPC {configured.get('vpcId')}, bastion subnet {configured.get('subnetIds', ['?'])[0]}"

    def ebs_csi_driver(self) -> tuple[str, str]:
        """The EKS add-on behind the stack's StorageClass provisioner (ebs.csi.aws.com) is ACTIVE.
        Without it every claim stays Pending, and with them Redis (wave 12) and all after it."""
        cluster, addon = self.env.cluster["name"], storage_class.EBS_CSI_ADDON
        # An existing class (external) may use another provisioner: then a missing driver only warns.
        missing = FAIL if self.env.enabled("storage-class") else WARN
        try:
            found = self.call("eks", "describe_addon", clusterName=cluster, addonName=addon)["addon"]
        except AwsError as exc:
            if exc.code != "ResourceNotFoundException":
                raise
            return missing, (f"the {addon} add-on is not installed on {cluster}; install it: aws eks create-addon "
                             f"--cluster-name {cluster} --addon-name {addon} --service-account-role-arn <role with "
                             "AmazonEBSCSIDriverPolicy> (or an EKS Pod Identity association)")
        status = found.get("status", "UNKNOWN")
        if status != "ACTIVE":
            issues = "; ".join(i.get("message", "") for i in (found.get("health") or {}).get("issues") or [])
            return missing, f"the {addon} add-on is {status}, not ACTIVE" + (f": {issues}" if issues else "")
        verdict, identity = self.ebs_csi_identity(found)
        if verdict != PASS:
            return (missing if verdict == FAIL else verdict), identity
        return PASS, f"{addon} {found.get('addonVersion', '?')} is ACTIVE; {identity}"

    def ebs_csi_identity(self, addon: dict[str, Any]) -> tuple[str, str]:
        """The controller creates volumes with AWS credentials: an IRSA role on the add-on
        (serviceAccountRoleArn) or an EKS Pod Identity association for its service account, with
        AmazonEBSCSIDriverPolicy. An ACTIVE add-on without either leaves every claim Pending
        ("UnauthorizedOperation" in the controller's log)."""
        cluster = self.env.cluster["name"]
        role_arn = addon.get("serviceAccountRoleArn")
        how = "IRSA role"
        if not role_arn:
            associations = self.call("eks", "list_pod_identity_associations", clusterName=cluster,
                                     namespace=EBS_CSI_SERVICE_ACCOUNT[0],
                                     serviceAccount=EBS_CSI_SERVICE_ACCOUNT[1]).get("associations") or []
            for association in associations:
                role_arn = self.call("eks", "describe_pod_identity_association", clusterName=cluster,
                                     associationId=association["associationId"])["association"].get("roleArn")
                how = "Pod Identity association"
                break
        if not role_arn:
            return FAIL, (f"the {storage_class.EBS_CSI_ADDON} add-on has no IAM role and no Pod Identity association "
                          f"for {'/'.join(EBS_CSI_SERVICE_ACCOUNT)}: volumes would stay Pending; aws eks update-addon "
                          f"--cluster-name {cluster} --addon-name {storage_class.EBS_CSI_ADDON} "
                          "--service-account-role-arn <role with AmazonEBSCSIDriverPolicy> (or create a Pod Identity "
                          "association for that service account)")
        role_name = role_arn.rsplit("/", 1)[-1]
        attached = self.call("iam", "list_attached_role_policies", RoleName=role_name).get("AttachedPolicies") or []
        # AWS's own policy (arn:aws:iam::aws:...), not a customer policy that merely has its name.
        if not any(str(p.get("PolicyArn", "")).endswith(f":iam::aws:policy/service-role/{EBS_CSI_POLICY}")
                   for p in attached):
            return FAIL, (f"the {storage_class.EBS_CSI_ADDON} add-on's {how} {role_arn} has no {EBS_CSI_POLICY} "
                          f"attached: aws iam attach-role-policy --role-name {role_name} --policy-arn "
                          f"arn:aws:iam::aws:policy/service-role/{EBS_CSI_POLICY}")
        return PASS, f"its {how} {role_arn} has {EBS_CSI_POLICY}"

    def nodes(self) -> tuple[str, str]:
        """The managed node groups cannot scale below cluster.minimumNodes (sum of their minSize)."""
        cluster, wanted = self.env.cluster["name"], self.env.cluster["minimumNodes"]
        names = self.call("eks", "list_nodegroups", clusterName=cluster).get("nodegroups") or []
        if not names:
            return WARN, (f"{cluster} has no managed node group (Karpenter or self-managed nodes?): make sure at "
                          f"least {wanted} nodes are there")
        sizes = {}
        for name in sorted(names):
            group = self.call("eks", "describe_nodegroup", clusterName=cluster, nodegroupName=name)["nodegroup"]
            if group.get("status") == "ACTIVE":
                sizes[name] = int((group.get("scalingConfig") or {}).get("minSize", 0))
        total = sum(sizes.values())
        if total < wanted:
            listed = ", ".join(f"{n} minSize {m}" for n, m in sizes.items()) or "no ACTIVE node group"
            return FAIL, (f"the node groups of {cluster} may scale down to {total} node(s) ({listed}); the stack needs "
                          f"{wanted} (cluster.minimumNodes): aws eks update-nodegroup-config --cluster-name {cluster} "
                          f"--nodegroup-name <group> --scaling-config minSize=...,maxSize=...,desiredSize=...")
        return PASS, f"the node groups of {cluster} keep at least {total} node(s) (needs {wanted})"

    def secret(self, key: str) -> tuple[str, str]:
        name = self.env.secret_name(key)
        try:
            found = self.call("secretsmanager", "describe_secret", SecretId=name)
        except AwsError as exc:
            if exc.code != "ResourceNotFoundException":
                raise
            return self.missing(name, "aws-secrets", "secrets")
        if found.get("DeletedDate"):
            return FAIL, f"{name} is scheduled for deletion; restore it: aws secretsmanager restore-secret --secret-id {name}"
        stages = found.get("VersionIdsToStages") or {}
        if not any("AWSCURRENT" in s for s in stages.values()):
            return FAIL, (f"{name} exists but has no value; put one: aws secretsmanager put-secret-value --secret-id "
                          f"{name} --secret-string file://... (see cloudformation/README.md)")
        return PASS, f"{name} exists and has a current value"

    def _described(self, name: str) -> dict[str, Any] | None:
        try:
            return self.call("secretsmanager", "describe_secret", SecretId=name)
        except AwsError as exc:
            if exc.code != "ResourceNotFoundException":
                raise
            return None

    def secrets_key(self) -> tuple[str, str]:
        """The salt key is encrypted with a customer-managed key that is enabled (multi-Region when
        it has replicas): the AWS managed key cannot follow it to another region under a policy of
        ours, and a disabled or deleted key makes it unreadable."""
        name = self.env.secret_name(naming.SALT_KEY.key)
        found = self._described(name)
        if found is None:
            return SKIP, f"{name} does not exist yet (see secret:{naming.SALT_KEY.key})"
        key_id = found.get("KmsKeyId")
        if not key_id:
            return FAIL, (f"{name} is encrypted with the AWS managed key, not a customer-managed one: deploy "
                          "cloudformation/secrets.yaml (its SecretsKey), or set secrets.kmsKeyArn")
        key = self.call("kms", "describe_key", KeyId=key_id)["KeyMetadata"]
        arn = key.get("Arn", key_id)
        if key.get("KeyManager") != "CUSTOMER":
            return FAIL, f"{name} is encrypted with {arn}, which AWS manages: use the environment's customer-managed key"
        if key.get("KeyState") != "Enabled":
            fix = (f"aws kms cancel-key-deletion --key-id {arn} && aws kms enable-key --key-id {arn}"
                   if key.get("KeyState") == "PendingDeletion" else f"aws kms enable-key --key-id {arn}")
            return FAIL, f"key {arn} of {name} is {key.get('KeyState')}: the salt key cannot be read; {fix}"
        if aws_secrets.replica_regions(self.env) and not key.get("MultiRegion"):
            return FAIL, f"key {arn} of {name} is single-Region: its replicas need a multi-Region key"
        return PASS, f"{name} is encrypted with the customer-managed key {arn}"

    def secret_replica(self, key: str, region: str) -> tuple[str, str]:
        """The secret is InSync in `region`, under the replica of its key there."""
        name = self.env.secret_name(key)
        found = self._described(name)
        if found is None:
            return SKIP, f"{name} does not exist yet (see secret:{key})"
        fix = "make the key's replica there and replicate again (cloudformation/README.md, the replica commands)"
        status = {r.get("Region"): r for r in found.get("ReplicationStatus") or []}.get(region)
        if status is None:
            return FAIL, f"{name} is not replicated to {region}: deploy cloudformation/secrets.yaml, then {fix}"
        if status.get("Status") != "InSync":
            return FAIL, f"{name} in {region} is {status.get('Status')} ({status.get('StatusMessage', '')}): {fix}"
        key_arn = str(found.get("KmsKeyId") or "")
        replica_arn = key_arn.replace(f":kms:{self.env.region}:", f":kms:{region}:")
        if replica_arn == key_arn:
            return FAIL, f"{name} has no customer-managed key whose replica could encrypt it in {region}"
        regional = self.regional.setdefault(region, Aws(region))
        try:
            replica = regional.call("kms", "describe_key", KeyId=replica_arn)["KeyMetadata"]
        except AwsError as exc:
            if exc.code != "NotFoundException":
                raise
            return FAIL, f"{name}: the key has no replica in {region} ({replica_arn}): {fix}"
        kind = (replica.get("MultiRegionConfiguration") or {}).get("MultiRegionKeyType")
        if kind != "REPLICA" or replica.get("KeyState") != "Enabled":
            return FAIL, f"{replica_arn} is not an enabled replica of the secrets' key ({kind}, {replica.get('KeyState')})"
        return PASS, f"{name} is InSync in {region} under the key's replica there"

    def _role(self, name: str) -> dict | None:
        """The IAM role, or None when it does not exist (yet: see `missing`)."""
        try:
            return self.call("iam", "get_role", RoleName=name)["Role"]
        except AwsError as exc:
            if exc.code != "NoSuchEntity":
                raise
            return None

    def role(self, workload: naming.Workload) -> tuple[str, str]:
        name = naming.role_name(self.env, workload)
        role = self._role(name)
        if role is None:
            return self.missing(f"role {name}", "irsa-roles", "irsa-roles")
        problem = trust_problem(self.env, workload, role.get("AssumeRolePolicyDocument"), self.provider_arn)
        if problem:
            return FAIL, f"role {name}: {problem}"
        return PASS, f"role {name} trusts only {workload.namespace}/{workload.service_account}"

    def hub_endpoint(self) -> tuple[str, str]:
        """A hub reaches the cluster at cluster.server and trusts hub.caData: both must be the cluster's."""
        if self.cluster is None:
            return SKIP, "no cluster"
        fix = f"; run `litellm-gitops discover --env {self.env.name} --write`"
        if self.cluster.get("endpoint") != self.env.cluster["server"]:
            return FAIL, f"the cluster's endpoint is {self.cluster.get('endpoint') or 'none'}, cluster.server says {self.env.cluster['server']}" + fix
        if (self.cluster.get("certificateAuthority") or {}).get("data") != self.env.config["hub"]["caData"]:
            return FAIL, "hub.caData is not the cluster's certificate authority" + fix
        return PASS, f"{self.env.cluster['server']} with the cluster's CA"

    def hub_role(self) -> tuple[str, str]:
        """The role the hub assumes (generator.fleet): only hub.argocdRoleArn may assume it, and it
        has no permission of its own."""
        name = fleet.hub_role_name(self.env)
        role = self._role(name)
        if role is None:
            return self.missing(f"role {name}", "irsa-roles", "irsa-roles")
        principal = self.env.config["hub"]["argocdRoleArn"]
        statements = _as_list(_policy(role.get("AssumeRolePolicyDocument")).get("Statement", []))
        allowed = [s for s in statements if s.get("Effect") == "Allow"]
        for statement in allowed:
            principals = statement.get("Principal", {})
            if set(principals) != {"AWS"} or _as_list(principals["AWS"]) != [principal]:
                return FAIL, f"role {name}: its trust policy allows a principal other than {principal}"
            if _as_list(statement.get("Action", [])) != ["sts:AssumeRole"]:
                return FAIL, f"role {name}: its trust policy allows {statement.get('Action')}, want sts:AssumeRole only"
        if not allowed:
            return FAIL, f"role {name}: its trust policy allows nobody"
        inline = self.call("iam", "list_role_policies", RoleName=name).get("PolicyNames", [])
        attached = self.call("iam", "list_attached_role_policies", RoleName=name).get("AttachedPolicies", [])
        if inline or attached:
            return FAIL, f"role {name} has permissions ({', '.join(inline + [a.get('PolicyName', '?') for a in attached])}); it needs none"
        return PASS, f"role {name} trusts only {principal} and has no permission"

    def tool(self, tool: str) -> None:
        path = shutil.which(tool)
        if path:
            self.add(f"tool:{tool}", PASS, path)
        else:
            self.add(f"tool:{tool}", WARN, f"{tool} is not on PATH; a bastion user needs it (the bastion has it)")

    def run(self) -> list[Check]:
        env = self.env
        self.run_aws("aws-identity", self.identity)
        self.run_aws("cluster", self.cluster_active)
        self.run_aws("cluster-oidc-issuer", self.oidc_issuer)
        self.run_aws("oidc-provider", self.oidc_provider)
        self.run_aws("authentication-mode", self.authentication_mode)
        if env.enabled("bastion"):
            self.run_aws("network", self.network)
        if env.state("storage-class") != "disabled":
            self.run_aws("ebs-csi-driver", self.ebs_csi_driver)
        if env.cluster.get("minimumNodes"):
            self.run_aws("nodes", self.nodes)
        for key in iam.secret_keys(env):
            if env.state("aws-secrets") == "disabled":
                self.add(f"secret:{key}", SKIP, "aws-secrets is disabled")
            else:
                self.run_aws(f"secret:{key}", lambda key=key: self.secret(key))
        if env.state("aws-secrets") != "disabled":
            self.run_aws("secrets-key", self.secrets_key)
            for key in aws_secrets.REPLICATED:
                for region in aws_secrets.replica_regions(env):
                    self.run_aws(f"secret-replica:{key}:{region}", lambda k=key, r=region: self.secret_replica(k, r))
        for workload in (naming.BEDROCK, naming.EXTERNAL_SECRETS):
            check = f"role:{workload.role_suffix}"
            if env.state("irsa-roles") == "disabled":
                self.add(check, SKIP, "irsa-roles is disabled")
            else:
                self.run_aws(check, lambda w=workload: self.role(w))
        if fleet.hub_name(env):
            self.run_aws("hub-endpoint", self.hub_endpoint)
            if env.state("irsa-roles") == "disabled":
                self.add("hub-role", SKIP, "irsa-roles is disabled")
            else:
                self.run_aws("hub-role", self.hub_role)
        for tool in TOOLS:
            self.tool(tool)
        return self.checks


def _policy(document: Any) -> dict[str, Any]:
    if isinstance(document, str):
        return json.loads(urllib.parse.unquote(document))
    return document or {}


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def trust_problem(env: Environment, workload: naming.Workload, document: Any,
                  provider_arn: str | None = None) -> str | None:
    """None when the trust policy lets exactly one service account of this cluster assume the role
    (through `provider_arn` exactly, when the OIDC provider's ARN is known)."""
    host = iam.oidc_provider_host(env)
    expected_sub = f"system:serviceaccount:{workload.namespace}:{workload.service_account}"
    statements = [s for s in _as_list(_policy(document).get("Statement", [])) if s.get("Effect") == "Allow"]
    if not statements:
        return "its trust policy allows nobody"
    for statement in statements:
        federated = _as_list(statement.get("Principal", {}).get("Federated", []))
        if len(federated) != 1 or not str(federated[0]).endswith(f":oidc-provider/{host}"):
            return f"its trust policy allows a principal other than the cluster's OIDC provider ({host})"
        if provider_arn and federated[0] != provider_arn:
            return f"its trust policy names {federated[0]}, not the registered provider {provider_arn}"
        if "sts:AssumeRoleWithWebIdentity" not in _as_list(statement.get("Action", [])):
            return "its trust policy does not allow sts:AssumeRoleWithWebIdentity"
        conditions = statement.get("Condition", {})
        if set(conditions) != {"StringEquals"}:
            return f"its trust policy uses {', '.join(sorted(set(conditions) - {'StringEquals'})) or 'no'} conditions; want StringEquals only"
        equals = conditions["StringEquals"]
        subs = _as_list(equals.get(f"{host}:sub", []))
        if subs != [expected_sub]:
            return f"its trust policy's {host}:sub is {subs or 'missing'}, want exactly {expected_sub}"
        if _as_list(equals.get(f"{host}:aud", [])) != [iam.STS_AUDIENCE]:
            return f"its trust policy's {host}:aud is not {iam.STS_AUDIENCE}"
    return None


def table(env: Environment, checks: list[Check]) -> str:
    width = max(len(c.name) for c in checks)
    lines = [f"preflight {env.name} (account {env.account_id}, {env.region}, cluster {env.cluster['name']})",
             f"{'CHECK':<{width}}  STATUS  DETAIL"]
    lines += [f"{c.name:<{width}}  {c.status.upper():<6}  {c.detail}" for c in checks]
    counts = {s: sum(1 for c in checks if c.status == s) for s in (PASS, WARN, FAIL, SKIP)}
    lines.append(", ".join(f"{n} {s}" for s, n in counts.items()))
    return "\n".join(lines) + "\n"


def as_json(env: Environment, checks: list[Check]) -> str:
    failed = [c.name for c in checks if c.status == FAIL]
    return json.dumps({"environment": env.name, "ok": not failed, "failed": failed,
                       "checks": [asdict(c) for c in checks]}, indent=2) + "\n"
