"""Kubernetes documents: find each kind's JSON Schema, compile it once, report what fails.

Core kinds use the strict schemas bundled with the kubernetes-validate package for the
environment's Kubernetes version ("1.33" -> v1.33.0-local-strict), loaded directly with jsonschema
and one shared, pre-crawled `referencing` registry for their `_definitions.json`.
Custom kinds are looked up the way kubeconform does, `{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json`
(kind lowercased) in each schema location in turn: a local folder, a local path template, or by
default the schema cache filled by `litellm-gitops schemas sync` (checked against the lock).
A document whose kind has no schema anywhere is a problem, never a skip.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from importlib.util import find_spec

if TYPE_CHECKING:  # jsonschema and referencing load when a schema is compiled: the guard, which reads
    from referencing import Registry  # BUNDLED's API versions only (applied/apiversions.py), never does

from generator.errors import InputError
from generator.schemacache import Lock, verified_schema
from generator.errors import dotted
from generator.validate.problems import Problem

# The schemas kubernetes-validate ships, found without importing it (its package imports jsonschema).
BUNDLED = Path(find_spec("kubernetes_validate").origin or "").resolve().parent / "kubernetes-json-schema"
KUBECONFORM_LAYOUT = "{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json"
_TEMPLATE_VAR = re.compile(r"\{\{\s*\.(\w+)\s*\}\}")


def split_api_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


def strict_schema_dir(kubernetes_version: str) -> Path:
    """The bundled strict schemas for "1.33" (or "1.33.2", "v1.33"): v1.33.0-local-strict."""
    match = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.\d+)?", str(kubernetes_version).strip())
    folder = BUNDLED / f"v{match.group(1)}.{match.group(2)}.0-local-strict" if match else None
    if folder is None or not folder.is_dir():
        available = sorted((p.name.split("-")[0][1:].rsplit(".", 1)[0] for p in BUNDLED.glob("v*-local-strict")),
                           key=lambda v: tuple(int(x) for x in v.split(".")))
        raise InputError(
            f"kubernetes-validate {_version()} has no schemas for Kubernetes {kubernetes_version!r}",
            hint=f"set cluster.kubernetesVersion to one of {', '.join(available)}, or upgrade kubernetes-validate")
    return folder


def _version() -> str:
    from importlib.metadata import version

    return version("kubernetes-validate")


def validator_class(schema: dict) -> type:
    """The validator for the schema's $schema draft (Draft 7 when it names none, as CRD-derived schemas)."""
    import jsonschema

    return jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)


class CoreSchemas:
    """Kubernetes' own kinds for one Kubernetes version; each schema compiled at most once."""

    def __init__(self, kubernetes_version: str):
        self.version = kubernetes_version
        from referencing import Registry, Resource

        self.folder = strict_schema_dir(kubernetes_version)
        definitions = json.loads((self.folder / "_definitions.json").read_text(encoding="utf-8"))
        registry: Registry = Registry().with_resource(definitions["$id"], Resource.from_contents(definitions))
        self.registry = registry.crawl()
        self._compiled: dict[tuple[str, str], Any] = {}

    def _file(self, api_version: str, kind: str) -> Path:
        # kubernetes-validate's naming: rbac.authorization.k8s.io/v1 -> rbac-v1, v1 -> v1.
        short = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
        return self.folder / f"{kind.lower()}-{short}.json"

    def lookup(self, api_version: str, kind: str) -> Any | None:
        key = (api_version, kind)
        if key in self._compiled:
            return self._compiled[key]
        validator = None
        path = self._file(api_version, kind)
        if path.is_file():
            schema = json.loads(path.read_text(encoding="utf-8"))
            group, version = split_api_version(api_version)
            # Only if the file really is this group's kind (a CRD group "apps.example.com" maps to the same file name as "apps").
            if any(gvk.get("group", "") == group and gvk.get("version") == version and gvk.get("kind") == kind
                   for gvk in schema.get("x-kubernetes-group-version-kind", [])):
                import jsonschema

                validator = jsonschema.Draft202012Validator(schema, registry=self.registry)
        self._compiled[key] = validator
        return validator


@dataclass(frozen=True)
class SchemaLocation:
    """A kubeconform-style schema location: a path template, or the verified cache."""

    template: str
    cache: Path | None = None  # set for the default location: files are checked against the lock

    @staticmethod
    def parse(text: str) -> "SchemaLocation":
        if re.match(r"^[a-z]+://", text):
            raise InputError(f"schema location {text!r} is remote; validate reads local schemas only",
                             hint="run `litellm-gitops schemas sync` (it downloads and checks the pinned files), "
                                  "then validate without --schema-location, or pass a local folder")
        if "{{" in text:
            for var in _TEMPLATE_VAR.findall(text):
                if var not in ("Group", "ResourceKind", "ResourceAPIVersion", "Kind", "KindSuffix",
                               "NormalizedKubernetesVersion", "StrictSuffix"):
                    raise InputError(f"schema location template uses unknown variable .{var}",
                                     hint="use {{.Group}}, {{.ResourceKind}}, {{.ResourceAPIVersion}} (kubeconform's names)")
            return SchemaLocation(text)
        if not Path(text).is_dir():
            raise InputError("schema location folder not found", file=text,
                             hint=f"pass a folder in kubeconform layout ({KUBECONFORM_LAYOUT}) or a path template")
        return SchemaLocation(str(Path(text) / KUBECONFORM_LAYOUT))

    def path_for(self, api_version: str, kind: str, kubernetes_version: str) -> str:
        group, version = split_api_version(api_version)
        values = {
            "Group": group, "ResourceKind": kind.lower(), "Kind": kind.lower(), "ResourceAPIVersion": version,
            "KindSuffix": f"-{group.split('.')[0]}-{version}" if group else f"-{version}",
            "NormalizedKubernetesVersion": f"v{kubernetes_version}.0" if kubernetes_version.count(".") == 1 else f"v{kubernetes_version}",
            "StrictSuffix": "-strict",
        }
        return _TEMPLATE_VAR.sub(lambda m: values[m.group(1)], self.template)


class CustomSchemas:
    """Custom kinds, looked up in the schema locations in order; each file compiled once."""

    def __init__(self, locations: list[SchemaLocation], lock: Lock, kubernetes_version: str):
        self.locations = locations
        self.lock = lock
        self.kubernetes_version = kubernetes_version
        self._compiled: dict[tuple[str, str], Any] = {}

    def tried(self, api_version: str, kind: str) -> list[str]:
        return [loc.path_for(api_version, kind, self.kubernetes_version) for loc in self.locations]

    def _load(self, location: SchemaLocation, api_version: str, kind: str) -> Any | None:
        if location.cache is not None:
            group, version = split_api_version(api_version)
            locked = self.lock.kubernetes_file(f"{group}/{kind.lower()}_{version}.json")
            return verified_schema(self.lock, location.cache, locked) if locked else None
        path = Path(location.path_for(api_version, kind, self.kubernetes_version))
        if not path.is_file():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InputError(f"schema is not JSON: {exc.msg}", file=path, line=exc.lineno, column=exc.colno,
                             hint="fix or remove the schema file") from None

    def lookup(self, api_version: str, kind: str) -> Any | None:
        key = (api_version, kind)
        if key not in self._compiled:
            schema = next((s for s in (self._load(loc, api_version, kind) for loc in self.locations) if s is not None), None)
            self._compiled[key] = validator_class(schema)(schema) if schema is not None else None
        return self._compiled[key]


def default_location(cache: Path) -> SchemaLocation:
    return SchemaLocation(str(cache / KUBECONFORM_LAYOUT), cache=cache)


def identity(document: Any) -> tuple[str, str]:
    """kind and metadata.name of a document, as far as they exist."""
    if not isinstance(document, dict):
        return "?", "?"
    metadata = document.get("metadata") if isinstance(document.get("metadata"), dict) else {}
    return str(document.get("kind") or "?"), str(metadata.get("name") or "?")


def schema_problems(validator: Any, document: Any) -> list[tuple[str, str]]:
    """(field path, message) for every way `document` fails `validator`.

    Unknown keys and missing required keys are reported at the key itself (`metadata.labelz`),
    one problem each, so the field path points at what to fix.
    """
    found: list[tuple[str, str]] = []
    for error in validator.iter_errors(document):
        path = list(error.absolute_path)
        schema = error.schema if isinstance(error.schema, dict) else {}
        if error.validator == "additionalProperties" and isinstance(error.instance, dict) and schema.get("additionalProperties") is False:
            known = schema.get("properties", {})
            patterns = list(schema.get("patternProperties", {}))
            extras = sorted(k for k in error.instance if k not in known and not any(re.search(p, k) for p in patterns))
            for key in extras or ["?"]:
                found.append((dotted(path + [key]), f"unknown field {key!r} (not in the schema)"))
        elif error.validator == "required" and isinstance(error.instance, dict):
            missing = [k for k in error.validator_value if k not in error.instance]
            for key in missing or ["?"]:
                found.append((dotted(path + [key]), f"required field {key!r} is missing"))
        else:
            found.append((dotted(path) or "-", error.message))
    return sorted(set(found))


def check_document(validator: Any, document: Any, path: str, number: int | None) -> list[Problem]:
    kind, name = identity(document)
    return [Problem(path, number, kind, name, field, message, "kubernetes")
            for field, message in schema_problems(validator, document)]


def shape_problem(document: Any, path: str, number: int | None) -> Problem | None:
    """A document that is not a Kubernetes object at all (no apiVersion, kind or metadata.name)."""
    kind, name = identity(document)
    if not isinstance(document, dict):
        return Problem(path, number, kind, name, "-", "not a Kubernetes object (expected a mapping)")
    for field in ("apiVersion", "kind"):
        if not isinstance(document.get(field), str) or not document.get(field):
            return Problem(path, number, kind, name, field, f"required field {field!r} is missing or not a string")
    if name == "?":
        return Problem(path, number, kind, name, "metadata.name", "required field 'name' is missing")
    return None
