"""Phase 13, LiteLLM (chart litellm-helm from ghcr.io/berriai) into namespace litellm.

- Image and chart pinned to one release (never 1.82.7 or 1.82.8: compromised upstream).
- Identity: the `litellm` service account with the Bedrock IRSA role, created in phase 8 because the
  chart's database migration (an Argo CD PreSync hook) runs under it before the chart's own
  resources exist; the chart therefore does not create one.
- Secrets: every key of `litellm-secrets` (phase 8) as environment variables; the chart's master key
  Secret is replaced by that one (otherwise it would generate a new key on every render), and
  DATABASE_URL is passed with `extraEnvVars`, which the chart adds to the migration Job as well as to
  the Deployment (`environmentSecrets` reaches the Deployment only).
- No bundled PostgreSQL or Redis: the database is external (DATABASE_URL), Redis is redis-ha behind
  its HAProxy Service, for the response cache and for the router's shared usage counters.
- proxy_config from the environment's Bedrock models, credentials from IRSA (no keys), the master
  key from the environment, a database connection pool limit, Prometheus metrics (and a
  ServiceMonitor) when kube-prometheus-stack is enabled, OpenTelemetry traces to Jaeger when Jaeger
  is enabled.
"""

from __future__ import annotations

import re
from typing import Any

from generator import endpoints, naming
from generator.argocd import helm_application
from generator.artifacts import Artifact
from generator.components import reloader, resources, security
from generator.components.secret_store import licensed
from generator.environment import Environment, config_error

COMPONENT = "litellm"
# LiteLLM's non-root build (BerriAI/litellm docker/Dockerfile.non_root): the database image's
# Prisma client and engines generated at build time for user nobody (65534), HOME=/app,
# PRISMA_BINARY_CACHE_DIR=/app/.cache/prisma-python/binaries, offline (PRISMA_OFFLINE_MODE), so it
# runs as a non-root UID on a read-only root filesystem. The database image (litellm-database)
# keeps them under /root/.cache, unreadable to any other user, and runs as root.
IMAGE = "ghcr.io/berriai/litellm-non_root"
USER = 65534  # nobody, the image's USER
# The two releases compromised upstream, in a chart version or an image tag (main-v1.82.7-stable).
FORBIDDEN_VERSION = re.compile(r"(?<![0-9.])1\.82\.[78](?![0-9])")
SELECTOR = {"app.kubernetes.io/name": "litellm", "app.kubernetes.io/instance": endpoints.LITELLM_RELEASE}


def env_ref(variable: str) -> str:
    """How LiteLLM's config file reads an environment variable."""
    return f"os.environ/{variable}"


def model_list(env: Environment) -> list[dict[str, Any]]:
    return [{
        "model_name": model["name"],
        "litellm_params": {"model": f"bedrock/{model['model']}", "aws_region_name": env.region},
    } for model in env.component(COMPONENT)["models"]]


def redis_connection() -> dict[str, Any]:
    return {"host": endpoints.REDIS_MASTER.host, "port": endpoints.REDIS_MASTER.port,
            "password": env_ref(naming.REDIS_PASSWORD.env_var)}


def metrics(env: Environment) -> bool:
    """LiteLLM's Prometheus metrics exist only with a licence (litellm/integrations/prometheus.py
    refuses to start without `premium_user`); without one nothing is scraped from LiteLLM and its
    alerts come from kube-state-metrics (grafana_dashboards.litellm_alerts)."""
    return env.enabled("kube-prometheus-stack") and licensed(env)


def callbacks(env: Environment) -> list[str]:
    result = []
    if metrics(env):
        result.append("prometheus")
    if env.enabled("jaeger"):
        result.append("otel")
    return result


def proxy_config(env: Environment) -> dict[str, Any]:
    settings = env.component(COMPONENT)
    redis = redis_connection()
    litellm_settings: dict[str, Any] = {
        "cache": True,
        "cache_params": {"type": "redis", **redis, "namespace": "litellm.cache", "ttl": 600},
        "request_timeout": 600,
    }
    if enabled_callbacks := callbacks(env):
        litellm_settings["callbacks"] = enabled_callbacks
    return {
        "model_list": model_list(env),
        "general_settings": {
            "master_key": env_ref(naming.MASTER_KEY.env_var),
            "database_connection_pool_limit": settings.get("databaseConnectionPoolLimit", 10),
            "database_connection_timeout": 60,
        },
        "litellm_settings": litellm_settings,
        "router_settings": {
            "routing_strategy": "simple-shuffle",
            "redis_host": redis["host"],
            "redis_port": redis["port"],
            "redis_password": redis["password"],
            "num_retries": 2,
            "timeout": 600,
        },
    }


OTEL_SERVICE_NAME = "litellm"  # service.name of LiteLLM's spans, and the span metrics' service_name


def tracing_env(env: Environment) -> dict[str, str]:
    if not env.enabled("jaeger"):
        return {}
    return {
        "OTEL_EXPORTER": "otlp_http",
        "OTEL_ENDPOINT": endpoints.JAEGER_OTLP_HTTP.url("/v1/traces"),
        "OTEL_SERVICE_NAME": OTEL_SERVICE_NAME,
    }


# Only the PreSync migration Job migrates the database; the proxy's replicas must not each run a
# schema push at start (they would race each other and the Job on every rollout). LiteLLM reads
# DISABLE_SCHEMA_UPDATE in litellm/proxy/db/prisma_client.py should_update_prisma_schema
# (str_to_bool) and litellm/proxy/prisma_migration.py (skips when it is exactly "True"). envVars
# also reach the chart's migration Job, whose template appends DISABLE_SCHEMA_UPDATE="false" after
# them ("always run the migration from the PreSync hook"), so the Job's last value wins and it
# still migrates (BerriAI/litellm deploy/charts/litellm-helm/templates/migrations-job.yaml).
NO_SCHEMA_UPDATE = {"DISABLE_SCHEMA_UPDATE": "True"}
SKIP_IRSA = "eks.amazonaws.com/skip-containers"
MIGRATION_CONTAINER = "prisma-migrations"  # the container's name in the chart's migration Job


# Writable paths under the read-only root filesystem. The chart adds emptyDirs at /tmp, /.cache and
# /.npm to the Deployment itself when readOnlyRootFilesystem is set (templates/deployment.yaml); the
# migration Job gets none, and `prisma migrate deploy` writes its migration_lock.toml next to the
# migrations, so LiteLLM copies them to LITELLM_MIGRATION_DIR first (docs.litellm.ai/docs/proxy/prod,
# "Read-only file system"; litellm-proxy-extras utils.py ProxyExtrasDBManager._get_prisma_dir).
# `volumes`/`volumeMounts` reach both the Deployment and the Job.
MIGRATION_DIR = "/var/lib/litellm/migrations"
MIGRATION_VOLUME, MIGRATION_MOUNT = security.scratch("migrations", MIGRATION_DIR)


def image_tag(env: Environment) -> str:
    """The tag, pinned to the environment's digest when it gives one (`tag@sha256:...`): the chart
    writes `repository:tag`, so the digest travels in the same value the guard and diff compare."""
    settings = env.component(COMPONENT)
    digest = settings.get("imageDigest")
    return f"{settings['imageTag']}@{digest}" if digest else settings["imageTag"]


def database_url_env() -> list[dict[str, Any]]:
    _, secret = naming.LITELLM_SECRET
    return [{"name": naming.DATABASE_URL.env_var,
             "valueFrom": {"secretKeyRef": {"name": secret, "key": naming.DATABASE_URL.env_var}}}]


RELEASE = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+")


def release(env: Environment) -> str:
    """The LiteLLM release the rendered pods run, as LiteLLM reports it (`litellm_version` in
    /health/readiness): the version in the image tag (main-v1.83.10-stable), else the chart's."""
    settings = env.component(COMPONENT)
    found = RELEASE.search(settings["imageTag"])
    return found.group(0) if found else settings["chart"]["version"]


def check_version(env: Environment) -> None:
    """The schema pins exact versions; this refuses the two compromised releases."""
    settings = env.component(COMPONENT)
    for path, value in ((["chart", "version"], settings["chart"]["version"]), (["imageTag"], settings["imageTag"])):
        if FORBIDDEN_VERSION.search(value):
            raise config_error(env, ["components", COMPONENT, *path],
                               f"components.litellm.{'.'.join(path)} pins a compromised LiteLLM release ({value})",
                               "pin another release; 1.82.7 and 1.82.8 were compromised upstream")


def values(env: Environment) -> dict[str, Any]:
    check_version(env)
    settings = env.component(COMPONENT)
    replicas = settings.get("replicas", 2)
    _, secret = naming.LITELLM_SECRET
    monitored = metrics(env)
    return {
        "replicaCount": replicas,
        "image": {"repository": IMAGE, "tag": image_tag(env), "pullPolicy": "IfNotPresent"},
        "serviceAccount": {"create": False, "name": naming.BEDROCK.service_account},
        # Rolled when External Secrets rewrites the Secret its variables come from (a rotation).
        "deploymentAnnotations": reloader.reload_annotations(env, secret),
        "masterkeySecretName": secret,
        "masterkeySecretKey": naming.MASTER_KEY.env_var,
        "environmentSecrets": [secret],
        "extraEnvVars": database_url_env(),
        "envVars": {**tracing_env(env), **NO_SCHEMA_UPDATE, "LITELLM_MIGRATION_DIR": MIGRATION_DIR},
        "db": {"useExisting": False, "deployStandalone": False},
        "redis": {"enabled": False},
        "proxy_config": proxy_config(env),
        "resources": settings["resources"],
        # The chart gives the migration Job's pod no securityContext: the container's says it all.
        "podSecurityContext": security.pod_context(USER),
        "securityContext": security.container_context(USER),
        "volumes": [MIGRATION_VOLUME],
        "volumeMounts": [MIGRATION_MOUNT],
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
        "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                                       "whenUnsatisfiable": "ScheduleAnyway",
                                       "labelSelector": {"matchLabels": SELECTOR}}],
        "pdb": {"enabled": replicas > 1, "maxUnavailable": 1},
        "migrationJob": {
            "enabled": True,
            # The migration needs the database, not Bedrock: the chart runs it under the proxy's
            # service account (with the Bedrock IRSA role), so tell EKS' pod identity webhook not to
            # give its container the role's web identity token and AWS_ROLE_ARN
            # (aws/amazon-eks-pod-identity-webhook README, `eks.amazonaws.com/skip-containers`).
            # The account mounts no Kubernetes token either (secret_store.litellm_service_account).
            "annotations": {SKIP_IRSA: MIGRATION_CONTAINER},
            "backoffLimit": 4,
            "resources": resources("100m", "256Mi", "512Mi"),
            "hooks": {"argocd": {"enabled": True}, "helm": {"enabled": False}},
        },
        "serviceMonitor": {"enabled": monitored, "interval": "30s", "scrapeTimeout": "10s"},
    }


def render(env: Environment) -> list[Artifact]:
    return helm_application(env, COMPONENT, values(env), release_name=endpoints.LITELLM_RELEASE,
                            ignore_differences=reloader.ignore_reloads(env) or None)
