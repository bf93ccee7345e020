"""The guard's verdict for people (text, Markdown for a PR comment) and machines (JSON).

Every finding names the environment, the object, the field and before -> after; values go
through generator.guard.redact, so nothing that is or looks like a secret is printed.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

from generator.guard.redact import show
from generator.guard.rules import CATEGORIES, POLICIES, Finding
from generator.guard.verdict import Verdict

HEADINGS = {
    "salt-key": "salt key: blocked whatever the approvals",
    "salt-key-source": "source of an Application that can reach the salt key: blocked whatever the approvals",
    "unmodelled": "content the guard cannot read as Argo CD does: blocked unless unchanged",
    "crosses-environments": "reaches another environment's namespace on its hub: blocked whatever the approvals",
    "master-key": "master key: needs two approvals",
    "database-url": "database URL: needs two approvals",
    "source": "what Argo CD applies (sources, destinations, projects, repositories, bootstrap): needs two approvals",
    "bastion": "bastion replaced or removed: needs two approvals",
    "salt-replica-added": "salt key replicated to one more region under its own key: needs two approvals",
    "refused": "named refusals (submodules, CloudFormation macros): blocked whatever the approvals",
    "reaches-litellm": "reaches what LiteLLM runs with and is not on the allowlist: blocked whatever the approvals",
    "image-repository": "LiteLLM or Open WebUI image from another repository: needs two approvals",
    "data-loss": "volume, claim or claim template removed: needs two approvals",
    "unlisted": "not on the allowlist of harmless changes (harmless.yaml): needs two approvals",
}


# Fields of a master-key or database-URL finding that name where a value comes from, never the value.
_WIRING = re.compile(r"(\.key|\.name|\.version|\.versionStage|\.property|secretKey|\.kind|Type|"
                     r"secretStoreRef|\(object\)|\(whole object\)|\(whole chain\)|Deployment\.\w+|Policy)\Z")


def shown(finding: Finding) -> tuple[str, str]:
    if finding.shown_as is not None:
        return finding.shown_as
    """Before and after as they may be printed. A master-key or database-URL finding's values are
    redacted whatever their shape (an upper-case passphrase looks like a variable name, a URL's
    password may hold `/`), except on fields that only name where the value comes from."""
    sensitive = finding.sensitive or (finding.category in ("master-key", "database-url")
                                      and not _WIRING.search(finding.field.split(" (", 1)[0]))
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


def _line(value: str) -> str:
    """One list item: escaped, on one line (nothing can start a heading, a fence or a table)."""
    return html.escape(value, quote=False).replace("\r", " ").replace("\n", " ").replace("`", "&#96;")


def _cell(value: str) -> str:
    return ("<code>" + html.escape(value, quote=False).replace("|", "&#124;").replace("\r", " ").replace("\n", " ")
            .replace("`", "&#96;") + "</code>")


def markdown(verdict: Verdict, limit: int = 200) -> str:
    icon = "✅" if verdict.allowed else "⛔"
    out = [f"### {icon} Guard: {_title(verdict).lower()}", ""]
    out += [f"- {_line(reason)}" for reason in verdict.reasons]
    out += [f"- {_line(line)}" for line in _approval_lines(verdict)]
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
            where = f" {_cell(f.file)}" if f.file else ""
            out.append(f"| {_cell(f.environment)} | {_cell(f.object)}{where} | {_cell(f.field)} | {_cell(before)} → {_cell(after)} |")
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


def bad_input_markdown(message: str, title: str = "Guard") -> str:
    """The message (it names files the pull request chose) in a fence longer than any run of
    tildes or backticks inside it, so nothing in it can close the fence or start a heading.
    `title`: whose input it was (diff-combine's: "Rendered changes")."""
    longest = max((len(run) for run in re.findall(r"~+|`+", message)), default=0)
    fence = "~" * max(3, longest + 1)
    return f"### ⛔ {title}: bad input\n\n{fence}\n{message}\n{fence}\n"


def bad_input_json(message: str, exit_code: int, error: dict | None = None, shard: str | None = None) -> str:
    # The command line's failure envelope (ok, exit, error) and the verdict's own keys, in one document.
    document = {"ok": False, "exit": exit_code, "verdict": "bad input", "exit_code": exit_code,
                "error": error or {"message": message}, "findings": []}
    if shard is not None:
        document["shard"] = shard
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
