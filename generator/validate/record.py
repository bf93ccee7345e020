"""Records of validated content: `validate` does not check again what it already found clean.

This module owns the key of one environment's (or one hub folder's) validation result and the
record files, one small JSON file per clean result, named by its key, under `.cache/validated/`
in --root (`$LITELLM_GITOPS_VALIDATE_CACHE`, or `validate --record DIR`): `<k[:2]>/<k>.json`,
written to a temporary name and renamed into place.

The key is a sha256 over everything that determines the result:
- the validator (`fingerprint`, once per run): every file of the installed `generator` package
  (any code change invalidates every record), the Python version and every installed distribution
  with its version (kubernetes-validate and the schemas it bundles, cfn-lint, jsonschema, PyYAML,
  go-jsonnet, ...), schemas/upstream.lock.json and schemas/environment.schema.json as the run reads
  them, and the bytes of every file the lock pins in the schema cache; when hydrating also Helm's
  version (what the hydrate cache keys renders on, generator/applied/cache.py),
  schemas/charts.lock.json and the sha256 of every locked chart archive in the chart folder;
- whether the applied state is checked (hydrate on or off);
- the content, each file by relative path and sha256, each folder by its path, in a fixed order:
  for an environment its name, environments/defaults.yaml, environments/layers/ (every shared
  layer file, issue 25), environments/<env>/ and rendered/<env>/,
  and, when hydrating an environment whose root Application its hub generates (no
  rendered/<env>/bootstrap/), all of rendered/fleet/; for a hub folder (rendered/fleet/<hub>/),
  its name, its files and the Kubernetes version it is checked with.
Reading a file and hashing it is all a key costs: nothing is parsed. A symbolic link, or anything
that cannot be read as a regular file, gives no key: the environment is validated as usual, which
reports the problem. Hydration reads whatever folders and value files the Applications name; a
result is recorded only when all of it (AppliedState.inputs) lies within what its key covers.

Only a clean result (no failing problem) is recorded, with what the report needs to print the
same as a full run: files and documents counted, notes, and the hub and Kubernetes version the
hubs' folders are planned with. Records are used only with the default, verified schema cache: a
--schema-location is not pinned by the lock, so with one no record is read or written.
`--revalidate` reads none (and writes new ones). A record that cannot be read or does not parse
is ignored, never an error.

Pruning (`validate --prune-records`, what ci.yml's validate shards run before saving the folder):
after the run, every record file it neither read nor wrote is deleted (records of older trees and
validators, whose keys no later run asks for), and leftovers of interrupted writes; a file whose
name is not a record's is left alone. So the folder holds what the tree validated now needs,
whatever the history of the cache chain.

Not a verdict: validate is not the security boundary (CI's validate runs the pull request's own
code, which could skip any check; the guard, installed from the base checkout, is the boundary),
so a record is a cache. Still, its key covers every input, so it never vouches for other content.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import re
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

import generator
from generator import chartlock
from generator.applied.build import Hydrator
from generator.environment import DEFAULTS_FILE, LAYERS_FOLDER
from generator.errors import InputError, os_error
from generator.fleet import FOLDER as FLEET
from generator.projectfiles import ENVIRONMENT_SCHEMA, project_file
from generator.schemacache import TEMPORARY, Lock, sha256_hex, write_atomically
from generator.validate.problems import Problem
from generator.yamlio import MAX_RENDERED_BYTES, read_limited

FORMAT = 2
DEFAULT_DIR = Path(".cache") / "validated"
CACHE_ENV = "LITELLM_GITOPS_VALIDATE_CACHE"
MAX_RECORD_BYTES = 1 << 20
PACKAGE = Path(generator.__file__).resolve().parent
SKIPPED_FOLDERS = ("__pycache__",)  # of the package: compiled files change without the code changing


def default_dir(root: Path) -> Path:
    """$LITELLM_GITOPS_VALIDATE_CACHE when set, else <root>/.cache/validated."""
    env = os.environ.get(CACHE_ENV)
    return Path(env) if env else root / DEFAULT_DIR


@dataclass(frozen=True)
class Key:
    """One result's key, and what of the checkout it covers (paths relative to --root)."""

    digest: str
    kind: str  # environment | hub
    name: str
    version: str | None  # a hub's Kubernetes version
    covers: tuple[str, ...]

    def holds(self, inputs: list[str]) -> bool:
        """Whether every path read (AppliedState.inputs) lies within what the key hashes."""
        return all(any(path == c or path.startswith(c + "/") for c in self.covers) for path in inputs)


@dataclass
class Record:
    """What a clean result contributes to the report."""

    files: int
    documents: dict[str, int]
    notes: list[Problem] = field(default_factory=list)
    hub: str | None = None  # an environment's hub
    kubernetes_version: str | None = None  # what the environment (or hub folder) was checked with


def _tree(root: Path, rel: str, skip: tuple[str, ...] = ()) -> list[tuple[str, str]] | None:
    """(path, sha256) of `root/rel` and everything under it, sorted: a folder as (path/, "folder"),
    a missing path as (path, "absent"). None when any entry is a link or not a readable regular
    file (folders named in `skip` are left out)."""
    top = root / rel
    if os.path.islink(top):
        return None
    if not os.path.lexists(top):
        return [(rel, "absent")]
    if not top.is_dir():
        digest = _file(top)
        return None if digest is None else [(rel, digest)]
    entries = [(rel + "/", "folder")]
    try:
        for base, dirs, names in os.walk(top, onerror=_raise):
            dirs[:] = [d for d in dirs if d not in skip]
            here = Path(base).relative_to(root).as_posix()
            for name in dirs:
                if os.path.islink(os.path.join(base, name)):
                    return None
                entries.append((f"{here}/{name}/", "folder"))
            for name in names:
                digest = _file(Path(base, name))
                if digest is None:
                    return None
                entries.append((f"{here}/{name}", digest))
    except OSError:
        return None
    return sorted(entries)


def _raise(error: OSError) -> None:
    raise error


def _file(path: Path) -> str | None:
    """A regular file's sha256 (read_limited: no link followed, bounded), or None."""
    try:
        return sha256_hex(read_limited(path, MAX_RENDERED_BYTES))
    except InputError:
        return None


def _digest(parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _distributions() -> list[tuple[str, str]]:
    """Every installed distribution and its version: the libraries that judge, and theirs."""
    return sorted({(str(d.metadata["Name"] or "").lower(), d.version) for d in importlib.metadata.distributions()})


def _bytes_digest(path: Path) -> str | None:
    try:
        return sha256_hex(path.read_bytes())
    except FileNotFoundError:
        return None


def _checks(root: Path, lock: Lock, cache: Path) -> dict[str, Any]:
    """The fingerprint of the checks every result depends on."""
    package = _tree(PACKAGE.parent, PACKAGE.name, SKIPPED_FOLDERS)
    if package is None:
        raise InputError("the generator package holds a link or an unreadable file", file=PACKAGE)
    return {"format": FORMAT, "python": sys.version, "libyaml": bool(getattr(yaml, "__with_libyaml__", False)),
            "distributions": _distributions(), "generator": package,
            "upstreamLock": _bytes_digest(lock.source),
            "environmentSchema": _bytes_digest(project_file(root, ENVIRONMENT_SCHEMA)),
            "schemaCache": {f.path: _bytes_digest(cache / f.path) for f in lock.files}}


def _hydration(root: Path, hydrator: Hydrator) -> dict[str, Any]:
    """The fingerprint of hydration: Helm's version, the chart lock and the archives it pins."""
    charts = chartlock.load(root)
    archives = {}
    for locked in charts.charts:
        try:
            archives[locked.file] = hydrator.archive(locked)[1]
        except InputError as exc:  # reported by the environments that use it
            archives[locked.file] = f"unavailable: {exc.message}"
    return {"helm": hydrator.helm.version if hydrator.helm else None, "chartsLock": _bytes_digest(charts.source),
            "archives": archives}


class Records:
    """The records of one run: keys (hashing each shared folder once) and the record files."""

    def __init__(self, root: Path, folder: Path, checks: str, hydration: str | None, read: bool):
        self.root = root
        self.folder = folder
        self.checks = checks  # digest of _checks
        self.hydration = hydration  # digest of _hydration; None: not hydrating
        self.reading = read
        self._trees: dict[str, str | None] = {}
        self._fresh = False  # _trees hashed again since the checks ran (`still`)
        self._write_failed = False
        self.used: set[str] = set()  # digests read or written this run (`prune` keeps them)

    @classmethod
    def open(cls, root: Path, folder: Path, lock: Lock, cache: Path, hydrator: Hydrator | None,
             revalidate: bool) -> Records | None:
        """The run's records, or None when the validator cannot be fingerprinted (then nothing is
        recorded and the problem, if any, is reported by the checks themselves)."""
        if folder.exists() and not folder.is_dir():
            raise InputError("the validation record folder is not a folder", file=folder,
                             hint=f"pass --record DIR with DIR a folder (created when missing), or set ${CACHE_ENV} to one")
        try:
            checks = _digest(_checks(root, lock, cache))
            hydration = _digest(_hydration(root, hydrator)) if hydrator is not None else None
        except (InputError, OSError):
            return None
        return cls(root, folder, checks, hydration, read=not revalidate)

    def _covered(self, rel: str) -> str | None:
        """The digest of `rel`'s tree (every path and file sha256 under it), hashed once per run:
        a folder many keys cover (rendered/fleet, defaults.yaml) is read and encoded once."""
        if rel not in self._trees:
            tree = _tree(self.root, rel)
            self._trees[rel] = None if tree is None else _digest(tree)
        return self._trees[rel]

    def _key(self, kind: str, name: str, version: str | None, covers: list[str], fingerprint: list[str | None]) -> Key | None:
        trees = [self._covered(rel) for rel in covers]
        if any(tree is None for tree in trees):
            return None
        content = [[rel, tree] for rel, tree in zip(covers, trees)]
        digest = _digest({"fingerprint": fingerprint, "kind": kind, "name": name, "kubernetesVersion": version, "content": content})
        return Key(digest, kind, name, version, tuple(covers))

    def environment_key(self, name: str) -> Key | None:
        """The key of environment `name`, or None (a link or unreadable file among its inputs)."""
        # environments/layers/ whole: which layers an environment names is in its file, and a key
        # parses nothing (a layer edit re-validates every environment, as a defaults.yaml edit does).
        covers = [f"environments/{DEFAULTS_FILE}", f"environments/{LAYERS_FOLDER}", f"environments/{name}", f"rendered/{name}"]
        if self.hydration is not None and not (self.root / "rendered" / name / "bootstrap").is_dir():
            covers.append(f"rendered/{FLEET}")  # its root Application comes out of a hub's ApplicationSet
        return self._key("environment", name, None, covers, [self.checks, self.hydration])

    def hub_key(self, hub: str, version: str) -> Key | None:
        """The key of hub folder rendered/fleet/<hub>/ checked with Kubernetes `version`."""
        return self._key("hub", hub, version, [f"rendered/{FLEET}/{hub}"], [self.checks])

    def rehash(self) -> None:
        """The next `still` hashes the content afresh: checks have run since it last did."""
        self._fresh = False

    def still(self, key: Key) -> bool:
        """Whether the content still hashes to `key` (hashed afresh once after each batch of checks,
        see `rehash`, so that nothing changed while they ran is recorded)."""
        if not self._fresh:
            self._trees.clear()
            self._fresh = True
        again = (self.environment_key(key.name) if key.kind == "environment" else self.hub_key(key.name, key.version or ""))
        return again == key

    def _path(self, digest: str) -> Path:
        return self.folder / digest[:2] / f"{digest}.json"

    def read(self, key: Key) -> Record | None:
        """The record of `key`; None when there is none, reading is off, or it is unreadable or malformed."""
        if not self.reading:
            return None
        try:
            data = json.loads(read_limited(self._path(key.digest), MAX_RECORD_BYTES, "validation record"))
            found = _parse(data, key.digest)
        except (InputError, ValueError, TypeError, KeyError, AttributeError, RecursionError):  # nested too deep: a miss
            return None
        self.used.add(key.digest)
        return found

    def write(self, key: Key, record: Record) -> None:
        """Store a clean result; a folder that cannot be written is said once on stderr, not an error."""
        if self._write_failed:
            return
        data = {"format": FORMAT, "key": key.digest, "kind": key.kind, "name": key.name, "files": record.files,
                "documents": record.documents, "notes": [asdict(p) for p in record.notes], "hub": record.hub,
                "kubernetesVersion": record.kubernetes_version}
        try:
            write_atomically(self._path(key.digest), (json.dumps(data, indent=1, sort_keys=True) + "\n").encode())
            self.used.add(key.digest)
        except OSError as exc:
            self._write_failed = True
            print(f"validate: cannot write records to {self.folder} ({os_error(exc).message}); "
                  "the next run checks everything again", file=sys.stderr)


    def prune(self) -> tuple[int, int]:
        """Delete every record file this run neither read nor wrote, and interrupted writes' temporary
        files; (kept, deleted). Links are removed, never followed; other names are not ours: left."""
        kept = deleted = 0
        if not self.folder.is_dir() or self.folder.is_symlink():
            return kept, deleted
        for prefix in sorted(os.listdir(self.folder)):
            sub = self.folder / prefix
            if not _PREFIX.fullmatch(prefix) or sub.is_symlink() or not sub.is_dir():
                continue
            for name in sorted(os.listdir(sub)):
                match = _RECORD.fullmatch(name)
                if match and match[1][:2] == prefix and match[1] in self.used and not (sub / name).is_symlink():
                    kept += 1
                elif match or TEMPORARY.fullmatch(name):
                    try:
                        (sub / name).unlink()
                    except OSError as exc:
                        raise InputError(f"cannot delete a validation record: {os_error(exc).message}", file=sub / name,
                                         hint="give the records folder back to the user running validate") from None
                    deleted += 1
            if not os.listdir(sub):
                sub.rmdir()
        return kept, deleted


_PREFIX = re.compile(r"[0-9a-f]{2}")
_RECORD = re.compile(r"([0-9a-f]{64})\.json")


def _parse(data: Any, digest: str) -> Record:
    """A record read back, checked field by field (ValueError/TypeError/KeyError when malformed)."""
    if data["format"] != FORMAT or data["key"] != digest:
        raise ValueError("another format or key")
    files, documents = data["files"], data["documents"]
    if type(files) is not int or files < 0 or not all(isinstance(k, str) and type(v) is int and v >= 0
                                                      for k, v in documents.items()):
        raise ValueError("files and documents are counts")
    notes = [Problem(**note) for note in data["notes"]]
    if any(note.fails or type(note.document) not in (int, type(None)) for note in notes):
        raise ValueError("a record holds notes only")
    hub, version = data["hub"], data["kubernetesVersion"]
    if not all(isinstance(v, (str, type(None))) for v in (hub, version)):
        raise ValueError("hub and version are strings")
    return Record(files, dict(documents), notes, hub, version)
