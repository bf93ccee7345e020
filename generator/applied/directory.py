"""Reading a plain-manifest (directory) source the way Argo CD's repo-server does.

argoproj/argo-cd v3.5.1, `reposerver/repository/repository.go`:
- `getPotentiallyValidManifests`: `filepath.Walk` from the source path, in lexical order; below the
  top folder only with `directory.recurse`. Hidden files and folders are NOT skipped.
- `getPotentiallyValidManifestFile`: a file counts when its name matches `^.*\\.(yaml|yml|json|jsonnet)$`;
  `directory.exclude` drops and `directory.include` keeps files by a glob on the path relative to
  the source (`util/glob`: gobwas globs without separators, so `*` also matches `/`; `{a,b}`
  alternatives); a file containing `+argocd:skip-file-rendering` is skipped.
- `getObjsFromYAMLOrJSON`: `.json` is exactly one object; YAML is split into documents, empty
  documents dropped; a YAML file that does not parse is an error when it looks like a manifest
  (contains `apiVersion:`, `kind:` and `metadata:`), otherwise ignored.
- `GenerateManifests`: a `*List` with `items` is flattened into its items.

- Jsonnet (`*.jsonnet`): evaluated with go-jsonnet (`makeJsonnetVM`, `vm.EvaluateFile`): the
  source's `directory.jsonnet` extVars and TLAs, their values expanded with Argo CD's build
  environment (`newEnv`, `Env.Envsubst`: `$ARGOCD_APP_NAME`, `$ARGOCD_APP_REVISION`, ...; `$$` is a
  `$`, an unknown name is empty), imports from the importing file's folder, then the source folder
  and `libs` (go-jsonnet's FileImporter). The output is one object or an array of them. Here the
  Python binding of the same go-jsonnet (gojsonnet) evaluates it, in a child process bounded in
  time and memory (generator/applied/jsonnet.py: JSONNET_TIMEOUT, JSONNET_MEMORY_BYTES). Offline there is no commit:
  `ARGOCD_APP_REVISION` is the source's targetRevision (Argo CD passes the commit it resolved).
  Imports are confined to the repository: one that leaves it, or goes through a link, is refused
  (the repo-server would read its own file system).

What this reader refuses instead of guessing (InputError, exit 2): symlinks, `.argocd-source*.yaml`
parameter overrides (`mergeSourceParameters`), which Argo CD would merge into the source, and
duplicate mapping keys (Go's YAML decoder rejects them too).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import yaml

from generator import yamlio
from generator.argoglob import glob_match
from generator.applied import cache
from generator.errors import InputError

MANIFEST_FILE = re.compile(r"^.*\.(yaml|yml|json|jsonnet)\Z")  # \Z: Go's $ (no final-newline match)
SKIP_MARKER = b"+argocd:skip-file-rendering"
SOURCE_OVERRIDES = re.compile(r"^\.argocd-source(-.*)?\.yaml\Z")


class _Loader(yamlio.StrictLoader):
    """Safe YAML 1.1 (as Go's sigs.k8s.io/yaml) with duplicate keys refused."""


# Timestamps and a bare `=` stay strings, as sigs.k8s.io/yaml (YAML -> JSON) leaves them.
_Loader.yaml_implicit_resolvers = {first: [(tag, rx) for tag, rx in resolvers if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:value")]
                                   for first, resolvers in _Loader.yaml_implicit_resolvers.items()}


def parse_yaml(text: str, where: str) -> list[Any]:
    """The documents of a YAML text, empty ones dropped; InputError naming line and column."""
    try:
        documents = [d for d in yaml.load_all(text, Loader=_Loader) if d is not None]
        yamlio.check_bounded(documents, Path(where))  # aliases are shared when loaded, expanded when walked
        return documents
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(f"unparsable YAML: {getattr(exc, 'problem', None) or exc}", file=where,
                         line=mark.line + 1 if mark else None, column=mark.column + 1 if mark else None,
                         hint="fix the manifest; Argo CD would fail to sync it") from None


def _documents(path: Path, rel: str, raw: bytes, cache_dir: Path | None) -> list[tuple[int, Any]]:
    suffix = b"\0json" if rel.endswith(".json") else b"\0yaml"
    return list(enumerate(cache.read_file(cache_dir, raw + suffix, lambda: [d for _, d in _parse_documents(rel, raw)])))


def _parse_documents(rel: str, raw: bytes) -> list[tuple[int, Any]]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", file=rel, hint="manifests are UTF-8") from None
    if rel.endswith(".json"):
        try:
            return [(0, json.loads(text))]
        except json.JSONDecodeError as exc:
            extra = " (Argo CD allows one object per JSON file)" if exc.msg == "Extra data" else ""
            raise InputError(f"unparsable JSON: {exc.msg}{extra}", file=rel, line=exc.lineno, column=exc.colno) from None
    try:
        docs = parse_yaml(text, rel)
    except InputError:
        if all(marker in text for marker in ("apiVersion:", "kind:", "metadata:")):
            raise
        return []  # Argo CD ignores YAML that neither parses nor looks like a manifest
    return list(enumerate(docs))


def flatten(doc: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(doc, dict):
        raise InputError(f"a {type(doc).__name__} where a Kubernetes object was expected", file=where,
                         hint="each document must be a mapping with apiVersion, kind and metadata")
    if isinstance(doc.get("items"), list):
        return [item for item in doc["items"] if isinstance(item, dict)]
    if str(doc.get("kind", "")).endswith("List") and doc.get("items") is None and "items" in doc:
        return []
    return [doc]


def envsubst(text: str, env: dict[str, str]) -> str:
    """Argo CD's Env.Envsubst (Go's os.Expand): `$NAME` and `${NAME}`, `$$` is `$`, unknown names empty."""
    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2) or ""
        return "$" if match.group(0) == "$$" else env.get(name, "")

    return re.sub(r"\$\{([^}]*)\}|\$([A-Za-z0-9_]+|\$)", value, text)


def repo_path(path: Path, top: Path) -> str:
    """`path` (resolved) relative to `top`, POSIX; absolute when it lies outside."""
    return path.relative_to(top).as_posix() if path.is_relative_to(top) else path.as_posix()


def _jsonnet(root: Path, full: Path, rel: str, settings: dict[str, Any], env: dict[str, str],
             reads: list[str] | None = None) -> list[Any]:
    """The objects a .jsonnet file evaluates to (see the module docstring); every place an import
    was looked for is added to `reads` (relative to root)."""
    from generator.applied import jsonnet

    top = root.resolve()
    jpaths = [full.parent] + [top / str(lib) for lib in settings.get("libs") or []]

    def entries(key: str) -> dict[str, str]:
        return {str(e.get("name")): envsubst(str(e.get("value", "")), env)
                for e in settings.get(key) or [] if isinstance(e, dict) and not e.get("code")}

    def codes(key: str) -> dict[str, str]:
        return {str(e.get("name")): envsubst(str(e.get("value", "")), env)
                for e in settings.get(key) or [] if isinstance(e, dict) and e.get("code")}

    try:  # in a child bounded in time and memory (generator/applied/jsonnet.py)
        output, looked = jsonnet.evaluate(full, top, jpaths, entries("extVars"), codes("extVars"), entries("tlas"),
                                          codes("tlas"))
    except jsonnet.EvaluationError as exc:
        raise InputError(f"Jsonnet does not evaluate: {exc}", file=rel,
                         hint="make it evaluate within JSONNET_TIMEOUT and JSONNET_MEMORY_BYTES (docs/limits.md)"
                         if exc.limit else "fix the file; Argo CD would fail to sync it") from None
    if reads is not None:  # every place looked at: a file appearing there would be imported instead
        reads += [repo_path(Path(candidate), top) for candidate in looked]
    value = json.loads(output)
    return value if isinstance(value, list) else [value]


def read(root: Path, path: str, directory: dict[str, Any] | None, cache_dir: Path | None = None,
         env: dict[str, str] | None = None, reads: list[str] | None = None) -> list[tuple[str, dict[str, Any]]]:
    """(origin, object) for every object of the directory source at `root/path`, in Argo CD's order.

    `origin` is `<path relative to root>#<document index>` (plus `[i]` inside a List). With
    `cache_dir`, parsed files are cached by their bytes (generator/applied/cache.py). `env` is Argo
    CD's build environment for Jsonnet (ARGOCD_APP_*; see the module docstring). `reads`, when
    given, collects what of the checkout this read: the source folder and every file a Jsonnet file
    imports (relative to root, links resolved)."""
    directory = directory or {}
    top = (root / path).resolve()
    if reads is not None:
        reads.append(repo_path(top, root.resolve()))
    if not top.is_dir() or not top.is_relative_to(root.resolve()):
        raise InputError("Application source path is not a folder of the repository", file=path,
                         hint="render again, or point the source at an existing folder")
    recurse = bool(directory.get("recurse"))
    include, exclude = str(directory.get("include") or ""), str(directory.get("exclude") or "")
    found: list[tuple[str, dict[str, Any]]] = []
    for base, dirs, names in os.walk(top):
        dirs.sort()
        if not recurse:
            dirs.clear()
        for name in sorted(names):
            full = Path(base) / name
            rel_to_source = full.relative_to(top).as_posix()
            rel = full.relative_to(root.resolve()).as_posix()
            if SOURCE_OVERRIDES.match(name):
                raise InputError("Argo CD parameter override file in a source folder", file=rel,
                                 hint="remove it; hydrate (and review) cannot follow overrides outside the Application")
            if not MANIFEST_FILE.match(name):
                continue
            if full.is_symlink():
                raise InputError("symlink in a source folder", file=rel, hint="replace it with the file itself")
            if exclude and glob_match(exclude, rel_to_source):
                continue
            if include and not glob_match(include, rel_to_source):
                continue
            raw = full.read_bytes()
            if SKIP_MARKER in raw:
                continue
            documents = (list(enumerate(_jsonnet(root, full, rel, directory.get("jsonnet") or {}, env or {}, reads)))
                         if name.endswith(".jsonnet") else _documents(full, rel, raw, cache_dir))
            for index, doc in documents:
                items = flatten(doc, f"{rel}#{index}")
                listed = len(items) != 1 or items[0] is not doc
                for inner, item in enumerate(items):
                    found.append((f"{rel}#{index}" + (f"[{inner}]" if listed else ""), item))
    return found
