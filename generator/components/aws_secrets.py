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

The salt key and the master key are encrypted with a customer-managed, multi-Region KMS key
(`SecretsKey`, or `secrets.kmsKeyArn` when the environment brings its own multi-Region key) and
replicated to `secrets.replicaRegions`, each replica under the same key's replica in that region
(a multi-Region replica keeps the key id, so its ARN is known here). Losing the primary region then
loses neither: a restored database's stored credentials stay decryptable. The key policy
(`key_policy`) lets the account administer the key but not use it; Secrets Manager may encrypt with
it for any principal of the account (writing a value reveals none); only the External Secrets
role and `secrets.kmsKeyUsers` (who create, replicate and rotate these secrets: the CloudFormation
deploy role, the operators' role) may decrypt, and only through Secrets Manager. A prod-like
environment (`is_prod_like`) must name at least one replica region.
"""

from __future__ import annotations

import re
from typing import Any

from generator import naming
from generator.artifacts import Artifact
from generator.aws import cfn, iam, readme
from generator.environment import Environment, config_error

STEM = "secrets"
COMPONENT = "aws-secrets"

# Keys whose value comes from outside (never generated).
SUPPLIED = {naming.DATABASE_URL.key, naming.LICENSE.key}
# Length of a generated value; 48 letters and digits is about 285 bits.
LENGTHS = {naming.REDIS_PASSWORD.key: 32}
DEFAULT_LENGTH = 48

DESCRIPTIONS = {
    naming.MASTER_KEY.key: "LiteLLM master key (LITELLM_MASTER_KEY). Regenerating it breaks every API key: two approvals.",
    naming.SALT_KEY.key: "LiteLLM salt key (LITELLM_SALT_KEY). NEVER regenerate: it encrypts stored credentials.",
    naming.REDIS_PASSWORD.key: "Redis HA password (REDIS_PASSWORD), shared by Redis, Sentinel and LiteLLM.",
    naming.DATABASE_URL.key: "LiteLLM database URL (DATABASE_URL). Value put out of band; see cloudformation/README.md.",
    "webuiSecretKey": "Open WebUI WEBUI_SECRET_KEY (signs sessions). Regenerating it logs every user out.",
    naming.OPENWEBUI_KEY.key: "Open WebUI's LiteLLM virtual key (sk- prefixed by External Secrets), registered by a PreSync Job; "
                              "limited to the stack's models, never the master key.",
    "grafanaAdminPassword": "Grafana admin password.",
    naming.LICENSE.key: "LiteLLM Enterprise licence (LITELLM_LICENSE). Value put out of band: the licence key from BerriAI.",
    "jaegerElasticsearchPassword": "Jaeger's password on the Elasticsearch/OpenSearch trace store: set it as that user's password there.",
}


# The secrets that cannot be lost with a region: the salt key (stored credentials are unreadable
# without it) and the master key (every administrator and Open WebUI's registration need it).
REPLICATED = (naming.SALT_KEY.key, naming.MASTER_KEY.key)
KEY_ID = "SecretsKey"
# Key administration, never use: no Decrypt, Encrypt, GenerateDataKey, ReEncrypt or CreateGrant
# (a grant would let an administrator hand themselves Decrypt).
ADMIN_ACTIONS = ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
                 "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource", "kms:UntagResource",
                 "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:ReplicateKey", "kms:RetireGrant"]
WRITE_ACTIONS = ["kms:Encrypt", "kms:GenerateDataKey*", "kms:DescribeKey"]
READ_ACTIONS = ["kms:Decrypt", "kms:DescribeKey"]


def is_prod_like(env: Environment) -> bool:
    """prod, prod-*, *-prod, or an environment a hub rolls out at its prod stage."""
    stage = (env.config.get("hub") or {}).get("stage")
    return stage == "prod" or env.name == "prod" or env.name.startswith("prod-") or env.name.endswith("-prod")


def replica_regions(env: Environment) -> list[str]:
    """The replica regions, checked: required in a prod-like environment, never the primary region."""
    regions = list(env.config["secrets"].get("replicaRegions") or [])
    if env.region in regions:
        raise config_error(env, ["secrets", "replicaRegions"],
                           f"secrets.replicaRegions lists {env.region}, the environment's own region",
                           "name other regions: a replica in the same region survives nothing")
    if not regions and is_prod_like(env):
        raise config_error(env, ["secrets"],
                           f"{env.name} is prod-like but secrets.replicaRegions is empty: losing {env.region} would "
                           "lose the salt key and with it every stored credential",
                           "add secrets.replicaRegions: [<another region>], e.g. [eu-central-1]")
    own = env.config["secrets"].get("kmsKeyArn")
    if regions and own and ":key/mrk-" not in own:
        raise config_error(env, ["secrets", "kmsKeyArn"],
                           "secrets.kmsKeyArn is a single-Region key, so the replicas in secrets.replicaRegions "
                           "could not be encrypted with it",
                           "use a multi-Region key (key id mrk-...) replicated to every replica region, or remove kmsKeyArn")
    if regions and not env.config["secrets"].get("kmsKeyUsers"):
        raise config_error(env, ["secrets"],
                           "secrets.replicaRegions is set but secrets.kmsKeyUsers is empty: replicating a secret "
                           "needs kms:Decrypt on its key, which only the External Secrets role would have",
                           "add secrets.kmsKeyUsers: [<the CloudFormation deploy role ARN>, <the operators' role ARN>]")
    return regions


def key_policy(env: Environment) -> dict[str, Any]:
    """The policy of the secrets' key and of its replicas (concrete ARNs: the same document in every
    region). Secrets Manager is the only way to use it (kms:ViaService), in the primary and replica
    regions."""
    via = [f"secretsmanager.{region}.amazonaws.com" for region in [env.region, *replica_regions(env)]]
    through_secrets_manager = {"StringEquals": {"kms:ViaService": via, "kms:CallerAccount": env.account_id}}
    readers = [naming.role_arn(env, naming.EXTERNAL_SECRETS), *env.config["secrets"].get("kmsKeyUsers", [])]
    root = f"arn:aws:iam::{env.account_id}:root"
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "AdministerNotUse", "Effect": "Allow", "Principal": {"AWS": root},
         "Action": ADMIN_ACTIONS, "Resource": "*"},
        {"Sid": "EncryptThroughSecretsManager", "Effect": "Allow", "Principal": {"AWS": root},
         "Action": WRITE_ACTIONS, "Resource": "*", "Condition": through_secrets_manager},
        {"Sid": "DecryptOnlyForTheRolesThatNeedIt", "Effect": "Allow", "Principal": {"AWS": readers},
         "Action": READ_ACTIONS, "Resource": "*", "Condition": through_secrets_manager},
    ]}


def kms_key(env: Environment) -> dict[str, Any]:
    return {
        "Type": "AWS::KMS::Key",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "Description": f"litellm-gitops {env.name}: encrypts the salt and master keys in Secrets Manager",
            "MultiRegion": True,
            "EnableKeyRotation": True,
            "PendingWindowInDays": 30,
            "KeyPolicy": key_policy(env),
        },
    }


def key_alias(env: Environment) -> str:
    return f"alias/litellm-{env.name}-secrets"


def _key_arn_in(env: Environment, region: str) -> Any:
    """The secrets' key in `region`: the environment's own key with its region swapped (a
    multi-Region key's replicas share its id), else the stack's key by id."""
    own = env.config["secrets"].get("kmsKeyArn")
    if own:
        return re.sub(r"^(arn:aws[a-z-]*:kms:)[a-z0-9-]+(:)", rf"\g<1>{region}\g<2>", own)
    return cfn.sub(f"arn:${{AWS::Partition}}:kms:{region}:${{AWS::AccountId}}:key/${{{KEY_ID}}}")


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
    own_key = env.config["secrets"].get("kmsKeyArn")
    if key in REPLICATED:
        properties["KmsKeyId"] = own_key or cfn.get_att(KEY_ID, "Arn")
        if regions := replica_regions(env):
            properties["ReplicaRegions"] = [{"Region": region, "KmsKeyId": _key_arn_in(env, region)}
                                            for region in regions]
    elif own_key:
        properties["KmsKeyId"] = own_key
    properties["Tags"] = cfn.tags(COMPONENT) + [{"Key": "litellm-gitops/secret-key", "Value": key}]
    return {
        "Type": "AWS::SecretsManager::Secret",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": properties,
    }


def template(env: Environment) -> dict[str, Any]:
    keys = iam.secret_keys(env)
    resources: dict[str, Any] = {}
    outputs: dict[str, Any] = {}
    if not env.config["secrets"].get("kmsKeyArn"):
        resources[KEY_ID] = kms_key(env)
        resources[f"{KEY_ID}Alias"] = {"Type": "AWS::KMS::Alias",
                                       "Properties": {"AliasName": key_alias(env), "TargetKeyId": cfn.ref(KEY_ID)}}
        outputs[f"{KEY_ID}Arn"] = {"Description": "ARN of the key of the salt and master keys",
                                   "Value": cfn.get_att(KEY_ID, "Arn")}
    resources.update({logical_id(key): secret(env, key) for key in keys})
    outputs.update({
        f"{logical_id(key)}Arn": {"Description": f"ARN of {env.secret_name(key)}", "Value": cfn.ref(logical_id(key))}
        for key in keys
    })
    return cfn.template(env, STEM, "Secrets Manager secrets (phase 4); values are generated or put out of band, never here",
                        {}, resources, outputs)


def render(env: Environment) -> list[Artifact]:
    return cfn.artifacts(env, STEM, template(env), {}) + readme.render_if_owner(env, COMPONENT)
