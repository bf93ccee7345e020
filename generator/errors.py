"""The one error type for bad input: where it is, what is wrong, how to fix it (exit code 2)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
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

    def as_dict(self) -> dict:
        """The error for --json output (the same fields as the text, nothing more)."""
        return {"message": self.message, "file": None if self.file is None else str(self.file), "line": self.line,
                "column": self.column, "hint": self.hint}

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
