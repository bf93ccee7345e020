"""The hydrate cache: the objects of one `helm template` run, keyed by everything that determines them.

Key: sha256 over the helm version, the chart archive's sha256, release, namespace, Kubernetes
version, API versions, each values file's bytes in order and the CRD/schema/test flags (see
`helm.TemplateRequest`). An entry is a folder `<root>/<key[:2]>/<key>/` with one JSON file per
object (`0000.json`, ...) and `index.json` naming each file's origin (the chart template); it is
written to a temporary folder and renamed into place, so a reader sees a whole entry or none.
Entries are never rewritten: a key that is present is a hit, and helm does not run.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

FORMAT = 1
DEFAULT_DIR = Path(".cache") / "hydrated"
CACHE_ENV = "LITELLM_GITOPS_HYDRATE_CACHE"


def default_dir(root: Path) -> Path:
    env = os.environ.get(CACHE_ENV)
    return Path(env) if env else root / DEFAULT_DIR


def key(parts: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps({"format": FORMAT, **parts}, sort_keys=True).encode()).hexdigest()


def _entry(root: Path, digest: str) -> Path:
    return root / digest[:2] / digest


def read(root: Path, digest: str) -> list[tuple[str, dict[str, Any]]] | None:
    """(origin, object) of a cached render, or None on a miss (or an unreadable entry)."""
    folder = _entry(root, digest)
    try:
        index = json.loads((folder / "index.json").read_text(encoding="utf-8"))
        return [(origin, json.loads((folder / name).read_text(encoding="utf-8"))) for name, origin in index]
    except (OSError, ValueError):
        return None


def write(root: Path, digest: str, objects: list[tuple[str, dict[str, Any]]]) -> None:
    folder = _entry(root, digest)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=folder.parent))
    try:
        index = []
        for number, (origin, doc) in enumerate(objects):
            name = f"{number:04d}.json"
            (staging / name).write_text(json.dumps(doc, separators=(",", ":")), encoding="utf-8")
            index.append([name, origin])
        (staging / "index.json").write_text(json.dumps(index), encoding="utf-8")
        try:
            os.rename(staging, folder)
        except OSError:  # another run wrote the same entry first: same key, same content
            pass
    finally:
        shutil.rmtree(staging, ignore_errors=True)
