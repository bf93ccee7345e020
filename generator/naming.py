"""Names that several artefacts must agree on, defined once: IRSA roles and the service accounts
they trust, the Kubernetes Secrets the stack reads, and the Secrets Manager secrets behind them.

CloudFormation (phases 3 and 4), the ExternalSecrets (phase 8), the charts' values and the guard
all import these; none of them spells a name on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from generator.environment import Environment


@dataclass(frozen=True)
class Workload:
    """A service account that assumes an IRSA role."""

    role_suffix: str  # the role is "<env>-<role_suffix>"
    namespace: str
    service_account: str
    logical_id: str  # CloudFormation logical id of the role


BEDROCK = Workload("litellm-bedrock-role", "litellm", "litellm", "LitellmBedrockRole")
EXTERNAL_SECRETS = Workload("external-secrets-role", "external-secrets", "external-secrets", "ExternalSecretsRole")


def role_name(env: Environment, workload: Workload) -> str:
    return f"{env.name}-{workload.role_suffix}"


def role_arn(env: Environment, workload: Workload) -> str:
    return f"arn:aws:iam::{env.account_id}:role/{role_name(env, workload)}"


@dataclass(frozen=True)
class StackSecret:
    """One Secrets Manager secret: its config key, the env var the stack reads, its CFN logical id."""

    key: str  # key under secrets.names in the environment
    env_var: str  # key in the Kubernetes Secret
    logical_id: str


MASTER_KEY = StackSecret("masterKey", "LITELLM_MASTER_KEY", "MasterKeySecret")
SALT_KEY = StackSecret("saltKey", "LITELLM_SALT_KEY", "SaltKeySecret")
REDIS_PASSWORD = StackSecret("redisPassword", "REDIS_PASSWORD", "RedisPasswordSecret")
DATABASE_URL = StackSecret("databaseUrl", "DATABASE_URL", "DatabaseUrlSecret")
STACK_SECRETS = (MASTER_KEY, SALT_KEY, REDIS_PASSWORD, DATABASE_URL)

# The bastion stack (its own CloudFormation stack, outside the phase order).
BASTION_ROLE_SUFFIX = "bastion-ssm-role"  # role "<env>-bastion-ssm-role"
BASTION_PROFILE_SUFFIX = "bastion-profile"  # instance profile "<env>-bastion-profile"
BASTION_INSTANCE_ID = "BastionInstance"  # logical id of the EC2 instance: replacing it terminates the bastion

# CloudFormation stacks, in deploy order: (file stem under rendered/<env>/cloudformation/, component).
STACKS = (("irsa-roles", "irsa-roles"), ("secrets", "aws-secrets"), ("bastion", "bastion"))


def stack_name(env: Environment, stem: str) -> str:
    """The CloudFormation stack name of one template: "litellm-<env>-<stem>"."""
    return f"litellm-{env.name}-{stem}"


def bastion_role_name(env: Environment) -> str:
    return f"{env.name}-{BASTION_ROLE_SUFFIX}"


def bastion_profile_name(env: Environment) -> str:
    return f"{env.name}-{BASTION_PROFILE_SUFFIX}"


# Kubernetes Secrets that ExternalSecrets own.
LITELLM_SECRET = ("litellm", "litellm-secrets")  # (namespace, name)
OPENWEBUI_SECRET = ("open-webui", "openwebui-secrets")
CLUSTER_SECRET_STORE = "aws-secrets-manager"
