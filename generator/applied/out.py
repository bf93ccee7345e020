"""Writing an applied state as files for people: `<out>/<env>/<application>/<kind>_<namespace>_<name>.yaml`.

The folder of each environment is replaced as a whole (written beside it, then swapped in), so it
never mixes two runs. This is a view for reading and for other tools; nothing reads it back.
"""

from __future__ import annotations

import re
from pathlib import Path

from generator import yamlio
from generator.applied.model import AppliedState
from generator.tree import write_trees

UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


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


def write(state: AppliedState, out: Path) -> int:
    written = files(state)
    write_trees(out, {state.environment: written})
    return len(written)
