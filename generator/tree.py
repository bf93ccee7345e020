"""Writing `rendered/` safely and checking that it is fresh.

A write renders into a temporary directory beside the target and swaps it in, so a failure
leaves the old tree intact; files no longer rendered disappear with the old tree.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Drift:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    def lines(self) -> list[str]:
        return ([f"  would create: {p}" for p in self.added] + [f"  would update: {p}" for p in self.changed]
                + [f"  would delete: {p}" for p in self.removed])


def _existing(directory: Path) -> dict[str, Path]:
    if not directory.is_dir():
        return {}
    return {p.relative_to(directory).as_posix(): p for p in directory.rglob("*") if p.is_file()}


def drift(target: Path, files: dict[str, str], prefix: str) -> Drift:
    """How `target` differs from `files` (paths reported as `prefix/relative`)."""
    result = Drift()
    on_disk = _existing(target)
    for rel, text in files.items():
        path = on_disk.get(rel)
        if path is None:
            result.added.append(f"{prefix}/{rel}")
        elif path.read_bytes() != text.encode("utf-8"):
            result.changed.append(f"{prefix}/{rel}")
    result.removed.extend(f"{prefix}/{rel}" for rel in sorted(set(on_disk) - set(files)))
    return result


def write_tree(target: Path, files: dict[str, str]) -> None:
    """Replace `target` with exactly `files`, atomically as far as the file system allows."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".tmp-{target.name}-", dir=target.parent))
    try:
        for rel, text in files.items():
            path = staging / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
        os.chmod(staging, 0o755)
        if not target.exists():
            os.replace(staging, target)
            return
        old = target.parent / f".old-{target.name}-{os.getpid()}"
        os.replace(target, old)
        try:
            os.replace(staging, target)
        except BaseException:
            os.rename(old, target)  # put the old tree back before reporting the failure
            raise
        shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def remove_tree(target: Path) -> None:
    shutil.rmtree(target)
