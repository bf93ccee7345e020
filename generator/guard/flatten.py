"""Documents as dotted paths: flatten a document into {path: scalar}, and list the paths that differ.

Lists of maps that carry a `name` (or `secretKey`, `ParameterKey`) are keyed by it, so reordering
or inserting an entry does not make every later entry look changed (unless the name looks like a
secret: paths are printed).
"""

from __future__ import annotations

from typing import Any

from generator.guard.redact import MISSING, looks_secret

ITEM_KEYS = ("name", "secretKey", "ParameterKey", "key")


def _item_label(item: Any, index: int, seen: dict[str, int]) -> str:
    if isinstance(item, dict):
        for field in ITEM_KEYS:
            value = item.get(field)
            if isinstance(value, (str, int)) and not isinstance(value, bool) and not looks_secret(str(value)):
                label = f"{field}={value}" if field != "name" else str(value)
                count = seen.get(label, 0)
                seen[label] = count + 1
                return f"[{label}]" if count == 0 else f"[{label}#{count + 1}]"
    return f"[{index}]"


def join(prefix: str, key: str) -> str:
    if not prefix:
        return key
    return f"{prefix}{key}" if key.startswith("[") else f"{prefix}.{key}"


def flatten(node: Any, prefix: str = "", out: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every leaf of `node` under its dotted path; empty maps and lists are leaves too."""
    if out is None:
        out = {}
    if isinstance(node, dict):
        if not node:
            out[prefix] = {}
        for key, value in node.items():
            flatten(value, join(prefix, str(key)), out)
    elif isinstance(node, list):
        if not node:
            out[prefix] = []
        seen: dict[str, int] = {}
        for index, value in enumerate(node):
            flatten(value, join(prefix, _item_label(value, index, seen)), out)
    else:
        out[prefix] = node
    return out


def changed_paths(before: Any, after: Any) -> list[str]:
    """Dotted paths whose leaf was added, removed or changed, sorted."""
    if before == after:
        return []
    left, right = flatten(before), flatten(after)
    return sorted(p or "(document)" for p in set(left) | set(right) if left.get(p, MISSING) != right.get(p, MISSING))
