"""`charts bump`: move one chart to a new version everywhere it is pinned, in one step.

A chart is pinned in three places, and a bump changes all three or nothing:
- the environment files: `components.<component>.chart.version` in environments/defaults.yaml and
  in every environment file that sets it (with --env: that one environment's file only, adding the
  key when the defaults supplied it); edited round-trip (ruamel.yaml), so comments stay;
- schemas/charts.lock.json: the archive by sha256. Online, the archive is downloaded and verified
  against what its repository publishes: an HTTP repository's index.yaml `digest` (Helm's
  repo.ChartVersion.Digest, the sha256 of the archive the `urls` name), or an OCI registry's
  manifest (the layer of media type application/vnd.cncf.helm.chart.content.v1.tar+gzip, whose
  digest is the archive's sha256; OCI distribution spec, "Pulling manifests" and "Pulling blobs");
  the digest goes into `sha256`. Offline (`--from DIR`), `DIR/<chart>-<version>.tgz` goes into
  `offlineSha256`, and `sha256` stays null until someone runs the bump with network;
- schemas/upstream.lock.json: the chart's values.yaml (and values.schema.json when the chart
  ships one), by raw URL at the new tag and sha256. The addresses follow the old version's entry
  (its tag with the version replaced); the digests are of the files inside the verified archive,
  which `helm package` copies byte for byte from the tagged sources. `schemas sync` then fetches
  the raw URLs and refuses any that differ, so an archive that does not match its tag is caught.
Entries of versions no environment pins any more are removed from both locks. A chart the lock
names but no environment pins yet (locked ahead of its component) can have its digest pinned by a
bump to the locked version; nothing else changes then.

Every archive is checked to be the chart it claims: its Chart.yaml names the chart and version.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml
from ruamel.yaml.comments import CommentedMap

from generator import chartlock
from generator.aws.discover import _put, _yaml
from generator.environment import DEFAULTS_FILE, ENVIRONMENT_FILE, Environment, environment_names, load_environment
from generator.errors import InputError
from generator.projectfiles import UPSTREAM_LOCK, project_file
from generator.schemacache import URL_TIMEOUT_SECONDS, sha256_hex, write_atomically

VERSION = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?\Z")  # as schemas/environment.schema.json $defs.chart
HELM_CHART_LAYER = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
ARCHIVE_LIMIT = 64 * 1024 * 1024

Get = Callable[[str, dict[str, str]], bytes]  # url, headers -> body (raises urllib.error.HTTPError)


@dataclass(frozen=True)
class Pin:
    """Where one environment gets the chart: the component, its repository and version."""

    env: Environment
    component: str
    repository: str
    version: str


@dataclass
class Bumped:
    chart: str
    version: str
    repository: str
    digest_key: str  # "sha256" or "offlineSha256"
    digest: str
    edited: list[Path] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # lock entries no environment pins any more


# --- fetching and checking the archive ---------------------------------------------------------

def https_get(url: str, headers: dict[str, str]) -> bytes:
    """GET over https (the one transport; a test serves https on 127.0.0.1 with its own CA)."""
    if not url.startswith("https://"):
        raise InputError(f"refusing a non-https URL {url}", hint="chart repositories must be served over https")
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=URL_TIMEOUT_SECONDS) as response:  # noqa: S310 (https only)
        data = response.read(ARCHIVE_LIMIT + 1)
    if len(data) > ARCHIVE_LIMIT:
        raise OSError(f"{url} is larger than {ARCHIVE_LIMIT // (1024 * 1024)} MiB")
    return data


def check_archive(data: bytes, chart: str, version: str, origin: str) -> None:
    """The archive is a gzipped tar whose <chart>/Chart.yaml names this chart and version."""
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            member = archive.extractfile(f"{chart}/Chart.yaml")
            meta = yaml.safe_load(member.read()) if member else None
    except (tarfile.TarError, KeyError, OSError, EOFError, yaml.YAMLError):
        meta = None
    if not isinstance(meta, dict) or meta.get("name") != chart or str(meta.get("version")) != version:
        found = f"{meta.get('name')} {meta.get('version')}" if isinstance(meta, dict) else "no readable Chart.yaml"
        raise InputError(f"{origin} is not chart {chart} {version} (its {chart}/Chart.yaml says {found})",
                         hint="check the chart name and version, and the archive")


def archive_file(data: bytes, chart: str, name: str) -> bytes | None:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        try:
            member = archive.extractfile(f"{chart}/{name}")
        except KeyError:
            return None
        return member.read() if member else None


def from_http_index(repository: str, chart: str, version: str, get: Get) -> bytes:
    """The archive an HTTP chart repository's index.yaml lists, checked against the index's digest."""
    base = repository.rstrip("/") + "/"
    where = f"{base}index.yaml"
    try:
        index = yaml.safe_load(get(where, {}))
    except (OSError, urllib.error.URLError, yaml.YAMLError) as exc:
        raise InputError(f"cannot read {where}: {getattr(exc, 'reason', exc)}",
                         hint="check the repository URL and the network, or bump offline with --from DIR") from None
    entries = [e for e in ((index or {}).get("entries") or {}).get(chart) or [] if str(e.get("version")) == version]
    if not entries or not entries[0].get("urls"):
        raise InputError(f"{where} lists no {chart} {version}", hint="check the version against the repository")
    listed = entries[0].get("digest")
    if not listed:
        raise InputError(f"{where} lists {chart} {version} without a digest, so the download cannot be verified",
                         hint="bump offline with --from DIR from an archive you have checked")
    url = urllib.parse.urljoin(base, entries[0]["urls"][0])
    try:
        data = get(url, {})
    except (OSError, urllib.error.URLError) as exc:
        raise InputError(f"cannot download {url}: {getattr(exc, 'reason', exc)}", hint="check the network") from None
    if sha256_hex(data) != listed:
        raise InputError(f"{url} has sha256 {sha256_hex(data)}, but {where} lists digest {listed}",
                         hint="the repository serves an archive its index does not describe: do not pin it")
    return data


def _bearer(challenge: str, get: Get) -> dict[str, str]:
    """An anonymous pull token for a registry's `WWW-Authenticate: Bearer realm=...` challenge
    (the distribution token flow, as `helm pull` and `docker pull` do it)."""
    params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
    if not challenge.lower().startswith("bearer ") or "realm" not in params:
        raise InputError(f"the registry asks for {challenge.split(' ')[0]} authentication, which anonymous bump cannot do",
                         hint="bump offline with --from DIR from an archive you have pulled and checked")
    query = urllib.parse.urlencode({k: v for k, v in params.items() if k in ("service", "scope")})
    token = json.loads(get(f"{params['realm']}?{query}", {}))
    return {"Authorization": f"Bearer {token.get('token') or token.get('access_token')}"}


def from_oci_registry(repository: str, chart: str, version: str, get: Get) -> bytes:
    """The chart layer of an OCI artifact, checked against the manifest's layer digest."""
    host, _, path = repository.removeprefix("oci://").rstrip("/").partition("/")
    name = f"{path}/{chart}" if path else chart
    manifest_url = f"https://{host}/v2/{name}/manifests/{version}"
    headers = {"Accept": OCI_MANIFEST}
    try:
        try:
            manifest = json.loads(get(manifest_url, headers))
        except urllib.error.HTTPError as exc:
            if exc.code != 401:
                raise
            headers |= _bearer(exc.headers.get("WWW-Authenticate", ""), get)
            manifest = json.loads(get(manifest_url, headers))
        layers = [layer for layer in manifest.get("layers") or [] if layer.get("mediaType") == HELM_CHART_LAYER]
        if len(layers) != 1 or not str(layers[0].get("digest", "")).startswith("sha256:"):
            raise InputError(f"{manifest_url} has no single Helm chart layer ({HELM_CHART_LAYER}) with a sha256 digest",
                             hint="check that the reference is a Helm chart")
        digest = layers[0]["digest"].removeprefix("sha256:")
        data = get(f"https://{host}/v2/{name}/blobs/sha256:{digest}", {k: v for k, v in headers.items() if k != "Accept"})
    except (OSError, urllib.error.URLError, ValueError) as exc:
        raise InputError(f"cannot pull {chart} {version} from {host}/{name}: {getattr(exc, 'reason', exc)}",
                         hint="check the registry path and the network, or bump offline with --from DIR") from None
    if sha256_hex(data) != digest:
        raise InputError(f"the chart layer of {host}/{name}:{version} has sha256 {sha256_hex(data)}, not the manifest's {digest}",
                         hint="the registry serves content its manifest does not describe: do not pin it")
    return data


# --- where the chart is pinned --------------------------------------------------------------------

def pins(root: Path, chart: str) -> list[Pin]:
    """Every environment's pin of `chart` (by chart name), from the merged configuration."""
    found = []
    for name in environment_names(root / "environments"):
        env = load_environment(root / "environments", name)
        for component, config in sorted(env.config.get("components", {}).items()):
            spec = config.get("chart") if isinstance(config, dict) else None
            if isinstance(spec, dict) and spec.get("name") == chart:
                found.append(Pin(env, component, str(spec["repoURL"]), str(spec["version"])))
    return found


def _set_version(path: Path, component: str, version: str, add: bool) -> bool:
    """Set components.<component>.chart.version in one YAML file; True when the file changed. Without
    `add`, a file that does not set the key is left alone."""
    if not path.is_file():
        return False
    before = path.read_text(encoding="utf-8")
    rt = _yaml()
    doc = rt.load(before)
    node = doc
    for key in ("components", component, "chart"):
        if not isinstance(node, dict) or key not in node:
            if not add or not isinstance(node, dict):
                return False
            _put(node, key, CommentedMap())
        node = node[key]
    if node.get("version") == version:
        return False
    if "version" not in node and not add:
        return False
    _put(node, "version", version)
    out = io.StringIO()
    rt.dump(doc, out)
    path.write_text(out.getvalue(), encoding="utf-8")
    return True


# --- the locks -------------------------------------------------------------------------------------

def _chart_entry(lock: dict, repository: str, chart: str, version: str) -> dict | None:
    want = repository.rstrip("/").removeprefix("oci://")
    return next((e for e in lock["charts"] if e["chart"] == chart and str(e["version"]) == version
                 and e["repository"].rstrip("/").removeprefix("oci://") == want), None)


def _upstream_entry(template: dict | None, chart: str, old: str, version: str, archive: bytes) -> dict:
    """The upstream lock's entry for the new version: the old entry's addresses at the new tag,
    with the digests of the files inside the archive."""
    entry: dict[str, Any] = {"chart": chart, "version": version}
    for key, name in (("values", "values.yaml"), ("valuesSchema", "values.schema.json")):
        data = archive_file(archive, chart, name)
        previous = (template or {}).get(key)
        if data is None:
            entry[key] = None
            continue
        if not isinstance(previous, dict) or old not in previous.get("ref", ""):
            raise InputError(f"{UPSTREAM_LOCK} has no entry of {chart} {old} whose tag names its version, so the raw URL "
                             f"of {chart} {version}'s {name} cannot be derived",
                             hint=f"add the entry for {chart} {version} to {UPSTREAM_LOCK} by hand (see its other entries)")
        entry[key] = {k: (v.replace(old, version) if k in ("file", "ref", "path", "url") and isinstance(v, str) else v)
                      for k, v in previous.items() if k != "note"}
        entry[key]["sha256"] = sha256_hex(data)
    return entry


def _dump(data: dict) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode()


# --- the bump -------------------------------------------------------------------------------------

def bump(root: Path, chart: str, version: str, env_name: str | None, source: Path | None, get: Get = https_get) -> Bumped:
    if not VERSION.fullmatch(version):
        raise InputError(f"chart version {version!r} is not an exact version", hint="give one like 1.83.11 (no ranges, no 'v')")
    found = pins(root, chart)
    if env_name is not None:
        found = [p for p in found if p.env.name == env_name]
        if not found and env_name not in environment_names(root / "environments"):
            raise InputError(f"no environment named {env_name!r}", file=root / "environments" / env_name,
                             hint=f"pick one of: {', '.join(environment_names(root / 'environments'))}")
    locked_only = [c for c in chartlock.load(root).charts if c.chart == chart and c.version == version]
    if not found and (env_name is not None or not locked_only):
        raise InputError(f"no environment{' ' + env_name if env_name else ''} pins a chart named {chart!r}",
                         file=root / "environments", hint="give the chart's name as components.<name>.chart.name spells it")
    repositories = sorted({p.repository for p in found} or {c.repository for c in locked_only})
    if len(repositories) != 1:
        raise InputError(f"chart {chart} comes from several repositories ({', '.join(repositories)})",
                         hint="bump one environment at a time with --env")
    repository, old = repositories[0], found[0].version if found else version  # locked, pinned by none: lock only

    # 1. The archive, verified, before anything is written.
    if source is not None:
        path = source / f"{chart}-{version}.tgz"
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise InputError(f"no archive {path.name} in the chart folder", file=source,
                             hint="pass the folder holding the archive `helm pull` or `helm package` wrote") from None
        origin, digest_key = str(path), "offlineSha256"
    else:
        oci = chartlock.LockedChart(repository, chart, version, "", None, None).oci
        data = (from_oci_registry if oci else from_http_index)(repository, chart, version, get)
        origin, digest_key = f"{chart} {version} from {repository}", "sha256"
    check_archive(data, chart, version, origin)
    digest = sha256_hex(data)
    result = Bumped(chart, version, repository, digest_key, digest)

    # 2. The environment files, remembered so that a failure restores them.
    envs = root / "environments"
    components = sorted({p.component for p in found})
    targets = ([envs / env_name / ENVIRONMENT_FILE] if env_name else
               [envs / DEFAULTS_FILE] + [envs / n / ENVIRONMENT_FILE for n in sorted({p.env.name for p in found})])
    saved = {t: t.read_bytes() for t in targets if t.is_file()}
    charts_path = chartlock.load(root).source
    upstream_path = project_file(root, UPSTREAM_LOCK)
    try:
        for target in targets:
            for component in components:
                if _set_version(target, component, version, add=env_name is not None):
                    result.edited.append(target)
        after = pins(root, chart)  # validates every environment again
        if any(p.version != version for p in after if env_name is None or p.env.name == env_name):
            raise InputError(f"after the edit, some environments still pin {chart} {old}",
                             file=envs, hint=f"set components.<component>.chart.version: {version} where the file says so")
        still = {(p.repository, p.version) for p in after} | {(repository, version)}

        # 3. The locks.
        charts_lock = json.loads(charts_path.read_text(encoding="utf-8"))
        upstream_lock = json.loads(upstream_path.read_text(encoding="utf-8"))
        entry = _chart_entry(charts_lock, repository, chart, version)
        if entry is None:
            entry = {"repository": repository, "chart": chart, "version": version, "file": f"{chart}-{version}.tgz",
                     "sha256": None, "offlineSha256": None}
            at = next((i for i, e in enumerate(charts_lock["charts"]) if e["chart"] == chart), len(charts_lock["charts"]))
            charts_lock["charts"].insert(at, entry)
        if entry.get(digest_key) not in (None, digest):
            raise InputError(f"{chartlock.CHARTS_LOCK} pins {chart} {version} with {digest_key} {entry[digest_key]}, "
                             f"but {origin} has {digest}", file=charts_path,
                             hint="a published version never changes: find out why before pinning anything")
        entry[digest_key] = digest
        for gone in [e for e in charts_lock["charts"] if e["chart"] == chart and (e["repository"], str(e["version"])) not in still]:
            charts_lock["charts"].remove(gone)
            result.removed.append(f"{chart} {gone['version']}")
        # The old version's entry is the template; when the pins already say the new version (Renovate
        # edited them before running the bump), the chart's last entry is.
        same_chart = [e for e in upstream_lock["charts"] if e["chart"] == chart]
        template = next((e for e in same_chart if e["version"] == old), same_chart[-1] if same_chart else None)
        if not any(e["version"] == version for e in same_chart):
            at = upstream_lock["charts"].index(template) if template else len(upstream_lock["charts"])
            entry_new = _upstream_entry(template, chart, template["version"] if template else old, version, data)
            upstream_lock["charts"].insert(at, entry_new)
        kept_versions = {v for _, v in still}
        upstream_lock["charts"] = [e for e in upstream_lock["charts"] if e["chart"] != chart or e["version"] in kept_versions]
    except BaseException:
        for target, content in saved.items():
            target.write_bytes(content)
        raise
    write_atomically(root / chartlock.CHARTS_LOCK, _dump(charts_lock))
    write_atomically(root / UPSTREAM_LOCK, _dump(upstream_lock))
    return result
