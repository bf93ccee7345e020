"""`litellm-gitops guard --base DIR --head DIR`: the seed's red lines as a required check."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING
from urllib.parse import quote
from pathlib import Path

from generator import deadline, shard
from generator.commands.common import add_hydrate_options, write_report
from generator.errors import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, InputError
from generator.guard import allowlist, approvals, clusters, gitsnap, isolation, layers, pr, report, rules, synced, tree, verdict
from generator.guard.redact import MISSING
from generator.guard.github import GitHub

if TYPE_CHECKING:
    from generator.guard.diff import TreeDiff

NAME = "guard"
HELP = "compare two rendered trees and refuse salt-key changes, unreadable content and unapproved dangerous changes"
DESCRIPTION = """\
Compare the rendered trees of a pull request's base and head by meaning, in every environment:
  salt-key                      blocked, whatever the approvals: the ExternalSecret entry that maps
                                LITELLM_SALT_KEY, the store it reads through, its Secrets Manager
                                secret in CloudFormation, any override in LiteLLM's values
  salt-key-source               blocked: a source (repoURL, revision, path, chart, helm, ...) or
                                destination of an Application that can reach the salt key's chain,
                                the root Application
  unmodelled                    blocked unless unchanged: content Argo CD syncs that the guard
                                cannot read as Argo CD does (.argocd-source*, hidden files,
                                jsonnet other than the revision pin, kustomization, Chart.yaml,
                                skip marker, plugin or kustomize sources), YAML that go-yaml and
                                PyYAML read differently
  refused                       blocked: git submodules (gitlinks, .gitmodules), CloudFormation
                                macros (Transform, Fn::Transform, AWS::Include) in any stack
  reaches-litellm               blocked: any change not on the allowlist (harmless.yaml) to what
                                LiteLLM's proxy or migration Job runs with, External Secrets'
                                controller, policy engines and admission mutation, Argo CD's own
                                configuration, CloudFormation naming the salt key's secret
  master-key, database-url      two approvals (same notion of what determines the value)
  source                        two approvals: any other source change, AppProjects, repository
                                Secrets, bootstrap, a hub's new environment
  bastion                       two approvals to remove it or change what makes CloudFormation
                                replace the instance (the resource schema's createOnlyProperties)
  image-repository, data-loss   two approvals: a LiteLLM or Open WebUI image from another
                                repository; a claim, volume or claim template removed
  unlisted                      two approvals: any other change not on the allowlist
  on the allowlist              allowed (generator/guard/harmless.yaml, docs/guard.md)

Both checkouts are hydrated (`litellm-gitops hydrate`: every chart rendered with the real helm as
Argo CD would), and the data flow of LITELLM_SALT_KEY, LITELLM_MASTER_KEY and DATABASE_URL is
traced through every LiteLLM container of the applied state to its Secrets Manager secret. A chart
version bump is judged by that: two approvals, blocked when it changes a salt-key chain. A
checkout that cannot be hydrated is bad input (refused). A bare rendered/ tree (no environments/)
and --no-hydrate are judged on the rendered files only, which is stricter: LiteLLM's chains are
then undetermined and a chart bump counts like any other source change.

An approval counts when it is the reviewer's latest state-changing review, on the head commit,
from someone other than the author and other than whoever pushed or authored the head commit
(the repository activity API and the commit), who has write access to the repository (admin, maintain or
write, from GitHub's collaborator permission API). Reviews are read from the GitHub REST API only
when a finding needs them, with GITHUB_API_URL, GITHUB_TOKEN, GITHUB_REPOSITORY and the payload at
GITHUB_EVENT_PATH (pull_request or pull_request_review), or with --repo and --pr. If GitHub cannot
be read, the guard refuses.

Exit codes: 0 allowed, 1 refused, 2 bad input.

examples:
  litellm-gitops guard --base ../base --head .
  litellm-gitops guard --base base --head head --markdown guard.md --charts "$RUNNER_TEMP/charts"
  litellm-gitops guard --base base --head head --markdown guard.md --diff-markdown diff.md
  litellm-gitops guard --shard 1/4 --base base --head head --diff-json diff-shard-1.json > guard-shard-1.json   # review.yml
  litellm-gitops guard --base base/rendered --head head/rendered --no-hydrate
  litellm-gitops guard --base base --head head --repo example-org/llm-gateway-gitops --pr 42 --json
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base", type=Path, required=True, metavar="DIR",
                        help="the base checkout (repository root or its rendered/)")
    parser.add_argument("--head", type=Path, required=True, metavar="DIR",
                        help="the head checkout (repository root or its rendered/)")
    parser.add_argument("--markdown", type=Path, metavar="FILE", help="also write the verdict as Markdown (for a PR comment)")
    parser.add_argument("--diff-markdown", type=Path, metavar="FILE",
                        help="also write the plan `litellm-gitops diff --markdown` writes, from this run's reading and "
                             "hydration of both checkouts (one command for a PR comment's diff and verdict)")
    parser.add_argument("--diff-json", type=Path, metavar="FILE",
                        help="also write the plan as the JSON `litellm-gitops diff --json` prints (with --shard: what "
                             "`diff --shard` prints, for `diff-combine`), from this run's reading and hydration")
    parser.add_argument("--json", action="store_true", help="print the verdict as JSON instead of text")
    parser.add_argument("--repo", metavar="OWNER/NAME", help="repository of the pull request (default: GITHUB_REPOSITORY)")
    parser.add_argument("--pr", type=int, metavar="N", help="pull request number (default: from GITHUB_EVENT_PATH)")
    parser.add_argument("--shard", metavar="I/N",
                        help="judge only the environments and hubs of shard I of N (generator/shard.py) and print "
                             "its findings as JSON for `guard-combine`, which reads the approvals and decides")
    add_hydrate_options(parser)
    parser.add_argument("--no-hydrate", action="store_true",
                        help="judge the rendered files only: a chart's own objects are not traced, and a chart "
                             "bump on an Application that reaches the salt key stays blocked")
    deadline.add_option(parser)


def github_client() -> GitHub:
    """The client GitHub Actions' variables describe (the token is read from the environment only)."""
    return GitHub(os.environ.get("GITHUB_API_URL") or None, os.environ.get("GITHUB_TOKEN") or None)


def run(args: argparse.Namespace) -> int:
    """The verdict; bad input (anything the guard cannot read as Argo CD does) is exit 2 in every
    format. Anything else is a bug, reported by the command line's one error path (exit 70), which
    the guard's required check reads as a failure: it fails closed either way."""
    deadline.start(args.deadline)
    try:
        args.shard = shard.parse(args.shard)
        if args.shard is not None:
            markdown, args.markdown = args.markdown, None
            args.json = True  # a shard's verdict is for guard-combine
            if markdown:
                raise InputError("--markdown with --shard: a shard's findings are not a verdict",
                                 hint="write the Markdown with `guard-combine --markdown FILE` over every shard")
            if args.diff_markdown:
                raise InputError("--diff-markdown with --shard: a shard reads only its part of the fleet",
                                 hint="write the shard's plan with --diff-json FILE and combine them with `diff-combine`")
        outputs = [(flag, path.resolve()) for flag, path in (("--markdown", args.markdown), ("--diff-markdown", args.diff_markdown),
                                                             ("--diff-json", args.diff_json)) if path]
        for i, (flag, path) in enumerate(outputs):
            for other, same in outputs[i + 1:]:
                if path == same:
                    args.diff_json = None  # nothing is written over a file two flags name
                    raise InputError(f"{flag} and {other} name the same file; one would overwrite the other",
                                     file=path, hint="write the plan and the verdict to two files (diff.md, guard.md)")
        return _judge(args)
    except InputError as exc:
        return _bad_input(args, exc)


def _bad_input(args: argparse.Namespace, exc: InputError) -> int:
    message = str(exc)
    if args.markdown:
        write_report(args.markdown, report.bad_input_markdown(message))
    if args.diff_json:  # diff-combine reads it as a shard that met bad input
        try:
            write_report(args.diff_json, report.bad_input_json(message, EXIT_BAD_INPUT, exc.as_dict(), _shard_text(args)),
                         "--diff-json")
        except InputError:
            pass  # the message below says what is wrong; diff-combine then finds the shard missing (closed)
    if args.json:
        print(report.bad_input_json(message, EXIT_BAD_INPUT, exc.as_dict(), _shard_text(args)), end="")
    print(message, file=sys.stderr)
    return EXIT_BAD_INPUT


def _judge(args: argparse.Namespace) -> int:
    owns = args.shard.owns if args.shard is not None else None
    pair = tree.load_pair(args.base, args.head, rules.select, owns)  # checks each object's shape as it reads it
    # What Argo CD will apply: a checkout that cannot be hydrated is bad input (refused). A side given
    # as a bare rendered tree is judged on its rendered files, which is stricter, never looser: its
    # LiteLLM chains are undetermined (a difference) and its chart bumps stay source changes.
    # The revision pin's text is compared with the one the generator writes before any Jsonnet is
    # evaluated: an environment whose pin differs is not hydrated (synced.py refuses it).
    head_envs = [name for name, env in pair.head.items() if not synced.pin_problem(env)]
    hydrated: tuple[dict, dict] = ({}, {})
    if not args.no_hydrate:
        from generator.commands.hydrate import hydrate_pair  # helm and the charts: imported only to hydrate

        hydrated = hydrate_pair(args, list(pair.base), head_envs, required=False, ids=pair.ids)
        for trees, states in zip((pair.base, pair.head), hydrated):
            for name, state in states.items():
                trees[name].applied = state
    findings = [rules.Finding(allowlist.REFUSED, "(repository)", f"file {path}", "submodule (Argo CD fetches the other "
                              "repository; the guard would read an empty folder)", MISSING, "present", path)
                for path in gitsnap.submodules(args.head, vouched=pair.ids[1] is not None)]
    findings += rules.evaluate(pair.base, pair.head)
    changed = {name: (t.changed if t.changed is not None else None) for name, t in pair.head.items()}
    findings += [rules.Finding(rules.CROSSING, c.environment, c.object, c.field, MISSING, f"refused: {c.reason}", c.file)
                 for c in isolation.compare(args.base, args.head, changed)]  # hubs isolate environments
    for hit in clusters.evaluate(pair.base, pair.head, args.head):  # one cluster, one environment (guard/clusters.py)
        findings.append(rules.Finding(
            rules.SALT_SOURCE, hit.tree, hit.object,
            f"{hit.field} ({hit.how} is the cluster of environment {hit.other}: environment {hit.environment}'s "
            f"Applications would deploy into it, over {hit.other}'s namespaces and LiteLLM Secret)",
            hit.before if hit.before is not None else MISSING, hit.value, hit.file))

    reached = layers.reasons(args.base, args.head)  # what a layer edit reaches (guard/layers.py)
    if args.diff_markdown or args.diff_json:  # after every finding: the plan reads what the verdict read
        from generator.guard import diff

        plan = _plan(args, pair.ids, hydrated)
        if args.diff_markdown:
            write_report(args.diff_markdown, diff.markdown(plan), "--diff-markdown")
        if args.diff_json:
            document = diff.to_json(plan)
            if args.shard is not None:
                document["shard"] = str(args.shard)
            write_report(args.diff_json, json.dumps(document, indent=2) + "\n", "--diff-json")
    if args.shard is not None:  # findings only: guard-combine reads the approvals once and decides
        result = verdict.decide(findings, pair.names, lambda: (None, None))
        print(report.to_json(result, EXIT_OK, str(args.shard), reached), end="")
        return EXIT_OK
    return decide_and_report(args, findings, pair.names, reached)


def _plan(args: argparse.Namespace, ids: tuple, hydrated: tuple[dict, dict]) -> TreeDiff:
    """What `litellm-gitops diff` plans for the same checkouts (and shard), from the git tree ids
    and applied states this run already has: the changed environments are read again with the
    diff's own choice of files (generator/guard/diff.py, select), nothing is hydrated twice.
    An environment the guard judged on its rendered files on a side that has it (--no-hydrate, a
    bare rendered tree, a revision pin it refuses) is shown on its rendered files on both sides,
    never applied objects against rendered ones."""
    from generator.guard import diff

    owns = args.shard.owns if args.shard is not None else None
    pair = tree.load_pair(args.base, args.head, diff.select, owns, ids=ids)

    def applied_on_each_side(name: str) -> bool:
        return all(name not in side or name in states for side, states in zip((pair.base, pair.head), hydrated))

    states = tuple({name: state for name, state in side.items() if applied_on_each_side(name)} for side in hydrated)
    return diff.plan(pair, states)  # type: ignore[arg-type]


def decide_and_report(args: argparse.Namespace, findings: list, names: list[str], reached: list[str]) -> int:
    """The one verdict (approvals read once, from GitHub) in every format asked for; its exit code.
    Shared by `guard` and `guard-combine`."""
    result = verdict.decide(findings, names, lambda: read_approvals(args))
    result.reasons += reached
    code = EXIT_OK if result.allowed else EXIT_FAILED
    if args.markdown:
        write_report(args.markdown, report.markdown(result))
    print(report.to_json(result, code) if args.json else report.text(result), end="")
    return code


def _shard_text(args: argparse.Namespace) -> str | None:
    return str(args.shard) if isinstance(args.shard, shard.Shard) else args.shard


def read_approvals(args: argparse.Namespace) -> tuple[pr.PullRequest | None, approvals.Approvals | None]:
    """The pull request (--repo/--pr or GitHub Actions' event) and its valid approvals on the head commit."""
    client = github_client()
    pull = pr.resolve(client, args.repo, args.pr)
    if pull is None:
        return None, None
    reviews = client.get_all(f"repos/{pull.repo}/pulls/{pull.number}/reviews")
    counted = approvals.count(reviews, pull.author, pull.head_sha, approvals.pushers(client.get, pull.repo, pull.head_sha))
    return pull, approvals.require_write(
        counted, lambda login: client.get(f"repos/{pull.repo}/collaborators/{quote(login, safe='')}/permission"))
