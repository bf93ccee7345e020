"""The guard as a hostile pull-request author would try it, grouped by route: each case is a
base/head pair built the way a PR builds it (a hand edit of rendered/, an environment change and a
render, or a generator change and a render) with the verdict it must get; then the false positives
that must stay allowed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest

from guard_build import ENV, Rendered
from test_guard import SECRET_LITERAL, TWO_APPROVAL_CHANGES, _set, categories, guard, run_cli


# --- approvals ---------------------------------------------------------------------------------

def _gated(tmp_path: Path) -> tuple[int, dict[str, Any]]:
    base = Rendered.minimal()
    return guard(tmp_path, base, base.edit(TWO_APPROVAL_CHANGES["master-key"]))


@pytest.mark.parametrize("roles", [
    {"throwaway1": "read", "throwaway2": "none"},  # two throwaway accounts: approvals count for nothing
    {"bob": "write", "sock": "triage"},
    {"bob": "write", "outsider": None},  # not a collaborator at all: GitHub answers 404
])
def test_approvals_without_write_access_do_not_count(roles: dict[str, Any], tmp_path: Path, github) -> None:
    for login, role in roles.items():
        github.roles[login] = role
        github.review(login)
    code, report = _gated(tmp_path)
    assert code == 1, report
    assert report["approvals"] is None or len(report["approvals"]["valid"]) < 2


@pytest.mark.parametrize("pair", [("admin", "maintain"), ("write", "maintain"), ("admin", "write")])
def test_admin_maintain_and_write_count(pair: tuple[str, str], tmp_path: Path, github) -> None:
    for index, role in enumerate(pair):
        github.roles[f"r{index}"] = role
        github.review(f"r{index}")
    code, report = _gated(tmp_path)
    assert code == 0, report
    assert report["approvals"]["valid"] == ["r0", "r1"]
    assert sum("/collaborators/" in p for p in github.paths) == 2


@pytest.mark.parametrize("answer", [
    {"permission": "write", "user": {"login": "carol"}},  # no role_name
    {"permission": "write", "role_name": "write", "user": {"login": "someone-else"}},
    {"permission": "maintain", "role_name": "maintain", "user": {"login": "carol"}},  # not a legacy value
    {"permission": "write", "role_name": "read", "user": {"login": "carol"}},  # contradictory
    ["write"],
])
def test_unclear_permission_answers_fail_closed(answer: Any, tmp_path: Path, github) -> None:
    github.review("bob")
    github.review("carol")
    github.permission_answers["carol"] = answer
    code, report = _gated(tmp_path)
    assert code == 1, report
    assert report["approvals"]["valid"] == ["bob"]
    assert any(login == "carol" for login in (i["login"] for i in report["approvals"]["ignored"]))


def test_permission_api_failure_refuses(tmp_path: Path, github) -> None:
    github.review("bob")
    github.review("carol")
    github.roles["carol"] = None  # 404 for this one call
    code, report = _gated(tmp_path)
    assert code == 1 and "HTTP 404" in (report["github_error"] or "")
