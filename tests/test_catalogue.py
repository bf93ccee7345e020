"""The phase catalogue: the spec's table as data, waves equal phases, and order checks that bite."""

from __future__ import annotations

import dataclasses

import pytest

from generator import phases
from generator.errors import InputError
from generator.phases import BY_NAME, COMPONENTS, PHASES, Component, Delivery, check_catalogue


def test_fifteen_phases_in_the_spec_order():
    assert [p.number for p in PHASES] == list(range(1, 16))
    assert PHASES[0].title == "Prerequisites Check" and PHASES[-1].title == "Verification"


def test_phase_dependencies_follow_the_complete_deployment_flow():
    deps = {p.number: set(p.depends_on) for p in PHASES}
    assert deps[10] == {8, 9}  # P8 --> P10 and P9 --> P10
    assert deps[11] == {8} and deps[12] == {8} and deps[9] == {8}
    assert deps[13] == {12} and deps[14] == {13} and deps[15] == {14}


def test_components_named_as_the_issue_asks():
    configurable = {c.name for c in COMPONENTS if c.delivery is not Delivery.CHECK}
    assert configurable == {
        "irsa-roles", "aws-secrets", "helm-repos", "namespaces", "storage-class", "external-secrets", "reloader",
        "secret-store",
        "kube-prometheus-stack", "grafana-dashboards", "jaeger", "redis-ha", "litellm", "open-webui",
        "verification", "bastion"}
    assert {c.name for c in COMPONENTS if c.critical} == {"external-secrets", "redis-ha", "litellm"}
    assert {c.name for c in COMPONENTS if not c.can_disable} == {"prerequisites", "yaml-validation", "verification"}


def test_wave_is_the_phase_number_for_everything_argo_cd_syncs():
    for component in COMPONENTS:
        if component.delivery in (Delivery.ARGOCD_APP, Delivery.ARGOCD_CONFIG):
            assert component.wave == component.phase
        else:
            assert component.wave is None


def test_the_real_catalogue_passes():
    check_catalogue()


def test_dependency_in_the_same_wave_is_refused():
    broken = tuple(dataclasses.replace(c, phase=12) if c.name == "litellm" else c for c in COMPONENTS)
    with pytest.raises(InputError, match="litellm .wave 12. depends on redis-ha .wave 12."):
        check_catalogue(components=broken)


def test_dependency_in_a_later_phase_is_refused():
    broken = tuple(dataclasses.replace(p, depends_on=(15,)) if p.number == 14 else p for p in PHASES)
    with pytest.raises(InputError, match="phase 14 .* depends on phase 15"):
        check_catalogue(phases=broken)


def test_cycle_is_refused():
    extra = (Component("a", None, Delivery.CLOUDFORMATION, ("b",)), Component("b", None, Delivery.CLOUDFORMATION, ("a",)))
    with pytest.raises(InputError, match="dependency cycle: a -> b -> a"):
        check_catalogue(components=COMPONENTS + extra)


def test_unknown_dependency_is_refused():
    extra = (Component("a", 7, Delivery.ARGOCD_APP, ("nope",)),)
    with pytest.raises(InputError, match="unknown component nope"):
        check_catalogue(components=COMPONENTS + extra)


def test_render_runs_the_check(monkeypatch, repo_root):
    from generator.environment import load_environment
    from generator.render import render_environment

    bad = tuple(dataclasses.replace(p, depends_on=(9,)) if p.number == 9 else p for p in PHASES)
    monkeypatch.setattr(phases, "PHASES", bad)
    with pytest.raises(InputError, match="phase 9"):
        render_environment(load_environment(repo_root / "environments", "dev"))


def test_every_component_name_is_unique():
    assert len(BY_NAME) == len(COMPONENTS)
