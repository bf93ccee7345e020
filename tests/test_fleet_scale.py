"""Cost follows the change (issue 25): a hub folder's generated roots are evaluated once per
distinct content, shared between base and head and kept in the render cache, and a changed hub
folder is evaluated again."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from generator.applied import build
from generator.applied.build import Hydrator
from generator.cli import main

FIXTURES = Path(__file__).resolve().parent.parent / "examples" / "hub-fleet"


@pytest.fixture
def hub(scratch_repo: Path) -> Path:
    for env in FIXTURES.iterdir():
        shutil.copytree(env, scratch_repo / "environments" / env.name)
    assert main(["render", "--root", str(scratch_repo)]) == 0
    return scratch_repo / "rendered" / "fleet" / "central"


def _labels(roots: list) -> list[str]:
    return [app["metadata"]["labels"]["litellm-gitops/environment"] for _, app in roots]


def test_a_hub_is_evaluated_once_per_content(hub: Path, charts_dir: Path, tmp_path: Path, monkeypatch) -> None:
    prefix = "rendered/fleet/central/"
    cache = tmp_path / "cache"
    first = Hydrator(charts=charts_dir, cache_dir=cache).hub_roots(hub, prefix)
    assert sorted(_labels(first)) == ["eu-dev", "eu-prod", "eu-staging"]
    calls: list[int] = []
    evaluate = build._generated_roots
    monkeypatch.setattr(build, "_generated_roots", lambda files: calls.append(1) or evaluate(files))
    # another command (diff after guard), and the head checkout's identical copy: no evaluation
    head = tmp_path / "head" / "central"
    shutil.copytree(hub, head)
    hydrator = Hydrator(charts=charts_dir, cache_dir=cache)
    assert hydrator.hub_roots(hub, prefix) == first and hydrator.hub_roots(head, prefix) == first
    assert calls == []
    # without the on-disk cache, base and head still share one evaluation
    memory = Hydrator(charts=charts_dir)
    assert memory.hub_roots(hub, prefix) == memory.hub_roots(head, prefix) == first and calls == [1]
    # a changed parameter file is a new content: evaluated again, and the change is seen
    params = head / "environments" / "eu-dev.json"
    data = json.loads(params.read_text())
    key = next(k for k, v in data.items() if v == "eu-dev")
    data[key] = "eu-dev-2"
    params.write_text(json.dumps(data))
    changed = Hydrator(charts=charts_dir, cache_dir=cache).hub_roots(head, prefix)
    assert calls == [1, 1] and "eu-dev-2" in json.dumps(changed) and changed != first


def test_a_hub_git_vouches_for_is_known_by_its_tree_id(hub: Path, charts_dir: Path, tmp_path: Path, monkeypatch) -> None:
    """guard and diff pass gitsnap's tree ids: a hub folder whose id is cached is not read at all
    (git vouched its bytes are the tree's); a new id is read, evaluated and kept under both keys."""
    prefix = "rendered/fleet/central/"
    cache = tmp_path / "cache"
    first = Hydrator(charts=charts_dir, cache_dir=cache, hub_ids={hub.resolve(): "tree 1234"}).hub_roots(hub, prefix)
    reads: list[Path] = []
    original = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: reads.append(self) or original(self))
    again = Hydrator(charts=charts_dir, cache_dir=cache, hub_ids={hub.resolve(): "tree 1234"}).hub_roots(hub, prefix)
    assert again == first and not [r for r in reads if hub in r.parents]
    other = Hydrator(charts=charts_dir, cache_dir=cache, hub_ids={hub.resolve(): "tree 5678"}).hub_roots(hub, prefix)
    assert other == first and [r for r in reads if hub in r.parents]  # read, then found by content


def test_a_hubs_documents_are_parsed_once_per_content(hub: Path, charts_dir: Path, tmp_path: Path, monkeypatch) -> None:
    """The AppProjects and argocd-cmd-params-cm that judge a hub's roots (build._refusals): base and
    head share one parse of an unchanged hub, the next command reads them from the render cache,
    and an edited AppProject is parsed again and seen."""
    prefix = "rendered/fleet/central/"
    cache = tmp_path / "cache"
    first = Hydrator(charts=charts_dir, cache_dir=cache).hub_documents(hub, prefix)
    kinds = {doc["kind"] for _, doc in first}
    assert {"AppProject", "ConfigMap"} <= kinds and all(rel.startswith((prefix + "bootstrap/", prefix + "hub/")) for rel, _ in first)
    calls: list[int] = []
    parse = build._hub_documents
    monkeypatch.setattr(build, "_hub_documents", lambda files: calls.append(1) or parse(files))
    head = tmp_path / "head" / "central"
    shutil.copytree(hub, head)
    hydrator = Hydrator(charts=charts_dir, cache_dir=cache)
    assert hydrator.hub_documents(hub, prefix) == first and hydrator.hub_documents(head, prefix) == first and calls == []
    memory = Hydrator(charts=charts_dir)
    assert memory.hub_documents(hub, prefix) == memory.hub_documents(head, prefix) == first and calls == [1]
    project = next(head.glob("hub/*/project.yaml"))
    project.write_text(project.read_text().replace("  sourceNamespaces:\n", "  sourceNamespaces:\n  - '*'\n", 1))
    changed = Hydrator(charts=charts_dir, cache_dir=cache).hub_documents(head, prefix)
    assert calls == [1, 1] and changed != first and "*" in json.dumps(changed)


def test_what_json_cannot_hold_is_not_cached(tmp_path: Path) -> None:
    """A document whose mapping has a number as key would come back from JSON with a string key:
    it is not stored (parsed again next time) rather than read back changed."""
    from generator.applied import cache

    cache.write_hub(tmp_path, "a" * 64, [("hub/x.yaml", {"data": {1: "one"}})])
    assert cache.read_hub(tmp_path, "a" * 64) is None
    cache.write_hub(tmp_path, "b" * 64, [("hub/x.yaml", {"data": {"1": "one"}})])
    assert cache.read_hub(tmp_path, "b" * 64) == [("hub/x.yaml", {"data": {"1": "one"}})]


def test_hydrate_keeps_each_hub_under_its_git_tree_id(hub: Path, charts_dir: Path, tmp_path: Path, monkeypatch) -> None:
    """`hydrate` (and validate) of a checkout git vouches for stores a hub's roots and documents
    under the hub folder's tree id too: the render cache the default branch saves is then read by a
    pull request's guard without reading a file of an unchanged hub."""
    import os
    import subprocess

    from generator.guard import gitsnap

    repo = hub.parents[2]
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "PATH": os.environ["PATH"]}
    for command in (["init", "--quiet", "--initial-branch", "main"], ["add", "-A"], ["commit", "--quiet", "-m", "c"]):
        subprocess.run(["git", "-C", str(repo), *command], check=True, env=env)
    cache = tmp_path / "cache"  # the session's renders (no helm run), no hub entry
    shutil.copytree(os.environ["LITELLM_GITOPS_HYDRATE_CACHE"], cache, ignore=shutil.ignore_patterns("hubs"))
    assert main(["hydrate", "--root", str(repo), "--env", "eu-dev", "--charts", str(charts_dir), "--hydrate-cache", str(cache)]) == 0
    oid = gitsnap.fingerprints(repo)[0]["fleet/central"]
    reads: list[Path] = []
    original = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: reads.append(self) or original(self))
    hydrator = Hydrator(charts=charts_dir, cache_dir=cache, hub_ids={hub.resolve(): oid})
    prefix = "rendered/fleet/central/"
    assert hydrator.hub_roots(hub, prefix) and hydrator.hub_documents(hub, prefix)
    assert not [r for r in reads if hub in r.parents]


@pytest.mark.parametrize("argv", [["--only-shard", "1"], ["--fleet-wide", "4", "--only-shard", "5"]])
def test_the_fleet_benchmark_refuses_a_shard_it_cannot_measure(argv: list[str]) -> None:
    """benchmarks/fleet.py --only-shard I needs --fleet-wide N with 1 <= I <= N: exit 2 before any work."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, str(Path(__file__).resolve().parent.parent / "benchmarks" / "fleet.py"), "4", *argv],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2 and "--only-shard I needs --fleet-wide N with 1 <= I <= N" in done.stderr
    assert "Traceback" not in done.stderr
