"""The registration Job's script (generator/components/openwebui_key.py) run with /bin/sh and the real
curl against a tiny fake LiteLLM on 127.0.0.1.

The fake answers as LiteLLM's key API does (BerriAI/litellm
litellm/proxy/management_endpoints/key_management_endpoints.py): management routes need the master
key; GET /key/info without `key` describes the bearer's own key (404 "Key not found in database"
for an unknown one, which user_api_key_auth answers 401 before the route runs: both mean "not
registered"); POST /key/generate refuses a second key under an alias (`_enforce_unique_key_alias`,
400) and a value already stored (the token is the table's primary key); POST /key/delete takes
`key_aliases`; POST /key/update sets `models`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import boto3
import pytest
import yaml

from aws_support import (  # noqa: F401
    aws, create_key_like_the_template, create_secrets_like_the_template, load_template, moto_endpoint,
)
from generator.cli import main
from generator.components import openwebui_key
from generator.environment import load_environment
from test_stack_secrets import render_template

MASTER = "sk-master0123456789"
KEY = "sk-OpenWebui0123456789abcdef"
MODELS = ["claude-sonnet", "claude-haiku"]


class FakeLiteLLM:
    """Keys by value: {"key_alias", "models"}; `calls` records (method, path) in order."""

    def __init__(self) -> None:
        self.keys: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, str]] = []
        self.down = False

    def answer(self, method: str, path: str, bearer: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        self.calls.append((method, path))
        if self.down:
            return 503, {"error": "starting"}
        if path == "/health/liveliness":
            return 200, {}
        if path == "/key/info" and method == "GET":
            if bearer in self.keys:
                return 200, {"key": bearer, "info": self.keys[bearer]}
            if bearer == MASTER:
                return 200, {"key": MASTER, "info": {}}
            return 401, {"error": {"message": "Authentication Error, Invalid proxy server token passed"}}
        if path == "/v1/models" and method == "GET":
            if bearer in self.keys:
                return 200, {"data": [{"id": m, "object": "model"} for m in self.keys[bearer]["models"]]}
            return 401, {"error": {"message": "Authentication Error, Invalid proxy server token passed"}}
        if bearer != MASTER:
            return 401, {"error": {"message": "Authentication Error"}}
        if path == "/key/generate":
            alias = body.get("key_alias")
            if any(k["key_alias"] == alias for k in self.keys.values()):
                return 400, {"error": {"message": f"Key with alias '{alias}' already exists. "
                                                  "Unique key aliases across all keys are required."}}
            if body["key"] in self.keys:
                return 500, {"error": {"message": "Unique constraint failed on the fields: (`token`)"}}
            self.keys[body["key"]] = {"key_alias": alias, "models": body["models"]}
            return 200, {"key": body["key"], "key_alias": alias}
        if path == "/key/update":
            if body["key"] not in self.keys:
                return 404, {"error": {"message": "Key not found"}}
            self.keys[body["key"]]["models"] = body["models"]
            return 200, {"key": body["key"]}
        if path == "/key/delete":
            gone = [v for v, k in self.keys.items() if k["key_alias"] in body["key_aliases"]]
            if not gone:
                return 400, {"error": {"message": "Not all keys passed in were deleted."}}
            for value in gone:
                del self.keys[value]
            return 200, {"deleted_keys": body["key_aliases"]}
        return 404, {"error": "no route"}


@contextmanager
def serve(fake: FakeLiteLLM) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else {}
            bearer = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
            status, answer = fake.answer(self.command, self.path, bearer, body)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _handle  # noqa: N815 (http.server's names)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def run(url: str, keys: Path, key: str = KEY, attempts: int = 2) -> subprocess.CompletedProcess:
    assert shutil.which("curl"), "curl is needed to run the registration script"
    (keys / "master-key").write_text(MASTER)
    (keys / "openwebui-key").write_text(key)
    env = {"PATH": os.environ["PATH"], "LITELLM_URL": url, "SECRETS_DIR": str(keys),
           "KEY_ALIAS": openwebui_key.KEY_ALIAS, "MODELS_JSON": json.dumps(MODELS),
           "ATTEMPTS": str(attempts), "DELAY_SECONDS": "0", "CURL_TIMEOUT_SECONDS": "2"}
    return subprocess.run(["/bin/sh", "-c", openwebui_key.SCRIPT], env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture
def litellm() -> Iterator[tuple[FakeLiteLLM, str]]:
    fake = FakeLiteLLM()
    with serve(fake) as url:
        yield fake, url


def test_first_registration_generates_the_chosen_key_with_the_models(litellm, tmp_path):
    fake, url = litellm
    result = run(url, tmp_path)
    assert result.returncode == 0, result.stderr
    assert fake.keys == {KEY: {"key_alias": openwebui_key.KEY_ALIAS, "models": MODELS}}
    assert ("POST", "/key/generate") in fake.calls
    assert "registered Open WebUI's key" in result.stdout
    assert KEY not in result.stdout + result.stderr and MASTER not in result.stdout + result.stderr


def test_already_registered_is_done_and_only_updates_the_models(litellm, tmp_path):
    fake, url = litellm
    fake.keys[KEY] = {"key_alias": openwebui_key.KEY_ALIAS, "models": ["retired-model"]}
    result = run(url, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "already registered" in result.stdout
    assert fake.keys[KEY]["models"] == MODELS
    assert ("POST", "/key/generate") not in fake.calls and ("POST", "/key/delete") not in fake.calls
    assert run(url, tmp_path).returncode == 0  # and again: idempotent
    assert list(fake.keys) == [KEY]


def test_a_known_key_refused_key_info_by_route_checks_is_still_registered(litellm, tmp_path):
    """Should LiteLLM's route checks refuse /key/info to a non-admin key, /v1/models decides: the
    key is not generated twice (which LiteLLM would refuse, failing every sync)."""
    fake, url = litellm
    fake.keys[KEY] = {"key_alias": openwebui_key.KEY_ALIAS, "models": MODELS}
    original = fake.answer
    fake.answer = lambda m, p, b, body: (401, {}) if p == "/key/info" and b != MASTER else original(m, p, b, body)
    result = run(url, tmp_path)
    assert result.returncode == 0, result.stderr
    assert ("GET", "/v1/models") in fake.calls and ("POST", "/key/generate") not in fake.calls
    assert "already registered" in result.stdout


def test_a_rotated_key_replaces_the_old_one_under_the_alias(litellm, tmp_path):
    fake, url = litellm
    fake.keys["sk-OldOpenWebuiKey"] = {"key_alias": openwebui_key.KEY_ALIAS, "models": MODELS}
    result = run(url, tmp_path)
    assert result.returncode == 0, result.stderr
    assert list(fake.keys) == [KEY], "the replaced key is revoked, the new one registered"
    assert "revoked the previous key" in result.stdout


def test_a_refused_duplicate_that_exists_counts_as_done(litellm, tmp_path):
    """LiteLLM refuses the generate (another Job registered the key meanwhile): /key/info decides."""
    fake, url = litellm
    original = fake.answer

    def racing(method, path, bearer, body):
        if path == "/key/generate":  # the key lands just before this call
            fake.keys[KEY] = {"key_alias": openwebui_key.KEY_ALIAS, "models": MODELS}
        return original(method, path, bearer, body)

    fake.answer = racing
    result = run(url, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "registered meanwhile" in result.stdout


def test_litellm_down_fails_the_job_for_its_backoff_to_retry(litellm, tmp_path):
    fake, url = litellm
    fake.down = True
    result = run(url, tmp_path, attempts=2)
    assert result.returncode == 1
    assert "LiteLLM did not answer" in result.stderr
    assert fake.calls == [("GET", "/health/liveliness")] * 2 and fake.keys == {}


def test_nothing_listening_fails_too(tmp_path):
    result = run("http://127.0.0.1:9", tmp_path, attempts=1)
    assert result.returncode == 1 and "LiteLLM did not answer" in result.stderr


def test_a_key_info_error_fails_instead_of_registering(litellm, tmp_path):
    fake, url = litellm
    original = fake.answer
    fake.answer = lambda m, p, b, body: (500, {}) if p == "/key/info" else original(m, p, b, body)
    result = run(url, tmp_path)
    assert result.returncode == 1 and "GET /key/info answered 500" in result.stderr
    assert fake.keys == {}


@pytest.mark.parametrize("key", ["OpenWebui0123456789", "sk-with space", 'sk-quote"'])
def test_a_malformed_key_is_refused_before_any_call(litellm, tmp_path, key):
    fake, url = litellm
    result = run(url, tmp_path, key=key)
    assert result.returncode == 1 and "FAILED: Open WebUI's key" in result.stderr
    assert fake.calls == []


@pytest.mark.filterwarnings("ignore:Tried to parse:UserWarning")
def test_the_value_cloudformation_generates_registers_once_prefixed(scratch_repo, aws, litellm, tmp_path):  # noqa: F811
    """End to end but for the cluster: the secrets template's GenerateSecretString (moto's Secrets
    Manager generating it), the ExternalSecret's `sk-` template, then the Job's script."""
    assert main(["render", "--root", str(scratch_repo)]) == 0
    folder = scratch_repo / "rendered" / "dev" / "cloudformation"
    template = load_template(folder / "secrets.yaml")
    create_secrets_like_the_template(template, "us-east-1", create_key_like_the_template(template, "us-east-1"))
    env = load_environment(scratch_repo / "environments", "dev")
    stored = boto3.client("secretsmanager", region_name="us-east-1").get_secret_value(
        SecretId=env.secret_name("openWebuiKey"))["SecretString"]
    external_secret = yaml.safe_load((scratch_repo / "rendered" / "dev" / "manifests" / "secret-store"
                                      / "externalsecret-openwebui-key.yaml").read_text())
    key = render_template(external_secret["spec"]["target"]["template"]["data"]["OPENWEBUI_LITELLM_KEY"],
                          {"OPENWEBUI_LITELLM_KEY": stored})
    assert key == "sk-" + stored
    fake, url = litellm
    result = run(url, tmp_path, key=key)
    assert result.returncode == 0, result.stderr
    assert list(fake.keys) == [key]
