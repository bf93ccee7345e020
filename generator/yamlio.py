"""YAML in and out.

Reading keeps positions (ruamel.yaml round-trip nodes know their line and column) and refuses
duplicate keys. Writing is deterministic: insertion order, block style, literal blocks for
multi-line strings, LF and a trailing newline.
"""

from __future__ import annotations

import io
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError

from generator.errors import InputError


def _round_trip() -> YAML:
    loader = YAML(typ="rt")
    loader.allow_duplicate_keys = False
    return loader


@lru_cache(maxsize=32)
def _parse(text: str) -> Any:
    """Round-trip parse, cached by content: every environment re-reads the same defaults.yaml.
    Callers only read the nodes (values and positions), never change them."""
    return _round_trip().load(text)


@lru_cache(maxsize=32)
def _parse_safe(text: str) -> Any:
    """ruamel.yaml's safe loader (YAML 1.2 like the round trip, duplicate keys refused), cached by
    content; callers get to_plain copies, never these objects."""
    return YAML(typ="safe", pure=True).load(text)


def load_fast(path: Path) -> Any:
    """A YAML file as plain data, without positions: about twice as fast as load_positioned. Any
    problem is reported by load_positioned, with its line and column."""
    try:
        text = path.read_text(encoding="utf-8")
        return to_plain(_parse_safe(text))
    except (OSError, UnicodeDecodeError, MarkedYAMLError, DuplicateKeyError):
        return to_plain(load_positioned(path))  # raises the positioned InputError


def load_positioned(path: Path) -> Any:
    """Parse one YAML file into ruamel nodes that remember where each key and item stands."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("file not found", file=path, hint="create it, or check the environment name") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason})", file=path, hint="save the file as UTF-8") from None
    try:
        return _parse(text)
    except DuplicateKeyError as exc:
        mark = exc.problem_mark
        key = re.search(r'duplicate key "([^"]*)"', exc.problem or "")
        # Name the key only: the message ruamel builds quotes both values, which may be secrets.
        raise InputError(
            f"duplicate key {key.group(1)!r}" if key else "duplicate key",
            file=path,
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
            hint="keep one occurrence of the key; YAML maps cannot repeat a key",
        ) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise InputError(
            f"malformed YAML: {exc.problem or exc.context}",
            file=path,
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
            hint="fix the YAML syntax at that position (indentation, a missing ':' or quote)",
        ) from None


def to_plain(node: Any) -> Any:
    """Turn ruamel nodes into plain dicts, lists and scalars."""
    if isinstance(node, dict):
        return {str(k): to_plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [to_plain(v) for v in node]
    if isinstance(node, str):
        return str(node)
    if isinstance(node, bool):
        return bool(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return node


def position(root: Any, path: list[str | int]) -> tuple[int, int] | None:
    """Line and column (1-based) of the deepest part of `path` that exists in `root`."""
    found: tuple[int, int] | None = None
    node = root
    for part in path:
        if isinstance(node, CommentedMap) and part in node:
            line, col = node.lc.key(part)
            found = (line + 1, col + 1)
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
            line, col = node.lc.item(part)
            found = (line + 1, col + 1)
            node = node[part]
        else:
            break
    return found


def contains(root: Any, path: list[str | int]) -> bool:
    node = root
    for part in path:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            return False
    return True


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """Block style, no aliases, literal blocks for multi-line text."""

    def ignore_aliases(self, data: Any) -> bool:
        return True

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        # The emitter asks, for every scalar, which tag its text would resolve to (regular
        # expressions); the answer depends on nothing else (no path resolvers), so remember it.
        if kind is not yaml.ScalarNode or len(value) > 256:
            return super().resolve(kind, value, implicit)
        key = (value, implicit)
        tag = _RESOLVED.get(key)
        if tag is None:
            tag = _RESOLVED[key] = super().resolve(kind, value, implicit)
            if len(_RESOLVED) > 100_000:
                _RESOLVED.clear()
        return tag


_RESOLVED: dict[tuple[str, Any], str] = {}


def _str_style(value: str) -> str | None:
    if "\n" in value:
        # Literal blocks cannot carry trailing spaces on a line; fall back to quoting then.
        if not any(line != line.rstrip() for line in value.splitlines()):
            return "|"
    return None


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=_str_style(value))


_Dumper.add_representer(str, _str_representer)

_STR, _MAP, _SEQ = "tag:yaml.org,2002:str", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"
_BOOL, _INT, _NULL = "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:null"
_OPTIONS = {"default_flow_style": False, "allow_unicode": True, "width": 4096, "indent": 2, "sort_keys": False}


def _node(value: Any, dumper: _Dumper) -> yaml.Node:
    """The node _Dumper's representer would build (block style, insertion order, no aliases), for
    the plain types the generator renders, without its generic dispatch; anything else goes
    through the representer itself."""
    kind = type(value)
    if kind is str:
        return yaml.ScalarNode(_STR, value, style=_str_style(value))
    if kind is dict:
        return yaml.MappingNode(_MAP, [(_node(k, dumper), _node(v, dumper)) for k, v in value.items()], flow_style=False)
    if kind is list:
        return yaml.SequenceNode(_SEQ, [_node(v, dumper) for v in value], flow_style=False)
    if kind is bool:
        return yaml.ScalarNode(_BOOL, "true" if value else "false")
    if kind is int:
        return yaml.ScalarNode(_INT, str(value))
    if value is None:
        return yaml.ScalarNode(_NULL, "null")
    return dumper.represent_data(value)


def dump(document: Any) -> str:
    """One YAML document, deterministic bytes: what yaml.dump(document, Dumper=_Dumper, **_OPTIONS)
    writes (tests/test_yamlio_dump.py checks they agree), built faster."""
    stream = io.StringIO()
    dumper = _Dumper(stream, **_OPTIONS)
    dumper.open()
    dumper.serialize(_node(document, dumper))
    dumper.close()
    return stream.getvalue()


def load_plain(text: str) -> Any:
    """Fast plain load for the generator's own output."""
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def load_all_plain(text: str) -> list[Any]:
    return [d for d in yaml.load_all(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) if d is not None]
