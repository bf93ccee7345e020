"""The one error type for bad input: where it is, what is wrong, how to fix it (exit code 2).

One InputError can carry every problem found in the input (`others`), so a person fixes them all in
one round: text lists each with its file:line:col and fix, up to SHOWN, then "and N more"."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
SHOWN = 20  # problems printed in full; the rest are counted
EXIT_BUG = 70  # EX_SOFTWARE (sysexits.h): an unexpected exception, so CI can tell a crash from a verdict


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
    others: list[InputError] = field(default_factory=list)  # further problems, reported together

    @classmethod
    def every(cls, problems: list[InputError]) -> InputError:
        """One error carrying all of `problems` (each flattened), the first in front."""
        flat = [one for problem in problems for one in problem.problems()]
        first = flat[0]
        return cls(first.message, first.file, first.line, first.column, first.hint, flat[1:])

    def problems(self) -> list[InputError]:
        """This problem (alone) and every other one it carries."""
        return [InputError(self.message, self.file, self.line, self.column, self.hint), *self.others]

    def fields(self) -> tuple:
        """Plain values that cross a process boundary (an exception does not pickle); see from_fields."""
        return tuple((p.message, None if p.file is None else str(p.file), p.line, p.column, p.hint) for p in self.problems())

    @classmethod
    def from_fields(cls, fields: tuple) -> InputError:
        return cls.every([cls(*one) for one in fields])

    def _one(self) -> dict:
        return {"message": self.message, "file": None if self.file is None else str(self.file), "line": self.line,
                "column": self.column, "hint": self.hint}

    def as_dict(self) -> dict:
        """The error for --json output (the same fields as the text, nothing more); with several
        problems, all of them under "problems" too."""
        found = self._one()
        if self.others:
            found["problems"] = [p._one() for p in self.problems()]
        return found

    def __str__(self) -> str:
        problems = self.problems()
        text = "\n".join(p._text() for p in problems[:SHOWN])
        if len(problems) > SHOWN:
            text += f"\nand {len(problems) - SHOWN} more problem(s)"
        if len(problems) > 1:
            text += f"\n{len(problems)} problem(s)"
        return text

    def _text(self) -> str:
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


class CheckFailed(Exception):
    """Something outside the input failed in a way the command's contract calls a finding (exit 1):
    the network or a remote API did not answer in time, a call was refused. str() is one line."""


def os_error(exc: OSError) -> InputError:
    """A file-system failure (permission denied, read-only, a folder where a file belongs, disk
    full) as one message naming the path; the fix depends on what is in the way."""
    path = exc.filename if exc.filename is not None else None
    if exc.filename2 is not None:
        path = f"{exc.filename} -> {exc.filename2}"
    reason = exc.strerror or type(exc).__name__
    hints = {
        "EACCES": "make the path writable (chmod u+w, or chattr -i if it is immutable), or run where you may write",
        "EPERM": "make the path writable (chmod u+w, or chattr -i if it is immutable), or run where you may write",
        "EROFS": "the file system is read-only; run from a writable checkout",
        "EISDIR": "a folder stands where a file belongs; move it away",
        "ENOTDIR": "a file stands where a folder belongs; move it away",
        "ELOOP": "a symbolic link loops (or is refused here); replace it with a real file or folder",
        "ENOSPC": "the disk is full; free some space and run again",
        "ENAMETOOLONG": "shorten the path",
        "ENOENT": "check the path",
    }
    import errno
    name = errno.errorcode.get(exc.errno or 0, "")
    return InputError(reason[0].lower() + reason[1:] if reason else "file-system error", file=path,
                      hint=hints.get(name, "check the path and its permissions"))
