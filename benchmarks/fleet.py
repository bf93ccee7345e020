"""Fleet benchmark: N environments (default 1,000) on 4 hubs, as benchmarks/render.py makes them
from the prod example, each with a `hub` block (stages dev, staging, prod in turn). In a fresh
repository copy, measured in their own processes (the CLI, as CI runs it):

- `render` (everything written) and `render --check`: ms per environment, peak RSS of the
  command and of its render workers;
- a pull request that changes one environment of N (its LiteLLM replicas), as the workflows see it:
  base and head are git checkouts (the head a clone with one commit on top), so unchanged
  environments are compared by their git tree ids (generator/guard/gitsnap.py). The guard and
  the diff, as review.yml runs them (one command: `guard --markdown --diff-markdown`), are
  measured three times: on the rendered files (--no-hydrate), and hydrating the changed
  environment on both sides with the real helm, cold (an empty render cache) and with the base's
  render cache restored (as the workflows restore what ci.yml saved on the default branch: a pull
  request never writes it); with --separate also as the two commands `guard` then `diff`;
- `validate` of that pull request: the whole head, after a validate of the base left its records;
- with --fleet-wide SHARDS, a pull request that changes every environment's LiteLLM values,
  guarded in SHARDS shards (`guard --shard I/N`, then `guard-combine`), cold and with the base's
  render cache: per-shard time, the slowest shard (the check's wall time on a matrix) and the total.

Targets (issues 14, 25): render <= 50 ms/env, render --check <= 20 ms/env; guard + diff of the
one-env pull request <= 2 s with the base's render cache, <= 10 s cold; its validate <= 10 s.

    python3 benchmarks/fleet.py             # 1,000 environments
    python3 benchmarks/fleet.py 200
    python3 benchmarks/fleet.py 16 --fleet-wide 2
    python3 benchmarks/fleet.py 1000 --only-pr --separate   # the one-environment pull request only
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
# A throwaway self-signed certificate, as examples/hub-fleet/ carries.
CA = (REPO / "examples" / "hub-fleet" / "eu-dev" / "environment.yaml").read_text().split("caData: ", 1)[1].split()[0]

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


def timed(args: list[str], cwd: Path, whole_stdout: bool = False) -> tuple[float, int, tuple[float, float, float], str]:
    """Wall seconds, exit code, (peak RSS MB of the command, of its largest worker, CPU seconds of
    both), output tail (`whole_stdout`: all of stdout). CPU time shows the cost when other work
    shares the machine."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", PEAK, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    peak = next((line.split()[1:] for line in done.stderr.splitlines() if line.startswith("PEAK ")), ["0", "0", "0"])
    out = done.stdout if whole_stdout else done.stdout[-2000:] + done.stderr[-2000:]
    return elapsed, done.returncode, (float(peak[0]), float(peak[1]), float(peak[2])), out


def _git(repo: Path, *args: str) -> None:
    # No automatic gc or maintenance: a commit of ~90,000 files would start one detached, which then
    # competes with the timed commands and writes into .git/objects while the folder is removed.
    subprocess.run(["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid", "-c", "init.defaultBranch=main",
                    "-c", "gc.auto=0", "-c", "maintenance.auto=false", "-C", str(repo), *args], check=True, capture_output=True)


def validate_pair(tmp: Path, base: Path, head: Path, charts: str) -> dict[str, object]:
    """`validate` of every environment of the base (which leaves a record of each clean one), then
    of the head: only what the pull request changed is checked again. One schema cache, render
    cache and record folder, as CI's restored caches give them."""
    env = {"LITELLM_GITOPS_SCHEMA_CACHE": str(tmp / "schemas"), "LITELLM_GITOPS_HYDRATE_CACHE": str(tmp / "hydrated"),
           "LITELLM_GITOPS_VALIDATE_CACHE": str(tmp / "validated"), "LITELLM_GITOPS_CHARTS": charts}
    os.environ.update(env)
    subprocess.run([sys.executable, "-m", "generator", "schemas", "sync", "--from", str(REPO.parent / "shared" / "crds"),
                    "--cache", env["LITELLM_GITOPS_SCHEMA_CACHE"]], cwd=REPO, capture_output=True, check=True)
    cold, cold_code, cold_peak, out = timed(["validate", "--root", str(base)], REPO)
    assert cold_code == 0, out
    pr, pr_code, pr_peak, out = timed(["validate", "--root", str(head)], REPO)
    assert pr_code == 0, out
    return {"base_all_environments_s": round(cold, 1), "base_peak_mb": cold_peak[0],
            "pull_request_s": round(pr, 2), "pull_request_peak_mb": pr_peak[0], "summary": out.strip().splitlines()[-1]}


def fleet_wide(tmp: Path, base: Path, names: list[str], charts: str, shards: int,
               only: int | None = None, cold: bool = True) -> dict[str, object]:
    """A pull request that changes every environment's LiteLLM values (as a defaults.yaml edit that
    reaches every LiteLLM Application would), guarded as guard.yml runs it: `shards` jobs of
    `guard --shard I/N`, each with its own render cache (empty: cold; a copy of the base's, as
    restored from the default branch), then `guard-combine`. On one machine the shards run one
    after another; on GitHub each is its own runner, so the wall time of the check is the slowest
    shard plus the combine, and the runner time is the sum.

    `only`: guard shard `only` of `shards` alone (the base's render cache filled for its
    environments only, as validate shard `only` on the default branch fills it; no combine): at
    1,000 environments one shard is what fits on a shared machine. `cold`: False skips the cold run."""
    from generator import shard

    measured = [only] if only else list(range(1, shards + 1))
    head = tmp / "head-all"
    _git(tmp, "clone", "-q", str(base), str(head))
    for name in names:
        path = head / "environments" / name / "environment.yaml"
        path.write_text(path.read_text().replace("    replicas: 4\n", "    replicas: 6\n", 1))
    seconds, code, _, out = timed(["render", "--root", str(head)], REPO)
    assert code == 0, out
    _git(head, "add", "-A")
    _git(head, "commit", "-qm", "every environment: 6 replicas")
    warm = tmp / "hydrated-all-base"
    owned = [f"--env={name}" for name in names if only is None or shard.of(name, shards) == only]
    fill, code, fill_peak, out = timed(["hydrate", "--root", str(base), *(owned if only else []), "--charts", charts,
                                        "--hydrate-cache", str(warm)], REPO)
    assert code == 0, out
    result: dict[str, object] = {"environments": len(names), "shards": shards, "measured_shards": measured,
                                 "base_cache_fill_environments": len(owned),
                                 "base_cache_fill_s": round(fill, 1), "base_cache_fill_cpu_s": round(fill_peak[2], 1)}
    for label in ("cold", "base_cache") if cold else ("base_cache",):
        runs, files = [], []
        for index in measured:
            cache = tmp / f"hydrated-{label}-{index}"
            if label == "base_cache":
                shutil.copytree(warm, cache)
            seconds, code, peak, out = timed(["guard", "--shard", f"{index}/{shards}", "--base", str(base), "--head", str(head),
                                              "--charts", charts, "--hydrate-cache", str(cache)], REPO, whole_stdout=True)
            assert code == 0, out
            files.append(tmp / f"shard-{label}-{index}.json")
            files[-1].write_text(out)
            runs.append({"shard": f"{index}/{shards}", "environments": len(json.loads(files[-1].read_text())["environments"]),
                         "s": round(seconds, 1), "cpu_s": round(peak[2], 1), "peak_mb": peak[0]})
        if only:
            result[label] = {"per_shard": runs}
            continue
        combine, code, _, out = timed(["guard-combine", "--shards", str(shards), *map(str, files)], REPO)
        assert code in (0, 1), out
        result[label] = {"per_shard": runs, "slowest_shard_s": max(r["s"] for r in runs),  # type: ignore[type-var]
                         "combine_s": round(combine, 2), "total_runner_s": round(sum(r["s"] for r in runs) + combine, 1),  # type: ignore[misc]
                         "total_cpu_s": round(sum(r["cpu_s"] for r in runs), 1)}  # type: ignore[misc]
    return result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("count", nargs="?", type=int, default=1000)
    parser.add_argument("--validate", action="store_true",
                        help="also validate the base (every environment: about 2 s each on 2 CPUs), then the pull request")
    parser.add_argument("--only-shard", type=int, metavar="I",
                        help="with --fleet-wide N: guard shard I of N only (its base cache filled for its environments only)")
    parser.add_argument("--no-cold", action="store_true", help="with --fleet-wide: skip the cold run (base's cache only)")
    parser.add_argument("--skip-one-env", action="store_true", help="skip the one-environment pull request")
    parser.add_argument("--separate", action="store_true",
                        help="also time `guard` and `diff` as two commands (review.yml before issue 25)")
    parser.add_argument("--only-pr", action="store_true",
                        help="skip the `render --check` timing (the fleet is still rendered once: the pull requests need it)")
    parser.add_argument("--fleet-wide", type=int, default=0, metavar="SHARDS",
                        help="also guard a pull request that changes every environment, in SHARDS shards "
                             "(about 2.5 s of helm per environment per side cold on 2 CPUs)")
    args = parser.parse_args()
    if args.only_shard is not None and not 1 <= args.only_shard <= args.fleet_wide:
        parser.error("--only-shard I needs --fleet-wide N with 1 <= I <= N")
    n = args.count
    result: dict[str, object] = {"environments": n, "hubs": HUBS, "cpus": os.cpu_count(),
                                 "load_average_at_start": round(os.getloadavg()[0], 2)}
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        base = Path(tmp) / "base"
        names = make_fleet(base, n)
        seconds, code, peak, out = timed(["render", "--root", str(base)], REPO)
        assert code == 0, out
        result["render_ms_per_env"] = round(seconds * 1000 / n, 1)
        result["render_cpu_ms_per_env"] = round(peak[2] * 1000 / n, 1)
        result["render_peak_mb"] = {"command": peak[0], "largest_worker": peak[1]}
        if not args.only_pr:
            seconds, code, peak, out = timed(["render", "--check", "--root", str(base)], REPO)
            assert code == 0, out
            result["check_ms_per_env"] = round(seconds * 1000 / n, 1)
            result["check_cpu_ms_per_env"] = round(peak[2] * 1000 / n, 1)
            result["check_peak_mb"] = {"command": peak[0], "largest_worker": peak[1]}
        result["files"] = sum(1 for p in (base / "rendered").rglob("*") if p.is_file())

        _git(base, "init", "-q")
        _git(base, "add", "-A")
        _git(base, "commit", "-qm", "base")
        charts = str(REPO.parent / "shared" / "charts")
        pr: dict[str, object] = {}
        if not args.skip_one_env:
            head = Path(tmp) / "head"
            _git(Path(tmp), "clone", "-q", str(base), str(head))
            changed = names[n // 2]
            path = head / "environments" / changed / "environment.yaml"
            path.write_text(path.read_text().replace("    replicas: 4\n", "    replicas: 5\n", 1))
            seconds, code, _, out = timed(["render", "--env", changed, "--root", str(head)], REPO)
            assert code == 0, out
            _git(head, "add", "-A")
            _git(head, "commit", "-qm", f"{changed}: 5 replicas")
            pr["changed"] = changed
            warm = Path(tmp) / "hydrated-base"
            # The base's render cache as ci.yml's last run on the default branch saves it (it hydrated
            # the base's environments; the changed one is all the guard reads of it).
            seconds, code, _, out = timed(["hydrate", "--root", str(base), "--env", changed, "--charts", charts,
                                           "--hydrate-cache", str(warm)], REPO)
            assert code == 0, out

            def options(label: str, run: str) -> list[str]:
                """Each run its own render cache: empty (cold) or a fresh copy of the base's."""
                if label == "rendered_files":
                    return ["--no-hydrate"]
                cache = Path(tmp) / f"hydrated-{label}-{run}"
                if label == "hydrated_base_cache":
                    shutil.copytree(warm, cache)
                return ["--charts", charts, "--hydrate-cache", str(cache)]

            for label in ("rendered_files", "hydrated_cold", "hydrated_base_cache"):
                # As review.yml runs it: one command writes the verdict and the plan (guard --diff-markdown).
                both, code, peak, out = timed(["guard", "--base", str(base), "--head", str(head), *options(label, "one"),
                                               "--markdown", str(Path(tmp) / "guard.md"), "--diff-markdown", str(Path(tmp) / "diff.md")], REPO)
                assert code == 0, out
                pr[label] = {"guard_plus_diff_s": round(both, 2), "guard_plus_diff_cpu_s": round(peak[2], 2), "peak_mb": peak[0]}
                if args.separate:  # `guard` then `diff` (what review.yml ran before issue 25), the diff after the guard's renders
                    extra = options(label, "two")
                    guard, guard_code, guard_peak, guard_out = timed(["guard", "--base", str(base), "--head", str(head), *extra], REPO)
                    diff, diff_code, diff_peak, diff_out = timed(["diff", "--base", str(base), "--head", str(head), *extra], REPO)
                    assert guard_code == 0 and diff_code == 0, guard_out + diff_out
                    pr[label]["separate"] = {"guard_s": round(guard, 2), "diff_s": round(diff, 2), "guard_plus_diff_s": round(guard + diff, 2),
                                             "cpu_s": round(guard_peak[2] + diff_peak[2], 2)}
            result["pr_one_environment"] = pr
            pr["validate"] = validate_pair(Path(tmp), base, head, charts) if args.validate else "not run (--validate)"
        if args.fleet_wide:
            result["pr_every_environment"] = fleet_wide(Path(tmp), base, names, charts, args.fleet_wide,
                                                        args.only_shard, cold=not args.no_cold)
    result["targets"] = {"render_ms_per_env": 50, "check_ms_per_env": 20, "guard_plus_diff_s": 2,
                         "guard_plus_diff_cold_s": 10, "validate_s": 10}
    print(json.dumps(result, indent=2))
    ok = result["render_ms_per_env"] <= 50 and result.get("check_ms_per_env", 0) <= 20  # type: ignore[operator]
    if not args.skip_one_env:
        ok = ok and pr["rendered_files"]["guard_plus_diff_s"] <= 2  # type: ignore[index]
        ok = ok and pr["hydrated_base_cache"]["guard_plus_diff_s"] <= 2  # type: ignore[index]
        ok = ok and pr["hydrated_cold"]["guard_plus_diff_s"] <= 10  # type: ignore[index]
    if args.validate and not args.skip_one_env:
        ok = ok and pr["validate"]["pull_request_s"] <= 10  # type: ignore[index]
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
