"""The decision: blocked findings refuse; approval-gated findings need two valid approvals on the
head commit, read from GitHub only when such a finding exists; an unreadable GitHub refuses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from generator.guard.approvals import REQUIRED, Approvals
from generator.guard.github import GitHubError
from generator.guard.pr import PullRequest
from generator.guard.rules import Finding, Policy

ApprovalSource = Callable[[], tuple[PullRequest | None, Approvals | None]]


@dataclass
class Verdict:
    allowed: bool
    findings: list[Finding]
    environments: list[str]
    reasons: list[str] = field(default_factory=list)
    pull_request: PullRequest | None = None
    approvals: Approvals | None = None
    github_error: str | None = None

    @property
    def blocked(self) -> list[Finding]:
        return [f for f in self.findings if f.policy is Policy.BLOCK]

    @property
    def gated(self) -> list[Finding]:
        return [f for f in self.findings if f.policy is Policy.TWO_APPROVALS]


def _count(findings: list[Finding]) -> str:
    categories: dict[str, int] = {}
    for finding in findings:
        categories[finding.category] = categories.get(finding.category, 0) + 1
    return ", ".join(f"{n} {c}" for c, n in categories.items())


def decide(findings: list[Finding], environments: list[str], approvals: ApprovalSource) -> Verdict:
    verdict = Verdict(True, findings, environments)
    if verdict.blocked:
        verdict.allowed = False
        verdict.reasons.append(f"blocked whatever the approvals: {_count(verdict.blocked)} change(s)")
    if verdict.gated and verdict.blocked:  # refused already: GitHub is not asked
        verdict.reasons.append(f"would also need two approvals: {_count(verdict.gated)} change(s)")
    elif verdict.gated:
        try:
            verdict.pull_request, verdict.approvals = approvals()
        except GitHubError as exc:
            verdict.github_error = str(exc)
        if verdict.github_error:
            verdict.allowed = False
            verdict.reasons.append(f"cannot read the pull request's approvals from GitHub: {verdict.github_error}")
        elif verdict.pull_request is None or verdict.approvals is None:
            verdict.allowed = False
            verdict.reasons.append("needs two approvals, and there is no pull request to read them from "
                                   "(run in a pull_request workflow, or pass --repo and --pr)")
        elif len(verdict.approvals.valid) < REQUIRED:
            verdict.allowed = False
            verdict.reasons.append(
                f"needs {REQUIRED} approvals on the head commit {verdict.pull_request.head_sha[:12]} from people other "
                f"than the author for {_count(verdict.gated)} change(s); has {len(verdict.approvals.valid)}")
        else:
            verdict.reasons.append(f"{_count(verdict.gated)} change(s) approved by {', '.join(verdict.approvals.valid)}")
    if not findings:
        verdict.reasons.append("no change to the salt key, master key, database URL or bastion")
    return verdict
