"""Never print a secret: what a value may be shown as in a finding or in `diff`.

First by provenance: whoever makes a finding marks the values that come from where secrets live
(a literal feeding a guarded variable, Secret data, SecretString, a NoEcho parameter, inline Helm
values and parameters), and a sensitive value is always `(redacted)`. Then, as a second net, by
shape: a URL carrying credentials of any shape (`scheme://user:pass@`, `scheme://token@`), a key,
a token, a long random string.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from typing import Any

ABSENT = "(absent)"
REDACTED = "(redacted)"
MAX_SHOWN = 120

_SAFE = re.compile(
    r"^(arn:aws[\w-]*:|ami-[0-9a-f]+\Z|subnet-|sg-|vpc-|eni-|lt-|i-[0-9a-f]+\Z|/aws/service/|resolve:ssm:|"
    r"\{\{resolve:ssm:|os\.environ/|https?://[^@/\s]*(/|\Z)|[a-z0-9.-]+\.(io|com|org|net|svc)(/|\Z))"
)
_SECRETISH = (
    re.compile(r"^sk-[A-Za-z0-9_\-]{6,}"),
    re.compile(r"(?<![A-Z0-9])(AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])"),
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"^gh[pousr]_[A-Za-z0-9]{20,}"),
    re.compile(r"^eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+"),
    re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/\s@]*@"),  # a URL with credentials (user:password@, token@, :password@)
)
_SECRET_FIELD = re.compile(r"(password|passwd|secretstring|secret_?value|token|private_?key|api_?key|master_?key\Z|salt)", re.I)


def _entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def looks_secret(text: str) -> bool:
    if any(p.search(text) for p in _SECRETISH):
        return True
    if _SAFE.match(text) or " " in text.strip():
        return False
    if re.fullmatch(r"[0-9a-fA-F]{32,}|[A-Za-z0-9+/]{32,}={0,2}", text):
        return True  # hex or base64 of 16+ bytes: a key, a token or a digest
    if len(text) >= 16 and _entropy(text) >= 3.6 and re.search(r"\d", text) and re.search(r"[A-Za-z]", text):
        # Long, random, mixed: a key or a token. Paths and names are lower-entropy words.
        words = re.split(r"[/_.:\-]", text)
        return not all(w.isalpha() or w.isdigit() or len(w) < 12 for w in words)
    return False


def show(value: Any, field: str = "", sensitive: bool = False) -> str:
    """`value` as it may be printed: redacted when it is or might be a secret."""
    if value is MISSING:
        return ABSENT
    if isinstance(value, (dict, list)):
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    elif isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = str(value)
    if sensitive:
        return REDACTED
    if _SECRET_FIELD.search(field.rsplit(".", 1)[-1]) and isinstance(value, str) and value and not _SAFE.match(value) \
            and "{{" not in value and not re.fullmatch(r"[A-Z][A-Z0-9_]*", value):
        return REDACTED
    if looks_secret(text) or any(looks_secret(part) for part in re.split(r"[\s\"',:={}\[\]]+", text) if part):
        return REDACTED
    if len(text) > MAX_SHOWN:
        text = text[:MAX_SHOWN - 1] + "…"
    return text


# Where secrets live, by path, for readers that have no data flow (`diff`): Secret data, a
# CloudFormation SecretString, inline Helm values and parameters of an Application, and the value
# of any list item (an env entry, a parameter) whose name says it holds a credential.
_SECRET_PATHS = {
    "Secret": re.compile(r"^(data|stringData)(\.|\[|\Z)"),
    "CloudFormationTemplate": re.compile(r"\.SecretString(\.|\[|\Z)"),
    "Application": re.compile(r"\.helm\.(values|valuesObject|parameters)(\.|\[|\Z)"),
    "ApplicationSet": re.compile(r"\.helm\.(values|valuesObject|parameters)(\.|\[|\Z)"),
}
_NAMED_ITEM_VALUE = re.compile(r"\[([^\]]+)\]\.value(From)?\Z")
SECRET_NAMES = re.compile(r"(password|passwd|secret|token|private_?key|api_?key|master_?key|salt|database_?url|credential)", re.I)


def secret_bearing(kind: str, path: str) -> bool:
    """True when the value at `path` of a `kind` document holds, or may hold, a secret."""
    rule = _SECRET_PATHS.get(kind)
    if rule is not None and rule.search(path):
        return True
    item = _NAMED_ITEM_VALUE.search(path)
    return bool(item and SECRET_NAMES.search(item.group(1)))


def shown_change(kind: str, path: str, before: Any, after: Any) -> tuple[str, str] | None:
    """(before, after) as they may be printed, or None when the change must show as `(changed)`:
    the path is secret-bearing, or `show` redacts either side."""
    sensitive = secret_bearing(kind, path)
    pair = (show(before, path, sensitive), show(after, path, sensitive))
    return None if REDACTED in pair else pair


class _Absent:
    def __repr__(self) -> str:
        return ABSENT


MISSING = _Absent()  # a field that is not there
