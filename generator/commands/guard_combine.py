"""`litellm-gitops guard-combine --shards N FILE...`: the sharded guard's one verdict.

Each `guard --shard I/N` job prints its findings as JSON (generator/commands/guard.py); this
reads all N, reads the pull request's approvals once, and decides as `guard` does: the one
required status check and the one PR comment. It fails closed: a shard that is missing, present
twice, of another size, unreadable or not a guard document, or that met bad input, refuses.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from generator import shard
from generator.commands.common import write_report
from generator.errors import EXIT_BAD_INPUT, InputError
from generator.guard import report
from generator.guard.rules import CATEGORIES, Finding

NAME = "guard-combine"
HELP = "combine the findings of N `guard --shard I/N` runs into one verdict (fails closed on a missing shard)"
DESCRIPTION = """\
Reads the JSON each `litellm-gitops guard --shard I/N` printed (one file per shard), checks that
shards 1..N are all there exactly once, reads the pull request's approvals once and prints the
verdict as `guard` does (exit 0 allowed, 1 refused, 2 bad input: a missing, duplicate or unreadable
shard, or a shard that met bad input).

examples:
  litellm-gitops guard --shard 1/4 --base base --head head > shard-1.json   # one per matrix job
  litellm-gitops guard-combine --shards 4 shards/*.json --markdown guard.md
"""

FIELDS = ("category", "environment", "object", "field", "before", "after", "file")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="*", type=Path, metavar="FILE", help="the shards' JSON documents")
    parser.add_argument("--shards", type=int, required=True, metavar="N", help="how many shards the matrix ran")
    parser.add_argument("--markdown", type=Path, metavar="FILE", help="also write the verdict as Markdown (for a PR comment)")
    parser.add_argument("--json", action="store_true", help="print the verdict as JSON instead of text")
    parser.add_argument("--repo", metavar="OWNER/NAME", help="repository of the pull request (default: GITHUB_REPOSITORY)")
    parser.add_argument("--pr", type=int, metavar="N", help="pull request number (default: from GITHUB_EVENT_PATH)")


def _read(path: Path, count: int) -> tuple[int, dict]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"shard output unreadable: {exc}", file=path, hint="the shard's job failed: see its log") from None
    name = document.get("shard") if isinstance(document, dict) else None
    parsed = shard.parse(name) if isinstance(name, str) else None
    if parsed is None or document.get("verdict") not in ("allowed", "refused", "bad input"):
        raise InputError("not the JSON of `guard --shard I/N`", file=path, hint="pass each shard job's guard output")
    if parsed.count != count:
        raise InputError(f"shard {parsed} is of a matrix of {parsed.count}, not {count}", file=path,
                         hint="pass --shards with the matrix's size")
    return parsed.index, document


def _finding(item: dict, path: Path) -> Finding:
    if not isinstance(item, dict) or item.get("category") not in CATEGORIES or not all(
            isinstance(item.get(k), str) for k in FIELDS):
        raise InputError("a finding is not the guard's", file=path, hint="pass each shard job's guard output")
    return Finding(item["category"], item["environment"], item["object"], item["field"], None, None, item["file"],
                   shown_as=(item["before"], item["after"]))


def combine(paths: list[Path], count: int) -> tuple[list[Finding], list[str], list[str]]:
    """Every shard's findings, environments and layer lines (each shard sees the same layers: each
    line once); InputError unless shards 1..count are each there once and none met bad input."""
    seen = shard.gather(paths, count, _read, "the guard fails closed")
    findings: list[Finding] = []
    names: list[str] = []
    reached: list[str] = []
    for index in sorted(seen):
        path, document = seen[index]
        if document["verdict"] == "bad input":
            message = (document.get("error") or {}).get("message", "bad input")
            raise InputError(f"shard {index}/{count} met bad input: {message}", file=path)
        findings += [_finding(item, path) for item in document.get("findings") or []]
        names += [str(n) for n in document.get("environments") or []]
        reached += [str(line) for line in document.get("layers") or [] if str(line) not in reached]
    return findings, sorted(set(names)), reached


def run(args: argparse.Namespace) -> int:
    from generator.commands.guard import decide_and_report

    try:
        findings, names, reached = combine(args.files, args.shards)
    except InputError as exc:
        if args.markdown:
            write_report(args.markdown, report.bad_input_markdown(str(exc)))
        if args.json:
            print(report.bad_input_json(str(exc), EXIT_BAD_INPUT, exc.as_dict()), end="")
        print(str(exc), file=sys.stderr)
        return EXIT_BAD_INPUT
    return decide_and_report(args, findings, names, reached)
