"""checkov (the locked scanner, requirements/scan.txt) on prod's hydrated objects and CloudFormation
agrees with security/checkov-baseline.yaml (generator/scan.py): no finding outside it, a new one
fails, and the stack's own workloads are accepted for no hardening check."""

from __future__ import annotations

import shutil

import pytest
import yaml

from conftest import REPO
from generator import scan
from generator.errors import InputError

# checkov's hardening checks (checkov/kubernetes/checks/resource/k8s): root, privilege escalation,
# privileged, capabilities, host namespaces, seccomp, read-only root, requests and memory limits.
HARDENING = {f"CKV_K8S_{n}" for n in (1, 2, 3, 4, 5, 6, 7, 10, 12, 13, 16, 17, 18, 19, 20, 22, 23, 24, 25, 28, 31, 36, 37, 39)}
OWN = ("Deployment.litellm.litellm", "Job.litellm.litellm-migrations", "StatefulSet.open-webui.open-webui",
       "StatefulSet.litellm.redis-ha-server", "Deployment.litellm.redis-ha-haproxy", "Job.litellm.verify-stack",
       "Job.litellm.register-openwebui-key")



def test_checkov_is_installed():
    assert shutil.which("checkov"), "run tools/install: it installs checkov from requirements/scan.txt"


def test_the_baseline_accepts_no_hardening_finding_on_the_stack_workloads():
    baseline = scan.load_baseline(REPO / scan.BASELINE)
    for check, entry in baseline.items():
        if check in HARDENING:
            assert not entry["resources"] & set(OWN), f"{check} accepted for {sorted(entry['resources'] & set(OWN))}"


def test_prod_agrees_with_the_baseline():
    results = scan.scan(REPO, "prod")
    assert results["kubernetes"].passed > 1700 and results["cloudformation"].passed > 0
    findings = [f for result in results.values() for f in result.findings]
    new, _ = scan.compare(findings, scan.load_baseline(REPO / scan.BASELINE))
    assert new == [], "\n".join(f.line() for f in new)


def test_a_new_finding_fails(tmp_path):
    """A privileged, root pod in litellm: checkov's real verdicts, none of them accepted."""
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "debug", "namespace": "litellm"},
           "spec": {"containers": [{"name": "sh", "image": "busybox:1.37", "securityContext": {"privileged": True, "runAsUser": 0}}]}}
    (tmp_path / "pod.yaml").write_text(yaml.safe_dump(pod))
    result = scan.checkov(tmp_path, "kubernetes")
    new, _ = scan.compare(list(result.findings), scan.load_baseline(REPO / scan.BASELINE))
    assert {"CKV_K8S_16", "CKV_K8S_23"} <= {f.check for f in new if f.resource == "Pod.litellm.debug"}


@pytest.mark.parametrize("text", ["accepted: {}\n", "accepted:\n  - check: CKV_K8S_11\n    resources: []\n",
                                  "accepted:\n  - check: X\n    reason: r\n    resources: []\n  - check: X\n    reason: r\n    resources: []\n",
                                  "accepted: [\n"])
def test_a_malformed_baseline_is_bad_input(tmp_path, text, capsys):
    (tmp_path / "security").mkdir()
    (tmp_path / scan.BASELINE).write_text(text)
    with pytest.raises(InputError):
        scan.load_baseline(tmp_path / scan.BASELINE)
    assert scan.main(["--root", str(tmp_path), "--env", "prod"]) == 2
    err = capsys.readouterr().err
    assert "checkov-baseline.yaml" in err and "Traceback" not in err
