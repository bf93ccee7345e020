"""Where the project's own data files live (schemas/environment.schema.json, schemas/upstream.lock.json):
in the repository being rendered first, then in the checkout this package was installed from, so a
plain (non-editable) install works against any repository laid out like this one."""

from __future__ import annotations

from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
ENVIRONMENT_SCHEMA = "schemas/environment.schema.json"
UPSTREAM_LOCK = "schemas/upstream.lock.json"


def project_file(root: Path, relative: str) -> Path:
    """`root/relative` if it exists, else the package checkout's copy, else `root/relative`
    (missing: the caller's error then names where it looked)."""
    for base in (root, CHECKOUT):
        candidate = base / relative
        if candidate.is_file():
            return candidate
    return root / relative
