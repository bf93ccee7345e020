"""Phase 15, verification: an Application holding an Argo CD PostSync hook Job that checks the
stack from inside the cluster once everything before it has synced.

Besides the Job, the Application holds one ordinary object, the ConfigMap with the check script and
the versions of what it checks. Argo CD auto-syncs only an Application that is OutOfSync, and hooks
do not count, so without that ConfigMap the hook would never run; with it, the Job runs on the first
sync and again whenever a checked component's version or the checks change.

The Job asks LiteLLM for /health/liveliness and /health/readiness and, when Open WebUI is enabled,
Open WebUI for /health; then it checks that LiteLLM runs the rendered release (`litellm_version`
in the readiness answer, every answer of several through the Service), so it cannot pass against
the old pods of a rollout. Each check retries for a while (services may still be rolling out), then
fails the Job, and with it the sync, naming the endpoint that did not answer. The image is pinned;
the pod runs unprivileged with a read-only root filesystem, bounded in time and retries.
"""

from __future__ import annotations

import hashlib
from typing import Any

from generator import endpoints, yamlio
from generator.argocd import manifest_application
from generator.artifacts import Artifact
from generator.components import hookjob, litellm, open_webui
from generator.components.open_webui import HEALTH_PATH as OPEN_WEBUI_HEALTH
from generator.environment import Environment

LITELLM_HEALTH = ("/health/liveliness", "/health/readiness")  # `litellm-gitops verify` asks the same

COMPONENT = "verification"
NAMESPACE = "litellm"
JOB_NAME = "verify-stack"
SCRIPT_KEY = "verify.sh"
SCRIPT_DIR = "/scripts"
CURL_TIMEOUT_SECONDS = 10
CURL_USER = 100  # curl_user in the curlimages image
ATTEMPTS = 30
DELAY_SECONDS = 10

SCRIPT = """\
set -eu
check() {
  name="$1"; url="$2"; attempt=1
  while [ "$attempt" -le "$ATTEMPTS" ]; do
    if curl --fail --silent --show-error --max-time "$CURL_TIMEOUT_SECONDS" --output /dev/null "$url"; then
      echo "ok: $name ($url)"
      return 0
    fi
    echo "waiting: $name ($url), attempt $attempt of $ATTEMPTS"
    attempt=$((attempt + 1))
    sleep "$DELAY_SECONDS"
  done
  echo "FAILED: $name did not answer at $url" >&2
  exit 1
}
# LiteLLM reports its release as "litellm_version" in /health/readiness. Each attempt asks
# $SAMPLES times through the Service (requests spread over the pods) and needs every answer to be
# the rendered release: a pod still on the old release fails the attempt.
check_version() {
  url="$1"; want="$2"; attempt=1; seen=""
  while [ "$attempt" -le "$ATTEMPTS" ]; do
    sample=1; ok=1
    while [ "$sample" -le "$SAMPLES" ]; do
      if ! body=$(curl --fail --silent --show-error --max-time "$CURL_TIMEOUT_SECONDS" "$url"); then
        ok=0; seen="no answer"; break
      fi
      seen=$(printf '%s' "$body" | sed -n 's/.*"litellm_version"[[:space:]]*:[[:space:]]*"\\([^"]*\\)".*/\\1/p')
      if [ "$seen" != "$want" ]; then ok=0; break; fi
      sample=$((sample + 1))
    done
    if [ "$ok" -eq 1 ]; then
      echo "ok: LiteLLM runs the rendered release $want ($SAMPLES of $SAMPLES answers)"
      return 0
    fi
    echo "waiting: LiteLLM answered ${seen:-no version}, the rendered release is $want, attempt $attempt of $ATTEMPTS"
    attempt=$((attempt + 1))
    sleep "$DELAY_SECONDS"
  done
  echo "FAILED: LiteLLM does not run the rendered release $want (last answer: ${seen:-no version})" >&2
  exit 1
}
"""


def checks(env: Environment) -> list[tuple[str, str]]:
    """(name, URL) of every health endpoint the Job requires to answer 2xx."""
    result = [(f"LiteLLM {path.rsplit('/', 1)[-1]}", endpoints.LITELLM.url(path)) for path in LITELLM_HEALTH]
    if env.enabled("open-webui"):
        result.append(("Open WebUI health", endpoints.OPEN_WEBUI.url(OPEN_WEBUI_HEALTH)))
    return result


def samples(env: Environment) -> int:
    """Answers per version check: twice the replicas, so every pod is likely asked at least once."""
    return 2 * env.component("litellm").get("replicas", 2)


def script(env: Environment) -> str:
    lines = [f'check "{name}" "{url}"' for name, url in checks(env)]
    lines.append(f'check_version "{endpoints.LITELLM.url(LITELLM_HEALTH[1])}" "{litellm.release(env)}"')
    return SCRIPT + "\n".join(lines) + '\necho "stack verified"\n'


def _digest(values: dict[str, Any]) -> str:
    return hashlib.sha256(yamlio.dump(values).encode()).hexdigest()[:16]


def checked_versions(env: Environment) -> dict[str, str]:
    """Chart versions (and LiteLLM's image tag and release) of the components the Job checks, and a
    digest of their values: any change to what they run changes this ConfigMap, so the verification
    Application syncs, in wave 15, and its PostSync Job checks the result (a synced Application whose
    objects did not change runs no hook)."""
    result = {"litellm-chart": env.component("litellm")["chart"]["version"],
              "litellm-image": litellm.image_tag(env),
              "litellm-release": litellm.release(env),
              "litellm-values-sha256": _digest(litellm.values(env))}
    if env.enabled("open-webui"):
        result["open-webui-chart"] = env.component("open-webui")["chart"]["version"]
        result["open-webui-values-sha256"] = _digest(open_webui.values(env))
    return result


def config_map(env: Environment) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": JOB_NAME, "namespace": NAMESPACE},
        "data": {SCRIPT_KEY: script(env), **checked_versions(env)},
    }


def deadline_seconds(env: Environment) -> int:
    """Long enough for every check (the version check's samples included) to use all its attempts,
    plus a minute to start the pod."""
    per_attempt = len(checks(env)) * (CURL_TIMEOUT_SECONDS + DELAY_SECONDS)
    per_attempt += samples(env) * CURL_TIMEOUT_SECONDS + DELAY_SECONDS
    return ATTEMPTS * per_attempt + 60


def job(env: Environment) -> dict[str, Any]:
    return hookjob.job(JOB_NAME, NAMESPACE, "PostSync", backoff_limit=1, deadline_seconds=deadline_seconds(env),
                       user=CURL_USER, volumes=[{"name": "scripts", "configMap": {"name": JOB_NAME}}], container={
        "name": "verify",
        "command": ["/bin/sh", f"{SCRIPT_DIR}/{SCRIPT_KEY}"],
        "env": [{"name": "ATTEMPTS", "value": str(ATTEMPTS)},
                {"name": "DELAY_SECONDS", "value": str(DELAY_SECONDS)},
                {"name": "CURL_TIMEOUT_SECONDS", "value": str(CURL_TIMEOUT_SECONDS)},
                {"name": "SAMPLES", "value": str(samples(env))}],
        "volumeMounts": [{"name": "scripts", "mountPath": SCRIPT_DIR, "readOnly": True}],
    })


def render(env: Environment) -> list[Artifact]:
    return manifest_application(env, COMPONENT, [("configmap-verify-stack.yaml", config_map(env)),
                                                 ("job-verify-stack.yaml", job(env))])
