"""Where the tool's own data files live (schemas/*.json; and what `init` starts a repository from:
environments/defaults.yaml, renovate.json, three workflows): in the repository being rendered
first (project_file only), then in the checkout this package runs from (an editable install, this
project's own repository), then in the copy the wheel ships under generator/data/ at the same
relative path (setup.py puts it there), so an installed tool works in any repository, including
one `litellm-gitops init` made that holds none of them."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
CHECKOUT = PACKAGE.parent
SHIPPED = PACKAGE / "data"  # generator/data/schemas/... in a built wheel
ENVIRONMENT_SCHEMA = "schemas/environment.schema.json"
UPSTREAM_LOCK = "schemas/upstream.lock.json"


def shipped_file(relative: str) -> Path:
    """The tool's own copy of `relative`: the checkout's in a checkout, else the wheel's."""
    checkout = CHECKOUT / relative
    if (CHECKOUT / "pyproject.toml").is_file() and checkout.is_file():
        return checkout
    return SHIPPED / relative


def project_file(root: Path, relative: str) -> Path:
    """`root/relative` if it exists, else the tool's own copy (shipped_file), else `root/relative`
    (missing: the caller's error then names where it looked)."""
    candidate = root / relative
    if candidate.is_file():
        return candidate
    shipped = shipped_file(relative)
    return shipped if shipped.is_file() else candidate
