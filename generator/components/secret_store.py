"""Phase 8, ClusterSecretStore and ExternalSecrets: everything later phases read before they start.

- ClusterSecretStore `aws-secrets-manager`: AWS Secrets Manager in the environment's region, read
  with the External Secrets controller's IRSA identity, usable only from the stack's namespaces.
- ExternalSecret `litellm-secrets` (litellm): the four LiteLLM secrets; LITELLM_MASTER_KEY gets the
  `sk-` prefix LiteLLM requires when the stored value lacks it.
- ExternalSecret `openwebui-secrets` (open-webui): the key Open WebUI calls LiteLLM with (its own
  virtual key, same prefix rule; never the master key, so a master-key rotation leaves Open WebUI
  alone) and WEBUI_SECRET_KEY.
- ExternalSecret `openwebui-key` (litellm): the same virtual key for the PreSync Job that registers
  it with LiteLLM (components/openwebui_key.py), beside the master key it registers it with; the
  master key never leaves the litellm namespace.
- ExternalSecret `grafana-admin` (monitoring): Grafana's admin credentials, so the chart never
  generates a password of its own.
- ExternalSecret `jaeger-elasticsearch` (monitoring): Jaeger's storage password, when Jaeger keeps
  traces in Elasticsearch.
- ServiceAccount `litellm` (litellm) with the Bedrock IRSA role: LiteLLM's chart runs its database
  migration as an Argo CD PreSync hook under this account, before the chart's own resources exist,
  so the account must already be there.

Every field the controller or the API server would default is written out, so Argo CD's diff stays
empty once synced.
"""

from __future__ import annotations

from typing import Any

from generator import endpoints, naming
from generator.argocd import manifest_application
from generator.artifacts import Artifact
from generator.components.external_secrets import IRSA_ANNOTATION
from generator.environment import Environment

COMPONENT = "secret-store"
API_VERSION = "external-secrets.io/v1"
STORE_NAMESPACES = ("litellm", "open-webui", "monitoring")
GRAFANA_ADMIN_USER = "admin"


def cluster_secret_store(env: Environment) -> dict[str, Any]:
    # No auth block: the controller then uses the AWS SDK's default credential chain, which is the
    # IRSA web identity EKS injects into the controller pod (service account external-secrets,
    # role <env>-external-secrets-role). jwt auth naming that same service account would reach the
    # same role, but only by having the controller mint a token for itself on every request; the
    # role's trust policy admits exactly that one service account either way. `conditions` keeps
    # the store, and with it the role's read access, away from every namespace outside the stack.
    return {
        "apiVersion": API_VERSION,
        "kind": "ClusterSecretStore",
        "metadata": {"name": naming.CLUSTER_SECRET_STORE},
        "spec": {
            "provider": {"aws": {
                "service": "SecretsManager",
                "region": env.region,
                "sessionTagsPolicy": "None",
            }},
            "conditions": [{"namespaces": list(STORE_NAMESPACES)}],
        },
    }


def remote_ref(secret_name: str) -> dict[str, str]:
    """A whole plain-text Secrets Manager secret, every optional field at its default."""
    return {
        "key": secret_name,
        "conversionStrategy": "Default",
        "decodingStrategy": "None",
        "metadataPolicy": "None",
    }


def sk_prefixed(variable: str) -> str:
    """ESO template (engine v2, sprig): the value with `sk-` in front unless it already starts so."""
    return (f'{{{{ if hasPrefix "sk-" .{variable} }}}}{{{{ .{variable} }}}}'
            f'{{{{ else }}}}sk-{{{{ .{variable} }}}}{{{{ end }}}}')


def plain(variable: str) -> str:
    return f"{{{{ .{variable} }}}}"


def external_secret(env: Environment, secret: tuple[str, str], sources: dict[str, naming.StackSecret],
                    template: dict[str, str]) -> dict[str, Any]:
    """The ExternalSecret that owns `secret` (namespace, name). `sources` maps a template variable to
    the Secrets Manager secret it reads; `template` maps each key of the Kubernetes Secret to its
    template. mergePolicy Replace: the Secret holds exactly those keys."""
    namespace, name = secret
    return {
        "apiVersion": API_VERSION,
        "kind": "ExternalSecret",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "refreshInterval": env.config["secrets"].get("refreshInterval", "1h"),
            "refreshPolicy": "Periodic",
            "secretStoreRef": {"kind": "ClusterSecretStore", "name": naming.CLUSTER_SECRET_STORE},
            "target": {
                "name": name,
                "creationPolicy": "Owner",
                "deletionPolicy": "Retain",
                "template": {
                    "engineVersion": "v2",
                    "mergePolicy": "Replace",
                    "type": "Opaque",
                    "data": template,
                },
            },
            "data": [{"secretKey": variable, "remoteRef": remote_ref(env.secret_name(source.key))}
                     for variable, source in sources.items()],
        },
    }


def licensed(env: Environment) -> bool:
    """Whether the environment names a LiteLLM Enterprise licence secret (secrets.names.license)."""
    return naming.LICENSE.key in env.config["secrets"]["names"]


def litellm_secrets(env: Environment) -> dict[str, Any]:
    stack = naming.STACK_SECRETS + ((naming.LICENSE,) if licensed(env) else ())
    sources = {s.env_var: s for s in stack}
    template = {s.env_var: sk_prefixed(s.env_var) if s is naming.MASTER_KEY else plain(s.env_var) for s in stack}
    return external_secret(env, naming.LITELLM_SECRET, sources, template)


OPENWEBUI_API_KEY = "OPENAI_API_KEY"  # the key Open WebUI sends to LiteLLM
WEBUI_SECRET_KEY = naming.WEBUI_SECRET_KEY.env_var


OPENWEBUI_KEY = naming.OPENWEBUI_KEY.env_var


def openwebui_secrets(env: Environment) -> dict[str, Any]:
    sources = {OPENWEBUI_KEY: naming.OPENWEBUI_KEY, WEBUI_SECRET_KEY: naming.WEBUI_SECRET_KEY}
    template = {OPENWEBUI_API_KEY: sk_prefixed(OPENWEBUI_KEY), WEBUI_SECRET_KEY: plain(WEBUI_SECRET_KEY)}
    return external_secret(env, naming.OPENWEBUI_SECRET, sources, template)


def registers_openwebui_key(env: Environment) -> bool:
    from generator.components.openwebui_key import wanted  # open_webui -> openwebui_key; kept one-way

    return wanted(env)


def openwebui_key(env: Environment) -> dict[str, Any]:
    """The registration Job's copy of Open WebUI's key: the same value, the same prefix rule."""
    return external_secret(env, naming.OPENWEBUI_KEY_SECRET, {OPENWEBUI_KEY: naming.OPENWEBUI_KEY},
                           {OPENWEBUI_KEY: sk_prefixed(OPENWEBUI_KEY)})


GRAFANA_USER_KEY = "admin-user"
GRAFANA_PASSWORD_KEY = naming.GRAFANA_ADMIN_PASSWORD.env_var


def grafana_admin(env: Environment) -> dict[str, Any]:
    template = {GRAFANA_USER_KEY: GRAFANA_ADMIN_USER, GRAFANA_PASSWORD_KEY: plain("password")}
    return external_secret(env, endpoints.GRAFANA_ADMIN_SECRET, {"password": naming.GRAFANA_ADMIN_PASSWORD}, template)


JAEGER_PASSWORD_KEY = naming.JAEGER_ES_PASSWORD.env_var


def jaeger_elasticsearch(env: Environment) -> dict[str, Any]:
    return external_secret(env, endpoints.JAEGER_ES_SECRET, {"password": naming.JAEGER_ES_PASSWORD},
                           {JAEGER_PASSWORD_KEY: plain("password")})


def litellm_service_account(env: Environment) -> dict[str, Any]:
    workload = naming.BEDROCK
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {
            "name": workload.service_account,
            "namespace": workload.namespace,
            "annotations": {IRSA_ANNOTATION: naming.role_arn(env, workload)},
        },
        # LiteLLM never calls the Kubernetes API; EKS mounts the IRSA web identity token separately.
        "automountServiceAccountToken": False,
    }


def jaeger_uses_elasticsearch(env: Environment) -> bool:
    return env.enabled("jaeger") and env.component("jaeger").get("storage") == "elasticsearch"


def objects(env: Environment) -> list[tuple[str, dict[str, Any]]]:
    result = [
        ("clustersecretstore-aws-secrets-manager.yaml", cluster_secret_store(env)),
        ("externalsecret-litellm-secrets.yaml", litellm_secrets(env)),
    ]
    if env.enabled("litellm"):
        result.append(("serviceaccount-litellm.yaml", litellm_service_account(env)))
    if env.enabled("open-webui"):
        result.append(("externalsecret-openwebui-secrets.yaml", openwebui_secrets(env)))
        if registers_openwebui_key(env):
            result.append(("externalsecret-openwebui-key.yaml", openwebui_key(env)))
    if env.enabled("kube-prometheus-stack"):
        result.append(("externalsecret-grafana-admin.yaml", grafana_admin(env)))
    if jaeger_uses_elasticsearch(env):
        result.append(("externalsecret-jaeger-elasticsearch.yaml", jaeger_elasticsearch(env)))
    return result


def render(env: Environment) -> list[Artifact]:
    return manifest_application(env, COMPONENT, objects(env))
