"""The hydrate cache: what `helm template` produced, keyed by everything that determines it.

Layout under the cache folder (default `.cache/hydrated/`, git-ignored):
- `objects/<d[:2]>/<d>.json`: one file per object, named by the sha256 of its JSON; an object that
  several renders produce (a CRD in every environment) is stored, and parsed, once;
- `renders/<k[:2]>/<k>.json`: one render: `[[origin, object digest], ...]` in helm's order. Key:
  sha256 over the helm version, the chart archive's sha256, release, namespace, Kubernetes version,
  API versions, each values file's bytes in order and the CRD/schema/test flags (see
  `hydrate.Hydrator.render`). Present means a hit: helm does not run;
- `files/<f[:2]>/<f>.json`: the documents of a manifest file, by the sha256 of its bytes (JSON
  reads faster than YAML constructs);
- `hubs/<h[:2]>/<h>.json`: `[[file, document], ...]`, the root Applications a hub folder's
  ApplicationSets generate (build.Hydrator.hub_roots) and the Kubernetes documents of its
  bootstrap/ and hub/ (build.Hydrator.hub_documents), each by the sha256 of every path and byte
  it reads of the folder (or by the folder's git tree id, when git vouches for it).
Every file is written to a temporary name and renamed into place, so readers see whole files.
Parsed objects are shared, read-only, between every state of the process (as the guard's tree
shares documents between base and head).

A file that is there but not whole (not the bytes a write would put there) is written again.
`recording()` collects every entry the process reads whole or writes, as (part, digest): what
`cache prune` (generator/applied/prune.py) keeps.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from generator import limits
from generator.errors import InputError
from generator.schemacache import write_atomically
from generator.yamlio import read_limited

FORMAT = 2
DEFAULT_DIR = Path(".cache") / "hydrated"
CACHE_ENV = "LITELLM_GITOPS_HYDRATE_CACHE"
_MEMO: dict[str, Any] = {}  # object digest -> parsed object, for the whole process
_MEMO_LIMIT = 200_000
_DIGEST = re.compile(r"[0-9a-f]{64}")
PARTS = ("objects", "renders", "files", "hubs")  # the folders of the layout above
_USED: set[tuple[str, str]] | None = None  # while recording: (part, digest) of every entry used


@contextmanager
def recording() -> Iterator[set[tuple[str, str]]]:
    """The (part, digest) of every entry read whole or written until the block ends."""
    global _USED
    previous, _USED = _USED, set()
    try:
        yield _USED
    finally:
        _USED = previous


def _use(part: str, digest: str) -> None:
    if _USED is not None:
        _USED.add((part, digest))


def default_dir(root: Path) -> Path:
    env = os.environ.get(CACHE_ENV)
    return Path(env) if env else root / DEFAULT_DIR


def key(parts: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps({"format": FORMAT, **parts}, sort_keys=True).encode()).hexdigest()


def _path(root: Path, part: str, digest: str) -> Path:
    return root / part / digest[:2] / f"{digest}.json"


def _write(path: Path, data: bytes) -> None:
    """Store an entry (`_path`: <root>/<part>/<d[:2]>/<d>.json), used from now on. Content-addressed:
    a regular file of these very bytes is left as it is; anything else there (a truncated or edited
    entry, a link) is replaced."""
    _use(path.parent.parent.name, path.stem)
    try:
        info = path.lstat()
        if stat.S_ISREG(info.st_mode) and info.st_size == len(data) and path.read_bytes() == data:
            return
    except OSError:
        pass
    write_atomically(path, data)


_UNREADABLE = (OSError, ValueError, TypeError, RecursionError, InputError)  # a miss, never an error: render again


def _read_json(path: Path) -> Any:
    """A cache entry, bounded (limits.CACHE_RECORD_BYTES, a regular file, never a link)."""
    return json.loads(read_limited(path, limits.CACHE_RECORD_BYTES, "cache entry"))


def _load(root: Path, digest: str) -> Any:
    found = _MEMO.get(digest)
    if found is None:
        found = _read_json(_path(root, "objects", digest))
        if not isinstance(found, dict):
            raise ValueError("a cached object is not a mapping")
        if len(_MEMO) >= _MEMO_LIMIT:
            _MEMO.clear()
        _MEMO[digest] = found
    _use("objects", digest)
    return found


def read(root: Path, digest: str) -> list[tuple[str, dict[str, Any]]] | None:
    """(origin, object) of a cached render, or None on a miss (or an unreadable entry)."""
    try:
        index = _read_json(_path(root, "renders", digest))
        if not isinstance(index, list) or not all(isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str)
                                                  and isinstance(entry[1], str) and _DIGEST.fullmatch(entry[1])
                                                  for entry in index):
            return None
        found = [(origin, _load(root, obj)) for origin, obj in index]
    except _UNREADABLE:
        return None
    _use("renders", digest)
    return found


def write(root: Path, digest: str, objects: list[tuple[str, dict[str, Any]]]) -> list[list[str]]:
    """Store a render; its index ([origin, object digest] in order), for `write_index`."""
    index = []
    for origin, doc in objects:
        data = json.dumps(doc, separators=(",", ":")).encode()
        obj_digest = hashlib.sha256(data).hexdigest()
        _write(_path(root, "objects", obj_digest), data)
        _MEMO.setdefault(obj_digest, doc)
        index.append([origin, obj_digest])
    write_index(root, digest, index)
    return index


def write_index(root: Path, digest: str, index: list[list[str]]) -> None:
    """Store a render whose objects are stored already (helm printed the same as for another key)."""
    _write(_path(root, "renders", digest), json.dumps(index).encode())


def read_file(root: Path | None, raw: bytes, parse) -> list[Any]:
    """`parse()`'s documents of a manifest file, cached by the file's bytes (parse errors are not cached)."""
    digest = hashlib.sha256(b"%d\0" % FORMAT + raw).hexdigest()
    memo_key = f"file:{digest}"
    if memo_key in _MEMO:
        _use("files", digest)
        return _MEMO[memo_key]
    docs = None
    if root is not None:
        try:
            docs = _read_json(_path(root, "files", digest))
        except _UNREADABLE:
            docs = None
        if not isinstance(docs, list):
            docs = None
    if docs is None:
        docs = parse()
        if root is not None:
            _write(_path(root, "files", digest), json.dumps(docs, separators=(",", ":")).encode())
    _use("files", digest)
    _MEMO[memo_key] = docs
    return docs


def read_hub(root: Path, digest: str) -> list[tuple[str, dict[str, Any]]] | None:
    """A hub folder's generated roots, or None on a miss (or an unreadable entry)."""
    try:
        found = [(str(rel), app) for rel, app in _read_json(_path(root, "hubs", digest))]
    except _UNREADABLE:
        return None
    if not all(isinstance(app, dict) for _, app in found):
        return None
    _use("hubs", digest)
    return found


def write_hub(root: Path, digest: str, roots: list[tuple[str, dict[str, Any]]]) -> None:
    """Store what a hub folder yields (its generated roots, its Kubernetes documents); not when
    JSON cannot hold it as it is (a YAML date, a number as a mapping key): it is evaluated again
    next time rather than read back changed."""
    entries = [[rel, doc] for rel, doc in roots]
    try:
        data = json.dumps(entries, separators=(",", ":"), allow_nan=False).encode()
    except (TypeError, ValueError):
        return
    if json.loads(data) != entries:  # json.dumps turns a key 1 or true into "1", "true"
        return
    _write(_path(root, "hubs", digest), data)
