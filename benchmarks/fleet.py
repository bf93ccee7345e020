"""Fleet benchmark: N environments (default 1,000) on 4 hubs, as benchmarks/render.py makes them
from the prod example, each with a `hub` block (stages dev, staging, prod in turn). In a fresh
repository copy, measured in their own processes (the CLI, as CI runs it):

- `render` (everything written) and `render --check`: ms per environment, peak RSS of the
  command and of its render workers;
- a pull request that changes one environment of N (its LiteLLM replicas): `guard` and `diff`
  over base and head checkouts, and `validate --env <that environment>` (the environment's own
  files plus its hub's folder). Full `validate` of N environments is not run: it checks every
  file of every environment again, which is what incremental validation (another branch) removes.

Targets (issue 14): render <= 50 ms/env, render --check <= 20 ms/env; guard + diff of the one-env
pull request <= 2 s; its validate <= 10 s.

    python3 benchmarks/fleet.py             # 1,000 environments
    python3 benchmarks/fleet.py 200
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))

from render import make_repository  # noqa: E402

HUBS = 4
STAGES = ("dev", "staging", "prod")
# A throwaway self-signed certificate, as tests/testdata/fleet/ carries.
CA = (REPO / "tests" / "testdata" / "fleet" / "eu-dev" / "environment.yaml").read_text().split("caData: ", 1)[1].split()[0]

PEAK = ("import resource, runpy, sys; sys.argv = ['litellm-gitops'] + sys.argv[1:]\n"
        "try:\n    runpy.run_module('generator', run_name='__main__')\n"
        "except SystemExit as exit:\n    code = exit.code\n"
        "me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "cpu = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime\n"
        "print(f'PEAK {me.ru_maxrss / 1024:.1f} {kids.ru_maxrss / 1024:.1f} {cpu:.3f}', file=sys.stderr)\n"
        "sys.exit(code)\n")


def make_fleet(root: Path, count: int) -> list[str]:
    make_repository(root, count)
    names = sorted(p.name for p in (root / "environments").iterdir() if p.is_dir())
    for index, name in enumerate(names):
        path = root / "environments" / name / "environment.yaml"
        endpoint = f"{index:032X}"
        text = path.read_text().replace("  authenticationMode: API\n", f"  authenticationMode: API\n  server: https://{endpoint}.gr7.eu-west-1.eks.amazonaws.com\n")
        text += (f"\nhub:\n  name: hub-{index % HUBS}\n  stage: {STAGES[index % len(STAGES)]}\n"
                 f"  argocdRoleArn: arn:aws:iam::999988887777:role/argocd-hub-{index % HUBS}\n  caData: {CA}\n")
        path.write_text(text)
    assert base64.b64decode(CA).startswith(b"-----BEGIN CERTIFICATE-----")
    return names


def timed(args: list[str], cwd: Path) -> tuple[float, int, tuple[float, float, float], str]:
    """Wall seconds, exit code, (peak RSS MB of the command, of its largest worker, CPU seconds of
    both), output tail. CPU time shows the cost when other work shares the machine."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", PEAK, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    peak = next((line.split()[1:] for line in done.stderr.splitlines() if line.startswith("PEAK ")), ["0", "0", "0"])
    return elapsed, done.returncode, (float(peak[0]), float(peak[1]), float(peak[2])), done.stdout[-2000:] + done.stderr[-2000:]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("count", nargs="?", type=int, default=1000)
    args = parser.parse_args()
    n = args.count
    result: dict[str, object] = {"environments": n, "hubs": HUBS, "cpus": os.cpu_count(),
                                 "load_average_at_start": round(os.getloadavg()[0], 2)}
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        names = make_fleet(base, n)
        seconds, code, peak, out = timed(["render", "--root", str(base)], REPO)
        assert code == 0, out
        result["render_ms_per_env"] = round(seconds * 1000 / n, 1)
        result["render_cpu_ms_per_env"] = round(peak[2] * 1000 / n, 1)
        result["render_peak_mb"] = {"command": peak[0], "largest_worker": peak[1]}
        seconds, code, peak, out = timed(["render", "--check", "--root", str(base)], REPO)
        assert code == 0, out
        result["check_ms_per_env"] = round(seconds * 1000 / n, 1)
        result["check_cpu_ms_per_env"] = round(peak[2] * 1000 / n, 1)
        result["check_peak_mb"] = {"command": peak[0], "largest_worker": peak[1]}
        result["files"] = sum(1 for p in (base / "rendered").rglob("*") if p.is_file())

        head = Path(tmp) / "head"
        shutil.copytree(base, head)
        changed = names[n // 2]
        path = head / "environments" / changed / "environment.yaml"
        path.write_text(path.read_text().replace("    replicas: 4\n", "    replicas: 5\n", 1))
        seconds, code, _, out = timed(["render", "--env", changed, "--root", str(head)], REPO)
        assert code == 0, out
        # The rendered trees only: hydrating the changed environment is benchmarks/hydrate.py's figure.
        guard, guard_code, _, guard_out = timed(["guard", "--base", str(base), "--head", str(head), "--no-hydrate"], REPO)
        diff, diff_code, _, diff_out = timed(["diff", "--base", str(base), "--head", str(head), "--no-hydrate"], REPO)
        result["pr_one_environment"] = {"changed": changed, "guard_s": round(guard, 2), "guard_exit": guard_code,
                                        "diff_s": round(diff, 2), "diff_exit": diff_code,
                                        "guard_plus_diff_s": round(guard + diff, 2)}
        cache = Path(tmp) / "schemas"
        subprocess.run([sys.executable, "-m", "generator", "schemas", "sync", "--from", str(REPO.parent / "shared" / "crds"),
                        "--cache", str(cache)], cwd=REPO, capture_output=True, check=False)
        seconds, code, peak, out = timed(["validate", "--env", changed, "--root", str(head), "--cache", str(cache),
                                          "--charts", str(REPO.parent / "shared" / "charts")], REPO)
        result["pr_one_environment"]["validate_env_s"] = round(seconds, 2)
        result["pr_one_environment"]["validate_exit"] = code
    result["targets"] = {"render_ms_per_env": 50, "check_ms_per_env": 20, "guard_plus_diff_s": 2, "validate_s": 10}
    print(json.dumps(result, indent=2))
    ok = result["render_ms_per_env"] <= 50 and result["check_ms_per_env"] <= 20  # type: ignore[operator]
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
