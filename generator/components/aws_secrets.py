"""Phase 4, aws-secrets: rendered/<env>/cloudformation/secrets.yaml and its parameters file.

One AWS::SecretsManager::Secret per key under secrets.names, whatever keys the environment
defines, with the literal Name the rest of the stack reads and the logical id from
generator.naming (the pre-merge guard reads both). Every secret is kept when it leaves the
template or is replaced (DeletionPolicy and UpdateReplacePolicy Retain).

Values never appear here. Generated secrets (master key, salt key, Redis password and any other
key) get their value from Secrets Manager (GenerateSecretString, letters and digits only so
they are safe in URLs and environment variables). The database URL is the one value nobody can
generate: the stack creates the secret with no value at all, and the operator puts the value
out of band (cloudformation/README.md); preflight fails until it has one.
"""

from __future__ import annotations

import re
from typing import Any

from generator import naming
from generator.artifacts import Artifact
from generator.aws import cfn, iam, readme
from generator.environment import Environment

STEM = "secrets"
COMPONENT = "aws-secrets"

# Keys whose value comes from outside (never generated).
SUPPLIED = {naming.DATABASE_URL.key}
# Length of a generated value; 48 letters and digits is about 285 bits.
LENGTHS = {naming.REDIS_PASSWORD.key: 32}
DEFAULT_LENGTH = 48

DESCRIPTIONS = {
    naming.MASTER_KEY.key: "LiteLLM master key (LITELLM_MASTER_KEY). Regenerating it breaks every API key: two approvals.",
    naming.SALT_KEY.key: "LiteLLM salt key (LITELLM_SALT_KEY). NEVER regenerate: it encrypts stored credentials.",
    naming.REDIS_PASSWORD.key: "Redis HA password (REDIS_PASSWORD), shared by Redis, Sentinel and LiteLLM.",
    naming.DATABASE_URL.key: "LiteLLM database URL (DATABASE_URL). Value put out of band; see cloudformation/README.md.",
    "webuiSecretKey": "Open WebUI WEBUI_SECRET_KEY (signs sessions). Regenerating it logs every user out.",
    "grafanaAdminPassword": "Grafana admin password.",
    "jaegerElasticsearchPassword": "Jaeger's password on the Elasticsearch/OpenSearch trace store: set it as that user's password there.",
}


def logical_id(key: str) -> str:
    """The logical id generator.naming gives the key, else <Key>Secret (webuiSecretKey -> WebuiSecretKeySecret)."""
    known = {v.key: v for v in vars(naming).values() if isinstance(v, naming.StackSecret)}
    if key in known:
        return known[key].logical_id
    return key[:1].upper() + key[1:] + "Secret"


def generated(key: str) -> bool:
    return key not in SUPPLIED


def description(key: str) -> str:
    words = re.sub(r"([A-Z])", lambda m: " " + m.group(1).lower(), key)
    return DESCRIPTIONS.get(key, f"Generated {words} for this environment.")


def secret(env: Environment, key: str) -> dict[str, Any]:
    properties: dict[str, Any] = {"Name": env.secret_name(key), "Description": description(key)}
    if generated(key):
        properties["GenerateSecretString"] = {
            "PasswordLength": LENGTHS.get(key, DEFAULT_LENGTH),
            "ExcludePunctuation": True,
            "IncludeSpace": False,
            "RequireEachIncludedType": True,
        }
    kms_key = env.config["secrets"].get("kmsKeyArn")
    if kms_key:
        properties["KmsKeyId"] = kms_key
    properties["Tags"] = cfn.tags(COMPONENT) + [{"Key": "litellm-gitops/secret-key", "Value": key}]
    return {
        "Type": "AWS::SecretsManager::Secret",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": properties,
    }


def template(env: Environment) -> dict[str, Any]:
    keys = iam.secret_keys(env)
    resources = {logical_id(key): secret(env, key) for key in keys}
    outputs = {
        f"{logical_id(key)}Arn": {"Description": f"ARN of {env.secret_name(key)}", "Value": cfn.ref(logical_id(key))}
        for key in keys
    }
    return cfn.template(env, STEM, "Secrets Manager secrets (phase 4); values are generated or put out of band, never here",
                        {}, resources, outputs)


def render(env: Environment) -> list[Artifact]:
    return cfn.artifacts(env, STEM, template(env), {}) + readme.render_if_owner(env, COMPONENT)
