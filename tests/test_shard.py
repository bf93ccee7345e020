"""Sharding (issue 25): `--shard I/N` is a stable partition by sha256 of the name; the guard's
shards, combined, decide exactly as one unsharded guard does; the combine fails closed when a
shard is missing, doubled, of another matrix, or met bad input."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pytest

from generator import shard
from generator.cli import main
from guard_build import Rendered

NAMES = [f"env-{i:04d}" for i in range(1000)] + ["fleet/hub-0", "fleet/hub-1"]


def run_cli(*argv: Any) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def test_every_name_has_exactly_one_shard_by_its_sha256() -> None:
    for count in (1, 2, 4, 7):
        owners = {name: [i for i in range(1, count + 1) if shard.Shard(i, count).owns(name)] for name in NAMES}
        assert all(len(o) == 1 for o in owners.values())
        # the partition is sha256 of the name alone: no other name, order or count of names moves it
        assert all(o[0] == int(hashlib.sha256(n.encode()).hexdigest()[:16], 16) % count + 1 for n, o in owners.items())
        sizes = [sum(1 for o in owners.values() if o[0] == i) for i in range(1, count + 1)]
        assert min(sizes) >= len(NAMES) / count * 0.8, sizes  # balanced enough for a matrix
    assert shard.Shard(1, 4).hub("hub-0") == shard.Shard(1, 4).owns("fleet/hub-0")


@pytest.mark.parametrize("text", ["0/4", "5/4", "1/0", "x", "1/257", "-1/2", "1/2/3"])
def test_a_bad_shard_is_bad_input(text: str) -> None:
    with pytest.raises(Exception) as caught:
        shard.parse(text)
    assert "--shard" in str(caught.value) and getattr(caught.value, "hint", "")


def _pair(tmp_path: Path) -> tuple[Path, Path, list[str]]:
    """Eight environments; the head moves one's salt key (blocked) and another's LiteLLM replicas."""
    names = [f"eu-{i}" for i in range(8)]
    base = Rendered.minimal(*names)
    head = base.copy()
    head.entry("LITELLM_SALT_KEY", env="eu-3")["remoteRef"]["key"] = "eu-3/litellm/salt-key-v2"
    head.envs["eu-5"]["values/litellm.yaml"]["replicaCount"] = 5
    return base.write(tmp_path / "base"), head.write(tmp_path / "head"), names


def _shards(base: Path, head: Path, count: int, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for index in range(1, count + 1):
        code, out, err = run_cli("guard", "--shard", f"{index}/{count}", "--base", base, "--head", head, "--no-hydrate")
        assert code == 0, err
        assert json.loads(out)["shard"] == f"{index}/{count}"
        files.append(folder / f"shard-{index}.json")
        files[-1].write_text(out)
    return files


def test_combined_shards_decide_as_one_guard(tmp_path: Path) -> None:
    base, head, names = _pair(tmp_path)
    code, out, _ = run_cli("guard", "--base", base, "--head", head, "--no-hydrate", "--json")
    whole = json.loads(out)
    assert code == 1 and {f["environment"] for f in whole["findings"]} == {"eu-3"}
    files = _shards(base, head, 3, tmp_path / "shards")
    owners = {json.loads(f.read_text())["shard"]: json.loads(f.read_text())["environments"] for f in files}
    assert sorted(n for judged in owners.values() for n in judged) == names  # each once
    code, out, _ = run_cli("guard-combine", "--shards", 3, *files, "--json", "--markdown", tmp_path / "guard.md")
    combined = json.loads(out)
    assert code == 1 and combined["verdict"] == "refused"
    assert combined["findings"] == whole["findings"] and combined["reasons"] == whole["reasons"]
    assert combined["environments"] == names
    assert "salt key" in (tmp_path / "guard.md").read_text()


def test_the_combine_fails_closed(tmp_path: Path) -> None:
    base, head, _ = _pair(tmp_path)
    files = _shards(base, head, 3, tmp_path / "shards")
    cases = {
        "missing": (files[:2], "shard(s) 3/3 missing"),
        "twice": (files + files[:1], "given twice"),
        "other matrix": (files, "of a matrix of 3, not 4"),
    }
    for label, (given, message) in cases.items():
        count = 4 if label == "other matrix" else 3
        code, _, err = run_cli("guard-combine", "--shards", count, *given, "--markdown", tmp_path / "guard.md")
        assert code == 2 and message in err, (label, err)
        assert "bad input" in (tmp_path / "guard.md").read_text()
    (tmp_path / "empty.json").write_text("")
    code, _, err = run_cli("guard-combine", "--shards", 3, files[0], files[1], tmp_path / "empty.json")
    assert code == 2 and "unreadable" in err
    # a shard whose guard met bad input (an unparsable file in the head) refuses the whole
    (head / "rendered" / "eu-0" / "apps" / "broken.yaml").write_text("kind: [\n")
    owner = shard.of("eu-0", 3)
    code, out, _ = run_cli("guard", "--shard", f"{owner}/3", "--base", base, "--head", head, "--no-hydrate")
    assert code == 2 and json.loads(out)["shard"] == f"{owner}/3"
    files[owner - 1].write_text(out)
    code, _, err = run_cli("guard-combine", "--shards", 3, *files)
    assert code == 2 and f"shard {owner}/3 met bad input" in err
    # a shard writes no verdict of its own
    code, out, err = run_cli("guard", "--shard", "1/3", "--base", base, "--head", head, "--no-hydrate",
                             "--markdown", tmp_path / "shard.md")
    assert code == 2 and "--markdown with --shard" in err and not (tmp_path / "shard.md").exists()
    assert json.loads(out)["verdict"] == "bad input"


def test_validate_shards_partition_the_environments_and_hubs(scratch_repo: Path, schema_cache: Path) -> None:
    """Each environment is validated by its shard only; the hub folder (planted with a problem) by
    the shard owning `fleet/central`, whichever shards own its environments."""
    import shutil

    from generator.validate.runner import Options, validate

    for env in (Path(__file__).resolve().parent.parent / "examples" / "hub-fleet").iterdir():
        shutil.copytree(env, scratch_repo / "environments" / env.name)
    assert main(["render", "--root", str(scratch_repo)]) == 0
    app_set = scratch_repo / "rendered/fleet/central/hub/applicationset.yaml"
    app_set.write_text(app_set.read_text().replace("goTemplate: true", "goTemplate: true\n  unknownField: 1"))
    whole = validate(Options(root=scratch_repo, cache=schema_cache, hydrate=False, record=scratch_repo / "none"))
    assert [p.path for p in whole.problems] == ["rendered/fleet/central/hub/applicationset.yaml"]
    seen: list[str] = []
    for index in (1, 2, 3):
        part = validate(Options(root=scratch_repo, cache=schema_cache, hydrate=False, record=scratch_repo / f"r{index}",
                                shard=shard.Shard(index, 3)))
        assert all(shard.of(name, 3) == index for name in part.environments)
        seen += part.environments
        owns_hub = shard.of("fleet/central", 3) == index
        assert [p.path for p in part.problems] == (["rendered/fleet/central/hub/applicationset.yaml"] if owns_hub else [])
    assert sorted(seen) == whole.environments


def _diff_pair(tmp_path: Path) -> tuple[Path, Path, list[str]]:
    """Eight environments; the head bumps LiteLLM's chart in three of them (so the combined chart
    bumps must come out in the unsharded order), moves a salt key and scales a fourth."""
    names = [f"eu-{i}" for i in range(8)]
    head = Rendered.minimal(*names)
    for env in ("eu-1", "eu-4", "eu-6"):
        head.obj("Application", f"{env}-litellm", env=env)["spec"]["sources"][0]["targetRevision"] = "1.84.0"
    head.entry("LITELLM_SALT_KEY", env="eu-3")["remoteRef"]["key"] = "eu-3/litellm/salt-key-v2"
    head.envs["eu-5"]["values/litellm.yaml"]["replicaCount"] = 5
    head.values("litellm", env="eu-6")["envVars"]["LITELLM_SALT_KEY"] = SECRET  # shown as (changed), everywhere
    return Rendered.minimal(*names).write(tmp_path / "base"), head.write(tmp_path / "head"), names


SECRET = "Zq8vN2xL5pR7tK1mW4yB9cF3"


def _diff_shards(base: Path, head: Path, count: int, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for index in range(1, count + 1):
        code, out, err = run_cli("diff", "--shard", f"{index}/{count}", "--base", base, "--head", head, "--no-hydrate")
        assert code == 0, err
        document = json.loads(out)  # --shard prints JSON for diff-combine
        assert document["shard"] == f"{index}/{count}"
        assert all(shard.of(e["name"], count) == index for e in document["environments"])
        files.append(folder / f"diff-shard-{index}.json")
        files[-1].write_text(out)
    return files


@pytest.mark.parametrize("count", [1, 3, 5])
def test_combined_diff_shards_are_the_one_diff(tmp_path: Path, count: int) -> None:
    """review.yml's comment from N shards is byte for byte the unsharded diff's: Markdown, JSON, text."""
    base, head, names = _diff_pair(tmp_path)
    code, whole_json, _ = run_cli("diff", "--base", base, "--head", head, "--no-hydrate", "--json",
                                  "--markdown", tmp_path / "whole.md")
    assert code == 0
    whole = json.loads(whole_json)
    assert [b["environment"] for b in whole["chart_bumps"]] == ["eu-1", "eu-4", "eu-6"]
    assert {e["name"] for e in whole["environments"] if e["status"] == "changed"} == {"eu-1", "eu-3", "eu-4", "eu-5", "eu-6"}
    assert {"path": "envVars.LITELLM_SALT_KEY", "redacted": True} in [
        v for e in whole["environments"] for g in e["groups"] for c in g["changes"] for v in c["values"]]
    files = _diff_shards(base, head, count, tmp_path / "shards")
    code, out, err = run_cli("diff-combine", "--shards", count, *reversed(files), "--json", "--markdown", tmp_path / "combined.md")
    assert code == 0, err
    assert json.loads(out) == whole
    assert (tmp_path / "combined.md").read_text() == (tmp_path / "whole.md").read_text()
    _, whole_text, _ = run_cli("diff", "--base", base, "--head", head, "--no-hydrate", "--color", "never")
    _, combined_text, _ = run_cli("diff-combine", "--shards", count, *files, "--color", "never")
    assert combined_text == whole_text and "in 5 of 8 environment(s)" in combined_text
    assert SECRET not in out + combined_text + (tmp_path / "combined.md").read_text()
    assert not any(SECRET in f.read_text() for f in files)  # nor in what the shards hand over


def test_the_diff_combine_fails_closed(tmp_path: Path) -> None:
    base, head, _ = _diff_pair(tmp_path)
    files = _diff_shards(base, head, 3, tmp_path / "shards")
    md = tmp_path / "diff.md"

    def combine(count: int, given: list[Path]) -> str:
        md.unlink(missing_ok=True)
        code, out, err = run_cli("diff-combine", "--shards", count, *given, "--markdown", md, "--json")
        assert code == 2 and json.loads(out)["ok"] is False
        assert md.read_text().startswith("### ⛔ Rendered changes: bad input")  # the comment says why, no partial plan
        return err

    assert "shard(s) 3/3 missing: the plan would be partial" in combine(3, files[:2])
    assert "shard(s) 1/3, 2/3, 3/3 missing" in combine(3, [])
    assert "given twice" in combine(3, files + files[:1])
    assert "of a matrix of 3, not 4" in combine(4, files)
    (tmp_path / "empty.json").write_text("")
    assert "unreadable" in combine(3, [*files[:2], tmp_path / "empty.json"])
    # a document that is not a diff's: a guard shard's, or one whose change lost its kind
    code, guard_out, _ = run_cli("guard", "--shard", "3/3", "--base", base, "--head", head, "--no-hydrate")
    (tmp_path / "guard.json").write_text(guard_out)
    assert "not the JSON of `diff --shard I/N`" in combine(3, [*files[:2], tmp_path / "guard.json"])
    tampered = json.loads(files[0].read_text())
    changed = next(e for e in tampered["environments"] if e["groups"])
    del changed["groups"][0]["changes"][0]["kind"]
    (tmp_path / "tampered.json").write_text(json.dumps(tampered))
    err = combine(3, [tmp_path / "tampered.json", *files[1:]])
    assert "not the JSON of `diff --shard I/N`" in err and "'kind' is a required property" in err
    # the same environments under another shard's name
    other = json.loads(files[0].read_text()) | {"shard": "3/3"}
    (tmp_path / "other.json").write_text(json.dumps(other))
    assert "is in shards 1/3 and 3/3" in combine(3, [files[0], files[1], tmp_path / "other.json"])
    # a shard whose diff met bad input (an unparsable file in the head) refuses the whole
    (head / "rendered" / "eu-0" / "apps" / "broken.yaml").write_text("kind: [\n")
    owner = shard.of("eu-0", 3)
    code, out, _ = run_cli("diff", "--shard", f"{owner}/3", "--base", base, "--head", head, "--no-hydrate")
    assert code == 2 and json.loads(out)["ok"] is False
    files[owner - 1].write_text(out)
    assert "a diff shard met bad input: " in combine(3, files)
    # a shard's plan is a part: no Markdown of its own
    code, _, err = run_cli("diff", "--shard", "1/3", "--base", base, "--head", head, "--no-hydrate", "--markdown", md)
    assert code == 2 and "--markdown with --shard" in err
