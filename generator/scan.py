"""checkov, the standard scanner, on what the stack applies, against a committed baseline.

`python -m generator.scan [--env NAME ...]` hydrates each environment (generator/applied: the real
`helm template`), writes every object exactly as Argo CD sends it (the destination namespace
defaulted, as AppliedObject.namespace holds it), and runs checkov's Kubernetes checks on them and
its CloudFormation checks on rendered/<env>/cloudformation. Every failed check must be accepted in
security/checkov-baseline.yaml: an entry names the check, the reason, and the resources (checkov's
`Kind.namespace.name`, or `AWS::Type.LogicalId`) it is accepted for. A finding not in the baseline
fails (exit 1); an accepted resource that no longer fails is reported, so the baseline only shrinks.
Bad input (no checkov, a malformed baseline) exits 2.

checkov runs offline: no guideline download (BC_SKIP_MAPPING), no external checks (--skip-download).
It is installed apart from the project (tools/install: requirements/scan.txt).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from generator.applied import Hydrator, hydrate
from generator.applied import cache as render_cache
from generator.environment import environment_names
from generator.errors import InputError

BASELINE = Path("security") / "checkov-baseline.yaml"
TIMEOUT_SECONDS = 900


@dataclass(frozen=True)
class Finding:
    check: str
    resource: str
    name: str  # checkov's check name

    def line(self) -> str:
        return f"{self.check} {self.resource}: {self.name}"


@dataclass
class Result:
    passed: int = 0
    failed: int = 0
    findings: tuple[Finding, ...] = ()


def load_baseline(path: Path) -> dict[str, dict[str, Any]]:
    """check -> {reason, resources}; malformed: InputError naming the entry."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"cannot read the checkov baseline: {exc}", file=path,
                         hint="restore security/checkov-baseline.yaml from main") from None
    entries = (data or {}).get("accepted") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise InputError("the checkov baseline has no `accepted:` list", file=path, hint="see the file's header")
    result: dict[str, dict[str, Any]] = {}
    for index, entry in enumerate(entries):
        ok = isinstance(entry, dict) and isinstance(entry.get("check"), str) and isinstance(entry.get("reason"), str) \
            and entry["reason"].strip() and isinstance(entry.get("resources"), list)
        if not ok or entry["check"] in result:
            raise InputError(f"accepted[{index}] needs a unique `check`, a non-empty `reason` and a `resources` list",
                             file=path, hint="one entry per check, each with its reason")
        result[entry["check"]] = {"reason": entry["reason"], "resources": {str(r) for r in entry["resources"]}}
    return result


def write_objects(root: Path, env: str, folder: Path) -> None:
    state = hydrate(root, [env], Hydrator(charts=_charts(root), cache_dir=render_cache.default_dir(root)))[env]
    for index, obj in enumerate(state):
        doc = json.loads(json.dumps(obj.doc))
        if obj.namespace:
            doc.setdefault("metadata", {})["namespace"] = obj.namespace
        (folder / f"{index:04d}-{obj.kind}.yaml").write_text(yaml.safe_dump(doc, sort_keys=True))


def _charts(root: Path) -> Path:
    from generator import autosync
    return autosync.chart_folder(root, None)


def checkov(folder: Path, framework: str) -> Result:
    binary = shutil.which("checkov")
    if binary is None:
        raise InputError("checkov is not installed", hint="run tools/install (it installs checkov from requirements/scan.txt)")
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "LOG_LEVEL": "ERROR", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    done = subprocess.run([binary, "-d", str(folder), "--framework", framework, "-o", "json", "--quiet", "--compact",
                           "--skip-download"], capture_output=True, text=True, env=env, timeout=TIMEOUT_SECONDS, check=False)
    if done.returncode not in (0, 1) or not done.stdout.strip():
        raise InputError(f"checkov ({framework}) failed: {done.stderr.strip()[-400:]}", hint="run it by hand to see why")
    reports = json.loads(done.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    result = Result()
    findings = []
    for report in reports:
        if "summary" not in report:
            continue  # checkov's empty report: nothing of that framework in the folder
        result.passed += report["summary"]["passed"]
        result.failed += report["summary"]["failed"]
        findings += [Finding(f["check_id"], f["resource"], f["check_name"]) for f in report["results"]["failed_checks"]]
    result.findings = tuple(sorted(set(findings), key=lambda f: (f.check, f.resource)))
    return result


def scan(root: Path, env: str) -> dict[str, Result]:
    with tempfile.TemporaryDirectory(prefix="litellm-gitops-scan-") as tmp:
        objects = Path(tmp) / "objects"
        objects.mkdir()
        write_objects(root, env, objects)
        results = {"kubernetes": checkov(objects, "kubernetes")}
    cfn = root / "rendered" / env / "cloudformation"
    if cfn.is_dir():
        results["cloudformation"] = checkov(cfn, "cloudformation")
    return results


def compare(findings: list[Finding], baseline: dict[str, dict[str, Any]]) -> tuple[list[Finding], list[str]]:
    """(findings the baseline does not accept, accepted `check resource` pairs no finding needs)."""
    new = [f for f in findings if f.resource not in baseline.get(f.check, {}).get("resources", set())]
    seen = {(f.check, f.resource) for f in findings}
    stale = sorted(f"{check} {resource}" for check, entry in baseline.items() for resource in entry["resources"]
                   if (check, resource) not in seen)
    return new, stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m generator.scan", description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", action="append", help="environment (repeatable; default: every one)")
    parser.add_argument("--root", type=Path, default=Path("."), help="the repository (default: .)")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    try:
        baseline = load_baseline(root / BASELINE)
        names = args.env or environment_names(root / "environments")
        findings: list[Finding] = []
        for name in names:
            for framework, result in scan(root, name).items():
                print(f"{name} {framework}: {result.passed} passed, {result.failed} failed")
                findings += result.findings
    except InputError as exc:
        where = f"{exc.file}: " if exc.file else ""
        print(f"error: {where}{exc.message}" + (f"; fix: {exc.hint}" if exc.hint else ""), file=sys.stderr)
        return 2
    new, stale = compare(sorted(set(findings), key=lambda f: (f.check, f.resource)), baseline)
    for finding in new:
        print(f"NEW {finding.line()}")
    if not args.env:  # a stale entry can only be judged against every environment
        for pair in stale:
            print(f"no longer failing (remove it from {BASELINE}): {pair}")
    if new:
        print(f"{len(new)} finding(s) not in {BASELINE}: fix them, or accept each there with its reason", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
