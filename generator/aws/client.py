"""boto3 access for discover and preflight: one session per environment (its region; endpoint,
profile and credentials from the usual AWS variables, AWS_ENDPOINT_URL included) and AWS
failures turned into one plain sentence (`AwsError`), never a traceback.

Bounded: creating a client (which resolves credentials, and may run a profile's
credential_process) and every call run under the command's deadline (generator/deadline.py); an
answer's body is read at most limits.HTTP_BODY_BYTES. botocore reads bodies whole inside
`URLLib3Session.send` unless the request streams (botocore 1.44 `httpsession.py` `send`: "if not
request.stream_output: http_response.content"; `endpoint.py` `Endpoint._send` calls
`self.http_session.send`), so each client's send is wrapped to stream and read the body bounded.
Every endpoint a client resolved (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>, a profile's
endpoint_url) is refused when it carries a credential (generator/secretscan.py `url_credential`):
it would be printed in messages that name the endpoint.
"""

from __future__ import annotations

import http.client
import json
import os
from typing import Any
from urllib.parse import urlsplit

import boto3
import urllib3.exceptions
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConfigParseError,
    ConnectionClosedError,
    ConnectTimeoutError,
    CredentialRetrievalError,
    EndpointConnectionError,
    InvalidConfigError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
)
from botocore.parsers import ResponseParserError

from generator import deadline, limits
from generator.errors import CheckFailed, InputError
from generator.secretscan import redact_urls, url_credential

# Bounded: each attempt waits at most CONNECT_TIMEOUT to connect and READ_TIMEOUT per read, two
# attempts in all (standard mode backs off between them), and every call runs under the command's
# deadline (generator.deadline).
CONFIG = Config(connect_timeout=deadline.CONNECT_TIMEOUT, read_timeout=deadline.READ_TIMEOUT,
                retries={"max_attempts": 2, "mode": "standard"}, user_agent_extra="litellm-gitops")
ENDPOINT_PREFIX = "AWS_ENDPOINT_URL"  # AWS_ENDPOINT_URL and every AWS_ENDPOINT_URL_<SERVICE>

ACCESS_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedException",
                 "AuthorizationError"}
BAD_CREDENTIALS = {"ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId", "SignatureDoesNotMatch",
                   "UnrecognizedClientException", "InvalidSignatureException", "RequestExpired"}
THROTTLED = {"Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded",
             "SlowDown"}


class AwsError(CheckFailed):
    """An AWS call failed; str() is one plain sentence that says what to do."""

    def __init__(self, message: str, code: str = "", fatal: bool = False):
        super().__init__(message)
        self.code = code
        self.fatal = fatal  # no point trying further calls (no credentials, endpoint unreachable)


class ResponseTooLarge(BotoCoreError):
    fmt = "the answer from {endpoint_url} is larger than HTTP_BODY_BYTES ({limit:,} bytes)"


class UnreadableResponse(BotoCoreError):
    fmt = "the answer from {endpoint_url} broke off ({reason})"


def _bounded(send: Any) -> Any:
    """`http_session.send`, reading a non-streamed body at most limits.HTTP_BODY_BYTES."""
    def bounded_send(request: Any) -> Any:
        streaming = request.stream_output
        request.stream_output = True  # botocore leaves the body unread; we read it below
        try:
            response = send(request)
        finally:
            request.stream_output = streaming
        if not streaming:
            try:
                response._content = limits.read_body(response.raw, "AWS")  # AWSResponse.content's cache
            except limits.LimitExceeded:
                response.raw.close()
                raise ResponseTooLarge(endpoint_url=redact_urls(request.url), limit=limits.HTTP_BODY_BYTES) from None
            except (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError) as exc:
                raise UnreadableResponse(endpoint_url=redact_urls(request.url), reason=type(exc).__name__) from None
        return response
    return bounded_send


class Aws:
    """Clients for one region, created on first use."""

    def __init__(self, region: str):
        for name in sorted(os.environ):
            if name.startswith(ENDPOINT_PREFIX):
                check_endpoint(name, os.environ.get(name))
        try:
            self.session = boto3.session.Session(region_name=region)
        except ProfileNotFound as exc:
            raise AwsError(f"AWS profile not found ({limits.one_line(str(exc))}); check AWS_PROFILE", "ProfileNotFound",
                           fatal=True) from None
        except BotoCoreError as exc:  # ConfigParseError: a malformed ~/.aws/config
            raise plain(exc, "reading the AWS configuration") from None
        self._clients: dict[str, Any] = {}
        self.failed: AwsError | None = None  # the first fatal failure: later calls fail at once

    def client(self, service: str) -> Any:
        """The service's client, created under the command's deadline (credential resolution may
        run a profile's credential_process, which may hang)."""
        if self.failed is not None:
            raise self.failed
        if service not in self._clients:
            try:
                client = deadline.call(lambda: self.session.client(service, config=CONFIG), f"{service}: AWS credentials")
            except json.JSONDecodeError:  # botocore ProcessProvider: json.loads of the process's stdout
                self.failed = AwsError(f"{service}: the profile's credential_process printed something that is not JSON; "
                                       "check AWS_PROFILE and ~/.aws/config", "CredentialProcess", fatal=True)
                raise self.failed from None
            except ValueError as exc:  # botocore: "Invalid endpoint: ..." from a profile's endpoint_url
                raise InputError(f"the AWS endpoint for {service} is not a URL ({type(exc).__name__})",
                                 hint="check AWS_ENDPOINT_URL* and the profile's endpoint_url: https://host[:port]") from None
            except deadline.DeadlineExceeded as exc:
                self.failed = AwsError(str(exc), "Deadline", fatal=True)
                raise self.failed from None
            except BotoCoreError as exc:
                self.failed = plain(exc, f"{service}: AWS credentials and configuration")
                self.failed.fatal = True
                raise self.failed from None
            credential = url_credential(client.meta.endpoint_url or "")
            if credential:
                raise InputError(f"the AWS endpoint for {service} carries {credential} (a credential)",
                                 hint="set AWS_ENDPOINT_URL* and the profile's endpoint_url like https://host[:port]; "
                                      "credentials come from AWS_PROFILE or the usual variables")
            client._endpoint.http_session.send = _bounded(client._endpoint.http_session.send)  # see the module docstring
            self._clients[service] = client
        return self._clients[service]

    def call(self, service: str, operation: str, **kwargs: Any) -> dict[str, Any]:
        """Call one operation under the command's deadline; every failure becomes an AwsError
        naming the call (and, for a timeout, the endpoint). After a fatal failure (no credentials,
        an endpoint that does not answer) every later call fails at once with it."""
        if self.failed is not None:
            raise self.failed
        what = f"{service} {operation.replace('_', '-')}"
        client = self.client(service)
        endpoint = redact_urls(client.meta.endpoint_url or "")
        try:
            return Answer.of(deadline.call(lambda: getattr(client, operation)(**kwargs), f"{what} at {endpoint}"),
                             f"{what} at {endpoint}")
        except deadline.DeadlineExceeded as exc:
            self.failed = AwsError(str(exc), "Deadline", fatal=True)
        except (ResponseParserError, UnicodeDecodeError, RecursionError, KeyError, TypeError, ValueError, IndexError,
                AttributeError) as exc:  # botocore's parsers on HTML, empty or garbage answers
            raise AwsError(f"{what} at {endpoint}: the answer is not one AWS gives ({type(exc).__name__}); "
                           "check AWS_ENDPOINT_URL* and any proxy", "NotAnAwsAnswer") from None
        except (ClientError, BotoCoreError) as exc:
            error = plain(exc, f"{what} at {endpoint}" if _is_timeout(exc) else what)
            if not error.fatal:
                raise error from None
            self.failed = error
        raise self.failed


class Answer(dict):
    """An AWS answer whose missing keys are the server's fault, not ours: `answer["cluster"]` on
    an answer without one (an empty or HTML body parses to {}) raises AwsError, never KeyError."""

    what = "AWS"

    @classmethod
    def of(cls, value: Any, what: str) -> Any:
        """`value` with every dict in it an Answer (walked without recursion)."""
        root = [value]
        stack: list[tuple[Any, Any]] = [(root, 0)]
        while stack:  # bounded: each item of the (finite, parsed) answer is visited once
            holder, key = stack.pop()
            item = holder[key]
            if isinstance(item, dict):
                item = holder[key] = cls(item)
                item.what = what
                stack.extend((item, k) for k in item)
            elif isinstance(item, list):
                stack.extend((item, i) for i in range(len(item)))
        return root[0]

    def __missing__(self, key: str) -> Any:
        raise AwsError(f"{self.what}: the answer has no {limits.one_line(str(key), 60)}, so it is not one AWS gives; "
                       "check AWS_ENDPOINT_URL* and any proxy", "NotAnAwsAnswer")


def _is_timeout(exc: BaseException) -> bool:
    return isinstance(exc, (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError))


def check_endpoint(name: str, value: str | None) -> None:
    """An endpoint variable that is set must be an http(s) URL with a host (bad input otherwise)."""
    if not value:
        return
    credential = url_credential(value)
    if credential:  # it would be printed in messages that name the endpoint
        raise InputError(f"{name} carries {credential} (a credential)",
                         hint=f"set {name} like https://host[:port]; credentials come from AWS_PROFILE or the usual variables")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number in 0-65535)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or value != value.strip():
        raise InputError(f"{name} is not an http(s) URL", hint=f"set {name} like https://host[:port], or unset it")


def error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def plain(exc: BaseException, what: str) -> AwsError:
    """One sentence for a failed AWS call: the cause and what to do about it."""
    if isinstance(exc, AwsError):
        return exc
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return AwsError(f"{what}: no AWS credentials found; set AWS_PROFILE or run `aws sso login` / `aws configure`",
                        "NoCredentials", fatal=True)
    if isinstance(exc, NoRegionError):
        return AwsError(f"{what}: no AWS region; set aws.region in the environment", "NoRegion", fatal=True)
    if isinstance(exc, (ConfigParseError, InvalidConfigError, CredentialRetrievalError, ProfileNotFound)):
        return AwsError(f"{what}: {limits.one_line(redact_urls(str(exc)))}; check AWS_PROFILE and ~/.aws/config",
                        type(exc).__name__, fatal=True)
    if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError, ConnectionClosedError)):
        return AwsError(f"{what}: cannot reach the AWS endpoint ({limits.one_line(redact_urls(str(exc)))}); check the "
                        "network, proxy and AWS_ENDPOINT_URL", "EndpointUnreachable", fatal=True)
    if isinstance(exc, ReadTimeoutError):
        return AwsError(f"{what}: no answer within {deadline.READ_TIMEOUT:g} s; check the network, proxy and "
                        "AWS_ENDPOINT_URL", "Timeout", fatal=True)
    if isinstance(exc, ClientError):
        code = limits.one_line(error_code(exc), 80)
        message = limits.one_line(redact_urls(str(exc.response.get("Error", {}).get("Message", "") or code)))
        if code in ACCESS_DENIED:
            return AwsError(f"{what}: access denied ({message}); the caller needs permission for this call", code)
        if code in BAD_CREDENTIALS:
            return AwsError(f"{what}: the AWS credentials are invalid or expired ({code}); log in again", code, fatal=True)
        if code in THROTTLED:
            return AwsError(f"{what}: throttled by AWS ({code}); wait a minute and try again", code)
        return AwsError(f"{what}: {code}: {message}", code)
    if isinstance(exc, BotoCoreError):
        return AwsError(f"{what}: {limits.one_line(redact_urls(str(exc)))}", type(exc).__name__)
    return AwsError(f"{what}: unexpected {type(exc).__name__}: {limits.one_line(redact_urls(str(exc)))}", type(exc).__name__)
