"""`litellm-gitops verify`: phase 15 from a laptop or the bastion. Calls the same health endpoints
as the PostSync verification Job (generator.components.verification: LiteLLM's liveliness and readiness, Open WebUI's health) and
exits 1 naming each one that fails."""

from __future__ import annotations

import argparse
import http.client
import json
import math
import sys
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from generator import deadline, limits
from generator.components.verification import LITELLM_HEALTH, OPEN_WEBUI_HEALTH
from generator.errors import EXIT_FAILED, EXIT_OK, InputError
from generator.secretscan import url_credential

NAME = "verify"
HELP = "check LiteLLM and Open WebUI health endpoints (phase 15)"
DESCRIPTION = """\
Check that the deployed stack answers: LiteLLM's /health/liveliness and /health/readiness, and
Open WebUI's /health when --open-webui-url is given, and with --release that LiteLLM runs that
release. Exit 0 when all pass, 1 naming each failure, 2 for a malformed URL.

examples:
  kubectl -n litellm port-forward svc/litellm 4000:4000 &
  kubectl -n open-webui port-forward svc/open-webui 8080:80 &
  litellm-gitops verify --litellm-url http://127.0.0.1:4000 --open-webui-url http://127.0.0.1:8080
  litellm-gitops verify --litellm-url http://127.0.0.1:4000 --release 1.83.10
"""



def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--litellm-url", required=True, metavar="URL", help="LiteLLM's base URL")
    parser.add_argument("--open-webui-url", metavar="URL", help="Open WebUI's base URL (skipped when absent)")
    parser.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS", help="per request (default: 10)")
    parser.add_argument("--release", metavar="VERSION",
                        help="also require LiteLLM's readiness to report this release (litellm_version), "
                             "e.g. 1.83.10, as the verification Job does")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    deadline.add_option(parser)


def _base(url: str, flag: str) -> str:
    """The URL without a trailing slash; InputError for anything urllib could not use as an http(s)
    base URL (no host, a port that is not 1-65535, a broken IPv6 literal) or one carrying a
    credential (it would be printed; the health endpoints need none). The URL is never echoed."""
    hint = f"for example {flag} http://127.0.0.1:4000"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InputError(f"{flag} is not a URL ({limits.one_line(str(exc), 80)})", hint=hint) from None
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() or ord(c) < 32 for c in url):
        raise InputError(f"{flag} must be an http(s) URL with a host", hint=hint)
    if port == 0:
        raise InputError(f"{flag} has port 0 (a port is 1-65535)", hint=hint)
    if parts.query or parts.fragment:
        raise InputError(f"{flag} must be a base URL, without ?query or #fragment", hint=hint)
    credential = url_credential(url)
    if credential:
        raise InputError(f"{flag} carries {credential} (a credential); it would be printed", hint=hint)
    return url.rstrip("/")


def _seconds(value: float | None, flag: str) -> None:
    if value is not None and not (math.isfinite(value) and value > 0):
        raise InputError(f"{flag} must be a positive, finite number of seconds", hint=f"for example {flag} 10")


def _get(url: str, timeout: float, read: bool) -> tuple[int, bytes]:
    """GET under the command's deadline (a server that drips bytes is cut): status and, when
    `read`, the body (at most limits.HTTP_BODY_BYTES)."""
    def fetch() -> tuple[int, bytes]:
        with urllib.request.urlopen(url, timeout=min(timeout, deadline.timeout())) as response:  # noqa: S310 (scheme checked above)
            return response.status, limits.read_body(response, f"GET {url}") if read else b""

    return deadline.call(fetch, f"GET {url}")


def _failure(url: str, exc: Exception) -> dict:
    if isinstance(exc, deadline.DeadlineExceeded):
        return {"url": url, "ok": False, "detail": "no complete answer before the deadline"}
    if isinstance(exc, urllib.error.HTTPError):
        return {"url": url, "ok": False, "detail": f"HTTP {exc.code}"}
    if isinstance(exc, limits.LimitExceeded):
        return {"url": url, "ok": False, "detail": limits.one_line(str(exc))}
    if isinstance(exc, http.client.HTTPException):
        return {"url": url, "ok": False, "detail": f"not an HTTP answer ({type(exc).__name__})"}
    return {"url": url, "ok": False, "detail": f"unreachable: {limits.one_line(str(getattr(exc, 'reason', exc)))}"}


FAILURES = (deadline.DeadlineExceeded, urllib.error.URLError, OSError, http.client.HTTPException)


def check(url: str, timeout: float) -> dict:
    try:
        status, _ = _get(url, timeout, read=False)
    except FAILURES as exc:
        return _failure(url, exc)
    return {"url": url, "ok": 200 <= status < 300, "detail": f"HTTP {status}"}


def check_release(url: str, release: str, timeout: float) -> dict:
    """LiteLLM's readiness answer names the release it runs (`litellm_version`)."""
    try:
        _, body = _get(url, timeout, read=True)
        answer = json.loads(body or b"{}")
    except FAILURES as exc:
        return _failure(url, exc)
    except (ValueError, RecursionError):
        return {"url": url, "ok": False, "detail": "not JSON"}
    if not isinstance(answer, dict):
        return {"url": url, "ok": False, "detail": "not a JSON object"}
    reported = answer.get("litellm_version")
    if reported is not None and not isinstance(reported, str):
        return {"url": url, "ok": False, "detail": "litellm_version is not a string"}
    shown = limits.one_line(reported, 80) if reported else "not reported"
    return {"url": url, "ok": reported == release, "detail": f"release {shown}, want {release}"}


def run(args: argparse.Namespace) -> int:
    _seconds(args.timeout, "--timeout")
    _seconds(args.deadline, "--deadline")
    deadline.start(args.deadline)
    litellm = _base(args.litellm_url, "--litellm-url")
    targets = [litellm + p for p in LITELLM_HEALTH]
    if args.open_webui_url:
        targets += [_base(args.open_webui_url, "--open-webui-url") + p for p in (OPEN_WEBUI_HEALTH,)]
    results = [check(url, args.timeout) for url in targets]
    if args.release:
        results.append(check_release(litellm + LITELLM_HEALTH[1], args.release, args.timeout))
    if args.json:
        print(json.dumps({"ok": all(r["ok"] for r in results), "checks": results}, indent=2))
    else:
        for r in results:
            print(f"{'ok  ' if r['ok'] else 'FAIL'}  {r['url']}  {r['detail']}")
    failed = [r for r in results if not r["ok"]]
    if failed:
        print(f"verification failed: {len(failed)} of {len(results)} check(s)", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK
