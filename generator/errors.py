"""The one error type for bad input: where it is, what is wrong, how to fix it (exit code 2)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


@dataclass
class InputError(Exception):
    """Bad input from a person: a file, an environment, a flag.

    `line` and `column` are 1-based, as editors show them.
    """

    message: str
    file: Path | str | None = None
    line: int | None = None
    column: int | None = None
    hint: str | None = None

    def __str__(self) -> str:
        where = ""
        if self.file is not None:
            where = str(self.file)
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
            where += ": "
        text = f"{where}error: {self.message}"
        if self.hint:
            text += f"\n  fix: {self.hint}"
        return text


def dotted(path) -> str:
    """A path of keys and indices as people write it: `spec.sources[0].chart`."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
