"""Phase 3, irsa-roles: rendered/<env>/cloudformation/irsa-roles.yaml and its parameters file.

Two IAM roles, named and keyed by generator.naming: the LiteLLM role (Bedrock invoke on the
configured models) and the External Secrets role (read the environment's Secrets Manager
secrets). Each trusts the cluster's OIDC provider for exactly one service account, the one the
Argo CD output annotates with the role's ARN. On a hub, also the role the hub's Argo CD assumes
and its EKS access entry (generator.fleet.hub_access_resources). Also renders cloudformation/README.md when this is
the first enabled CloudFormation component (see generator.aws.readme).
"""

from __future__ import annotations

from typing import Any

from generator import fleet, naming
from generator.artifacts import Artifact
from generator.aws import cfn, iam, readme
from generator.environment import Environment

STEM = "irsa-roles"
COMPONENT = "irsa-roles"


def role(env: Environment, workload: naming.Workload, description: str, policy_name: str,
         policy: dict[str, Any]) -> dict[str, Any]:
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "RoleName": naming.role_name(env, workload),
            "Description": description,
            "AssumeRolePolicyDocument": iam.trust_policy(env, workload),
            "MaxSessionDuration": 3600,
            "Policies": [{"PolicyName": policy_name, "PolicyDocument": policy}],
            "Tags": cfn.tags(COMPONENT),
        },
    }


def template(env: Environment) -> dict[str, Any]:
    bedrock, eso = naming.BEDROCK, naming.EXTERNAL_SECRETS
    resources = {
        bedrock.logical_id: role(
            env, bedrock,
            f"LiteLLM ({bedrock.namespace}/{bedrock.service_account}) invokes the configured Bedrock models",
            "bedrock-invoke-configured-models", iam.bedrock_policy(env)),
        eso.logical_id: role(
            env, eso,
            f"External Secrets ({eso.namespace}/{eso.service_account}) reads this environment's secrets",
            "read-environment-secrets", iam.secrets_policy(env)),
    }
    outputs = {
        f"{w.logical_id}Arn": {
            "Description": f"ARN of {naming.role_name(env, w)} (annotated on service account {w.namespace}/{w.service_account})",
            "Value": cfn.get_att(w.logical_id, "Arn"),
        }
        for w in (bedrock, eso)
    }
    hub_resources, hub_outputs = fleet.hub_access_resources(env)  # only when a hub manages the cluster
    resources.update(hub_resources)
    outputs.update(hub_outputs)
    return cfn.template(env, STEM, "IRSA roles for LiteLLM and External Secrets (phase 3)", {}, resources, outputs)


def render(env: Environment) -> list[Artifact]:
    return cfn.artifacts(env, STEM, template(env), {}) + readme.render_if_owner(env, COMPONENT)
