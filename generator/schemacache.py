"""The lock of upstream schemas (schemas/upstream.lock.json) and the local cache it fills.

The lock names every upstream schema the validator uses (custom kinds' JSON Schemas in
kubeconform's layout, and the values.schema.json of pinned Helm charts that ship one) with its
address and sha256. `sync_from_directory` and `sync_from_urls` copy them into a git-ignored cache
(default `.cache/schemas/`, kubeconform layout so kubeconform can read it too), refusing any file
whose sha256 differs from the lock. `verified_schema` reads a cached file back, checking it again,
so validation never trusts a cache that was edited after the sync.

All-or-nothing: a sync writes nothing unless every file in the lock is found and matches.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from generator.errors import InputError

LOCK_FILE = Path(__file__).resolve().parent.parent / "schemas" / "upstream.lock.json"
CACHE_ENV = "LITELLM_GITOPS_SCHEMA_CACHE"
DEFAULT_CACHE = Path(".cache") / "schemas"
URL_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class LockedFile:
    """One upstream file: where it goes in the cache, what it must hash to, where to get it."""

    path: str  # relative to the cache, POSIX separators
    sha256: str
    url: str
    local_name: str  # file name in a local catalog (kubeconform path, or <chart>-<version>.values.schema.json)
    chart_values: bool = False


@dataclass(frozen=True)
class Lock:
    files: tuple[LockedFile, ...]
    charts: dict[tuple[str, str], LockedFile | None]  # (chart, version) -> its values schema, None if it ships none
    source: Path

    def kubernetes_file(self, path: str) -> LockedFile | None:
        return next((f for f in self.files if f.path == path and not f.chart_values), None)


@dataclass
class SyncResult:
    written: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # "path: reason"


def load_lock(path: Path = LOCK_FILE) -> Lock:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("schema lock not found", file=path, hint="restore schemas/upstream.lock.json from git") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"schema lock is not valid JSON: {exc.msg}", file=path, line=exc.lineno, column=exc.colno,
                         hint="restore schemas/upstream.lock.json from git") from None
    try:
        files = [LockedFile(path=e["path"], sha256=e["sha256"].lower(), url=e["url"], local_name=e["path"])
                 for e in data["kubernetesSchemas"]]
        charts: dict[tuple[str, str], LockedFile | None] = {}
        for entry in data["charts"]:
            schema = entry.get("valuesSchema")
            locked = None
            if schema:
                locked = LockedFile(path=schema["path"], sha256=schema["sha256"].lower(), url=schema["url"],
                                    local_name=f"{entry['chart']}-{entry['version']}.values.schema.json",
                                    chart_values=True)
                files.append(locked)
            charts[(entry["chart"], str(entry["version"]))] = locked
    except (KeyError, TypeError, AttributeError) as exc:
        raise InputError(f"schema lock is malformed (missing {exc})", file=path,
                         hint="every kubernetesSchemas entry needs path, sha256, url; every charts entry chart, version, valuesSchema") from None
    for locked in files:
        if ".." in Path(locked.path).parts or Path(locked.path).is_absolute():
            raise InputError(f"schema lock path {locked.path!r} escapes the cache", file=path,
                             hint="use a relative path such as group/kind_version.json")
    return Lock(files=tuple(files), charts=charts, source=path)


def default_cache_dir(root: Path) -> Path:
    """$LITELLM_GITOPS_SCHEMA_CACHE when set, else <root>/.cache/schemas."""
    env = os.environ.get(CACHE_ENV)
    return Path(env) if env else root / DEFAULT_CACHE


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write_all(cache: Path, contents: dict[str, bytes]) -> None:
    for rel, data in contents.items():
        target = cache / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _sync(lock: Lock, cache: Path, fetch: Callable[[LockedFile], bytes | str]) -> SyncResult:
    """`fetch` returns the bytes, or a string saying why it could not."""
    result = SyncResult()
    contents: dict[str, bytes] = {}
    for locked in lock.files:
        data = fetch(locked)
        if isinstance(data, str):
            result.refused.append(f"{locked.path}: {data}")
            continue
        actual = sha256_hex(data)
        if actual != locked.sha256:
            result.refused.append(f"{locked.path}: sha256 {actual} does not match the lock ({locked.sha256})")
            continue
        contents[locked.path] = data
    if not result.refused:
        _write_all(cache, contents)
        result.written = sorted(contents)
    return result


def sync_from_directory(lock: Lock, catalog: Path, chart_values: Path | None, cache: Path) -> SyncResult:
    """Copy from a local catalog in kubeconform layout (and a folder of chart values schemas)."""
    if not catalog.is_dir():
        raise InputError("schema catalog folder not found", file=catalog,
                         hint="pass a folder in kubeconform layout, e.g. --from ../shared/schemas-upstream")

    def fetch(locked: LockedFile) -> bytes | str:
        base = chart_values if locked.chart_values else catalog
        if base is None:
            return "no chart values folder given (--chart-values-from)"
        try:
            return (base / locked.local_name).read_bytes()
        except FileNotFoundError:
            return f"not found in {base}"

    return _sync(lock, cache, fetch)


def sync_from_urls(lock: Lock, cache: Path,
                   opener: Callable[..., Any] = urllib.request.urlopen) -> SyncResult:
    """Download every locked file from its pinned https URL."""

    def fetch(locked: LockedFile) -> bytes | str:
        if not locked.url.startswith("https://"):
            return f"refusing non-https URL {locked.url}"
        try:
            with opener(locked.url, timeout=URL_TIMEOUT_SECONDS) as response:
                return response.read()
        except (urllib.error.URLError, OSError, ValueError) as exc:
            return f"download from {locked.url} failed: {getattr(exc, 'reason', exc)}"

    return _sync(lock, cache, fetch)


def verified_schema(lock: Lock, cache: Path, locked: LockedFile) -> Any:
    """A cached schema, parsed, after checking its sha256 against the lock once more."""
    path = cache / locked.path
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"upstream schema {locked.path} is not in the schema cache", file=cache,
                         hint="run `litellm-gitops schemas sync --from ../shared/schemas-upstream` (or without --from when online)") from None
    if sha256_hex(data) != locked.sha256:
        raise InputError(f"cached schema {locked.path} does not match {lock.source.name} (edited or stale)", file=path,
                         hint="run `litellm-gitops schemas sync` again; never edit the cache by hand")
    try:
        return json.loads(data)
    except json.JSONDecodeError as exc:
        raise InputError(f"cached schema is not JSON: {exc.msg}", file=path, hint="run `litellm-gitops schemas sync` again") from None
