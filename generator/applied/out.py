"""Writing an applied state as files for people: `<out>/<env>/<application>/<kind>_<namespace>_<name>.yaml`.

The folder of each environment is replaced as a whole (written beside it, then swapped in), so it
never mixes two runs. This is a view for reading and for other tools; nothing reads it back.

`--out` replaces folders, so it only writes where it owns them: never inside the repository's
environments/, rendered/, schemas/ or generator/, and never into a non-empty folder unless that
folder carries MARKER, the file hydrate leaves in every folder it writes (a previous output).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from generator import yamlio
from generator.applied.model import AppliedState
from generator.errors import InputError, os_error
from generator.tree import write_trees

UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
MARKER = ".litellm-gitops-hydrate-out"
MARKER_TEXT = "Written by `litellm-gitops hydrate --out`; its folders are replaced on every run.\n"
PROTECTED = ("environments", "rendered", "schemas", "generator")


def _safe(text: str) -> str:
    return UNSAFE.sub("-", text) or "-"


def files(state: AppliedState) -> dict[str, str]:
    found: dict[str, str] = {}
    for obj in list(state) + state.duplicates:
        name = f"{_safe(obj.application)}/{_safe(obj.kind)}_{_safe(obj.namespace or '-')}_{_safe(obj.name)}.yaml"
        while name in found:  # a duplicate identity: keep both
            name = name.removesuffix(".yaml") + "_dup.yaml"
        found[name] = f"# {obj.origin}\n" + yamlio.dump(obj.doc)
    return dict(sorted(found.items()))


def claim(out: Path, repository: Path) -> None:
    """Check, before anything is hydrated, that `out` is a folder hydrate may replace folders in;
    InputError for one inside the repository's own folders or a non-empty folder it did not write."""
    hint = "pass a new or empty folder outside environments/, rendered/, schemas/ and generator/, e.g. --out /tmp/hydrated"
    resolved = out.resolve()
    for name in PROTECTED:
        owned = (repository / name).resolve()
        if resolved == owned or resolved.is_relative_to(owned) or owned.is_relative_to(resolved):
            raise InputError(f"--out {out} would replace folders in (or holding) the repository's {name}/", file=out, hint=hint)
    try:
        if os.path.lexists(out) and (out.is_symlink() or not out.is_dir()):
            raise InputError("--out is not a folder (links are never followed)", file=out, hint=hint)
        if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
            raise InputError(f"--out {out} is a folder hydrate did not write (it is not empty and has no {MARKER})",
                             file=out, hint=hint)
    except OSError as exc:
        raise os_error(exc) from None


def write(state: AppliedState, out: Path) -> int:
    """Write one environment into `out` (checked by `claim`), marking the folder as hydrate's."""
    written = files(state)
    try:
        out.mkdir(parents=True, exist_ok=True)
        if not (out / MARKER).is_file():
            (out / MARKER).write_text(MARKER_TEXT, encoding="utf-8")
    except OSError as exc:
        raise os_error(exc) from None
    write_trees(out, {state.environment: written})
    return len(written)
