"""validate over the applied state: wiring rules on YAML fixtures, and real charts rendered with
values that break a CRD constraint, a secret reference or a selector."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from generator.applied.model import AppliedObject, AppliedState
from generator.validate.hydrated import wiring_check
from generator.validate.runner import Options, validate

WIRING = Path(__file__).parent / "testdata" / "wiring"


def _state(path: Path) -> tuple[AppliedState, list[str], list[str] | None]:
    text = path.read_text(encoding="utf-8")
    expected = re.findall(r"^# expect: (.+)$", text, re.M)
    storage = re.search(r"^# storage: (.+)$", text, re.M)
    state = AppliedState("test")
    for index, doc in enumerate(d for d in yaml.safe_load_all(text) if d):
        obj = AppliedObject(doc, "test-app", 1, f"chart demo 1.0.0: demo/templates/{index}.yaml", doc["metadata"].get("namespace", ""))
        state.objects[obj.key] = obj
    return state, expected, storage.group(1).split(",") if storage else None


@pytest.mark.parametrize("case", sorted(p.name for p in WIRING.glob("*.yaml")))
def test_wiring_fixture(case):
    state, expected, storage = _state(WIRING / case)
    lines = [f"{p.field}: {p.message}" for p in wiring_check(state, storage)]
    assert len(lines) == len(expected), lines
    for want in expected:
        assert any(line.startswith(want.split(": ", 1)[0]) and want.split(": ", 1)[1] in line for line in lines), (want, lines)


def _validate(repo: Path, schema_cache: Path, tmp_path: Path):
    return validate(Options(root=repo, environments=["dev"], cache=schema_cache, hydrate=True,
                            hydrate_cache=tmp_path / "hydrate-cache"))


def _edit(repo: Path, values: str, old: str, new: str) -> None:
    path = repo / "rendered" / "dev" / "values" / values
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


BREAKS = [
    pytest.param("kube-prometheus-stack.yaml", "  prometheusSpec:\n", "  prometheusSpec:\n    maximumStartupDurationSeconds: 30\n",
                 "hydrated/dev/dev-kube-prometheus-stack: Prometheus/kube-prometheus-stack-prometheus: "
                 "spec.maximumStartupDurationSeconds: 30 is less than the minimum of 60", id="crd-constraint"),
    pytest.param("litellm.yaml", "environmentSecrets:\n- litellm-secrets\n", "environmentSecrets:\n- litellm-secretz\n",
                 "hydrated/dev/dev-litellm: Deployment/litellm: spec.template.spec.containers[0].envFrom[0].secretRef.name: "
                 "Secret litellm/litellm-secretz does not exist in the applied state and no ExternalSecret creates it", id="secret-reference"),
    pytest.param("litellm.yaml", "serviceMonitor:\n  enabled: false\n",
                 "serviceMonitor:\n  enabled: true\n  namespaceSelector:\n    matchNames:\n    - open-webui\n",
                 "hydrated/dev/dev-litellm: ServiceMonitor/litellm: spec.selector: selects no Service in the applied state",
                 id="selector"),
    pytest.param("open-webui.yaml", "  storageClass: gp3-encrypted\n", "  storageClass: ''\n",
                 "hydrated/dev/dev-open-webui: PersistentVolumeClaim/open-webui: spec.storageClassName: "
                 "names no storage class (declared: gp3-encrypted)", id="claim-without-the-declared-class"),
    pytest.param("redis-ha.yaml", "  storageClass: gp3-encrypted\n", "  storageClass: gp2\n",
                 "hydrated/dev/dev-redis-ha: StatefulSet/redis-ha-server: spec.volumeClaimTemplates[0].spec.storageClassName: "
                 "storage class 'gp2' is not declared by the environment", id="claim-with-another-class"),
]


@pytest.mark.parametrize("values, old, new, problem", BREAKS)
def test_a_values_change_that_breaks_the_applied_state_fails_validate(scratch_repo, schema_cache, tmp_path, values, old, new, problem):
    _edit(scratch_repo, values, old, new)
    report = _validate(scratch_repo, schema_cache, tmp_path)
    lines = [p.line() for p in report.problems]
    assert any(line.startswith(problem) for line in lines), "\n".join(lines)
    assert not report.ok


def test_the_committed_applied_state_is_clean(scratch_repo, schema_cache, tmp_path):
    report = _validate(scratch_repo, schema_cache, tmp_path)
    assert report.ok, report.text()
    assert report.documents["hydrated"] > 200
