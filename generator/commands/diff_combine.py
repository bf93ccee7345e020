"""`litellm-gitops diff-combine --shards N FILE...`: the sharded diff's one plan.

Each `diff --shard I/N` job prints its part of the plan as JSON (generator/commands/diff.py); this
reads all N and writes the one plan of them all, exactly as one unsharded `diff` would have
(generator/guard/diff.py `from_json`, `merged`): review.yml's one PR comment. It fails closed: a
shard that is missing, present twice, of another size, unreadable, not a diff document, or that
met bad input, is bad input (exit 2) and the Markdown says why instead of showing a partial plan.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from generator import shard
from generator.commands.common import write_report
from generator.console import add_color_option, console
from generator.errors import EXIT_OK, InputError
from generator.guard import diff, report

NAME = "diff-combine"
HELP = "combine the JSON of N `diff --shard I/N` runs into one plan (fails closed on a missing shard)"
DESCRIPTION = """\
Reads the JSON each `litellm-gitops diff --shard I/N` printed (one file per shard), checks that
shards 1..N are all there exactly once and that no environment is in two, and prints the plan of
them all as `diff` does: the same text, --markdown (totals first, one collapsed section per
environment, truncated with a count beyond the size limit) and --json. Exit 0, or 2 bad input: a
missing, duplicate or unreadable shard, or a shard that met bad input (then --markdown says so).

examples:
  litellm-gitops diff --shard 1/4 --base base --head head > diff-shard-1.json   # one per matrix job
  litellm-gitops diff-combine --shards 4 shards/diff-shard-*.json --markdown diff.md
"""

_TEXT = {"type": "string"}
_TEXTS = {"type": "array", "items": _TEXT}
# What `diff.to_json` prints (generator/guard/diff.py), plus the shard's name: the one shape accepted.
SHAPE: dict[str, Any] = {
    "type": "object",
    "required": ["shard", "totals", "chart_bumps", "environments"],
    "properties": {
        "shard": _TEXT,
        "chart_bumps": {"type": "array", "items": {
            "type": "object", "additionalProperties": False,
            "required": ["environment", "application", "chart", "before", "after"],
            "properties": {k: _TEXT for k in ("environment", "application", "chart", "before", "after")}}},
        "environments": {"type": "array", "items": {
            "type": "object", "required": ["name", "status", "groups"],
            "properties": {
                "name": _TEXT,
                "status": {"enum": ["added", "removed", "changed", "unchanged"]},
                "groups": {"type": "array", "items": {
                    "type": "object", "required": ["owner", "wave", "changes"],
                    "properties": {
                        "owner": _TEXT,
                        "wave": {"type": ["integer", "null"]},
                        "changes": {"type": "array", "items": {
                            "type": "object", "required": ["kind", "label", "file", "fields", "values"],
                            "properties": {
                                "kind": {"enum": ["added", "removed", "changed"]},
                                "label": _TEXT, "file": _TEXT, "fields": _TEXTS,
                                "values": {"type": "array", "items": {"oneOf": [
                                    {"type": "object", "additionalProperties": False, "required": ["path", "before", "after"],
                                     "properties": {"path": _TEXT, "before": _TEXT, "after": _TEXT}},
                                    {"type": "object", "additionalProperties": False, "required": ["path", "redacted"],
                                     "properties": {"path": _TEXT, "redacted": {"const": True}}}]}}}}}}}}}}},
    },
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="*", type=Path, metavar="FILE", help="the shards' JSON documents")
    parser.add_argument("--shards", type=int, required=True, metavar="N", help="how many shards the matrix ran")
    parser.add_argument("--markdown", type=Path, metavar="FILE", help="also write the plan as Markdown (for a PR comment)")
    parser.add_argument("--json", action="store_true", help="print JSON (with the values) instead of text")
    add_color_option(parser)


def _read(path: Path, count: int) -> tuple[int, diff.TreeDiff]:
    import jsonschema

    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"shard output unreadable: {exc}", file=path, hint="the shard's job failed: see its log") from None
    if isinstance(document, dict) and document.get("ok") is False:  # the command line's failure document
        error = document.get("error")
        message = error.get("message") if isinstance(error, dict) else None
        raise InputError(f"a diff shard met bad input: {message if isinstance(message, str) else 'see its log'}", file=path,
                         hint="fix what the shard's job reports, then re-run the workflow")
    problem = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(SHAPE).iter_errors(document))
    if problem is not None:
        where = "/".join(str(p) for p in problem.absolute_path) or "(document)"
        raise InputError(f"not the JSON of `diff --shard I/N` (at {where}: {problem.message[:200]})", file=path,
                         hint="pass each shard job's diff output")
    try:
        parsed = shard.parse(document["shard"])
    except InputError as exc:
        raise InputError(f"its shard is not I/N: {exc.message}", file=path, hint="pass each shard job's diff output") from None
    assert parsed is not None
    if parsed.count != count:
        raise InputError(f"shard {parsed} is of a matrix of {parsed.count}, not {count}", file=path,
                         hint="pass --shards with the matrix's size")
    return parsed.index, diff.from_json(document)


def combine(paths: list[Path], count: int) -> diff.TreeDiff:
    """The one plan of shards 1..count; InputError unless each is there once, readable, and no
    environment is in two of them."""
    seen = shard.gather(paths, count, _read, "the plan would be partial")
    owner: dict[str, int] = {}
    for index in sorted(seen):
        path, part = seen[index]
        for env in part.environments:
            if env.name in owner:
                raise InputError(f"environment {env.name} is in shards {owner[env.name]}/{count} and {index}/{count}",
                                 file=path, hint="every shard must come from the same matrix over the same checkouts")
            owner[env.name] = index
    return diff.merged([seen[i][1] for i in sorted(seen)])


def run(args: argparse.Namespace) -> int:
    try:
        result = combine(args.files, args.shards)
    except InputError as exc:  # the comment says why there is no plan; the command line reports it (exit 2)
        if args.markdown:
            write_report(args.markdown, report.bad_input_markdown(str(exc), "Rendered changes"))
        raise
    if args.markdown:
        write_report(args.markdown, diff.markdown(result))
    if args.json:
        print(json.dumps(diff.to_json(result), indent=2))
    else:
        console(args.color).print(diff.rich_text(result))
    return EXIT_OK
