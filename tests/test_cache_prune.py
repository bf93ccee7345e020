"""`litellm-gitops cache prune` (generator/applied/prune.py): the render cache keeps exactly what the
current tree's hydration uses (helm runs for nothing afterwards, whichever environment a run
starts with), and loses what an older tree, another helm or cache version, an interrupted write or
a hand left there; a folder that may not be a render cache, or a tree that does not hydrate, has
nothing deleted; a damaged entry is rendered again, never a traceback."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import stat
from pathlib import Path

import pytest

from conftest import REPO
from generator import shard
from generator.applied import Hydrator, cache, hydrate
from generator.cli import main
from generator.environment import environment_names

ENVS = environment_names(REPO / "environments")


@pytest.fixture(scope="module")
def seed(tmp_path_factory: pytest.TempPathFactory, charts_dir: Path) -> Path:
    """This repository's tree hydrated once into a cache of its own (every environment, and each
    as the first of its process), copied by each test."""
    folder = tmp_path_factory.mktemp("seed") / "hydrated"
    hydrate(REPO, ENVS, Hydrator(charts=charts_dir, cache_dir=folder))
    for name in ENVS:
        hydrate(REPO, [name], Hydrator(charts=charts_dir, cache_dir=folder))
    return folder


@pytest.fixture
def warm(seed: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "hydrated"
    shutil.copytree(seed, folder)
    return folder


@pytest.fixture
def helm_calls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every `helm template` from here on appends its chart to the returned file."""
    real = shutil.which("helm")
    assert real, "helm must be installed (tools/install)"
    counter = tmp_path / "template-calls"
    shim = tmp_path / "helm-shim"
    shim.write_text(f'#!/bin/sh\n[ "$1" = template ] && echo "$2" >> "{counter}"\nexec "{real}" "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("LITELLM_GITOPS_HELM", str(shim))
    return counter


def calls(counter: Path) -> list[str]:
    return counter.read_text().splitlines() if counter.exists() else []


def run_cli(*argv: object) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def prune(root: Path, folder: Path, charts: Path, *extra: object) -> tuple[int, dict, str]:
    code, out, err = run_cli("cache", "prune", "--root", root, "--hydrate-cache", folder, "--charts", charts, "--json", *extra)
    return code, (json.loads(out) if out.strip() else {}), err


def files(folder: Path) -> dict[str, bytes]:
    """Every path under `folder` (links as their target's name) with its bytes."""
    found = {}
    for top, dirs, names in os.walk(folder):
        for name in dirs + names:
            path = Path(top) / name
            rel = path.relative_to(folder).as_posix()
            found[rel] = (b"-> " + os.readlink(path).encode()) if path.is_symlink() else path.read_bytes() if path.is_file() else b"/"
    return found


def renders_needed(root: Path, charts: Path, folder: Path, counter: Path, names: list[str], alone: bool = True) -> list[str]:
    """The helm runs each environment costs as the first of a new process (a pull request's
    shard; not when not `alone`), then all of them in one (validate's)."""
    before = len(calls(counter))
    for name in names if alone else ():
        hydrate(root, [name], Hydrator(charts=charts, cache_dir=folder))
    hydrate(root, names, Hydrator(charts=charts, cache_dir=folder))
    return calls(counter)[before:]


def test_prune_keeps_what_the_tree_uses_and_deletes_the_rest(scratch_repo, charts_dir, warm, helm_calls, tmp_path):
    # An older tree's renders: LiteLLM's values as they were before this change.
    values = scratch_repo / "rendered" / "dev" / "values" / "litellm.yaml"
    values.write_text(values.read_text().replace("replicaCount: 1", "replicaCount: 2"))
    assert renders_needed(scratch_repo, charts_dir, warm, helm_calls, ENVS)  # the new values rendered
    old = {rel for rel in files(warm)}
    # A render this tree uses, damaged (cut short): dev comes first, so the prune's hydration reads
    # every render dev needs, finds this one unreadable, renders it again and keeps it whole.
    assert ENVS[0] == "dev"
    with cache.recording() as used:
        hydrate(scratch_repo, ["dev"], Hydrator(charts=charts_dir, cache_dir=warm))
    digest = sorted(d for part, d in used if part == "renders")[0]
    victim = warm / "renders" / digest[:2] / f"{digest}.json"
    victim.write_bytes(victim.read_bytes()[:10])
    # What no current render is: version 1's layout, an interrupted write, a link, misnamed entries,
    # a render of another cache FORMAT or helm (its key is never asked for again).
    outside = tmp_path / "outside.json"
    outside.write_text("{}")
    other = cache.key({"helm": "v3.0.0", "note": "another helm's render"})
    planted = {
        "ab/" + "ab" * 32 + "/index.json": b"[]",
        "renders/00/.tmp-k2j3": b"[[",
        "objects/00/not-a-digest.json": b"{}",
        "renders/ff/" + "0" * 64 + ".json": b"[]",  # not in the folder its name says
        f"renders/{other[:2]}/{other}.json": b"[]",
        "files/zz/x.json": b"[]",
        "hubs/.DS_Store": b"",
    }
    for rel, data in planted.items():
        (warm / rel).parent.mkdir(parents=True, exist_ok=True)
        (warm / rel).write_bytes(data)
    (warm / "objects" / "00").mkdir(exist_ok=True)
    (warm / "objects" / "00" / ("0" * 64 + ".json")).symlink_to(outside)
    before = len(calls(helm_calls))

    code, report, err = prune(scratch_repo, warm, charts_dir)
    assert code == 0, err
    assert report["environments"] == ENVS and report["removed"]["renders"] >= 3 and report["removed"]["objects"] >= 1
    assert sorted(report["removedOther"]) == sorted(["ab", "renders/00/.tmp-k2j3", "objects/00/not-a-digest.json",
                                                     "objects/00/" + "0" * 64 + ".json", "renders/ff/" + "0" * 64 + ".json",
                                                     "files/zz", "hubs/.DS_Store"])
    after = files(warm)
    assert not any(rel in after for rel in planted) and outside.read_text() == "{}"  # a link's target is never touched
    helm_runs = calls(helm_calls)[before:]
    assert helm_runs and report["helmRenders"] == len(helm_runs)  # the damaged render, again
    assert isinstance(json.loads(victim.read_text()), list)
    # Everything the tree needs is there: no helm run, whichever environment a run starts with ...
    assert renders_needed(scratch_repo, charts_dir, warm, helm_calls, ENVS) == []
    # ... and the same tree prunes to the same cache: nothing more to delete.
    code, again, _ = prune(scratch_repo, warm, charts_dir)
    assert code == 0 and again["kept"] == report["kept"] and sum(again["removed"].values()) == 0 and again["removedOther"] == []
    assert files(warm) == after
    # What the older tree used is gone: its values render again.
    values.write_text(values.read_text().replace("replicaCount: 2", "replicaCount: 1"))
    again_needed = renders_needed(scratch_repo, charts_dir, warm, helm_calls, ["dev"])
    assert again_needed and all(c.endswith("litellm-helm-1.83.10.tgz") for c in again_needed)
    assert len(old) > len(after)


def test_a_shard_keeps_only_its_environments(scratch_repo, charts_dir, warm, helm_calls):
    count = next(n for n in range(2, 9) if len({shard.of(e, n) for e in ENVS}) == len(ENVS))  # each on its own
    owner = shard.of("prod", count)
    code, report, err = prune(scratch_repo, warm, charts_dir, "--shard", f"{owner}/{count}")
    assert code == 0, err
    assert report["environments"] == ["prod"] and report["helmRenders"] == 0
    assert renders_needed(scratch_repo, charts_dir, warm, helm_calls, ["prod"]) == []
    assert renders_needed(scratch_repo, charts_dir, warm, helm_calls, ["dev"])  # dev's own renders were not kept


def test_dry_run_counts_and_deletes_nothing(scratch_repo, charts_dir, warm):
    (warm / "renders" / "00").mkdir(exist_ok=True)
    stale = warm / "renders" / "00" / ("00" + "1" * 62 + ".json")
    stale.write_text("[]")
    before = files(warm)
    code, dry, _ = prune(scratch_repo, warm, charts_dir, "--dry-run")
    assert code == 0 and dry["dryRun"] is True and dry["removed"]["renders"] == 1 and files(warm) == before
    code, real, _ = prune(scratch_repo, warm, charts_dir)
    assert code == 0 and (real["kept"], real["removed"], real["removedBytes"]) == (dry["kept"], dry["removed"], dry["removedBytes"])
    assert not stale.exists()


def test_what_may_not_be_a_render_cache_is_refused_and_nothing_deleted(scratch_repo, charts_dir, warm, tmp_path):
    (warm / "notes.txt").write_text("mine")
    before = files(warm)
    code, out, err = run_cli("cache", "prune", "--root", scratch_repo, "--hydrate-cache", warm, "--charts", charts_dir)
    assert code == 2 and "'notes.txt' is not something the render cache holds" in err and "nothing was deleted" in err
    assert "Traceback" not in err and files(warm) == before
    (warm / "notes.txt").unlink()
    link = tmp_path / "link"
    link.symlink_to(warm)
    code, _, err = run_cli("cache", "prune", "--root", scratch_repo, "--hydrate-cache", link, "--charts", charts_dir)
    assert code == 2 and "is a symbolic link" in err
    (tmp_path / "a-file").write_text("x")
    code, _, err = run_cli("cache", "prune", "--root", scratch_repo, "--hydrate-cache", tmp_path / "a-file", "--charts", charts_dir)
    assert code == 2 and "not a folder" in err
    # no cache yet: nothing to keep or delete, but what the tree needs is written
    code, report, _ = prune(scratch_repo, tmp_path / "none", charts_dir, "--shard", f"{shard.of('prod', 2)}/2")
    assert code == 0 and sum(report["removed"].values()) == 0 and report["kept"]["renders"] >= 7


def test_a_tree_that_does_not_hydrate_has_nothing_deleted(scratch_repo, charts_dir, warm):
    (warm / "renders" / "00").mkdir(exist_ok=True)
    (warm / "renders" / "00" / ("00" + "2" * 62 + ".json")).write_text("[]")
    before = files(warm)
    app = scratch_repo / "rendered" / "prod" / "apps" / "07-reloader.yaml"
    app.write_text(app.read_text().replace("targetRevision: 2.2.16", "targetRevision: 9.9.9"))  # a chart no lock pins
    code, out, err = run_cli("cache", "prune", "--root", scratch_repo, "--hydrate-cache", warm, "--charts", charts_dir, "--json")
    assert code == 2 and json.loads(out)["ok"] is False and "9.9.9" in err and "Traceback" not in err
    assert files(warm) == before


def test_a_hubs_generated_roots_are_kept_and_an_old_hubs_are_not(scratch_repo, charts_dir, warm, helm_calls, monkeypatch):
    """examples/hub-fleet: each environment's root is what its hub's ApplicationSet generates,
    cached by the hub folder's content (`hubs/`); the prune keeps the current hub's, so a run after
    it never evaluates the ApplicationSet, and drops the one of the hub folder as it was before."""
    from generator.applied import build

    for env in (REPO / "examples" / "hub-fleet").iterdir():
        shutil.copytree(env, scratch_repo / "environments" / env.name)
    assert main(["render", "--root", str(scratch_repo)]) == 0
    names = environment_names(scratch_repo / "environments")
    hydrate(scratch_repo, names, Hydrator(charts=charts_dir, cache_dir=warm))
    def hub_entries() -> set[str]:
        return {name for prefix in os.listdir(warm / "hubs") for name in os.listdir(warm / "hubs" / prefix)}

    old = hub_entries()
    assert old
    app_set = scratch_repo / "rendered" / "fleet" / "central" / "hub" / "applicationset.yaml"
    app_set.write_text(app_set.read_text() + "# edited\n")  # another hub folder: another hubs/ entry
    code, report, err = prune(scratch_repo, warm, charts_dir)
    assert code == 0, err
    assert report["kept"]["hubs"] >= 1 and report["removed"]["hubs"] >= 1
    kept = hub_entries()
    assert len(kept) == report["kept"]["hubs"] and not kept & old  # the hub folder as it is now, only

    def never(*_args, **_kwargs):
        raise AssertionError("the ApplicationSet was evaluated: its generated roots were not kept")

    monkeypatch.setattr(build, "_generated_roots", never)
    # (the hub's environments were never hydrated one by one, so their first-round renders were
    # never there to keep: hydrated together, as validate does)
    assert renders_needed(scratch_repo, charts_dir, warm, helm_calls, names, alone=False) == []
