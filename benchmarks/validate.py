"""Benchmark: litellm-gitops validate against kubernetes-validate --strict on the same core documents.

The documents are every core-kind (Kubernetes' own) document under rendered/<env>/{apps,bootstrap,
manifests}, validated for each environment's cluster.kubernetesVersion, repeated --copies times so
the run is not all start-up. Two comparisons, side by side:

  api: in one Python process. litellm-gitops: generator.validate.kubernetes.CoreSchemas (loads and
       compiles each schema once, as `validate` does) + iter_errors per document. kubernetes-validate:
       its Python API, kubernetes_validate.validate(doc, version, strict=True) per document (which
       reads and compiles the schema and its 1.4 MB _definitions.json on every call).
  cli: each tool's command line in a subprocess over the same files: `litellm-gitops validate`
       (a scratch repository holding only those documents) and `kubernetes-validate --strict -k V --quiet`.

Usage: python benchmarks/validate.py [--root .] [--copies 10] [--rounds 3]
Prints seconds (best of --rounds) and the ratio kubernetes-validate / litellm-gitops.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import kubernetes_validate
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from generator.environment import environment_names, load_environment  # noqa: E402
from generator.validate.kubernetes import CoreSchemas  # noqa: E402
from generator.yamlio import load_all_plain  # noqa: E402

FOLDERS = ("apps", "bootstrap", "manifests")


def core_documents(root: Path) -> dict[str, tuple[str, list[dict]]]:
    """env -> (Kubernetes version, its core-kind documents)."""
    found = {}
    for name in environment_names(root / "environments"):
        version = str(load_environment(root / "environments", name).cluster["kubernetesVersion"])
        core = CoreSchemas(version)
        docs = []
        for sub in FOLDERS:
            for file in sorted((root / "rendered" / name / sub).rglob("*.yaml")):
                docs.extend(doc for doc in load_all_plain(file.read_text())
                            if isinstance(doc, dict) and core.lookup(doc.get("apiVersion", ""), doc.get("kind", "")))
        found[name] = (version, docs)
    return found


def best(rounds: int, action) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def ours_api(sets: dict[str, tuple[str, list[dict]]]) -> int:
    problems = 0
    by_version: dict[str, CoreSchemas] = {}
    for version, docs in sets.values():
        core = by_version.setdefault(version, CoreSchemas(version))
        for doc in docs:
            problems += sum(1 for _ in core.lookup(doc["apiVersion"], doc["kind"]).iter_errors(doc))
    return problems


def theirs_api(sets: dict[str, tuple[str, list[dict]]]) -> int:
    problems = 0
    for version, docs in sets.values():
        for doc in docs:
            try:
                kubernetes_validate.validate(doc, f"{version}.0", strict=True)
            except kubernetes_validate.ValidationError:
                problems += 1
    return problems


def scratch(root: Path, sets: dict[str, tuple[str, list[dict]]], where: Path) -> dict[str, list[Path]]:
    """A repository holding the environments and, per environment, one file per core document."""
    shutil.copytree(root / "environments", where / "environments")
    files = {}
    for name, (_, docs) in sets.items():
        folder = where / "rendered" / name / "manifests" / "bench"
        folder.mkdir(parents=True)
        files[name] = []
        for index, doc in enumerate(docs):
            path = folder / f"{index:04d}.yaml"
            path.write_text(yaml.safe_dump(doc, sort_keys=False))
            files[name].append(path)
    return files


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=Path("."))
    parser.add_argument("--copies", type=int, default=10, help="repeat the document set this many times")
    parser.add_argument("--rounds", type=int, default=3, help="best of this many runs")
    args = parser.parse_args()

    base = core_documents(args.root)
    sets = {name: (version, docs * args.copies) for name, (version, docs) in base.items()}
    unique = sum(len(d) for _, d in base.values())
    total = sum(len(d) for _, d in sets.values())
    print(f"{unique} core documents in rendered/ x {args.copies} copies = {total} documents "
          f"({', '.join(f'{n}: Kubernetes {v}' for n, (v, _) in sets.items())})")

    assert ours_api(sets) == 0 and theirs_api(sets) == 0, "the benchmark set must be valid for both tools"
    ours = best(args.rounds, lambda: ours_api(sets))
    theirs = best(args.rounds, lambda: theirs_api(sets))
    print(f"api  litellm-gitops {ours:8.3f}s   kubernetes-validate {theirs:8.3f}s   ratio {theirs / ours:6.1f}x")

    with tempfile.TemporaryDirectory() as tmp:
        files = scratch(args.root, sets, Path(tmp))
        exe = Path(sys.executable).parent
        ours_cmd = [str(exe / "litellm-gitops"), "validate", "--root", tmp, "--cache", str(Path(tmp) / "no-cache")]

        def run_ours() -> None:
            subprocess.run(ours_cmd, check=True, stdout=subprocess.DEVNULL)

        def run_theirs() -> None:
            for name, (version, _) in sets.items():
                subprocess.run([str(exe / "kubernetes-validate"), "--strict", "-k", f"{version}.0", "--quiet",
                                *map(str, files[name])], check=True, stdout=subprocess.DEVNULL)

        ours = best(args.rounds, run_ours)
        theirs = best(args.rounds, run_theirs)
        print(f"cli  litellm-gitops {ours:8.3f}s   kubernetes-validate {theirs:8.3f}s   ratio {theirs / ours:6.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
