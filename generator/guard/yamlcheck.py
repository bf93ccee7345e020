"""YAML on which the guard's reader (PyYAML) and Kubernetes' (sigs.k8s.io/yaml) disagree.

Argo CD reads manifests through k8s.io/apimachinery's YAMLOrJSONDecoder and Helm reads values
through sigs.k8s.io/yaml; both decode with go.yaml.in/yaml/v2 (v2.4.2, sigs.k8s.io/yaml v1.6.0's
go.mod) into interface{} and convert to JSON. Constructs refused in synced content, with the line:

- a plain scalar whose type or value differs between PyYAML's YAML 1.1 resolver and go-yaml v2's
  `resolve` (resolve.go, ported below): `y`/`n` (booleans in Go, strings in PyYAML), `0o17` and `1e3`
  (numbers in Go, strings in PyYAML), `1:30` (90 in PyYAML, a string in Go), `08` (8.0 in Go), ...;
  timestamps are strings on both sides (decode.go keeps them as strings in interface{});
- the merge key `<<` (both merge, with different precedence rules) and the value key `=`;
- any explicit tag other than `!!str`, `!!map`, `!!seq` (custom tags, `!!binary`, `!!set`, ...);
- anchors and aliases (PyYAML shares the object, an alias bomb expands differently).

Duplicate keys are refused earlier, when the tree is read (tree._Loader).
"""

from __future__ import annotations

import math
import re
from typing import Any

import yaml

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Resolver = yaml.SafeLoader  # the resolver and constructors PyYAML's safe loaders share

STR, BOOL, INT, FLOAT, NULL, MERGE = "str", "bool", "int", "float", "null", "merge"
ALLOWED_TAGS = ("tag:yaml.org,2002:str", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")

# go-yaml v2 resolve.go: resolveMap.
_GO_MAP: dict[str, tuple[str, Any]] = {}
for _value, _tag, _words in (
        (True, BOOL, "y Y yes Yes YES true True TRUE on On ON"),
        (False, BOOL, "n N no No NO false False FALSE off Off OFF"),
        (None, NULL, "~ null Null NULL"),
        (math.nan, FLOAT, ".nan .NaN .NAN"),
        (math.inf, FLOAT, ".inf .Inf .INF +.inf +.Inf +.INF"),
        (-math.inf, FLOAT, "-.inf -.Inf -.INF"),
        ("<<", MERGE, "<<")):
    for _word in _words.split():
        _GO_MAP[_word] = (_tag, _value)
_GO_MAP[""] = (NULL, None)
_YAML_STYLE_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\Z")
_GO_DOT_FLOAT = re.compile(r"^\.[0-9]+([eE][-+]?[0-9]+)?\Z")
_TIMESTAMP = re.compile(r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt ][0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(\.[0-9]+)?"
                        r"(Z|[-+][0-9]{2}:[0-9]{2})?)?\Z")
_INT64 = (-(2 ** 63), 2 ** 63 - 1)


def _go_parse_int(text: str) -> int | None:
    """strconv.ParseInt/ParseUint(text, 0, 64): sign, 0x/0o/0b prefixes, a leading 0 for octal."""
    sign, body = (-1, text[1:]) if text[:1] == "-" else (1, text[1:] if text[:1] == "+" else text)
    lowered = body.lower()
    for prefix, base, digits in (("0x", 16, "0123456789abcdef"), ("0o", 8, "01234567"), ("0b", 2, "01")):
        if lowered.startswith(prefix):
            rest = lowered[2:]
            return sign * int(rest, base) if rest and all(c in digits for c in rest) else None
    if len(body) > 1 and body[0] == "0":
        return sign * int(body, 8) if all(c in "01234567" for c in body) else None
    return sign * int(body) if body.isdigit() and body.isascii() else None


def go_resolve(text: str) -> tuple[str, Any]:
    """go-yaml v2's resolve(tag="", in=text) for a plain scalar, as (kind, value) after decoding
    into interface{} (timestamps stay strings)."""
    first = text[:1]
    hint = "S" if first in "+-" and first else "D" if first.isdigit() and first.isascii() else \
        "M" if first and first in "yYnNtTfFoO~" else "." if first == "." else "N" if not text else ""
    if not hint:
        return STR, text
    if text in _GO_MAP:
        return _GO_MAP[text]
    if hint == "." and _GO_DOT_FLOAT.match(text):
        return FLOAT, float(text)
    if hint in "DS":
        if _TIMESTAMP.match(text):
            return STR, text
        plain = text.replace("_", "")
        number = _go_parse_int(plain)
        if number is not None and _INT64[0] <= number <= 2 ** 64 - 1:
            return INT, number
        if _YAML_STYLE_FLOAT.match(plain):
            return FLOAT, float(plain)
        if plain.startswith(("0b", "-0b")):
            try:
                return INT, int(plain.replace("0b", "", 1), 2)
            except ValueError:
                pass
    return STR, text


_PY_KINDS = {"tag:yaml.org,2002:bool": BOOL, "tag:yaml.org,2002:int": INT, "tag:yaml.org,2002:float": FLOAT,
             "tag:yaml.org,2002:null": NULL, "tag:yaml.org,2002:str": STR, "tag:yaml.org,2002:timestamp": STR,
             "tag:yaml.org,2002:merge": MERGE}
_CONSTRUCT = yaml.SafeLoader("")


def py_resolve(text: str) -> tuple[str, Any]:
    """PyYAML's reading of the same plain scalar."""
    tag = _CONSTRUCT.resolve(yaml.ScalarNode, text, (True, False))
    kind = _PY_KINDS.get(tag, tag)
    if kind in (BOOL, INT, FLOAT, NULL):
        return kind, _CONSTRUCT.construct_object(yaml.ScalarNode(tag, text))
    return kind, text


def _same(a: tuple[str, Any], b: tuple[str, Any]) -> bool:
    if a[0] != b[0]:
        return False
    if a[0] == FLOAT and math.isnan(a[1]) and math.isnan(b[1]):
        return True
    return bool(a[1] == b[1])


# First characters with which a plain scalar can resolve to anything but a string, in PyYAML
# (its implicit resolvers are keyed by first character) or in go-yaml v2 (resolveTable).
_MAY_RESOLVE = frozenset("yYnNtTfFoO~-+0123456789.<=")


def _scalar_problem(node: yaml.ScalarNode) -> str | None:
    plain = not node.style  # None from the Python composer, "" from the C one
    if plain and node.value and node.value[0] not in _MAY_RESOLVE and node.tag == "tag:yaml.org,2002:str":
        return None  # a string for both readers
    implicit = _CONSTRUCT.resolve(yaml.ScalarNode, node.value, (plain, not plain))
    if node.tag != implicit:  # an explicit tag
        return None if node.tag == "tag:yaml.org,2002:str" else f"explicit tag {node.tag} (readers disagree on tags)"
    if not plain:
        return None  # quoted or block scalars are strings for both
    go, py = go_resolve(node.value), py_resolve(node.value)
    if go[0] == MERGE or py[0] == MERGE:
        return "YAML merge key << (readers merge differently)"
    if py[0] not in (STR, BOOL, INT, FLOAT, NULL):
        return f"scalar {node.value!r} resolves to {py[0]} in PyYAML"
    if not _same(go, py):
        return (f"scalar {node.value!r} reads as {go[0]} {go[1]!r} in Kubernetes (go-yaml v2) "
                f"but as {py[0]} {py[1]!r} in PyYAML")
    return None


def _walk(node: yaml.Node, seen: set[int]) -> tuple[str, int] | None:
    line = node.start_mark.line + 1
    if id(node) in seen:
        return "anchor and alias (readers expand shared nodes differently)", line
    seen.add(id(node))
    if isinstance(node, yaml.ScalarNode):
        problem = _scalar_problem(node)
        return (problem, line) if problem else None
    if node.tag not in ALLOWED_TAGS[1:]:
        return f"explicit tag {node.tag} (readers disagree on tags)", line
    children = [c for pair in node.value for c in pair] if isinstance(node, yaml.MappingNode) else node.value
    for child in children:
        found = _walk(child, seen)
        if found:
            return found
    return None


def first_problem(raw: bytes) -> tuple[str, int | None] | None:
    """The first construct in `raw` (YAML, possibly several documents) that readers disagree on."""
    try:
        nodes = list(yaml.compose_all(raw.decode("utf-8"), Loader=_Loader))
    except (yaml.YAMLError, UnicodeDecodeError):
        return None  # unparsable: the tree reports it as bad input
    for node in nodes:
        if node is None:
            continue
        found = _walk(node, set())
        if found:
            return found
    return None
