"""Phase 14, Open WebUI (chart open-webui) into namespace open-webui: the chat front end, talking to
LiteLLM's in-cluster Service through its OpenAI-compatible API.

Ollama, Pipelines and the bundled websocket Redis are off: models come from LiteLLM only, and one
replica needs no shared websocket manager (the schema keeps it at one: SQLite on a ReadWriteOnce
volume cannot be shared). The key Open WebUI sends to LiteLLM (its own virtual key, never the
master key) and its WEBUI_SECRET_KEY (which signs sessions: a new one per render would log everybody
out) come from `openwebui-secrets` (phase 8). The Application's PreSync hook registers that key with
LiteLLM before Open WebUI starts (components/openwebui_key.py, carried by the chart's
extraResources). Its data (SQLite database, uploads) lives on a persistent volume.
"""

from __future__ import annotations

from typing import Any

from generator import endpoints, naming
from generator.argocd import helm_application
from generator.artifacts import Artifact
from generator.components import openwebui_key, reloader, resources, security, storage_class
from generator.components.secret_store import OPENWEBUI_API_KEY, WEBUI_SECRET_KEY
from generator.environment import Environment

COMPONENT = "open-webui"
HEALTH_PATH = "/health"
# Open WebUI's image (built with its Dockerfile's default UID=0) runs as root; any UID works when
# the data directory is writable: /app/backend/data is the volume (fsGroup makes it, and data an
# earlier root pod wrote, group-writable), where Open WebUI also keeps its caches (the Dockerfile's
# HF_HOME, SENTENCE_TRANSFORMERS_HOME, TIKTOKEN_CACHE_DIR...). The root filesystem is read-only; /tmp
# is the one other place it writes (uploads being processed, temporary files of its libraries).
USER = 10001
TMP_VOLUME, TMP_MOUNT = security.scratch("tmp", "/tmp", "1Gi")


def _probe(path: str, **timing: int) -> dict[str, Any]:
    return {"httpGet": {"path": path, "port": "http"}, **timing}


def values(env: Environment) -> dict[str, Any]:
    settings = env.component(COMPONENT)
    _, secret = naming.OPENWEBUI_SECRET
    registration = openwebui_key.wanted(env)
    # The chart runs a StatefulSet (persistence on, provider local): rolled when its Secret changes,
    # which holds only Open WebUI's own key and session key (a master-key rotation does not roll it).
    annotations = reloader.reload_annotations(env, secret)
    if registration:  # the models the key may call: changing them syncs the Application, whose hook updates the key
        annotations[openwebui_key.MODELS_ANNOTATION] = openwebui_key.models_digest(env)
    return {
        "replicaCount": settings.get("replicas", 1),
        "annotations": annotations,
        "ollama": {"enabled": False},
        "pipelines": {"enabled": False},
        # One replica: Open WebUI's in-memory websocket manager, no Redis of its own.
        "websocket": {"enabled": True, "manager": "", "redis": {"enabled": False}},
        "enableOpenaiApi": True,
        "openaiBaseApiUrl": endpoints.LITELLM.url("/v1"),
        "openaiApiKeyExistingSecret": secret,
        "openaiApiKeyExistingSecretKey": OPENWEBUI_API_KEY,
        # The chart itself sets ENABLE_OLLAMA_API=False (Ollama off, no URLs) and OPENAI_API_KEY.
        "extraEnvVars": [
            {"name": WEBUI_SECRET_KEY, "valueFrom": {"secretKeyRef": {"name": secret, "key": WEBUI_SECRET_KEY}}},
            # The environment wins over the configuration Open WebUI stores in its database: with
            # persistent config on (its default), a setting once saved (OPENAI_API_KEYS, the key it
            # calls LiteLLM with, among them) is read from the database on every start and a rotated
            # key never reaches it (open-webui backend/open_webui/config.py, PersistentConfig).
            # Settings changed in the admin UI then last until the next restart: change them here.
            {"name": "ENABLE_PERSISTENT_CONFIG", "value": "False"},
            # Egress is default-deny (network_policies.py): no version checks, no embedding model
            # downloads from Hugging Face Hub; models already on the data volume keep working
            # (docs.openwebui.com, env-configuration OFFLINE_MODE; tutorials/offline-mode).
            {"name": "OFFLINE_MODE", "value": "True"},
        ],
        # The chart makes a standalone claim (not a volumeClaimTemplate), which Argo CD owns: the
        # annotation keeps it, and every user and chat on it, through a prune or the
        # Application's deletion (storage_class.KEEP).
        "persistence": {"enabled": True, "size": settings.get("storageSize", "10Gi"),
                        "storageClass": storage_class.name(env), "annotations": dict(storage_class.KEEP),
                        "accessModes": ["ReadWriteOnce"], "provider": "local"},
        "resources": resources("250m", "1Gi", "2Gi"),
        "podSecurityContext": security.pod_context(USER, fs_group=USER),
        "containerSecurityContext": security.container_context(USER),  # also the copy-app-data init container
        "copyAppData": {"resources": resources("50m", "64Mi", "256Mi")},
        "volumes": [TMP_VOLUME],
        "volumeMounts": {"container": [TMP_MOUNT], "initContainer": []},
        "startupProbe": _probe(HEALTH_PATH, initialDelaySeconds=10, periodSeconds=5, failureThreshold=60),
        "livenessProbe": _probe(HEALTH_PATH, periodSeconds=15, failureThreshold=4),
        "readinessProbe": _probe("/health/db", periodSeconds=10, failureThreshold=3),
        "extraResources": [openwebui_key.job(env)] if registration else [],
    }


def render(env: Environment) -> list[Artifact]:
    return helm_application(env, COMPONENT, values(env), release_name=endpoints.OPEN_WEBUI_RELEASE,
                            ignore_differences=reloader.ignore_reloads(env, "StatefulSet") or None)
