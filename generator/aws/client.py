"""boto3 access for discover and preflight: one session per environment (its region; endpoint,
profile and credentials from the usual AWS variables, AWS_ENDPOINT_URL included) and AWS
failures turned into one plain sentence (`AwsError`), never a traceback.
"""

from __future__ import annotations

from typing import Any

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

from generator.errors import CheckFailed

CONFIG = Config(connect_timeout=5, read_timeout=20, user_agent_extra="litellm-gitops")

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
        try:
            self.session = boto3.session.Session(region_name=region)
        except ProfileNotFound as exc:
            raise AwsError(f"AWS profile not found ({exc}); check AWS_PROFILE", "ProfileNotFound", fatal=True) from None
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(service, config=CONFIG)
        return self._clients[service]

    def call(self, service: str, operation: str, **kwargs: Any) -> dict[str, Any]:
        """Call one operation; every failure becomes an AwsError naming the call."""
        what = f"{service} {operation.replace('_', '-')}"
        try:
            return getattr(self.client(service), operation)(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise plain(exc, what) from None


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
        return AwsError(f"{what}: the AWS endpoint did not answer in time; try again", "Timeout")
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
