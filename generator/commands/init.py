"""`litellm-gitops init DIR`: create a GitOps repository that uses this version of the tool."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from generator import __version__
from generator.errors import EXIT_OK

NAME = "init"
HELP = "create a new GitOps repository that installs this exact version of litellm-gitops"
DESCRIPTION = f"""\
Create DIR (absent or empty) as a GitOps repository that uses litellm-gitops {__version__} instead of
containing it: environments/ (defaults.yaml and a commented example), schemas/charts.lock.json,
requirements.in/requirements.txt pinning this version exactly, the workflows (CI: render --check and
validate; the pre-merge guard and the review comment, which run the version the base commit pins;
CloudFormation), renovate.json (tool and chart updates), .pre-commit-config.yaml and a README.
Nothing is written unless everything is.

examples:
  litellm-gitops init ../llm-gitops --repo-url https://github.com/acme/llm-gitops.git
  cd ../llm-gitops && litellm-gitops render && git init && git add -A
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", type=Path, metavar="DIR", help="the folder to create (absent or empty)")
    parser.add_argument("--repo-url", default=None, metavar="URL",
                        help="the new repository's git URL, as Argo CD will clone it (default: a placeholder to replace)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def run(args: argparse.Namespace) -> int:
    from generator import scaffold

    written = scaffold.init(args.target, args.repo_url or scaffold.PLACEHOLDER_REPO)
    if args.json:
        print(json.dumps({"ok": True, "created": str(args.target), "files": len(written), "version": __version__,
                          "repoURL": args.repo_url or scaffold.PLACEHOLDER_REPO}, indent=2))
        return EXIT_OK
    print(f"created {args.target} ({len(written)} files) for litellm-gitops {__version__}")
    if not args.repo_url:
        print(f"  set git.repoURL in {args.target / 'environments' / 'defaults.yaml'} (now {scaffold.PLACEHOLDER_REPO})")
    print(f"next: cd {args.target} && litellm-gitops render, then replace the placeholders in environments/example/")
    return EXIT_OK
