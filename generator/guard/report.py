"""The guard's verdict for people (text, Markdown for a PR comment) and machines (JSON).

Every finding names the environment, the object, the field and before -> after; values go
through generator.guard.redact, so nothing that is or looks like a secret is printed.
"""

from __future__ import annotations

import html
import json
from typing import Any

from generator.guard.redact import show
from generator.guard.rules import CATEGORIES, POLICIES, Finding
from generator.guard.verdict import Verdict

HEADINGS = {
    "salt-key": "salt key: blocked whatever the approvals",
    "salt-key-source": "source of an Application that can reach the salt key: blocked whatever the approvals",
    "unmodelled": "content the guard cannot read as Argo CD does: blocked unless unchanged",
    "master-key": "master key: needs two approvals",
    "database-url": "database URL: needs two approvals",
    "source": "what Argo CD applies (sources, destinations, projects, repositories, bootstrap): needs two approvals",
    "bastion": "bastion replaced or removed: needs two approvals",
}


def shown(finding: Finding) -> tuple[str, str]:
    if finding.shown_as is not None:
        return finding.shown_as
    sensitive = finding.sensitive
    return show(finding.before, finding.field, sensitive), show(finding.after, finding.field, sensitive)


def _title(verdict: Verdict) -> str:
    return "ALLOWED" if verdict.allowed else "REFUSED"


def _approval_lines(verdict: Verdict) -> list[str]:
    lines = []
    if verdict.pull_request and verdict.approvals is not None:
        pr = verdict.pull_request
        valid = ", ".join(verdict.approvals.valid) or "none"
        lines.append(f"approvals on {pr.repo}#{pr.number} at {pr.head_sha[:12]} (author {pr.author}): {valid}")
        lines += [f"not counted: {login} ({why})" for login, why in verdict.approvals.ignored]
    return lines


def text(verdict: Verdict) -> str:
    out = [f"litellm-gitops guard: {_title(verdict)}"]
    out += [f"  {reason}" for reason in verdict.reasons]
    out += [f"  {line}" for line in _approval_lines(verdict)]
    for category in CATEGORIES:
        items = [f for f in verdict.findings if f.category == category]
        if items:
            out += ["", f"{HEADINGS[category]} ({len(items)}):"]
            for f in items:
                before, after = shown(f)
                out.append(f"  {f.environment}: {f.object}: {f.field}: {before} → {after}" + (f"  [{f.file}]" if f.file else ""))
    return "\n".join(out) + "\n"


def _cell(value: str) -> str:
    return "<code>" + html.escape(value, quote=False).replace("|", "&#124;").replace("\n", " ") + "</code>"


def markdown(verdict: Verdict, limit: int = 200) -> str:
    icon = "✅" if verdict.allowed else "⛔"
    out = [f"### {icon} Guard: {_title(verdict).lower()}", ""]
    out += [f"- {html.escape(reason, quote=False)}" for reason in verdict.reasons]
    out += [f"- {html.escape(line, quote=False)}" for line in _approval_lines(verdict)]
    shown_count = 0
    for category in CATEGORIES:
        items = [f for f in verdict.findings if f.category == category]
        if not items or shown_count >= limit:  # no empty tables once the limit is reached
            continue
        out += ["", f"**{HEADINGS[category]}** ({len(items)})", "",
                "| environment | object | field | before → after |", "|---|---|---|---|"]
        for f in items:
            if shown_count >= limit:
                break
            shown_count += 1
            before, after = shown(f)
            out.append(f"| {f.environment} | {_cell(f.object)} | {_cell(f.field)} | {_cell(before)} → {_cell(after)} |")
    if len(verdict.findings) > shown_count:
        out += ["", f"… and {len(verdict.findings) - shown_count} more finding(s) not shown; run `litellm-gitops guard` for all."]
    return "\n".join(out) + "\n"


def to_json(verdict: Verdict, exit_code: int, shard: str | None = None, layers: list[str] | None = None) -> str:
    """The verdict as JSON; a shard's (`guard --shard`) also names its shard and the layer lines
    guard-combine adds to the combined verdict."""
    document: dict[str, Any] = {
        "verdict": "allowed" if verdict.allowed else "refused",
        "exit_code": exit_code,
        "reasons": verdict.reasons,
        "environments": verdict.environments,
        "findings": [],
        "pull_request": None,
        "approvals": verdict.approvals.to_json() if verdict.approvals is not None else None,
        "github_error": verdict.github_error,
    }
    if verdict.pull_request:
        pr = verdict.pull_request
        document["pull_request"] = {"repo": pr.repo, "number": pr.number, "author": pr.author, "head_sha": pr.head_sha}
    for f in verdict.findings:
        before, after = shown(f)
        document["findings"].append({"category": f.category, "policy": POLICIES[f.category].value,
                                     "environment": f.environment, "object": f.object, "field": f.field,
                                     "before": before, "after": after, "file": f.file})
    if shard is not None:
        document["shard"] = shard
        document["layers"] = layers or []
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def bad_input_markdown(message: str) -> str:
    fence = "~~~"
    return f"### ⛔ Guard: bad input\n\n{fence}\n{message}\n{fence}\n"


def bad_input_json(message: str, exit_code: int, error: dict | None = None, shard: str | None = None) -> str:
    # The command line's failure envelope (ok, exit, error) and the verdict's own keys, in one document.
    document = {"ok": False, "exit": exit_code, "verdict": "bad input", "exit_code": exit_code,
                "error": error or {"message": message}, "findings": []}
    if shard is not None:
        document["shard"] = shard
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
