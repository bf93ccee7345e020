"""boto3 access for discover and preflight: one session per environment (its region; endpoint,
profile and credentials from the usual AWS variables, AWS_ENDPOINT_URL included) and AWS
failures turned into one plain sentence (`AwsError`), never a traceback.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
)

from generator import deadline
from generator.errors import CheckFailed, InputError

# Bounded: each attempt waits at most CONNECT_TIMEOUT to connect and READ_TIMEOUT per read, two
# attempts in all (standard mode backs off between them), and every call runs under the command's
# deadline (generator.deadline).
CONFIG = Config(connect_timeout=deadline.CONNECT_TIMEOUT, read_timeout=deadline.READ_TIMEOUT,
                retries={"max_attempts": 2, "mode": "standard"}, user_agent_extra="litellm-gitops")
ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL",)

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


class Aws:
    """Clients for one region, created on first use."""

    def __init__(self, region: str):
        for name in ENDPOINT_VARIABLES:
            check_endpoint(name, os.environ.get(name))
        try:
            self.session = boto3.session.Session(region_name=region)
        except ProfileNotFound as exc:
            raise AwsError(f"AWS profile not found ({exc}); check AWS_PROFILE", "ProfileNotFound", fatal=True) from None
        self._clients: dict[str, Any] = {}
        self.failed: AwsError | None = None  # the first fatal failure: later calls fail at once

    def client(self, service: str) -> Any:
        if service not in self._clients:
            try:
                self._clients[service] = self.session.client(service, config=CONFIG)
            except ValueError as exc:  # botocore: "Invalid endpoint: ..." from a profile's endpoint_url
                raise InputError(f"the AWS endpoint for {service} is not a URL ({type(exc).__name__})",
                                 hint="check AWS_ENDPOINT_URL and the profile's endpoint_url: https://host[:port]") from None
        return self._clients[service]

    def call(self, service: str, operation: str, **kwargs: Any) -> dict[str, Any]:
        """Call one operation under the command's deadline; every failure becomes an AwsError
        naming the call (and, for a timeout, the endpoint). After a fatal failure (no credentials,
        an endpoint that does not answer) every later call fails at once with it."""
        if self.failed is not None:
            raise self.failed
        what = f"{service} {operation.replace('_', '-')}"
        client = self.client(service)
        try:
            return deadline.call(lambda: getattr(client, operation)(**kwargs), f"{what} at {client.meta.endpoint_url}")
        except deadline.DeadlineExceeded as exc:
            self.failed = AwsError(str(exc), "Deadline", fatal=True)
        except (ClientError, BotoCoreError) as exc:
            error = plain(exc, f"{what} at {client.meta.endpoint_url}" if _is_timeout(exc) else what)
            if not error.fatal:
                raise error from None
            self.failed = error
        raise self.failed


def _is_timeout(exc: BaseException) -> bool:
    return isinstance(exc, (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError))


def check_endpoint(name: str, value: str | None) -> None:
    """An endpoint variable that is set must be an http(s) URL with a host (bad input otherwise)."""
    if not value:
        return
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"{name} is not an http(s) URL", hint=f"set {name} like https://host[:port], or unset it")
    if parts.username is not None:  # it would be printed in messages that name the endpoint
        raise InputError(f"{name} carries user information (a credential)",
                         hint=f"set {name} like https://host[:port]; credentials come from AWS_PROFILE or the usual variables")


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
    if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError)):
        return AwsError(f"{what}: cannot reach the AWS endpoint ({exc}); check the network, proxy and AWS_ENDPOINT_URL",
                        "EndpointUnreachable", fatal=True)
    if isinstance(exc, ReadTimeoutError):
        return AwsError(f"{what}: no answer within {deadline.READ_TIMEOUT:g} s; check the network, proxy and "
                        "AWS_ENDPOINT_URL", "Timeout", fatal=True)
    if isinstance(exc, ClientError):
        code = error_code(exc)
        message = exc.response.get("Error", {}).get("Message", "") or code
        if code in ACCESS_DENIED:
            return AwsError(f"{what}: access denied ({message}); the caller needs permission for this call", code)
        if code in BAD_CREDENTIALS:
            return AwsError(f"{what}: the AWS credentials are invalid or expired ({code}); log in again", code, fatal=True)
        if code in THROTTLED:
            return AwsError(f"{what}: throttled by AWS ({code}); wait a minute and try again", code)
        return AwsError(f"{what}: {code}: {message}", code)
    if isinstance(exc, BotoCoreError):
        return AwsError(f"{what}: {exc}", type(exc).__name__)
    return AwsError(f"{what}: unexpected {type(exc).__name__}: {exc}", type(exc).__name__)
