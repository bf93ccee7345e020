"""Environments: load `environments/<env>/environment.yaml`, deep-merge it over its layers and
`environments/defaults.yaml`, validate the result, and hand out an `Environment`.

Layers (issue 25): an environment file may name an ordered list of shared layer files,
`layers: [layers/eu-west-1.yaml, layers/prod.yaml]` (under environments/layers/). The merge is
defaults.yaml, then each layer in order, then the environment file (maps key by key, lists and
scalars replace). Each layer file is checked on its own against the environment schema without
its required keys (unknown keys, types, patterns: at the layer's own line); only an environment
file may name layers.

Every problem becomes an `InputError` that names the file, line and column that supplied the
offending value (the environment file when it sets it, else the last layer that does, else the
defaults) and how to fix it. `explain` says which file set a key.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generator.errors import InputError, dotted
from generator.projectfiles import ENVIRONMENT_SCHEMA, project_file
from generator.secretscan import credential_kinds
from generator.yamlio import MAX_ENVIRONMENT_BYTES, contains, load_positioned, position, read_limited, to_plain

if TYPE_CHECKING:  # loaded by _validator: hydrate and the guard read names and layers here, never the schema
    import jsonschema

DEFAULTS_FILE = "defaults.yaml"
ENVIRONMENT_FILE = "environment.yaml"
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\Z")
LAYERS_FOLDER = "layers"  # environments/layers/<name>.yaml: shared settings environments name
LAYERS_KEY = "layers"
LAYER_PATH = re.compile(r"^layers/[a-z0-9][a-z0-9._-]*\.ya?ml\Z")
RESERVED_NAMES = {"fleet": "rendered/fleet/ holds the hubs' objects (generator.fleet)",
                  LAYERS_FOLDER: "environments/layers/ holds the shared layer files environments name"}
_NOT_IN_A_LAYER = ("required", "if", "then", "else", "dependentRequired", "minProperties")

# What every schema pattern ends with: `$` that does not match before a final newline (Python's `re.search`
# would), shown without it in messages.
ANCHOR = r"$(?!\n)"


def shown_pattern(pattern: str) -> str:
    """A schema pattern as a person reads it: the trailing `(?!\n)` guard left out."""
    return pattern[:-len(ANCHOR)] + "$" if pattern.endswith(ANCHOR) else pattern


@dataclass(frozen=True)
class Environment:
    """One validated environment: its name, merged configuration and where it came from."""

    name: str
    config: dict[str, Any]
    source: Path

    def component(self, name: str) -> dict[str, Any]:
        return self.config["components"].get(name, {})

    def state(self, name: str) -> str:
        return self.component(name).get("state", "enabled")

    def enabled(self, name: str) -> bool:
        return self.state(name) == "enabled"

    def secret_name(self, key: str) -> str:
        """Full Secrets Manager name of a secret under secrets.names (masterKey, saltKey, ...), prefix included."""
        secrets = self.config["secrets"]
        return secrets.get("prefix", "") + secrets["names"][key]

    @property
    def region(self) -> str:
        return self.config["aws"]["region"]

    @property
    def account_id(self) -> str:
        return self.config["aws"]["accountId"]

    @property
    def git(self) -> dict[str, str]:
        return self.config["git"]

    @property
    def argocd(self) -> dict[str, str]:
        return self.config["argocd"]

    @property
    def cluster(self) -> dict[str, Any]:
        return self.config["cluster"]


def deep_merge(base: Any, override: Any) -> Any:
    """Maps merge key by key; lists and scalars in `override` replace those in `base`."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = deep_merge(base[key], value) if key in base else value
        return merged
    return override


@cache
def _validator(schema_file: Path, layer: bool = False) -> jsonschema.Draft202012Validator:
    """The environment schema; for a layer file, the same without what makes a key required (a
    layer sets some keys; the environment it is merged into must have them all)."""
    import jsonschema

    hint = f"restore {ENVIRONMENT_SCHEMA} from git (it ships with litellm-gitops)"
    try:
        raw = read_limited(schema_file, MAX_ENVIRONMENT_BYTES, "environment schema")
    except InputError as exc:
        raise InputError("environment schema not found" if exc.message == "file not found" else exc.message,
                         file=schema_file, hint=hint) from None
    try:
        schema = json.loads(raw.decode("utf-8"))
        jsonschema.Draft202012Validator.check_schema(schema)  # also compiles every pattern (format "regex")
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError
        raise InputError(f"the environment schema is not JSON ({type(exc).__name__})", file=schema_file, hint=hint) from None
    except jsonschema.SchemaError as exc:
        raise InputError(f"the environment schema is not a valid JSON Schema (at {dotted(exc.absolute_path) or 'the top'}: "
                         f"{exc.message[:200]})", file=schema_file, hint=hint) from None
    return jsonschema.Draft202012Validator(_partial(schema) if layer else schema, format_checker=jsonschema.FormatChecker())


def _partial(node: Any, names: bool = False) -> Any:
    """`node` without the keywords in _NOT_IN_A_LAYER (`names`: a map of names, e.g. properties,
    whose keys are property names, not keywords)."""
    if isinstance(node, dict):
        return {k: _partial(v, not names and k in ("properties", "$defs", "patternProperties"))
                for k, v in node.items() if names or k not in _NOT_IN_A_LAYER}
    if isinstance(node, list):
        return [_partial(v) for v in node]
    return node


def environment_names(root: Path) -> list[str]:
    """Folders under environments/ that hold an environment, sorted."""
    if not root.is_dir():
        raise InputError("environments folder not found", file=root,
                         hint="run from the repository root, or pass --root DIR")
    entries = [p for p in sorted(root.iterdir()) if not p.name.startswith(".") and p.name not in (DEFAULTS_FILE, LAYERS_FOLDER)]
    for entry in entries:
        _no_link(entry)
    return [p.name for p in entries if p.is_dir()]


def _no_link(folder: Path) -> None:
    if folder.is_symlink():
        raise InputError("an environment folder is a symbolic link", file=folder,
                         hint="make it a real folder: a link renders another environment's files a second time, "
                              "or dangles, or loops")


def load_environment(root: Path, name: str) -> Environment:
    folder = root / name
    if not DNS_LABEL.fullmatch(name):
        raise InputError(
            f"environment name {name!r} is not a DNS-1123 label",
            file=folder,
            hint="rename the folder: lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters")
    _no_link(folder)
    if name in RESERVED_NAMES:
        raise InputError(f"environment name {name!r} is reserved: {RESERVED_NAMES[name]}", file=folder,
                         hint="rename the folder")
    if not folder.is_dir():
        raise InputError(f"no environment named {name!r}", file=folder,
                         hint=f"create {folder / ENVIRONMENT_FILE}, or pick one of: {', '.join(environment_names(root)) or 'none yet'}")
    # Parsed once, with positions (yamlio: linear in the file's size, bounded before the cost is paid).
    sources = _sources(folder / ENVIRONMENT_FILE)
    (env_path, env_tree), layers, (_, defaults_tree) = sources[0], sources[1:-1], sources[-1]
    for path, tree in sources:
        if tree is not None and not isinstance(tree, dict):
            raise InputError("the file must hold a YAML mapping at its top level", file=path, line=1, column=1,
                             hint="start the file with keys such as 'aws:' and 'cluster:'")
    if env_tree is None:
        raise InputError("the environment file is empty", file=env_path, line=1, column=1,
                         hint="set at least aws.accountId, cluster.name and cluster.oidcIssuer")
    schema_file = project_file(root.parent, ENVIRONMENT_SCHEMA)
    for path, tree in sources[1:]:
        if tree is not None and LAYERS_KEY in tree:
            line, column = position(tree, [LAYERS_KEY]) or (1, 1)
            raise InputError(f"only an environment file names layers, not {path.name}", file=path, line=line, column=column,
                             hint="move `layers:` into each environments/<env>/environment.yaml that uses them")
    config = to_plain(defaults_tree) if defaults_tree else {}
    layer_problems: list[InputError] = []
    for path, tree in reversed(layers):  # sources list the last layer first (it wins a tie in _where)
        layer_problems += _schema_problems(to_plain(tree) if tree is not None else {}, [(path, tree)], schema_file, layer=True)
        config = deep_merge(config, to_plain(tree) if tree is not None else {})
    config = deep_merge(config, to_plain(env_tree))
    # Every problem at once: the schema's, then (on a valid shape) the secret checks'.
    problems = layer_problems or _schema_problems(config, sources, schema_file)
    if not problems:
        problems += _quantity_problems(config, sources) + _secret_value_problems(config, sources)
    named = {(p.file, p.line, p.column) for p in problems}  # a place already reported is not reported twice
    problems += [p for p in _credential_problems(config, sources) if (p.file, p.line, p.column) not in named]
    if problems:
        raise InputError.every(problems)
    return Environment(name=name, config=config, source=env_path)


def _where(path: list[str | int], sources: list[tuple[Path, Any]]) -> tuple[Path, int | None, int | None]:
    """The file, line and column that set `path`, or else its deepest parent that exists (a
    missing required key); the environment file, listed first, wins a tie."""
    best: tuple[Path, int | None, int | None] = (sources[0][0], None, None)
    best_depth = -1
    for file, tree in sources:
        if tree is None:
            continue
        depth = next(d for d in range(len(path), -1, -1) if contains(tree, path[:d]))
        if depth > best_depth:
            line, column = position(tree, path[:depth]) or (1, 1)
            best, best_depth = (file, line, column), depth
    return best


def _sources(env_file: Path) -> list[tuple[Path, Any]]:
    """The environment file, its layers (the last first) and the defaults beside it, parsed with
    positions (None when absent), in the order they win: the environment, the last layer, ...,
    the defaults."""
    root = env_file.parent.parent
    defaults = root / DEFAULTS_FILE
    present = os.path.lexists(defaults)
    env_tree = load_positioned(env_file)
    layers = [(root / rel, load_positioned(root / rel, "layer file")) for rel in layer_files(env_file, env_tree)]
    return [(env_file, env_tree), *reversed(layers), (defaults, load_positioned(defaults, "defaults file") if present else None)]


def layer_files(env_file: Path, env_tree: Any) -> list[str]:
    """The layers an environment file names (paths under environments/), each checked to be a
    regular file under environments/layers/; InputError at the `layers` entry otherwise."""
    if not isinstance(env_tree, dict) or LAYERS_KEY not in env_tree:
        return []
    names = env_tree[LAYERS_KEY]
    line, column = position(env_tree, [LAYERS_KEY]) or (1, 1)
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise InputError("layers must be a list of file names", file=env_file, line=line, column=column,
                         hint="e.g. layers: [layers/eu-west-1.yaml, layers/prod.yaml]")
    root = env_file.parent.parent
    for index, rel in enumerate(names):
        where = position(env_tree, [LAYERS_KEY, index]) or (line, column)
        if not LAYER_PATH.match(rel):
            raise InputError(f"layer {rel!r} is not a file under environments/{LAYERS_FOLDER}/", file=env_file,
                             line=where[0], column=where[1], hint="name it like layers/eu-west-1.yaml (lowercase, .yaml)")
        if names.index(rel) != index:
            raise InputError(f"layer {rel!r} is named twice", file=env_file, line=where[0], column=where[1],
                             hint="name each layer once, in the order they apply")
        path = root / rel
        if path.is_symlink() or (root / LAYERS_FOLDER).is_symlink() or not path.is_file():
            raise InputError(f"layer {rel!r} is not a file", file=env_file, line=where[0], column=where[1],
                             hint=f"create environments/{rel} (a regular file, not a link), or remove it from layers")
    return list(names)


def explain(root: Path, name: str, key: str) -> tuple[Any, list[tuple[Path, int | None]]]:
    """The merged value of the dotted `key` in environment `name` (None when unset) and every file
    (with line) that sets it, the one whose value wins first (for a map, each contributes keys)."""
    env = load_environment(root, name)
    path: list[str | int] = [int(p) if p.isdigit() else p for p in key.split(".")]
    value: Any = env.config
    for part in path:
        value = value[part] if isinstance(value, dict) and part in value else (
            value[part] if isinstance(value, list) and isinstance(part, int) and part < len(value) else None)
        if value is None:
            break
    setters = [(file, (position(tree, path) or (None, None))[0]) for file, tree in _sources(env.source)
               if tree is not None and contains(tree, path)]
    return value, setters


def config_error(env: Environment, path: list[str | int], message: str, hint: str,
                 also: list[list[str | int]] = ()) -> InputError:
    """An InputError pointing at the file, line and column that set `path` in this environment
    (the environment file wins over the defaults), or at its deepest parent that exists. When the
    problem is how `path` relates to other keys (`also`), and the environment file sets one of them
    but not `path`, the environment file's key is named instead: the change that caused the
    problem is there, not in the defaults."""
    sources = _sources(env.source)
    own = sources[0][1]
    if own is not None and not contains(own, path):
        path = next((other for other in also if contains(own, other)), path)
    file, line, column = _where(path, sources)
    return InputError(message, file=file, line=line, column=column, hint=hint)


def _dotted(path: list[str | int]) -> str:
    return dotted(path) or "(top level)"


# The bounds a schema can put on a value: (keyword, how it reads in a range).
_BOUNDS = (("minimum", "at least {}"), ("exclusiveMinimum", "more than {}"), ("maximum", "at most {}"),
           ("exclusiveMaximum", "less than {}"), ("minLength", "at least {} character(s)"),
           ("maxLength", "at most {} character(s)"), ("minItems", "at least {} item(s)"),
           ("maxItems", "at most {} item(s)"), ("minProperties", "at least {} key(s)"))


def _shown(value: Any, path: list[str | int]) -> str | None:
    """The offending value as it may be echoed, or None: never anything that is or may be a secret
    (the guard's redaction, generator/guard/redact.py, and this module's own credential checks)."""
    from generator.guard.redact import REDACTED, show

    if isinstance(value, (dict, list)):
        return None
    if isinstance(value, str) and (looks_like_secret_value(value) or credential_kinds(value)):
        return None
    text = show(value, _dotted(path))
    return None if text == REDACTED else json.dumps(value) if isinstance(value, str) else text


def _range(schema: dict) -> str:
    return " and ".join(words.format(schema[key]) for key, words in _BOUNDS if key in schema)


def _schema_problem(error: jsonschema.ValidationError, sources: list[tuple[Path, Any]]) -> list[InputError]:
    """One schema error as problems (an unknown-keys error is one problem per key), each with the
    file, line and column that set it, the offending value when it may be shown, and a fix."""
    schema = error.schema if isinstance(error.schema, dict) else {}
    path = list(error.absolute_path)
    value = _shown(error.instance, path)
    is_value = f" (is {value})" if value is not None else ""
    if error.validator == "additionalProperties":
        allowed = sorted(schema.get("properties", {}))
        problems = []
        for extra in sorted(k for k in error.instance if k not in allowed):
            close = difflib.get_close_matches(str(extra), allowed, n=1, cutoff=0.6)
            hint = (f"did you mean {close[0]!r}? " if close else "remove or rename the key; ") + f"allowed here: {', '.join(allowed)}"
            problems.append(_at(path + [extra], sources, f"unknown key {_dotted(path + [extra])!r}", hint))
        return problems
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else "?"
        described = (schema.get("properties", {}).get(missing) or {}).get("description")
        return [_at(path, sources, f"missing required key {_dotted(path + [missing])!r}",
                    f"add {missing!r} here" + (f": {described}" if described else " (see schemas/environment.schema.json)"))]
    if error.validator == "enum":
        return [_at(path, sources, f"{_dotted(path)} is not valid{is_value}: not one of the allowed values",
                    "use one of: " + ", ".join(json.dumps(v) for v in error.validator_value))]
    if error.validator == "type":
        return [_at(path, sources, f"{_dotted(path)} must be of type {error.validator_value}, not {type(error.instance).__name__}{is_value}",
                    f"give a value of type {error.validator_value} (quote numbers that are identifiers, e.g. \"123456789012\")")]
    if error.validator == "pattern":
        described = schema.get("description")
        return [_at(path, sources, f"{_dotted(path)} is not valid{is_value}",
                    (described + " " if described else "") + f"It must match {shown_pattern(error.validator_value)}")]
    bounds = _range(schema)
    if bounds:
        return [_at(path, sources, f"{_dotted(path)} is out of range{is_value}: it must be {bounds}",
                    f"use a value that is {bounds}")]
    # jsonschema's own message quotes the instance: only when the value may be shown.
    message = error.message if value is not None else f"fails the schema's {error.validator!r} rule"
    return [_at(path, sources, f"{_dotted(path)}: {message}", schema.get("description") or "see schemas/environment.schema.json")]


def _at(path: list[str | int], sources: list[tuple[Path, Any]], message: str, hint: str) -> InputError:
    file, line, column = _where(path, sources)
    return InputError(message, file=file, line=line, column=column, hint=hint)


def _schema_problems(config: dict, sources: list[tuple[Path, Any]], schema_file: Path,
                     layer: bool = False) -> list[InputError]:
    """Every schema problem, in the order of the files' lines (`layer`: a layer file's own keys)."""
    errors = _validator(schema_file, layer).iter_errors(config)
    problems = [p for error in errors for p in _schema_problem(error, sources)]
    return sorted(problems, key=lambda p: (str(p.file), p.line or 0, p.column or 0, p.message))


def _entropy(text: str) -> float:
    counts = {c: text.count(c) for c in set(text)}
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def looks_like_secret_value(text: str) -> bool:
    """True for strings that look like a credential rather than the name of one."""
    if text.startswith(("sk-", "AKIA", "ASIA", "ghp_", "xox")) or "://" in text:
        return True
    body = text.rsplit("/", 1)[-1]
    return len(body) >= 24 and _entropy(body) > 3.8 and not re.fullmatch(r"[a-z-]+", body)


def _secret_value_problems(config: dict, sources: list[tuple[Path, Any]]) -> list[InputError]:
    problems = []
    for key, value in config["secrets"]["names"].items():
        if looks_like_secret_value(value):
            path = ["secrets", "names", key]
            file, line, column = _where(path, sources)
            problems.append(InputError(
                f"secrets.names.{key} looks like a secret value, not the name of a Secrets Manager secret",
                file=file, line=line, column=column,
                hint=f"put the secret's NAME here (for example 'litellm/{_kebab(key)}') and store the value in AWS "
                     "Secrets Manager; if the value was real, rotate it now: it may already be in git history"))
    return problems


# Kubernetes quantities as the schema admits them ($defs resourceList, storageSize): suffix -> factor.
_QUANTITY = re.compile(r"([0-9]+(?:\.[0-9]+)?)(m|Ki|Mi|Gi|Ti)?")
_FACTORS = {None: 1, "m": 0.001, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
# gp3, the StorageClass this project renders (components/storage_class.py): 1 GiB to 16 TiB
# (docs.aws.amazon.com/ebs/latest/userguide/general-purpose.html#gp3-ebs-volume-type).
VOLUME_MIN, VOLUME_MAX = 2**30, 16 * 2**40


def _quantity(text: str) -> float:
    match = _QUANTITY.fullmatch(text)
    return float(match.group(1)) * _FACTORS[match.group(2)] if match else float("nan")


def _quantity_problems(config: dict, sources: list[tuple[Path, Any]]) -> list[InputError]:
    """What a pattern cannot say: every request at most its limit, every volume within gp3's sizes."""
    problems = []
    stack: list[tuple[Any, list[str | int]]] = [(config, [])]
    while stack:  # bounded: each node of the (schema-checked) configuration once
        node, path = stack.pop()
        if not isinstance(node, dict):
            continue
        stack.extend((v, path + [k]) for k, v in node.items() if isinstance(v, dict))
        size = node.get("storageSize")
        if isinstance(size, str) and not VOLUME_MIN <= _quantity(size) <= VOLUME_MAX:
            file, line, column = _where(path + ["storageSize"], sources)
            problems.append(InputError(f"{_dotted(path + ['storageSize'])} is {size}, outside the gp3 volume sizes 1Gi to 16Ti",
                             file=file, line=line, column=column, hint="pick a size from 1Gi to 16Ti, e.g. 10Gi"))
        requests, limits = node.get("requests"), node.get("limits")
        if isinstance(requests, dict) and isinstance(limits, dict):
            for resource in sorted(set(requests) & set(limits)):
                if _quantity(str(requests[resource])) > _quantity(str(limits[resource])):
                    file, line, column = _where(path + ["requests", resource], sources)
                    problems.append(InputError(f"{_dotted(path + ['requests', resource])} ({requests[resource]}) is more than "
                                     f"{_dotted(path + ['limits', resource])} ({limits[resource]})",
                                     file=file, line=line, column=column,
                                     hint="a request must not exceed its limit (Kubernetes refuses the Pod); lower the request "
                                          "or raise the limit"))
    return problems


def _strings(node: Any, path: list[str | int]):
    """Every string in a configuration with its path, without recursion (the depth is bounded anyway)."""
    stack = [(node, path)]
    while stack:
        node, path = stack.pop()
        if isinstance(node, str):
            yield path, node
        elif isinstance(node, dict):
            stack.extend((v, path + [k]) for k, v in reversed(node.items()))
        elif isinstance(node, list):
            stack.extend((v, path + [i]) for i, v in reversed(list(enumerate(node))))


def _credential_problems(config: dict, sources: list[tuple[Path, Any]]) -> list[InputError]:
    """Nothing that looks like a credential may reach rendered/ (and so git): every value is
    scanned with generator/secretscan.py's shapes, plus user information in web URLs."""
    problems = []
    for path, value in _strings(config, []):
        kinds = credential_kinds(value)
        if kinds:
            file, line, column = _where(path, sources)
            problems.append(InputError(
                f"{_dotted(path)} holds what looks like a credential ({', '.join(kinds)}); it would be written into rendered/",
                file=file, line=line, column=column,
                hint="remove it: Argo CD reads repository credentials from its own Secrets, and every other secret comes "
                     "from AWS Secrets Manager by name; if it was real, rotate it now (it may already be in git history)"))
    return problems


def _kebab(key: str) -> str:
    return re.sub(r"([A-Z])", lambda m: "-" + m.group(1).lower(), key)

