"""MkDocs hooks (mkdocs.yml `hooks:`): add the generated pages, so what they say cannot drift from
the code: the command reference, docs/reference.md, from every command's --help
(generator/clidoc.py), and the environment file reference, docs/environment-reference.md, from
every key of schemas/environment.schema.json and its `description`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import yaml
from mkdocs.structure.files import File, Files

from generator.clidoc import reference_markdown

REPO = Path(__file__).resolve().parent.parent
SCHEMA = REPO / "schemas" / "environment.schema.json"
DEFAULTS = REPO / "environments" / "defaults.yaml"
SHORT = 40  # longer defaults (lists of models, maps) are left to defaults.yaml itself


def _resolve(node: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """`node` with a local `$ref` (#/$defs/...) merged under its own keys."""
    ref = node.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/$defs/"):
        return node
    target = _resolve(schema["$defs"][ref.removeprefix("#/$defs/")], schema)
    return {**target, **{k: v for k, v in node.items() if k != "$ref"}}


def _kind(node: dict[str, Any]) -> str:
    """What a value may be, in a few words."""
    if "enum" in node:
        return " \\| ".join(f"`{json.dumps(v)}`" for v in node["enum"])
    if "const" in node:
        return f"`{json.dumps(node['const'])}`"
    kind = node.get("type", "")
    kind = " or ".join(kind) if isinstance(kind, list) else kind
    if kind == "array" and isinstance(node.get("items"), dict):
        items = node["items"]
        kind = f"list of {items.get('type', 'object') if 'enum' not in items else _kind(items)}"
    bounds = [f"{word} {node[key]}" for key, word in (("minimum", "≥"), ("maximum", "≤"),
                                                      ("minItems", "at least"), ("maxItems", "at most"))
              if key in node]
    return ", ".join([kind or "any", *bounds])


def _default(child: dict[str, Any], defaults: Any) -> str:
    """The schema's default, else the value environments/defaults.yaml sets, when it is short."""
    if "default" in child:
        return f"`{json.dumps(child['default'])}`"
    if defaults is _ABSENT or isinstance(defaults, dict):
        return ""
    text = json.dumps(defaults, ensure_ascii=False)
    return f"`{text}` (defaults.yaml)" if len(text) <= SHORT else ""


_ABSENT = object()


def _rows(node: dict[str, Any], schema: dict[str, Any], path: str,
          defaults: Any = _ABSENT) -> Iterator[tuple[str, str, str, str]]:
    node = _resolve(node, schema)
    for key, child in (node.get("properties") or {}).items():
        child = _resolve(child, schema)
        here = f"{path}.{key}" if path else key
        below = defaults.get(key, _ABSENT) if isinstance(defaults, dict) else _ABSENT
        default = _default(child, below)
        text = " ".join(str(child.get("description", "")).split()).replace("|", "\\|")
        yield here, _kind(child), default, text
        yield from _rows(child, schema, here, below)
        items = child.get("items")
        if isinstance(items, dict) and (_resolve(items, schema).get("properties")):
            yield from _rows(items, schema, f"{here}[]")


def environment_reference(schema: dict[str, Any] | None = None, defaults: Any = None) -> str:
    """The environment file reference as Markdown: one row per key of the schema, in its order."""
    schema = schema if schema is not None else json.loads(SCHEMA.read_text(encoding="utf-8"))
    defaults = defaults if defaults is not None else yaml.safe_load(DEFAULTS.read_text(encoding="utf-8"))
    lines = [
        "# Environment file reference",
        "",
        "Generated when the site is built from `schemas/environment.schema.json`, the schema every",
        "merged environment (`environments/defaults.yaml`, its `layers`, then",
        "`environments/<env>/environment.yaml`) is validated against, so it names every key the",
        "generator accepts; any other key is an error. How environments are written and merged:",
        "[Environments](environments.md).",
        "",
        f"Required at the top: {', '.join(f'`{k}`' for k in schema.get('required', []))}.",
        "",
        "A default is the schema's, or what this repository's `environments/defaults.yaml` sets (marked",
        "so); an environment file overrides it.",
        "",
        "| key | value | default | what |",
        "|---|---|---|---|",
    ]
    lines += [f"| `{key}` | {kind} | {default} | {text} |"
              for key, kind, default, text in _rows(schema, schema, "", defaults)]
    return "\n".join(lines) + "\n"


def on_files(files: Files, config) -> Files:
    files.append(File.generated(config, "reference.md", content=reference_markdown()))
    files.append(File.generated(config, "environment-reference.md", content=environment_reference()))
    return files
