"""Shards: a stable partition of the fleet's environments and hubs over N CI jobs (`--shard I/N`).

A name belongs to shard `sha256(name) mod N + 1`: stable (adding or removing an environment moves
no other), independent of the order or number of names a run sees, and the same in `validate` and
`guard` (which names hubs `fleet/<hub>`; `validate` asks for the same name). Shards are numbered
1..N, as a GitHub Actions matrix lists them.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, TypeVar

from generator.errors import InputError

T = TypeVar("T")
HUB_PREFIX = "fleet/"  # a hub's name in a shard: guard's tree name for rendered/fleet/<hub>/
MAX_SHARDS = 256  # GitHub Actions' matrix limit


@dataclass(frozen=True)
class Shard:
    index: int  # 1..count
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def owns(self, name: str) -> bool:
        """Whether `name` (an environment, or `fleet/<hub>`) is this shard's."""
        return of(name, self.count) == self.index

    def hub(self, hub: str) -> bool:
        return self.owns(HUB_PREFIX + hub)


def of(name: str, count: int) -> int:
    """The shard (1..count) that owns `name`."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big") % count + 1


def parse(text: str | None) -> Shard | None:
    """`I/N` (1 <= I <= N <= 256) as a Shard; None for None; InputError (exit 2) otherwise."""
    if text is None:
        return None
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match or not 1 <= int(match.group(1)) <= int(match.group(2)) <= MAX_SHARDS:
        raise InputError(f"--shard {text!r} is not I/N with 1 <= I <= N <= {MAX_SHARDS}",
                         hint="pass the matrix's shard and size, e.g. --shard 2/4")
    return Shard(int(match.group(1)), int(match.group(2)))


def gather(paths: list[Path], count: int, read: Callable[[Path, int], tuple[int, T]],
           missing_means: str) -> dict[int, tuple[Path, T]]:
    """Each shard's document of a matrix of `count` (`read` gives a file's shard index and what it
    holds) by index; InputError unless shards 1..count are each there exactly once: the combining
    steps (guard-combine, diff-combine) fail closed."""
    if not 1 <= count <= MAX_SHARDS:
        raise InputError(f"--shards {count} is not between 1 and {MAX_SHARDS}", hint="pass the matrix's size")
    seen: dict[int, tuple[Path, T]] = {}
    for path in paths:
        index, document = read(path, count)
        if index in seen:
            raise InputError(f"shard {index}/{count} is given twice ({seen[index][0]} and {path})", file=path,
                             hint="pass each shard's output once")
        seen[index] = (path, document)
    missing = [f"{i}/{count}" for i in range(1, count + 1) if i not in seen]
    if missing:
        raise InputError(f"shard(s) {', '.join(missing)} missing: {missing_means}",
                         hint="re-run the failed shard jobs; every shard must report")
    return seen
