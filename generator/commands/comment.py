"""`litellm-gitops comment --markdown FILE...`: post or update the one review comment on the PR."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from generator.commands.guard import github_client
from generator import deadline
from generator.errors import EXIT_FAILED, EXIT_OK, InputError
from generator.guard import comment, pr
from generator.guard.github import GitHubError
from generator.yamlio import decode, read_limited

MAX_MARKDOWN_BYTES = 4 << 20

NAME = "comment"
HELP = "post the review (diff and guard verdict) as one PR comment, updated in place on every push"
DESCRIPTION = f"""\
Join the Markdown files into one comment on the pull request and keep it current: the comment
carrying the hidden marker {comment.MARKER} (written by a bot) is edited in place; a
new one is created only when there is none. Bodies are cut to GitHub's 65,536-character limit.

The pull request comes from GITHUB_EVENT_PATH, or from --repo and --pr; the API from
GITHUB_API_URL and GITHUB_TOKEN (which needs pull-requests: write).

Exit codes: 0 posted, 1 GitHub refused or could not be reached, 2 bad input.

example:
  litellm-gitops comment --markdown diff.md --markdown guard.md
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--markdown", type=Path, action="append", required=True, metavar="FILE",
                        help="a Markdown part of the comment (repeatable, joined in order)")
    parser.add_argument("--repo", metavar="OWNER/NAME", help="repository (default: GITHUB_REPOSITORY)")
    parser.add_argument("--pr", type=int, metavar="N", help="pull request number (default: from GITHUB_EVENT_PATH)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    deadline.add_option(parser)


def run(args: argparse.Namespace) -> int:
    deadline.start(args.deadline)
    parts = []
    for path in args.markdown:
        # Bounded: the comment is cut to GitHub's limit anyway; a larger part is not ours.
        parts.append(decode(path, read_limited(path, MAX_MARKDOWN_BYTES, "Markdown file")))
    client = github_client()
    try:
        if args.pr is not None:
            repo = pr.check_repo(args.repo or os.environ.get("GITHUB_REPOSITORY", ""), "--repo")
            target = (repo, args.pr)
        else:
            pull = pr.resolve(client, args.repo, None)
            if pull is None:
                raise InputError("no pull request to comment on",
                                 hint="run in a pull_request workflow (GITHUB_EVENT_PATH) or pass --repo and --pr")
            target = (pull.repo, pull.number)
        action, comment_id = comment.upsert(client, target[0], target[1], comment.body(parts))
    except GitHubError as exc:
        print(f"comment: GitHub refused or could not be reached: {exc}", file=sys.stderr)
        if args.json:
            print(json.dumps({"ok": False, "error": {"message": str(exc)}}, indent=2))
        return EXIT_FAILED
    if args.json:
        print(json.dumps({"ok": True, "action": action, "comment": comment_id, "repo": target[0], "pr": target[1]}, indent=2))
        return EXIT_OK
    print(f"{action} review comment {comment_id} on {target[0]}#{target[1]}")
    return EXIT_OK
