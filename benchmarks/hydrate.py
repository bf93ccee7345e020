"""hydrate benchmark: the applied state of one environment cold and warm, and of a fleet of N
environments (default 100, derived from the prod example as benchmarks/render.py makes them)
after a one-environment values change.

Every figure is one `litellm-gitops hydrate` process (Python start-up included), with the real helm
(PATH or $LITELLM_GITOPS_HELM) and the pinned charts from ../shared/charts (or $LITELLM_GITOPS_SHARED).

Target (issue 10): the fleet after a one-environment change (only that environment's changed
Application renders again) in at most 10 s on 2 cores. Cold figures are reported too.

    python3 benchmarks/hydrate.py          # 100 environments
    python3 benchmarks/hydrate.py 20
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from render import make_repository  # noqa: E402

SHARED = Path(os.environ.get("LITELLM_GITOPS_SHARED", REPO.parent / "shared")).resolve()


def hydrate(root: Path, cache: Path, *envs: str) -> tuple[float, int]:
    """Seconds and helm renders of one `litellm-gitops hydrate` run."""
    args = [sys.executable, "-m", "generator", "hydrate", "--root", str(root), "--charts", str(SHARED / "charts"),
            "--hydrate-cache", str(cache), "--json"] + [f"--env={e}" for e in envs]
    start = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"hydrate failed ({done.returncode}): {done.stderr}")
    return elapsed, json.loads(done.stdout)["helmRenders"]


def render(root: Path) -> None:
    subprocess.run([sys.executable, "-m", "generator", "render", "--root", str(root)], check=True, capture_output=True)


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        one = Path(tmp) / "one"
        make_repository(one, 1)
        render(one)
        cache = Path(tmp) / "cache-one"
        rows.append(("1 environment, cold", *hydrate(one, cache)))
        rows.append(("1 environment, warm", *hydrate(one, cache)))

        fleet = Path(tmp) / "fleet"
        make_repository(fleet, count)
        render(fleet)
        cache = Path(tmp) / "cache-fleet"
        rows.append((f"{count} environments, cold", *hydrate(fleet, cache)))
        rows.append((f"{count} environments, warm", *hydrate(fleet, cache)))
        values = fleet / "rendered" / "bench-0000" / "values" / "litellm.yaml"
        values.write_text(values.read_text().replace("replicaCount: 4", "replicaCount: 5"))
        rows.append((f"{count} environments, one changed", *hydrate(fleet, cache)))
    print(f"{'case':<34} {'seconds':>8} {'helm runs':>9}")
    for name, seconds, renders in rows:
        print(f"{name:<34} {seconds:>8.2f} {renders:>9}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
