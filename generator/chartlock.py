"""The lock of Helm chart archives (schemas/charts.lock.json) and the local chart cache it fills.

The sibling of schemas/upstream.lock.json (generator/schemacache.py): one entry per chart the
environments pin, by repository, chart and version, with two digests:
- `sha256`: the archive as its repository publishes it (null until a person pins it: the digest
  cannot be computed without the network, so `charts sync` prints what it downloaded and refuses);
- `offlineSha256`: the archive in ../shared/charts, packaged from the chart's tagged sources
  (litellm-helm there is a reconstruction; see ../shared/charts/SOURCES.md).

`archive` finds a chart's archive in a folder (the cache, `--charts DIR`) and checks it against
either digest, so hydrate never renders an archive the lock does not name. `sync` fills the cache
from a folder or from the repositories (HTTP: index.yaml -> archive; OCI: `helm pull`), all or
nothing: any archive that is missing or whose sha256 differs writes nothing.
"""

from __future__ import annotations

import json
import os
import tempfile
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import yaml

from generator import child, limits
from generator.errors import InputError
from generator.projectfiles import project_file
from generator.schemacache import SHA256, URL_TIMEOUT_SECONDS, sha256_hex, write_all
from generator.secretscan import redact_urls
from generator.yamlio import read_limited

CHARTS_LOCK = "schemas/charts.lock.json"
CACHE_ENV = "LITELLM_GITOPS_CHARTS"
DEFAULT_CACHE = Path(".cache") / "charts"


@dataclass(frozen=True)
class LockedChart:
    repository: str  # as the Application's repoURL spells it
    chart: str
    version: str
    file: str
    sha256: str | None  # the published archive; None: not pinned yet
    offline_sha256: str | None  # the archive in ../shared/charts

    @property
    def oci(self) -> bool:
        return "://" not in self.repository or self.repository.startswith("oci://")

    @property
    def digests(self) -> tuple[str, ...]:
        return tuple(d for d in (self.sha256, self.offline_sha256) if d)

    @property
    def label(self) -> str:
        return f"{self.chart} {self.version} ({self.repository})"


@dataclass(frozen=True)
class ChartLock:
    charts: tuple[LockedChart, ...]
    source: Path

    def find(self, repository: str, chart: str, version: str) -> LockedChart | None:
        want = repository.rstrip("/").removeprefix("oci://")
        return next((c for c in self.charts if c.chart == chart and c.version == version
                     and c.repository.rstrip("/").removeprefix("oci://") == want), None)


def load(root: Path = Path(".")) -> ChartLock:
    path = project_file(root, CHARTS_LOCK)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        charts = []
        for entry in data["charts"]:
            sha, offline = entry["sha256"], entry.get("offlineSha256")
            for digest in (sha, offline):
                if digest is not None and not SHA256.fullmatch(digest):
                    raise InputError(f"chart lock sha256 {digest!r} of {entry['file']} is not 64 lowercase hex digits", file=path)
            if "/" in entry["file"] or entry["file"] in ("", ".", ".."):
                raise InputError(f"chart lock file name {entry['file']!r} is not a plain file name", file=path)
            charts.append(LockedChart(entry["repository"], entry["chart"], str(entry["version"]), entry["file"], sha, offline))
    except FileNotFoundError:
        raise InputError("chart lock not found", file=path, hint=f"restore {CHARTS_LOCK} from git") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"chart lock is not valid JSON: {exc.msg}", file=path, line=exc.lineno, column=exc.colno) from None
    except RecursionError:
        raise InputError("chart lock nests deeper than Python's JSON reader allows", file=path,
                         hint=f"restore {CHARTS_LOCK} from git") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"chart lock is not UTF-8 (byte {exc.start + 1})", file=path, hint=f"restore {CHARTS_LOCK} from git") from None
    except (KeyError, TypeError, AttributeError) as exc:
        raise InputError(f"chart lock is malformed (missing or wrong {limits.one_line(str(exc), 80)})", file=path,
                         hint="charts: repository, chart, version, file, sha256 (or null), offlineSha256") from None
    return ChartLock(tuple(charts), path)


def check_pinned(env: Any, lock: ChartLock) -> None:
    """Every chart an enabled component of `env` (an Environment) renders is in the lock: render
    refuses a version nobody has locked, so a bump is `charts bump`, never a hand edit of one pin."""
    from generator.environment import config_error

    for component, config in sorted(env.config.get("components", {}).items()):
        chart = config.get("chart") if isinstance(config, dict) else None
        if not isinstance(chart, dict) or not env.enabled(component):
            continue
        if lock.find(str(chart["repoURL"]), str(chart["name"]), str(chart["version"])) is None:
            where = config_error(env, ["components", component, "chart", "version"], "", "")
            scope = f" --env {env.name}" if Path(str(where.file)) == env.source else ""  # else defaults.yaml pins it
            raise InputError(f"chart {chart['name']} {chart['version']} ({chart['repoURL']}) is not in {CHARTS_LOCK}",
                             file=where.file, line=where.line, column=where.column,
                             hint=f"run `litellm-gitops charts bump {chart['name']} {chart['version']}{scope}` "
                                  f"(add --from DIR to pin a local archive), then render again")


def default_cache_dir(root: Path) -> Path:
    """$LITELLM_GITOPS_CHARTS when set, else <root>/.cache/charts."""
    env = os.environ.get(CACHE_ENV)
    return Path(env) if env else root / DEFAULT_CACHE


def archive(locked: LockedChart, folder: Path) -> tuple[Path, str]:
    """The chart's archive in `folder` and its sha256, checked against the lock."""
    path = (folder / locked.file).resolve()
    try:
        data = read_limited(path, limits.CHART_ARCHIVE_BYTES, "chart archive (limit CHART_ARCHIVE_BYTES)")
    except InputError as exc:
        if exc.message != "file not found":
            raise
        raise InputError(f"chart archive {locked.file} ({locked.label}) is not in the chart folder", file=folder,
                         hint="run `litellm-gitops charts sync` (or `charts sync --from ../shared/charts`), "
                              "or pass --charts DIR") from None
    digest = sha256_hex(data)
    if digest not in locked.digests:
        raise InputError(f"chart archive {locked.file} has sha256 {digest}, which {CHARTS_LOCK} does not pin", file=path,
                         hint="run `litellm-gitops charts sync` again; never edit the cache by hand")
    return path, digest


# --- sync ------------------------------------------------------------------------------------

Fetch = Callable[[LockedChart], "bytes | str"]  # the archive, or a sentence saying why not


def folder_fetcher(folder: Path) -> Fetch:
    def fetch(locked: LockedChart) -> bytes | str:
        try:
            return read_limited(folder / locked.file, limits.CHART_ARCHIVE_BYTES, "chart archive (limit CHART_ARCHIVE_BYTES)")
        except InputError as exc:
            return f"not found in {folder}" if exc.message == "file not found" else exc.message
    return fetch


def _http_get(url: str) -> bytes:
    import urllib.request

    if not url.startswith("https://"):
        raise OSError(f"refusing a non-https URL {url}")
    with urllib.request.urlopen(url, timeout=URL_TIMEOUT_SECONDS) as response:  # noqa: S310 (https only)
        return limits.read_body(response, f"GET {redact_urls(url)}", limits.CHART_ARCHIVE_BYTES, "CHART_ARCHIVE_BYTES")


def repository_fetcher(helm: str = "helm", get: Callable[[str], bytes] = _http_get) -> Fetch:
    """From the chart repositories: an HTTP repository's index.yaml names the archive's URL (and
    its digest, which must agree); an OCI chart is pulled with `helm pull`."""

    def fetch(locked: LockedChart) -> bytes | str:
        if locked.oci:
            ref = f"oci://{locked.repository.removeprefix('oci://').rstrip('/')}/{locked.chart}"
            with tempfile.TemporaryDirectory() as tmp:
                try:
                    done = child.run([helm, "pull", ref, "--version", locked.version, "--destination", tmp],
                                     timeout=limits.HELM_TIMEOUT, timeout_name="HELM_TIMEOUT")
                except (OSError, child.ChildLimit) as exc:
                    return f"helm pull {ref} --version {locked.version}: {limits.one_line(str(exc))}"
                if done.returncode != 0:
                    return f"helm pull {ref} --version {locked.version} failed: {child.message(done.stderr)}"
                pulled = Path(tmp) / locked.file
                try:
                    return read_limited(pulled, limits.CHART_ARCHIVE_BYTES, "pulled chart archive (limit CHART_ARCHIVE_BYTES)")
                except InputError as exc:
                    return f"helm pull: {exc.message}"
        base = locked.repository.rstrip("/") + "/"
        try:
            index = yaml.safe_load(get(base + "index.yaml"))
            entries = [e for e in (index.get("entries") or {}).get(locked.chart) or [] if str(e.get("version")) == locked.version]
            if not entries or not entries[0].get("urls"):
                return f"{base}index.yaml lists no {locked.chart} {locked.version}"
            data = get(urllib.parse.urljoin(base, entries[0]["urls"][0]))
        except (OSError, ValueError, AttributeError, TypeError, KeyError, IndexError, RecursionError, yaml.YAMLError) as exc:
            return f"download from {redact_urls(base)} failed: {limits.one_line(redact_urls(str(getattr(exc, 'reason', exc))))}"
        listed = entries[0].get("digest")
        if listed and listed != sha256_hex(data):
            return f"archive sha256 {sha256_hex(data)} differs from the repository index's digest {listed}"
        return data

    return fetch


@dataclass
class Synced:
    contents: dict[str, bytes]
    refused: list[str]


def collect(lock: ChartLock, fetch: Fetch, offline: bool) -> Synced:
    """Every archive of the lock, checked against `offlineSha256` (a local folder like ../shared/charts)
    or `sha256` (the published archive)."""
    synced = Synced({}, [])
    for locked in lock.charts:
        data = fetch(locked)
        want = locked.offline_sha256 if offline else locked.sha256
        if isinstance(data, str):
            synced.refused.append(f"{locked.file}: {data}")
        elif want is None:
            synced.refused.append(f"{locked.file}: downloaded sha256 {sha256_hex(data)}, but {CHARTS_LOCK} pins no "
                                  f"{'offlineSha256' if offline else 'sha256'} for it (check the archive, then pin that digest)")
        elif sha256_hex(data) != want:
            synced.refused.append(f"{locked.file}: sha256 {sha256_hex(data)} does not match the lock ({want})")
        else:
            synced.contents[locked.file] = data
    return synced


def write(cache: Path, synced: Synced) -> list[str]:
    if synced.refused:
        raise ValueError("refusing to write a collection with refused archives")
    write_all(cache, synced.contents)
    return sorted(synced.contents)


def describe(lock: ChartLock) -> list[dict[str, Any]]:
    return [vars(c) for c in lock.charts]
