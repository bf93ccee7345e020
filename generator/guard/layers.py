"""Which environments a pull request's layer change reaches (issue 25, generator/environment.py).

A layer file (environments/layers/<name>.yaml) is merged into every environment whose file names
it under `layers:`; editing one changes all of them at once. The guard judges what that does in
each environment's rendered tree like any other change; this module names, for the reviewer, each
layer file that differs between base and head and every environment (on either side) that names
it, so a one-line layer edit reads as the fleet-wide change it is.

Read plainly (PyYAML's safe loader): the guard never trusts the head's environment files to be
valid (validate and render --check judge them); an unreadable one names no layer.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from generator.environment import DEFAULTS_FILE, ENVIRONMENT_FILE, LAYER_PATH, LAYERS_FOLDER, LAYERS_KEY

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _layer_bytes(root: Path) -> dict[str, bytes]:
    folder = root / "environments" / LAYERS_FOLDER
    if not folder.is_dir() or folder.is_symlink():
        return {}
    return {f"{LAYERS_FOLDER}/{p.name}": p.read_bytes() for p in sorted(folder.iterdir())
            if p.is_file() and not p.is_symlink() and LAYER_PATH.match(f"{LAYERS_FOLDER}/{p.name}")}


def _named(root: Path) -> dict[str, list[str]]:
    """{environment: the layers its file names} of a checkout."""
    found: dict[str, list[str]] = {}
    folder = root / "environments"
    for env in sorted(folder.iterdir()) if folder.is_dir() else []:
        path = env / ENVIRONMENT_FILE
        if env.name in (DEFAULTS_FILE, LAYERS_FOLDER) or env.is_symlink() or not path.is_file() or path.is_symlink():
            continue
        try:
            data = yaml.load(path.read_bytes(), Loader=_LOADER)
        except yaml.YAMLError:
            continue
        layers = data.get(LAYERS_KEY) if isinstance(data, dict) else None
        if isinstance(layers, list):
            found[env.name] = [str(layer) for layer in layers]
    return found


def reach(base: Path, head: Path) -> list[tuple[str, list[str]]]:
    """(layer path under environments/, environments naming it in base or head) for every layer
    file added, removed or changed, in path order."""
    old, new = _layer_bytes(base), _layer_bytes(head)
    changed = sorted(rel for rel in set(old) | set(new) if old.get(rel) != new.get(rel))
    if not changed:
        return []
    named = [_named(base), _named(head)]
    return [(rel, sorted({env for side in named for env, layers in side.items() if rel in layers})) for rel in changed]


def reasons(base: Path, head: Path) -> list[str]:
    """One line per changed layer, for the verdict."""
    lines = []
    for rel, envs in reach(base, head):
        shown = ", ".join(envs[:20]) + (f" and {len(envs) - 20} more" if len(envs) > 20 else "")
        lines.append(f"layer environments/{rel} changed: it reaches {len(envs)} environment(s)"
                     + (f": {shown}" if envs else ""))
    return lines
