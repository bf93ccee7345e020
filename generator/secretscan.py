"""A scanner for credentials that must never reach Git: known token shapes (AWS access keys,
`sk-` API keys, private keys, GitHub and Slack tokens, JWTs, passwords inside URLs) and long
high-entropy strings that look like generated secrets. A base64 PEM certificate (a cluster's CA, as
EKS reports it and Argo CD's cluster Secrets carry it) is public and is not reported, once it
decodes to certificates and nothing else.

Tests run it over rendered/ and environments/; it reports file, line and kind, never the value.

It is also the one judge of URLs: `url_credential` says whether a URL carries a credential (user
information, or a query parameter named like one), `redact_urls` masks them in any text before it
is printed. Every command that prints a URL it was given (AWS endpoints, GITHUB_API_URL, schema
mirrors, verify's URLs, helm's messages) goes through them.
"""

from __future__ import annotations

import base64
import math
import re
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

PATTERNS: dict[str, re.Pattern[str]] = {
    "AWS access key id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "AWS secret access key": re.compile(r"(?i)aws_?secret_?access_?key\W{1,4}[A-Za-z0-9/+=]{40}"),
    "API key (sk-...)": re.compile(r"\bsk-[A-Za-z0-9_-]{16,}"),
    "private key": re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}"),
    "Slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    "JSON Web Token": re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
}
# scheme://user:password@host, unless the password is a placeholder (PASSWORD, <password>, ${VAR}).
URL_PASSWORD = re.compile(r"(?i)\b[a-z][a-z0-9+.-]*://[^\s/:@'\"]+:(?P<password>[^\s/@'\"]+)@")
PLACEHOLDER = re.compile(r"(?:[A-Z]+_)*(?:PASSWORD|PASSWD|PASS|TOKEN|SECRET)(?:_[A-Z]+)*|<[^>]*>|\$[({][^)}]*[)}]|\*+|[xX]+")
# ?access_token=..., &password=...: a query parameter named like a credential, with a value.
CREDENTIAL_PARAMETER = re.compile(
    r"(?i)[?&;](?P<name>(?:[a-z0-9_.-]*[_.-])?(?:access[_-]?token|token|password|passwd|pwd|secret|api[_-]?key|apikey|"
    r"auth|authorization|client[_-]?secret|sig|signature|x-amz-signature|x-amz-credential|x-amz-security-token|sas))"
    r"=(?P<value>[^\s&#;'\"]+)")
# A bare AWS secret access key: 40 base64 characters; "/" and "+" split TOKEN, so it is checked whole.
AWS_SECRET = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")

# Candidate secrets for the entropy check: long runs of token characters ("/" and "=" split
# paths and key=value pairs apart). Pure hex (resource and OIDC ids, digests) is not a secret.
TOKEN = re.compile(r"[A-Za-z0-9+_-]{24,}")
HEX = re.compile(r"[0-9A-Fa-f-]+")
ENTROPY_THRESHOLD = 4.2  # bits per character; English-like identifiers stay well below
# base64 of "-----BEGIN CERTIFICATE-----", then the rest of the base64 run.
BASE64_CERTIFICATE = re.compile(r"LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t[A-Za-z0-9+/]*={0,2}")
PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----[A-Za-z0-9+/=\s]+?-----END \1-----")


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    kind: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.kind}"


def entropy(text: str) -> float:
    counts = {c: text.count(c) for c in set(text)}
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def looks_generated(token: str) -> bool:
    """A long token mixing cases and digits with high entropy, as generated secrets are."""
    if HEX.fullmatch(token):
        return False
    mixed = bool(re.search(r"[a-z]", token)) and bool(re.search(r"[A-Z]", token)) and bool(re.search(r"[0-9]", token))
    return mixed and entropy(token) >= ENTROPY_THRESHOLD


# http(s)://anything@host: user information in a web URL is a credential (a token as the user name
# is how GitHub takes one). Other schemes may name a user (ssh://git@github.com/...), not a password.
WEB_USERINFO = re.compile(r"(?i)\bhttps?://[^\s/@'\"]+@")


def credential_kinds(text: str) -> list[str]:
    """What credential shapes one string holds (empty when none): the checks of scan_text, and
    user information in a web URL. Used on every value of an environment before anything renders."""
    findings = scan_text(text, "")
    kinds = [f.kind for f in findings]
    if WEB_USERINFO.search(text) and "password in a URL" not in kinds:
        kinds.append("user information in a URL")
    return list(dict.fromkeys(kinds))


def url_credential(url: str) -> str | None:
    """What credential a URL carries ("user information", "a credential query parameter"), or None.
    The one test every command applies to a URL before it uses or prints it."""
    try:
        parts = urllib.parse.urlsplit(url.strip())
        user = parts.username
    except ValueError:
        user = None
        parts = None
    if user is not None or WEB_USERINFO.search(url) or URL_PASSWORD.search(url):
        return "user information"
    if parts is not None and parts.query and any(not PLACEHOLDER.fullmatch(m.group("value"))
                                                 for m in CREDENTIAL_PARAMETER.finditer("?" + parts.query)):
        return "a credential query parameter"
    return None


_USERINFO = re.compile(r"(?i)\b(?P<scheme>[a-z][a-z0-9+.-]*://)[^\s/@'\"<>]+@")


def redact_urls(text: str) -> str:
    """`text` with the user information and credential query parameters of every URL in it
    replaced by `***` (for messages: server answers, helm's stderr, URLs the user gave)."""
    text = _USERINFO.sub(lambda m: f"{m.group('scheme')}***@", text)
    return CREDENTIAL_PARAMETER.sub(lambda m: f"{m.group(0)[0]}{m.group('name')}=***", text)


def _only_certificates(match: re.Match[str]) -> str:
    """"" for a base64 run that decodes to PEM certificates only; the run itself otherwise."""
    try:
        pem = base64.b64decode(match.group(0), validate=True).decode("ascii")
    except (ValueError, UnicodeDecodeError):
        return match.group(0)
    blocks = PEM_BLOCK.findall(pem)
    rest = PEM_BLOCK.sub("", pem).strip()
    return "" if blocks and all(kind == "CERTIFICATE" for kind in blocks) and not rest else match.group(0)


def _bare_aws_secret(candidate: str) -> bool:
    """40 base64 characters holding "/" or "+" whose letters and digits look generated."""
    return ("/" in candidate or "+" in candidate) and looks_generated(re.sub(r"[/+]", "", candidate))


def scan_text(text: str, path: str) -> list[Finding]:
    findings = []
    for number, line in enumerate(text.splitlines(), start=1):
        if "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t" in line:
            line = BASE64_CERTIFICATE.sub(_only_certificates, line)
        kinds = [kind for kind, pattern in PATTERNS.items() if pattern.search(line)]
        if "AWS secret access key" not in kinds and any(_bare_aws_secret(m) for m in AWS_SECRET.findall(line)):
            kinds.append("AWS secret access key")
        if any(not PLACEHOLDER.fullmatch(m.group("password")) for m in URL_PASSWORD.finditer(line)):
            kinds.append("password in a URL")
        if any("://" in line[: m.start()] and not PLACEHOLDER.fullmatch(m.group("value"))
               for m in CREDENTIAL_PARAMETER.finditer(line)):
            kinds.append("credential in a URL query")
        if any(looks_generated(token) for token in TOKEN.findall(line)):
            kinds.append("high-entropy string")
        findings.extend(Finding(path, number, kind) for kind in kinds)
    return findings


def scan_tree(root: Path, folders: tuple[str, ...]) -> list[Finding]:
    """Every text file under root/<folder> for each folder, in path order."""
    findings: list[Finding] = []
    for folder in folders:
        for file in sorted(p for p in (root / folder).rglob("*") if p.is_file()):
            try:
                text = file.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue
            findings.extend(scan_text(text, file.relative_to(root).as_posix()))
    return findings
