"""Skip rules as config: enabled, disabled, external, acknowledgements and warnings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from generator.cli import main
from generator.environment import load_environment
from generator.render import render_environment


def set_component(repo: Path, env: str, component: str, body: str) -> Path:
    """Append a components.<component> block to an environment file (later keys would be duplicates,
    so the file must not set this component yet)."""
    path = repo / "environments" / env / "environment.yaml"
    text = path.read_text()
    assert f"\n  {component}:\n" not in text
    path.write_text(text.replace("\ncomponents:\n", f"\ncomponents:\n  {component}:\n{body}", 1))
    return path


def render(repo: Path, env: str):
    return render_environment(load_environment(repo / "environments", env))


def test_disabling_a_dependency_of_an_enabled_component_names_both(scratch_repo, capsys):
    path = set_component(scratch_repo, "dev", "kube-prometheus-stack", "    state: disabled\n")
    assert main(["render", "--root", str(scratch_repo), "--env", "dev"]) == 2
    err = capsys.readouterr().err
    assert "kube-prometheus-stack is disabled but grafana-dashboards is enabled and depends on it" in err
    assert f"{path}:22:" in err


def test_disabling_the_dependent_too_is_fine(scratch_repo):
    set_component(scratch_repo, "dev", "kube-prometheus-stack", "    state: disabled\n")
    set_component(scratch_repo, "dev", "grafana-dashboards", "    state: disabled\n")
    files = render(scratch_repo, "dev").files
    assert "apps/09-kube-prometheus-stack.yaml" not in files
    assert "apps/10-grafana-dashboards.yaml" not in files
    assert "apps/11-jaeger.yaml" in files


@pytest.mark.parametrize("state", ["disabled", "external"])
def test_verification_can_never_be_skipped(scratch_repo, capsys, state):
    set_component(scratch_repo, "dev", "verification", f"    state: {state}\n")
    assert main(["plan", "--root", str(scratch_repo), "--env", "dev"]) == 2
    assert f"verification cannot be {state}" in capsys.readouterr().err


@pytest.mark.parametrize("component", ["external-secrets", "redis-ha", "litellm"])
def test_critical_component_not_enabled_needs_an_acknowledgement(scratch_repo, capsys, component):
    body = "    state: external\n"
    if component == "redis-ha":
        path = scratch_repo / "environments/dev/environment.yaml"
        path.write_text(re.sub(r"  redis-ha:\n(    .*\n)+", "", path.read_text()))
    if component == "litellm":
        path = scratch_repo / "environments/dev/environment.yaml"
        text = path.read_text()
        start = text.index("  litellm:\n")
        end = text.index("  bastion:\n")
        path.write_text(text[:start] + text[end:])
    set_component(scratch_repo, "dev", component, body)
    assert main(["render", "--root", str(scratch_repo), "--env", "dev"]) == 2
    err = capsys.readouterr().err
    assert f"{component} is critical and is external, but nothing acknowledges it" in err
    assert "acknowledge:" in err


def test_external_renders_nothing_for_it_but_its_dependents_still_render(scratch_repo, capsys):
    set_component(scratch_repo, "dev", "external-secrets",
                  '    state: external\n    acknowledge: "ESO is installed by the platform team\'s cluster add-ons"\n')
    result = render(scratch_repo, "dev")
    assert "apps/07-external-secrets.yaml" not in result.files
    assert "values/external-secrets.yaml" not in result.files
    assert "apps/08-secret-store.yaml" in result.files
    assert result.warnings and "external-secrets is external" in result.warnings[0]
    # Printed on every render, and shown by plan.
    assert main(["render", "--root", str(scratch_repo), "--env", "dev"]) == 0
    assert "warning: dev: critical component external-secrets is external" in capsys.readouterr().err
    assert main(["plan", "--root", str(scratch_repo), "--env", "dev"]) == 0
    out = capsys.readouterr().out
    assert "ESO is installed by the platform team's cluster add-ons" in out
    # The README warns too.
    assert "## Warnings" in result.files["README.md"]


def test_external_dependency_of_enabled_component_is_allowed(scratch_repo):
    set_component(scratch_repo, "dev", "namespaces", "    state: external\n")
    files = render(scratch_repo, "dev").files
    assert not any(p.startswith("manifests/namespaces/") for p in files)
    assert "apps/13-litellm.yaml" in files


def test_disabled_helm_repo_removes_its_chart_from_the_project(scratch_repo):
    set_component(scratch_repo, "dev", "grafana-dashboards", "    state: disabled\n")
    set_component(scratch_repo, "dev", "kube-prometheus-stack", "    state: disabled\n")
    files = render(scratch_repo, "dev").files
    assert "prometheus-community" not in files["apps/05-project.yaml"]
    assert "apps/05-repository-kube-prometheus-stack.yaml" not in files
