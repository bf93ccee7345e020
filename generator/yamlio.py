"""YAML in and out, with bounded cost.

Environment files are read with positions: libyaml's event parser (C, linear in the file) feeds a
small builder that records each key's and item's line and column, refuses duplicate keys, anchors
and aliases (an environment never needs them, and they are how a 1 KB "billion laughs" file costs
gigabytes), explicit tags and nesting deeper than MAX_DEPTH, and resolves scalars as YAML 1.2 with
ruamel.yaml's resolver and constructor (as `discover --write`, which edits the file round-trip,
reads them). The size is checked before the file is read, the depth and aliases before anything
is built from them. (ruamel's own round-trip parser took 78 s for 8 MB of comments: its scanner
joins consecutive comment lines by repeated string concatenation, quadratic in their number;
benchmarks/parse.py measures this parser at 1, 2, 4 and 8 MB.)

Rendered files (validate, guard, diff) are read through read_limited (size, regular files only,
never a symbolic link) and load_all_bounded, which counts the nodes of each document as its
aliases expand (libyaml shares an aliased node, so building costs nothing; walking it later
would) and its depth, and refuses past MAX_NODES or MAX_RENDERED_DEPTH.

Writing is deterministic: insertion order, block style, literal blocks for multi-line strings, LF
and a trailing newline.
"""

from __future__ import annotations

import errno
import io
import os
import stat
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError as RuamelYAMLError
from ruamel.yaml.nodes import ScalarNode

from generator.errors import InputError, os_error

MAX_ENVIRONMENT_BYTES = 1 << 20  # an environment file is a few KB
MAX_RENDERED_BYTES = 8 << 20  # the largest rendered file (a dashboard ConfigMap) is under 100 KB
MAX_DEPTH = 64  # an environment nests 6 deep
MAX_RENDERED_DEPTH = 200
MAX_NODES = 1_000_000  # per rendered document, aliases expanded
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class StrictLoader(_LOADER):  # type: ignore[misc, valid-type]
    """Safe loading of untrusted Kubernetes YAML with duplicate keys refused, as Go's decoders refuse
    them (YAML libraries disagree on which one wins). Hydrate (applied/directory.py) and the guard
    (guard/tree.py) subclass it for what each reads besides."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                key = (key_node.tag, key_node.value)
                if key in seen:
                    raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key_node.value!r}",
                                                            key_node.start_mark)
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


StrictLoader.add_constructor("tag:yaml.org,2002:map", StrictLoader.construct_yaml_map)
_CORE_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null")}
_ROUND_TRIP = YAML(typ="rt")  # its resolver and constructor: YAML 1.2 scalars, as discover --write reads them


class PositionedMap(dict):
    """A mapping that knows the line and column (1-based) of each key."""

    positions: dict[str, tuple[int, int]]


class PositionedList(list):
    """A sequence that knows the line and column (1-based) of each item."""

    positions: list[tuple[int, int]]


def _mark(event: Any) -> tuple[int, int]:
    return event.start_mark.line + 1, event.start_mark.column + 1


def _refuse(path: Path, event: Any, message: str, hint: str) -> InputError:
    line, column = _mark(event)
    return InputError(message, file=path, line=line, column=column, hint=hint)


@lru_cache(maxsize=4096)
def _resolve(value: str, implicit: tuple[bool, bool]) -> str:
    """The YAML 1.2 tag of an untagged scalar (ruamel's resolver: the slow part, hence the cache)."""
    return str(_ROUND_TRIP.resolver.resolve(ScalarNode, value, implicit))


def _scalar(path: Path, event: Any) -> Any:
    tag = event.tag
    if tag in (None, "!"):
        tag = _resolve(event.value, event.implicit)
    elif tag not in _CORE_TAGS:
        raise _refuse(path, event, f"tag {tag!r} is not allowed in an environment file",
                      "remove the tag; write the value plainly (quote it to make it a string)")
    if tag in ("tag:yaml.org,2002:str", "tag:yaml.org,2002:value", "tag:yaml.org,2002:merge"):
        return event.value  # text ('=' and '<<' as plain values too), the common case: no constructor needed
    node = ScalarNode(tag, event.value, style=event.style)
    constructor = _ROUND_TRIP.constructor
    try:
        return constructor.construct_object(node, deep=True)
    except (RuamelYAMLError, ValueError, TypeError, KeyError, OverflowError) as exc:
        # Not the parser's words: they quote the value, which may be a secret in the wrong place.
        raise _refuse(path, event, f"not a valid {str(tag).rsplit(':', 1)[-1]} ({type(exc).__name__})",
                      "fix the value, or drop the explicit tag") from None
    finally:
        constructor.constructed_objects.pop(node, None)  # its memo would keep every scalar ever read


def _build(path: Path, text: str) -> Any:
    """One YAML document into PositionedMap/PositionedList and scalars (see the module docstring)."""
    stack: list[tuple[Any, Any]] = []  # (container, pending key for a map)
    root: Any = None
    documents = 0
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise _refuse(path, event, "more than one YAML document", "keep one document: remove the '---' line and what follows")
            continue
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise _refuse(path, event, "anchors and aliases (&name, *name) are not allowed in an environment file",
                          "write the value out in full; keys shared by every environment belong in defaults.yaml")
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            if event.tag not in (None, "!", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"):
                raise _refuse(path, event, f"tag {event.tag!r} is not allowed in an environment file", "remove the tag")
            if len(stack) >= MAX_DEPTH:
                raise _refuse(path, event, f"nested more than {MAX_DEPTH} levels deep",
                              "an environment nests a few levels; flatten the structure")
            node: Any = PositionedMap() if isinstance(event, yaml.MappingStartEvent) else PositionedList()
            node.positions = {} if isinstance(node, dict) else []
            value = node
        elif isinstance(event, yaml.ScalarEvent):
            value = _scalar(path, event)
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            stack.pop()
            continue
        else:
            continue
        if not stack:
            root = value
        else:
            container, pending = stack[-1]
            if isinstance(container, list):
                container.append(value)
                container.positions.append(_mark(event))
            elif pending is None:  # a key
                if isinstance(value, (dict, list)):
                    raise _refuse(path, event, "a key must be a plain value, not a mapping or a list", "use a plain key")
                key = str(value)
                if key in container:
                    # Name the key only: the values may be secrets.
                    raise _refuse(path, event, f"duplicate key {key!r}", "keep one occurrence of the key; YAML maps cannot repeat a key")
                stack[-1] = (container, (key, _mark(event)))
            else:
                key, where = pending
                container[key] = value
                container.positions[key] = where
                stack[-1] = (container, None)
        if isinstance(value, (PositionedMap, PositionedList)):
            stack.append((value, None))
    return root


@lru_cache(maxsize=32)
def _parse(path: Path, text: str) -> Any:
    """Parse, cached by content: every environment re-reads the same defaults.yaml. Callers only
    read the result (values and positions), never change it."""
    try:
        return _build(path, text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "unreadable"
        if "maximum nesting depth" in problem:  # libyaml's own limit (1000), before ours could count
            raise InputError(f"nested more than {MAX_DEPTH} levels deep", file=path, line=mark.line + 1 if mark else None,
                             hint="an environment nests a few levels; flatten the structure") from None
        raise InputError(f"malformed YAML: {problem}", file=path, line=mark.line + 1 if mark else None,
                         column=mark.column + 1 if mark else None,
                         hint="fix the YAML syntax at that position (indentation, a missing ':' or quote)") from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow (NUL, other control characters)
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        character = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise InputError(f"character U+{character:04X} is not allowed in YAML", file=path, line=line, column=column,
                         hint="remove it (NUL and other control characters cannot appear in a YAML file)") from None
    except yaml.YAMLError as exc:
        raise InputError(f"malformed YAML: {exc}", file=path, hint="fix the YAML syntax") from None


def read_limited(path: Path | str, limit: int, what: str = "file") -> bytes:
    """A regular file's bytes, refusing a symbolic link, anything that is not a regular file, and
    anything larger than `limit`, before reading it. One open (never following a link, never
    blocking on a FIFO), then the checks on what was opened: nothing can be swapped in between."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise InputError("file not found", file=path, hint="create it, or check the environment name") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP or os.path.islink(path):
            raise InputError(f"the {what} is a symbolic link; links are refused, never followed", file=path,
                             hint="replace the link with the file itself") from None
        raise os_error(exc) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise InputError(f"a folder stands where the {what} belongs", file=path, hint="move the folder away")
        if not stat.S_ISREG(info.st_mode):
            raise InputError(f"the {what} is not a regular file", file=path, hint="replace it with a regular file")
        if info.st_size > limit:
            raise InputError(f"the {what} is {info.st_size:,} bytes, more than the limit of {limit:,}", file=path,
                             hint="a file this large is not what this project writes or reads; check what it is")
        # Sized to the file, not to the limit (most files are a few KB). A regular file reads short
        # only at its end, so one read does; a file that grew while being read is read on to the limit.
        raw = os.read(fd, info.st_size + 1)
        while info.st_size < len(raw) <= limit:
            chunk = os.read(fd, limit + 1 - len(raw))
            if not chunk:
                break
            raw += chunk
    except OSError as exc:
        raise os_error(exc) from None
    finally:
        os.close(fd)
    if len(raw) > limit:
        raise InputError(f"the {what} grew past the limit of {limit:,} bytes while being read", file=path)
    return raw


def decode(path: Path, raw: bytes, hint: str = "save the file as UTF-8") -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise InputError(f"not UTF-8 text (byte {exc.start + 1}: {exc.reason})", file=path, line=line, hint=hint) from None


def load_positioned(path: Path, what: str = "environment file") -> Any:
    """Parse one environment file into PositionedMap/PositionedList that remember where each key and
    item stands (bounded: see the module docstring)."""
    text = decode(path, read_limited(path, MAX_ENVIRONMENT_BYTES, what))
    return _parse(path, text)


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
        if isinstance(node, PositionedMap) and part in node:
            found = node.positions[part]
            node = node[part]
        elif isinstance(node, PositionedList) and isinstance(part, int) and 0 <= part < len(node):
            found = node.positions[part]
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


def check_bounded(documents: list[Any], path: Path) -> None:
    """Refuse documents whose nodes, aliases expanded, number more than MAX_NODES, or that nest
    deeper than MAX_RENDERED_DEPTH: walked without recursion, stopping at the limit, so a "billion
    laughs" costs at most MAX_NODES steps."""
    count = len(documents)
    stack: list[tuple[Any, int]] = [(d, 1) for d in documents if isinstance(d, (dict, list))]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_RENDERED_DEPTH:
            raise InputError(f"nested more than {MAX_RENDERED_DEPTH} levels deep", file=path, hint="flatten the structure")
        count += len(node)
        if count > MAX_NODES:
            raise InputError(f"more than {MAX_NODES:,} YAML nodes once aliases are expanded", file=path,
                             hint="the file expands aliases (&name, *name) far beyond its size; write it without them")
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))


def load_all_bounded(text: str, path: Path, loader: Any = _LOADER) -> list[Any]:
    """Every non-empty document of an untrusted YAML stream (a rendered file), checked by
    check_bounded before anyone walks it."""
    documents = [d for d in yaml.load_all(text, Loader=loader) if d is not None]
    check_bounded(documents, path)
    return documents
