"""`litellm-gitops plan`: the 15-phase table and its JSON twin."""

from __future__ import annotations

import json

from generator.cli import main


def test_plan_table_has_fifteen_phases_and_the_bastion(repo_root, capsys):
    assert main(["plan", "--root", str(repo_root), "--env", "prod"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Plan for environment prod"
    assert lines[1].split()[:4] == ["phase", "wave", "components", "state"]
    rows = [line.split()[0] for line in lines[2:]]
    assert rows == [str(n) for n in range(1, 16)] + ["-"]
    litellm = next(line for line in lines if line.startswith("13 "))
    assert "litellm" in litellm and "enabled" in litellm and "CRITICAL for OpenWebUI" in litellm


def test_plan_json(repo_root, capsys):
    assert main(["plan", "--root", str(repo_root), "--env", "dev", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["environment"] == "dev"
    phases = {row["phase"]: row for row in plan["phases"] if row["phase"]}
    assert phases[12] == {
        "phase": 12, "title": "Redis HA", "wave": "12", "delivery": "argocd-app", "components": ["redis-ha"],
        "states": {"redis-ha": "enabled"}, "skip_policy": "Critical: skip if healthy, CRITICAL for LiteLLM",
        "depends_on": [8], "warnings": []}
    assert phases[3]["wave"] == "CloudFormation" and phases[1]["wave"] == "CI / command"
    bastion = [row for row in plan["phases"] if row["phase"] is None]
    assert bastion[0]["states"] == {"bastion": "disabled"}


def test_plan_requires_env(capsys):
    assert main(["plan"]) == 2
    assert "--env" in capsys.readouterr().err
