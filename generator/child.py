"""Running a child process (helm, git, the Jsonnet evaluator) with bounds: a timeout and a byte
limit on each of its outputs.

`subprocess.run(capture_output=True)` reads everything a child writes and waits forever: a helm
that floods stdout fills memory, one that hangs hangs the command. Here the child starts in its
own process group (a session), its stdout and stderr are read by two threads that stop at their
limits, and on a timeout or an overflow the whole group is sent SIGTERM, then after
limits.CHILD_KILL_GRACE seconds SIGKILL (helm's plugins and post-renderers are children of helm).
The error names the limit that was hit (generator/limits.py, docs/limits.md).
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass

from generator import limits
from generator.secretscan import redact_urls


def message(output: bytes | str) -> str:
    """A child's output fit for one line of ours: decoded leniently, control characters removed,
    credentials in URLs masked (generator/secretscan.py), shortened (limits.MESSAGE_CHARS)."""
    text = output.decode("utf-8", "replace") if isinstance(output, bytes) else output
    return limits.one_line(redact_urls(limits.one_line(text, limit=64 * 1024)))


class ChildLimit(Exception):
    """The child ran past a limit and was killed; str() names the limit."""


@dataclass
class Done:
    returncode: int
    stdout: bytes
    stderr: bytes


def _drain(stream, limit: int, into: list[bytes], over: threading.Event) -> None:
    size = 0
    try:
        while True:
            chunk = stream.read1(1 << 16) if hasattr(stream, "read1") else stream.read(1 << 16)
            if not chunk:
                return
            if size + len(chunk) > limit:
                into.append(chunk[: limit - size])
                over.set()
                return
            size += len(chunk)
            into.append(chunk)
    except (OSError, ValueError):  # closed under us after a kill
        return


def _feed(stream, data: bytes) -> None:
    try:
        stream.write(data)
    except (OSError, ValueError):  # the child stopped reading (exited or was killed)
        pass
    finally:
        try:
            stream.close()
        except (OSError, ValueError):
            pass


def _kill_group(process: subprocess.Popen) -> None:
    for sig, wait in ((signal.SIGTERM, limits.CHILD_KILL_GRACE), (signal.SIGKILL, None)):
        try:
            os.killpg(process.pid, sig)
        except (ProcessLookupError, PermissionError):
            break
        try:
            process.wait(wait)
            if sig == signal.SIGTERM:
                os.killpg(process.pid, signal.SIGKILL)  # the rest of the group, if any is left
            break
        except subprocess.TimeoutExpired:
            continue
        except (ProcessLookupError, PermissionError):
            break
    try:
        process.wait(limits.CHILD_KILL_GRACE)
    except subprocess.TimeoutExpired:
        pass


def run(argv: list[str], *, timeout: float, timeout_name: str, stdout_limit: int | None = None,
        stdout_name: str = "HELM_OUTPUT_BYTES", stderr_limit: int | None = None,
        cwd: str | os.PathLike | None = None, env: dict[str, str] | None = None, stdin: bytes | None = None) -> Done:
    """Run `argv` to its end within `timeout` seconds and the output limits (default
    HELM_OUTPUT_BYTES, HELM_STDERR_BYTES); ChildLimit (the group killed) when it runs past one.
    An overflowing stderr is cut, not fatal: only its start is shown. OSError when it cannot start.
    `stdin`, when given, is written to the child's standard input (by a thread, then closed)."""
    stdout_limit = limits.HELM_OUTPUT_BYTES if stdout_limit is None else stdout_limit
    stderr_limit = limits.HELM_STDERR_BYTES if stderr_limit is None else stderr_limit
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               cwd=cwd, env=env, start_new_session=True)
    out: list[bytes] = []
    err: list[bytes] = []
    overflow, err_overflow = threading.Event(), threading.Event()
    readers = [threading.Thread(target=_drain, args=(process.stdout, stdout_limit, out, overflow), daemon=True),
               threading.Thread(target=_drain, args=(process.stderr, stderr_limit, err, err_overflow), daemon=True)]
    if stdin is not None:
        readers.append(threading.Thread(target=_feed, args=(process.stdin, stdin), daemon=True))
    for reader in readers:
        reader.start()
    ends_at = time.monotonic() + timeout
    problem = None
    try:
        while True:
            # Woken the moment the child's stdout closes (as a rule, it has exited): a child that
            # takes 60 ms is not found finished only at Popen.wait's next 50 ms poll.
            if readers[0].is_alive():
                readers[0].join(0.05)
            if process.poll() is not None:
                break
            if not readers[0].is_alive():  # stdout closed (or over its limit) while it runs on
                try:
                    process.wait(0.05)
                    break
                except subprocess.TimeoutExpired:
                    pass
            if overflow.is_set():
                problem = f"wrote more than {stdout_name} ({stdout_limit:,} bytes) to stdout"
                break
            if time.monotonic() >= ends_at:
                problem = f"did not finish within {timeout_name} ({timeout:g} seconds)"
                break
    finally:
        if process.poll() is None:
            _kill_group(process)
        else:
            try:
                os.killpg(process.pid, signal.SIGKILL)  # what it left running in its group
            except (ProcessLookupError, PermissionError):
                pass
        for reader in readers:
            reader.join(limits.CHILD_KILL_GRACE)
        for stream in (process.stdout, process.stderr):
            try:
                stream.close()
            except OSError:
                pass
    if problem is None and overflow.is_set():
        problem = f"wrote more than {stdout_name} ({stdout_limit:,} bytes) to stdout"
    if problem is not None:
        raise ChildLimit(f"{problem} and was stopped")
    return Done(process.returncode, b"".join(out), b"".join(err))
