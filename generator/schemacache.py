"""The lock of upstream files (schemas/upstream.lock.json) and the local schema cache it fills.

The lock pins, by raw URL at a release tag (or commit) and sha256, every upstream file validation
and the tests rely on:
- `crds`: the upstream CustomResourceDefinitions of the custom kinds the generator emits;
- `kubernetesSchemas`: the strict JSON Schema of each such kind in kubeconform's layout, with the
  sha256 of the schema `generator.crdschema` derives from its CRD;
- `charts`: every pinned Helm chart's own values.yaml, and its values.schema.json when it ships one.

`collect` gathers and checks all of them from one source: the pinned URLs (optionally through a
mirror of raw.githubusercontent.com), a local crds/ folder, or a local catalog already in
kubeconform layout. `write_cache` fills the git-ignored cache (default `.cache/schemas/`,
kubeconform layout, chart files under chart-values/); `write_reference` lays the same verified
files out as a reference folder like ../shared (schemas-upstream/, crds/, chart-values/).
`verified_schema` reads a cached schema back, checking it again, so validation never trusts a
cache that was edited after the sync.

All-or-nothing: nothing is written unless every file in the lock is found and matches.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from generator import crdschema, limits
from generator.errors import InputError
from generator.projectfiles import UPSTREAM_LOCK, shipped_file
from generator.secretscan import redact_urls, url_credential

LOCK_FILE = shipped_file(UPSTREAM_LOCK)  # the lock this package ships with
CACHE_ENV = "LITELLM_GITOPS_SCHEMA_CACHE"
DEFAULT_CACHE = Path(".cache") / "schemas"
URL_TIMEOUT_SECONDS = 30
RAW_GITHUB = "https://raw.githubusercontent.com"
SCHEMAS, CRDS, CHART_VALUES = "schemas-upstream", "crds", "chart-values"  # a reference folder's parts
SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Pinned:
    """An upstream file as published: its pinned URL and sha256, and its path in a reference folder."""

    reference: str  # crds/<file> or chart-values/<file>
    url: str
    sha256: str


@dataclass(frozen=True)
class LockedFile:
    """One file of the cache: where it goes, what it must hash to, and where it comes from."""

    path: str  # relative to the cache, POSIX separators
    sha256: str
    reference: str  # relative to a reference folder: schemas-upstream/<path>, or chart-values/<file>
    crd: Pinned | None = None  # a custom kind's schema: derived from this CRD
    download: Pinned | None = None  # a chart file: downloaded as it is

    @property
    def chart_file(self) -> bool:
        return self.download is not None


@dataclass(frozen=True)
class Lock:
    files: tuple[LockedFile, ...]
    charts: dict[tuple[str, str], LockedFile | None]  # (chart, version) -> its values schema, None if it ships none
    source: Path

    def kubernetes_file(self, path: str) -> LockedFile | None:
        return next((f for f in self.files if f.path == path and not f.chart_file), None)

    @property
    def crds(self) -> tuple[Pinned, ...]:
        return tuple(dict.fromkeys(f.crd for f in self.files if f.crd is not None))


@dataclass
class Collected:
    """Verified bytes by reference-folder path (CRDs too, when the source had them), or refusals."""

    contents: dict[str, bytes] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)  # "path: reason"


Fetch = Callable[[Pinned], "bytes | str"]  # the bytes, or a sentence saying why not


# --- the lock -------------------------------------------------------------------------------


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("schema lock not found", file=path, hint="restore schemas/upstream.lock.json from git") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"schema lock is not valid JSON: {exc.msg}", file=path, line=exc.lineno, column=exc.colno,
                         hint="restore schemas/upstream.lock.json from git") from None
    except (RecursionError, UnicodeDecodeError):
        raise InputError("schema lock is not JSON this project writes (not UTF-8, or nested too deep)", file=path,
                         hint="restore schemas/upstream.lock.json from git") from None


def _pinned(entry: dict, folder: str, lock_path: Path) -> Pinned:
    name, url, sha = entry["file"], entry["url"], entry["sha256"].lower()
    if not isinstance(name, str) or "/" in name or "\\" in name or name in ("", ".", ".."):
        raise InputError(f"schema lock file name {name!r} is not a plain file name", file=lock_path)
    if not url.startswith("https://"):
        raise InputError(f"schema lock URL {url!r} is not https", file=lock_path, hint="pin an https:// URL")
    if not SHA256.fullmatch(sha):
        raise InputError(f"schema lock sha256 {sha!r} of {name} is not 64 hex digits", file=lock_path)
    return Pinned(reference=f"{folder}/{name}", url=url, sha256=sha)


def _schema_file(entry: dict, crds: dict[str, Pinned], lock_path: Path) -> LockedFile:
    path = entry["path"]
    if ".." in Path(path).parts or Path(path).is_absolute() or len(Path(path).parts) != 2:
        raise InputError(f"schema lock path {path!r} is not group/kind_version.json", file=lock_path,
                         hint="use a relative path such as group/kind_version.json")
    if entry["crd"] not in crds:
        raise InputError(f"schema lock entry {path} names CRD {entry['crd']!r}, which is not under crds", file=lock_path)
    return LockedFile(path=path, sha256=entry["sha256"].lower(), reference=f"{SCHEMAS}/{path}", crd=crds[entry["crd"]])


def _chart_file(entry: dict, lock_path: Path) -> LockedFile:
    pinned = _pinned(entry, CHART_VALUES, lock_path)
    return LockedFile(path=pinned.reference, sha256=pinned.sha256, reference=pinned.reference, download=pinned)


def load_lock(path: Path = LOCK_FILE) -> Lock:
    data = _read_json(path)
    try:
        crds = {name: _pinned({**entry, "file": name}, CRDS, path) for name, entry in data["crds"].items()}
        files = [_schema_file(entry, crds, path) for entry in data["kubernetesSchemas"]]
        charts: dict[tuple[str, str], LockedFile | None] = {}
        for entry in data["charts"]:
            files.append(_chart_file(entry["values"], path))
            schema = _chart_file(entry["valuesSchema"], path) if entry["valuesSchema"] else None
            if schema is not None:
                files.append(schema)
            charts[(entry["chart"], str(entry["version"]))] = schema
    except (KeyError, TypeError, AttributeError) as exc:
        raise InputError(f"schema lock is malformed (missing or wrong {exc})", file=path,
                         hint="crds: name -> url, sha256; kubernetesSchemas: path, sha256, crd; "
                              "charts: chart, version, values {file, url, sha256}, valuesSchema (or null)") from None
    return Lock(files=tuple(files), charts=charts, source=path)


def default_cache_dir(root: Path) -> Path:
    """$LITELLM_GITOPS_SCHEMA_CACHE when set, else <root>/.cache/schemas."""
    env = os.environ.get(CACHE_ENV)
    return Path(env) if env else root / DEFAULT_CACHE


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- where the files come from ----------------------------------------------------------------


def check_mirror(mirror: str) -> str:
    """A mirror of raw.githubusercontent.com: https, or plain http on this machine only."""
    hint = "pass e.g. --mirror https://mirror.example.com (same paths as raw.githubusercontent.com)"
    credential = url_credential(mirror)
    if credential:  # it would be printed with every download; the URL itself is not echoed
        raise InputError(f"the mirror URL carries {credential} (a credential)", hint=hint)
    try:
        parsed = urllib.parse.urlsplit(mirror)
        parsed.port  # noqa: B018 (raises ValueError for a port that is not a number in 0-65535)
    except ValueError as exc:
        raise InputError(f"the mirror is not a URL ({limits.one_line(str(exc), 80)})", hint=hint) from None
    local = parsed.scheme == "http" and parsed.hostname in ("127.0.0.1", "localhost", "::1")
    if not (parsed.scheme == "https" or local) or not parsed.hostname:
        raise InputError(f"mirror {limits.one_line(repr(mirror), 120)} is neither https nor http on this machine",
                         hint="pass e.g. --mirror https://mirror.example.com (same paths as raw.githubusercontent.com)")
    return mirror.rstrip("/")


def mirrored(url: str, mirror: str | None) -> str:
    """The pinned URL, or the same path on the mirror when it is a raw.githubusercontent.com URL."""
    if mirror is None or not url.startswith(RAW_GITHUB + "/"):
        return url
    return mirror + url[len(RAW_GITHUB):]


def url_fetcher(mirror: str | None = None, opener: Callable[..., Any] = urllib.request.urlopen) -> Fetch:
    """Download pinned files from their URLs (or from a mirror with the same paths)."""

    def fetch(pinned: Pinned) -> bytes | str:
        url = mirrored(pinned.url, mirror)
        try:
            with opener(url, timeout=URL_TIMEOUT_SECONDS) as response:
                return limits.read_body(response, f"GET {redact_urls(url)}")
        except urllib.error.HTTPError as exc:
            return (f"download from {redact_urls(url)} failed: HTTP {exc.code} {limits.one_line(str(exc.reason))} "
                    "(is the pinned tag or path right?)")
        except (urllib.error.URLError, OSError, ValueError) as exc:
            return f"download from {redact_urls(url)} failed: {limits.one_line(redact_urls(str(getattr(exc, 'reason', exc))))}"

    return fetch


def directory_fetcher(folders: dict[str, Path | None]) -> Fetch:
    """Read pinned files from local folders by their reference path: {"crds": DIR, "chart-values": DIR}."""

    def fetch(pinned: Pinned) -> bytes | str:
        part, name = pinned.reference.split("/", 1)
        folder = folders.get(part)
        if folder is None:
            return "no chart values folder given (--chart-values-from)" if part == CHART_VALUES else f"no {part} folder given"
        try:
            return (folder / name).read_bytes()
        except FileNotFoundError:
            return f"not found in {folder}"

    return fetch


def is_crd_folder(lock: Lock, folder: Path) -> bool:
    """True when `folder` holds upstream CRD files by their lock names (a crds/ folder, not a catalog)."""
    return any((folder / crd.reference.split("/", 1)[1]).is_file() for crd in lock.crds)


# --- collecting and checking -------------------------------------------------------------------


def _checked(data: bytes | str, sha256: str, what: str = "") -> bytes | str:
    """The bytes if they hash to `sha256`, else why not (`data` may already be a reason)."""
    if isinstance(data, str) or sha256_hex(data) == sha256:
        return data
    return f"{what}sha256 {sha256_hex(data)} does not match the lock ({sha256})"


def _derived(locked: LockedFile, crd_data: bytes) -> bytes | str:
    try:
        schemas = crdschema.derive(crd_data)
    except crdschema.CrdError as exc:
        return f"cannot derive from {locked.crd.reference}: {exc}"
    if locked.path not in schemas:
        return f"{locked.crd.reference} serves no version with this schema path (it gives {', '.join(sorted(schemas))})"
    return schemas[locked.path]


def collect(lock: Lock, fetch: Fetch, catalog: Path | None = None) -> Collected:
    """Every file of the lock, checked against its sha256. Custom kinds' schemas are read from
    `catalog` (kubeconform layout) when given, else derived from their CRDs obtained by `fetch`;
    chart files are obtained by `fetch`."""
    collected = Collected()

    def keep(name: str, reference: str, data: bytes | str) -> None:
        if isinstance(data, str):
            collected.refused.append(f"{name}: {data}")
        else:
            collected.contents[reference] = data

    crds: dict[str, bytes | str] = {}  # each CRD fetched, checked and refused at most once
    for locked in lock.files:
        what = ""
        if locked.chart_file:
            data = fetch(locked.download)
        elif catalog is not None:
            path = catalog / locked.path
            data = path.read_bytes() if path.is_file() else f"not found in {catalog}"
        else:
            crd = locked.crd
            if crd.reference not in crds:
                crds[crd.reference] = _checked(fetch(crd), crd.sha256)
                keep(crd.reference, crd.reference, crds[crd.reference])
            if isinstance(crds[crd.reference], str):
                continue  # the CRD's own refusal says why
            data, what = _derived(locked, crds[crd.reference]), "derived schema "
        keep(locked.path, locked.reference, _checked(data, locked.sha256, what))
    return collected


# --- writing -------------------------------------------------------------------------------------


TEMPORARY_PREFIX = ".tmp-"  # write_atomically's name before the rename: what a killed write leaves
TEMPORARY = re.compile(re.escape(TEMPORARY_PREFIX) + r"[^/]*")

def write_atomically(target: Path, data: bytes) -> None:
    """Write one file of a cache: beside it first, then renamed over it, so a reader never sees half."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=TEMPORARY_PREFIX, dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_all(root: Path, contents: dict[str, bytes]) -> None:
    for rel, data in contents.items():
        write_atomically(root / rel, data)


def write_cache(lock: Lock, cache: Path, collected: Collected) -> list[str]:
    """Fill the cache from a complete, verified collection; the paths written."""
    if collected.refused:
        raise ValueError("refusing to write a collection with refused files")
    contents = {locked.path: collected.contents[locked.reference] for locked in lock.files}
    write_all(cache, contents)
    return sorted(contents)


def write_reference(lock: Lock, folder: Path, collected: Collected) -> list[str]:
    """Lay the verified files out like ../shared: schemas-upstream/, crds/, chart-values/."""
    missing = [crd.reference for crd in lock.crds if crd.reference not in collected.contents]
    if collected.refused or missing:
        raise ValueError(f"refusing to write an incomplete reference folder (missing {missing})")
    names = [locked.reference for locked in lock.files] + [crd.reference for crd in lock.crds]
    write_all(folder, {name: collected.contents[name] for name in names})
    return sorted(names)


def collect_from_folder(lock: Lock, source: Path, chart_values: Path | None) -> Collected:
    """From a local folder: upstream CRDs (a crds/ folder; schemas derived) or a catalog in kubeconform
    layout (schemas read as they are); chart files from `chart_values`."""
    if not source.is_dir():
        raise InputError("schema source folder not found", file=source,
                         hint="pass a folder of upstream CRDs or a catalog in kubeconform layout, e.g. --from ../shared/crds")
    if is_crd_folder(lock, source):
        return collect(lock, directory_fetcher({CRDS: source, CHART_VALUES: chart_values}))
    return collect(lock, directory_fetcher({CHART_VALUES: chart_values}), catalog=source)


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
    except RecursionError:
        raise InputError("cached schema nests too deep to read", file=path, hint="run `litellm-gitops schemas sync` again") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"cached schema is not JSON: {getattr(exc, 'msg', exc.reason)}", file=path, hint="run `litellm-gitops schemas sync` again") from None
