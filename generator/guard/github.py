"""A small GitHub REST client on urllib: JSON in and out, Link pagination, failing closed.

Any transport error, non-2xx answer, unparsable body or pagination that leaves the API's host is a
GitHubError; callers turn it into a refusal that says why. The token is only ever sent to the
configured API host.
"""

from __future__ import annotations

import http.client
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from generator import deadline, limits
from generator.errors import CheckFailed
from generator.secretscan import redact_urls, url_credential

DEFAULT_API = "https://api.github.com"
PER_PAGE = 100
MAX_PAGES = 50
MAX_BODY = limits.HTTP_BODY_BYTES  # bytes; a page of reviews is a few hundred KB
_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?([^";]+)"?')


class GitHubError(CheckFailed):
    """The API could not be reached or answered an error: the guard refuses."""


def next_link(header: str | None) -> str | None:
    for url, rel in _LINK.findall(header or ""):
        if "next" in rel.split():
            return url
    return None


class _SameOriginRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects only within the API's origin: urllib would carry the token elsewhere."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        old, new = urllib.parse.urlsplit(req.full_url), urllib.parse.urlsplit(newurl)
        if (old.scheme, old.netloc) != (new.scheme, new.netloc):
            raise urllib.error.HTTPError(req.full_url, code, f"redirect to another origin refused ({new.netloc})", headers, fp)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_SameOriginRedirects)


class GitHub:
    def __init__(self, api_url: str | None = None, token: str | None = None) -> None:
        self.api_url = (api_url or DEFAULT_API).rstrip("/")
        try:
            parsed = urllib.parse.urlsplit(self.api_url)
            parsed.port  # noqa: B018 (raises ValueError for a port that is not a number)
        except ValueError:
            raise GitHubError(f"not an API URL: {limits.one_line(redact_urls(self.api_url), 120)!r}") from None
        if parsed.scheme not in ("https", "http") or not parsed.netloc:
            raise GitHubError(f"not an API URL: {limits.one_line(redact_urls(self.api_url), 120)!r}")
        credential = url_credential(self.api_url)
        if credential:
            raise GitHubError(f"the GitHub API URL carries {credential} (a credential); pass the token as GITHUB_TOKEN instead")
        self._origin = (parsed.scheme, parsed.netloc)
        self.token = token or None
        self._listed = 0  # bytes of list pages read so far (GITHUB_LIST_BYTES)

    def _url(self, path: str) -> str:
        return f"{self.api_url}/{path.lstrip('/')}"

    def _request(self, method: str, url: str, body: Any = None) -> tuple[Any, dict[str, str]]:
        parsed = urllib.parse.urlsplit(url)
        if (parsed.scheme, parsed.netloc) != self._origin:
            raise GitHubError(f"refusing to follow a link away from {self.api_url}: {parsed.scheme}://{parsed.netloc}")
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28",
                   "User-Agent": "litellm-gitops-guard"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        where = f"{method} {parsed.path}"

        def exchange() -> tuple[bytes, dict[str, str]]:
            # Socket timeouts per connect and read; the whole exchange under the command's deadline.
            with _OPENER.open(request, timeout=deadline.timeout()) as response:  # URL checked above
                body = limits.read_body(response, where)
                return body, {k.lower(): v for k, v in response.headers.items()}

        try:
            raw, response_headers = deadline.call(exchange, f"{where} at {redact_urls(f'{parsed.scheme}://{parsed.netloc}')}")
        except deadline.DeadlineExceeded as exc:
            raise GitHubError(str(exc)) from None
        except urllib.error.HTTPError as exc:
            message = ""
            try:  # only the start of an error body is read: it is quoted, one line
                answer = json.loads(exc.read(limits.HTTP_ERROR_BODY_BYTES) or b"{}")
                message = str(answer.get("message", "")) if isinstance(answer, dict) else ""
            except (ValueError, AttributeError, RecursionError, OSError, http.client.HTTPException):
                pass
            if not message and 300 <= exc.code < 400:
                message = str(exc.reason)
            message = limits.one_line(redact_urls(message))
            raise GitHubError(f"{where} answered HTTP {exc.code}" + (f": {message}" if message else "")) from None
        except limits.LimitExceeded as exc:
            raise GitHubError(str(exc)) from None
        except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
            reason = limits.one_line(redact_urls(str(getattr(exc, "reason", exc) or type(exc).__name__)))
            raise GitHubError(f"{where} at {redact_urls(f'{parsed.scheme}://{parsed.netloc}')} failed: {reason}") from None
        try:
            return (json.loads(raw) if raw.strip() else None), response_headers
        except (ValueError, RecursionError):
            raise GitHubError(f"{where} answered something that is not JSON") from None

    def get(self, path: str) -> Any:
        return self._request("GET", self._url(path))[0]

    def get_all(self, path: str) -> list[Any]:
        """Every item of a paginated list, following Link rel="next"."""
        url: str | None = f"{self._url(path)}?per_page={PER_PAGE}"
        items: list[Any] = []
        for _ in range(MAX_PAGES):
            if url is None:
                return items
            page, headers = self._request("GET", url)
            self._listed += len(json.dumps(page))
            if self._listed > limits.GITHUB_LIST_BYTES:
                raise GitHubError(f"{path} answered more than GITHUB_LIST_BYTES ({limits.GITHUB_LIST_BYTES:,} bytes) in all")
            if not isinstance(page, list):
                raise GitHubError(f"GET {urllib.parse.urlsplit(url).path} did not answer a list")
            items.extend(page)
            url = next_link(headers.get("link"))
        raise GitHubError(f"more than {MAX_PAGES} pages from {path}; refusing to guess")

    def post(self, path: str, body: Any) -> Any:
        return self._request("POST", self._url(path), body)[0]

    def patch(self, path: str, body: Any) -> Any:
        return self._request("PATCH", self._url(path), body)[0]
