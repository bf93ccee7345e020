"""The `litellm-gitops` command line: one subcommand per module in generator/commands/, and the
one error path every command shares.

Exit codes everywhere: 0 success, 1 the check found something (stale, refused, failed, a remote
API that did not answer in time), 2 bad input (including a file system that is in the way), 70 a
bug (an unexpected exception: one line saying so, the traceback only with LITELLM_GITOPS_DEBUG=1).
With --json, stdout stays one JSON document whatever happens: {"ok": false, "exit": N, "error": ...}.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import sys
import traceback
from importlib import import_module

from generator import __version__
from generator.console import add_verbosity_options, configure
from generator.errors import EXIT_BAD_INPUT, EXIT_BUG, EXIT_FAILED, EXIT_OK, CheckFailed, InputError, os_error

DEBUG_VARIABLE = "LITELLM_GITOPS_DEBUG"

# Each module defines NAME, HELP, DESCRIPTION, add_arguments(parser) and run(args) -> int.
COMMAND_MODULES = (
    "render",
    "phases",
    "verify",
    "validate",
    "schemas",
    "charts",
    "hydrate",
    "cache",
    "discover",
    "preflight",
    "guard",
    "guard_combine",
    "diff",
    "diff_combine",
    "comment",
    "completion",
    "init",
    "env",
)
# Another name a command answers to, for the fast path in main() (each module lists its ALIASES).
ALIASES = {"plan": "phases"}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The full parser, or with `only` the parser for that one command: a command imports its
    own dependencies (boto3, cfn-lint) and nothing else, so each invocation starts fast."""
    parser = argparse.ArgumentParser(
        prog="litellm-gitops",
        description="Render and guard a GitOps repository for LiteLLM on AWS EKS.",
        epilog="Exit codes: 0 success, 1 check failed, 2 bad input, 70 a bug (please report it).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in (only,) if only else COMMAND_MODULES:
        module = import_module(f"generator.commands.{name}")
        command = sub.add_parser(module.NAME, aliases=getattr(module, "ALIASES", ()), help=module.HELP,
                                 description=module.DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(command)
        add_verbosity_options(command)
        command.set_defaults(run=module.run)
    return parser


def _fail(args: argparse.Namespace, code: int, text: str, error: dict) -> int:
    """Print one failure: the text on stderr, and with --json a JSON document on stdout (unless
    stdout is what failed: full, closed)."""
    print(text, file=sys.stderr)
    if getattr(args, "json", False):
        try:
            print(json.dumps({"ok": False, "exit": code, "error": error}, indent=2))
        except (OSError, ValueError):
            pass
    return code


def _tolerant_streams() -> None:
    """In a locale whose encoding cannot show every character (LC_ALL=C with PYTHONUTF8=0, an
    ASCII PYTHONIOENCODING), print what cannot be encoded as an escape instead of failing."""
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", "") or "").lower().replace("-", "").replace("_", "")
        if stream is not None and hasattr(stream, "reconfigure") and encoding != "utf8":
            stream.reconfigure(errors="backslashreplace")


_STREAM_ERRORS = {errno.ENOSPC, errno.EPIPE, errno.EBADF, errno.EIO, errno.EFBIG, errno.EDQUOT}


def _flush_stdout(code: int, failed: OSError | None = None) -> int:
    """Flush stdout while we can still say why it failed (a full disk, a closed pipe); afterwards
    fd 1 points to /dev/null so the interpreter's own flush at exit has nothing to complain about.
    `failed`: a write to stdout that already failed."""
    try:
        if failed is not None:
            raise failed
        sys.stdout.flush()
        return code
    except (OSError, ValueError) as exc:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        finally:
            os.close(devnull)
        if isinstance(exc, BrokenPipeError):  # `... | head`: nobody is reading, as in run_command
            return code or EXIT_FAILED
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        print(f"error: cannot write to standard output: {reason[0].lower() + reason[1:]}", file=sys.stderr)
        return EXIT_BAD_INPUT


def _bug(args: argparse.Namespace, exc: BaseException) -> int:
    """An exception nobody expected: say it is a bug, where it was raised, and how to report it.
    The exception's message is not printed: it may quote input, and input may hold a secret."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/generator/" in f.filename.replace(os.sep, "/")] or frames
    where = ""
    if ours:
        frame = ours[-1]
        where = f" at {frame.filename.replace(os.sep, '/').rsplit('/generator/', 1)[-1]}:{frame.lineno}"
    text = (f"litellm-gitops {args.command}: bug: unexpected {type(exc).__name__}{where}; please report it "
            f"with the output of `{DEBUG_VARIABLE}=1 litellm-gitops {args.command} ...` (the same arguments)")
    if os.environ.get(DEBUG_VARIABLE) or getattr(args, "verbose", 0):
        traceback.print_exception(exc, file=sys.stderr)
    return _fail(args, EXIT_BUG, text, {"message": f"bug: unexpected {type(exc).__name__}{where}", "bug": True})


def run_command(args: argparse.Namespace) -> int:
    """Run one parsed command through the one error path (see the module docstring)."""
    configure(args)
    try:
        return int(args.run(args))
    except InputError as exc:
        return _fail(args, EXIT_BAD_INPUT, str(exc), exc.as_dict())
    except CheckFailed as exc:
        return _fail(args, EXIT_FAILED, f"error: {exc}", {"message": str(exc)})
    except OSError as exc:
        if isinstance(exc, BrokenPipeError):  # `litellm-gitops phases ... | head`: nobody is reading
            sys.stderr.close()
            return EXIT_FAILED
        if exc.filename is None and exc.errno in _STREAM_ERRORS and sys.stdout is not None:  # writing stdout failed
            return _flush_stdout(EXIT_OK, exc)
        error = os_error(exc)
        return _fail(args, EXIT_BAD_INPUT, str(error), error.as_dict())
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 (the one place that turns a crash into a report)
        return _bug(args, exc)


def main(argv: list[str] | None = None) -> int:
    if sys.stdout is None:  # started with fd 1 closed (`litellm-gitops plan >&-`)
        if sys.stderr is not None:
            print("error: standard output is closed; run with it open (redirect it to a file or /dev/null)", file=sys.stderr)
        return EXIT_BAD_INPUT
    _tolerant_streams()
    argv = sys.argv[1:] if argv is None else argv
    first = ALIASES.get(argv[0], argv[0]).replace("-", "_") if argv else None  # guard-combine: commands/guard_combine.py
    parser = build_parser(first if first in COMMAND_MODULES else None)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad usage already; keep --help at 0
        return int(exc.code or 0)
    return _flush_stdout(run_command(args))


if __name__ == "__main__":
    raise SystemExit(main())
