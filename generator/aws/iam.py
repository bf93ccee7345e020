"""IAM policy documents for the IRSA roles: the OIDC trust for exactly one service account,
Bedrock invoke on the configured models only, Secrets Manager read on the environment's secrets
only (plus kms:Decrypt through Secrets Manager when a customer-managed key encrypts them).

Bedrock model ids come in two shapes:
- a cross-region inference profile, `<geo>.<provider>.<model>` (geo us, eu, apac or global): the
  caller needs the profile ARN in its own account and region AND the foundation model in every
  region the profile may route to. Those destination regions are AWS's to extend, so the
  foundation-model ARN uses a region pattern scoped to the profile's geography (`us-*`, `eu-*`,
  `ap-*`; `*` for global) and a condition that allows it only when the call comes through one of
  the configured profiles (`bedrock:InferenceProfileArn`), never directly.
- a plain foundation model id (`amazon.titan-embed-text-v2:0`): the foundation-model ARN in the
  environment's region.
"""

from __future__ import annotations

from typing import Any

from generator import naming
from generator.aws.cfn import sub
from generator.environment import Environment, config_error

STS_AUDIENCE = "sts.amazonaws.com"
BEDROCK_ACTIONS = ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]
SECRET_ACTIONS = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]

# Geography prefix of a cross-region inference profile -> (region pattern of its destinations,
# region prefixes a caller may use it from).
GEOGRAPHIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "us": ("us-*", ("us-",)),
    "eu": ("eu-*", ("eu-",)),
    "apac": ("ap-*", ("ap-",)),
    "global": ("*", ("",)),
}


def oidc_provider_host(env: Environment) -> str:
    """oidc.eks.<region>.amazonaws.com/id/<ID>: the issuer without its scheme, as IAM names it."""
    return env.cluster["oidcIssuer"].removeprefix("https://")


def trust_policy(env: Environment, workload: naming.Workload) -> dict[str, Any]:
    host = oidc_provider_host(env)
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "AssumeFromOneServiceAccount",
            "Effect": "Allow",
            "Principal": {"Federated": sub(f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:oidc-provider/{host}")},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {
                f"{host}:sub": f"system:serviceaccount:{workload.namespace}:{workload.service_account}",
                f"{host}:aud": STS_AUDIENCE,
            }},
        }],
    }


def split_model(model_id: str) -> tuple[str | None, str]:
    """('us', 'anthropic.claude-...') for an inference profile id, (None, id) for a foundation model."""
    head, _, rest = model_id.partition(".")
    if head in GEOGRAPHIES and rest:
        return head, rest
    return None, model_id


def bedrock_policy(env: Environment) -> dict[str, Any]:
    models = env.component("litellm").get("models", [])
    profiles: list[str] = []
    routed: list[Any] = []
    direct: list[Any] = []
    for index, entry in enumerate(models):
        model_id = entry["model"]
        geo, base = split_model(model_id)
        if geo is None:
            arn = sub(f"arn:${{AWS::Partition}}:bedrock:${{AWS::Region}}::foundation-model/{base}")
            if arn not in direct:
                direct.append(arn)
            continue
        pattern, allowed_from = GEOGRAPHIES[geo]
        if not env.region.startswith(allowed_from):
            raise config_error(
                env, ["components", "litellm", "models", index, "model"],
                f"inference profile {model_id} is a {geo} profile but the environment's region is {env.region}",
                f"use the profile of the region's geography (e.g. {env.region.split('-')[0]}.{base}), "
                "or a foundation model id without a geography prefix")
        profile = sub(f"arn:${{AWS::Partition}}:bedrock:${{AWS::Region}}:${{AWS::AccountId}}:inference-profile/{model_id}")
        if profile not in profiles:
            profiles.append(profile)
        foundation = sub(f"arn:${{AWS::Partition}}:bedrock:{pattern}::foundation-model/{base}")
        if foundation not in routed:
            routed.append(foundation)
    statements: list[dict[str, Any]] = []
    if profiles:
        statements.append({"Sid": "InvokeThroughInferenceProfiles", "Effect": "Allow",
                           "Action": BEDROCK_ACTIONS, "Resource": profiles})
        statements.append({"Sid": "FoundationModelsBehindTheProfiles", "Effect": "Allow",
                           "Action": BEDROCK_ACTIONS, "Resource": routed,
                           "Condition": {"StringEquals": {"bedrock:InferenceProfileArn": profiles}}})
    if direct:
        statements.append({"Sid": "InvokeFoundationModelsInRegion", "Effect": "Allow",
                           "Action": BEDROCK_ACTIONS, "Resource": direct})
    if not statements:
        raise config_error(env, ["components", "litellm", "models"], "no Bedrock models are configured",
                          "list at least one model under components.litellm.models")
    return {"Version": "2012-10-17", "Statement": statements}


def secret_keys(env: Environment) -> list[str]:
    """Every key under secrets.names, in file order: whatever names the environment defines."""
    return list(env.config["secrets"]["names"])


def secret_arn_pattern(env: Environment, key: str) -> dict[str, str]:
    """Secrets Manager appends '-' and 6 random characters to a secret's name in its ARN."""
    return sub(f"arn:${{AWS::Partition}}:secretsmanager:${{AWS::Region}}:${{AWS::AccountId}}:secret:{env.secret_name(key)}-??????")


def secrets_policy(env: Environment) -> dict[str, Any]:
    statements: list[dict[str, Any]] = [{
        "Sid": "ReadTheEnvironmentsSecrets",
        "Effect": "Allow",
        "Action": SECRET_ACTIONS,
        "Resource": [secret_arn_pattern(env, key) for key in secret_keys(env)],
    }]
    kms_key = env.config["secrets"].get("kmsKeyArn")
    if kms_key:
        statements.append({
            "Sid": "DecryptThroughSecretsManagerOnly",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": kms_key,
            "Condition": {"StringEquals": {"kms:ViaService": sub("secretsmanager.${AWS::Region}.amazonaws.com")}},
        })
    return {"Version": "2012-10-17", "Statement": statements}
