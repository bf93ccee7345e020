"""The Pod Security Standards checks (generator/validate/podsecurity.py) against the upstream test
vectors: every fixture kubernetes/pod-security-admission generates for `baseline` and `restricted`
at v1.33 (the clusters' version), v1.34 and v1.35 (tests/testdata/pod-security-admission/SOURCES.md).
A `pass` pod yields no violation; a `fail` pod is rejected by the very check its file is named after
(or, at restricted, by the restricted check that overrides it upstream)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from generator.validate import podsecurity

FIXTURES = Path(__file__).parent / "testdata" / "pod-security-admission"
CASES = sorted(FIXTURES.glob("*/v1.*/*/*.yaml"))
IDS = {check_id.lower(): check_id for check_id, _, _ in podsecurity.CHECKS} | {"procmount": "procMount_baseline"}


def _case(path: Path) -> tuple[str, podsecurity.Version, str]:
    outcome, version, level = path.parent.name, path.parent.parent.name, path.parent.parent.parent.name
    return level, podsecurity.parse_version(version.removeprefix("v")), outcome


def test_fixtures_present():
    assert len(CASES) > 200, "the upstream fixtures are missing"


@pytest.mark.parametrize("path", CASES, ids=[str(p.relative_to(FIXTURES)) for p in CASES])
def test_upstream_fixture(path: Path):
    level, version, outcome = _case(path)
    pod = yaml.safe_load(path.read_text())
    violations = podsecurity.evaluate(level, pod.get("metadata") or {}, pod["spec"], version)
    if outcome == "pass":
        assert violations == []
        return
    prefix = path.stem.rstrip("0123456789")
    expected = {IDS[prefix]}
    expected |= {over for over, under in podsecurity.OVERRIDES.items() if under in expected}
    fired = {check_id for check_id, _, _ in violations}
    assert fired & expected, f"{path.name}: expected {sorted(expected)}, got {violations}"


def test_field_and_rule_are_named():
    spec = {"containers": [{"name": "app", "image": "x", "securityContext": {"allowPrivilegeEscalation": True}}]}
    found = podsecurity.evaluate("restricted", {}, spec, (1, 33), base="spec.template.spec")
    assert ("allowPrivilegeEscalation", "spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation",
            "must be false") in found
    assert podsecurity.evaluate("baseline", {}, spec, (1, 33)) == []
