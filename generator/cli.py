"""The `litellm-gitops` command line: one subcommand per module in generator/commands/.

Exit codes everywhere: 0 success, 1 the check found something (stale, refused, failed), 2 bad input.
"""

from __future__ import annotations

import argparse
import sys
from importlib import import_module

from generator import __version__
from generator.errors import EXIT_BAD_INPUT, InputError

# Each module defines NAME, HELP, DESCRIPTION, add_arguments(parser) and run(args) -> int.
COMMAND_MODULES = (
    "render",
    "plan",
    "verify",
    "validate",
    "schemas",
    "charts",
    "hydrate",
    "discover",
    "preflight",
    "guard",
    "diff",
    "comment",
)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The full parser, or with `only` the parser for that one command: a command imports its
    own dependencies (boto3, cfn-lint) and nothing else, so each invocation starts fast."""
    parser = argparse.ArgumentParser(
        prog="litellm-gitops",
        description="Render and guard a GitOps repository for LiteLLM on AWS EKS.",
        epilog="Exit codes: 0 success, 1 check failed, 2 bad input.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in (only,) if only else COMMAND_MODULES:
        module = import_module(f"generator.commands.{name}")
        command = sub.add_parser(module.NAME, help=module.HELP, description=module.DESCRIPTION,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(command)
        command.set_defaults(run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv[0] if argv and argv[0] in COMMAND_MODULES else None)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad usage already; keep --help at 0
        return int(exc.code or 0)
    try:
        return int(args.run(args))
    except InputError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
