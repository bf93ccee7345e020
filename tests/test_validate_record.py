"""Validation records (generator/validate/record.py): an environment validated clean is not checked
again while everything that decides its result is byte-identical; the report of a run that reuses
records prints the same problems and counts as a full run, plus how many were reused.

Checked: a second run reuses every record and reports the same; one changed byte (a rendered file,
environment.yaml, defaults.yaml) re-checks exactly the environments it concerns, and a planted
problem there is found; a link among the inputs gives no key (checked every time); a run with
problems records nothing for that environment; the validator's
fingerprint (upstream lock, the generator's files, a library's version, the schema cache), the
hydrate option and --revalidate all lead to checking again; --schema-location neither reads nor
writes records; a corrupt record is ignored; --record and the environment variable choose the
folder; a record never vouches for a folder it did not hash (an Application reading another
environment's folder, a hub-generated root read from rendered/fleet/)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import REPO
from generator.cli import main
from generator.validate import record
from generator.validate.runner import Options, validate
from test_validate import NAMESPACE, repo, write  # noqa: F401 (repo: a fixture)

TABLE = """\
AWSTemplateFormatVersion: '2010-09-09'
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
      KeySchema: [{AttributeName: id, KeyType: HASH}]
      BillingMode: PAY_PER_REQUEST
"""
BAD_NAMESPACE = NAMESPACE.replace("  labels:", "  labelz:")


@pytest.fixture
def two(repo: Path) -> Path:
    """test_validate's small clean dev, and dev2, a byte-for-byte copy (no prod): two environments."""
    shutil.rmtree(repo / "environments" / "prod")
    shutil.copytree(repo / "environments" / "dev", repo / "environments" / "dev2")
    shutil.copytree(repo / "rendered" / "dev", repo / "rendered" / "dev2")
    return repo


def run(root: Path, cache: Path, **kwargs):
    kwargs.setdefault("hydrate", False)
    return validate(Options(root=root, cache=cache, **kwargs))


def summary_without_reuse(report) -> str:
    return report.summary().split(" (", 1)[0] if report.reused else report.summary()


def assert_same(reused, full) -> None:
    """The same problems, files and documents, line for line; only the summary's last fact differs."""
    assert reused.text().splitlines()[:-1] == full.text().splitlines()[:-1]
    assert reused.summary().startswith(full.summary())
    assert (reused.files, reused.documents, reused.ok) == (full.files, full.documents, full.ok)
    reused_json, full_json = json.loads(reused.as_json()), json.loads(full.as_json())
    for data in (reused_json, full_json):
        data.pop("summary"), data.pop("reused"), data.pop("reused_hubs")
    assert reused_json == full_json


def test_a_second_run_reuses_the_records_and_reports_the_same(two, schema_cache):
    write(two, "cloudformation/table.yaml", TABLE)  # cfn-lint notes (I3011): reported, not failing
    first = run(two, schema_cache)
    assert first.ok and first.reused == [] and any(not p.fails for p in first.problems), first.text()
    second = run(two, schema_cache)
    assert second.reused == ["dev", "dev2"], second.text()
    assert_same(second, first)
    assert second.summary().endswith("(2 environment(s) unchanged since validated, not checked again)")
    assert json.loads(second.as_json())["reused"] == ["dev", "dev2"]
    assert "unchanged" not in first.summary()


@pytest.mark.parametrize("rel", ["rendered/dev/values/external-secrets.yaml", "environments/dev/environment.yaml"])
def test_one_changed_byte_checks_that_environment_again_and_only_it(two, schema_cache, rel):
    first = run(two, schema_cache)
    path = two / rel
    path.write_bytes(path.read_bytes() + b"# one byte more\n")
    second = run(two, schema_cache)
    assert second.reused == ["dev2"], second.text()
    assert_same(second, first)
    assert run(two, schema_cache).reused == ["dev", "dev2"]  # and now dev is recorded again


def test_a_planted_problem_in_a_recorded_environment_is_found(two, schema_cache):
    assert run(two, schema_cache).ok
    write(two, "manifests/namespaces/namespace-litellm.yaml", BAD_NAMESPACE, env="dev2")
    report = run(two, schema_cache)
    assert report.reused == ["dev"]
    assert [p.path for p in report.problems] == ["rendered/dev2/manifests/namespaces/namespace-litellm.yaml"]


def test_the_defaults_concern_every_environment(two, schema_cache):
    run(two, schema_cache)
    defaults = two / "environments" / "defaults.yaml"
    defaults.write_text(defaults.read_text() + "\n")
    assert run(two, schema_cache).reused == []


def test_an_input_that_is_a_link_gives_no_record(two, schema_cache):
    (two / "environments" / "dev2" / "notes.md").symlink_to(two / "environments" / "dev" / "environment.yaml")
    assert run(two, schema_cache).ok  # not a problem of validate's: environment.yaml is all it reads there
    assert run(two, schema_cache).reused == ["dev"]  # but no key hashes a link: dev2 is checked every time


def test_a_run_with_problems_records_nothing_for_that_environment(two, schema_cache):
    write(two, "manifests/namespaces/namespace-litellm.yaml", BAD_NAMESPACE)
    env_file = two / "environments" / "dev2" / "environment.yaml"
    env_file.write_text(env_file.read_text() + "\nunknownTopLevelKey: 1\n")
    first = run(two, schema_cache)
    assert not first.ok and len(first.problems) == 2, first.text()
    second = run(two, schema_cache)
    assert second.reused == []
    assert_same(second, first)


def test_another_upstream_lock_checks_everything_again(two, schema_cache):
    lock = two / "schemas" / "upstream.lock.json"  # the repository's own lock wins over the package's
    lock.parent.mkdir()
    shutil.copy(REPO / "schemas" / "upstream.lock.json", lock)
    run(two, schema_cache)
    assert run(two, schema_cache).reused == ["dev", "dev2"]
    lock.write_text(lock.read_text() + "\n")  # the same pins, other bytes
    assert run(two, schema_cache).reused == []


def test_the_generators_code_is_part_of_every_key(two, schema_cache, tmp_path, monkeypatch):
    package = tmp_path / "site" / "generator"
    shutil.copytree(record.PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(record, "PACKAGE", package)  # the package the fingerprint reads: a copy to edit
    run(two, schema_cache)
    assert run(two, schema_cache).reused == ["dev", "dev2"]
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "runner.cpython-311.pyc").write_bytes(b"compiled")  # not code: still reused
    assert run(two, schema_cache).reused == ["dev", "dev2"]
    check = package / "validate" / "kubernetes.py"
    check.write_text(check.read_text() + "\n# a change to a check\n")
    assert run(two, schema_cache).reused == []


def test_a_librarys_version_is_part_of_every_key(two, schema_cache, monkeypatch):
    run(two, schema_cache)
    real = record.importlib.metadata.distributions

    class Upgraded:
        metadata = {"Name": "cfn-lint"}
        version = "999.0.0"

    monkeypatch.setattr(record.importlib.metadata, "distributions", lambda: [*real(), Upgraded()])
    assert run(two, schema_cache).reused == []


def test_the_schema_cache_is_part_of_every_key(two, schema_cache, tmp_path):
    cache = tmp_path / "cache"
    shutil.copytree(schema_cache, cache)
    run(two, cache)
    assert run(two, cache).reused == ["dev", "dev2"]
    unused = cache / "monitoring.coreos.com" / "servicemonitor_v1.json"  # no document here uses it
    unused.write_bytes(unused.read_bytes() + b" ")
    assert run(two, cache).reused == []


def test_records_with_and_without_hydration_are_apart(scratch_repo, schema_cache):
    assert run(scratch_repo, schema_cache, environments=["dev"]).ok
    assert run(scratch_repo, schema_cache, environments=["dev"], hydrate=True).reused == []


def test_revalidate_checks_again_and_records_anew(two, schema_cache, validation_records):
    run(two, schema_cache)
    shutil.rmtree(validation_records)
    assert run(two, schema_cache).reused == []  # the records were the only memory
    assert run(two, schema_cache, revalidate=True).reused == []
    assert run(two, schema_cache).reused == ["dev", "dev2"]


def test_a_schema_location_neither_reads_nor_writes_records(two, schema_cache, shared_dir, validation_records):
    catalog = [str(shared_dir / "schemas-upstream")]
    assert run(two, schema_cache, schema_locations=catalog).ok
    assert not validation_records.exists()
    run(two, schema_cache)
    assert run(two, schema_cache, schema_locations=catalog).reused == []


@pytest.mark.parametrize("damage", [
    b"", b"not json", b"{}", b"[1, 2]",
    lambda data: json.dumps({**json.loads(data), "files": "many"}).encode(),
    lambda data: data.replace(b'"notes": []', b'"notes": [{"path": "x", "document": null, "kind": "K", "name": "n", '
                                               b'"field": "-", "message": "m", "check": "kubernetes", "severity": "error"}]'),
    lambda data: data.replace(b'"notes": []', b'"notes": [{"unexpected": 1}]'),
], ids=["empty", "not-json", "no-fields", "a-list", "bad-count", "a-failing-note", "bad-note"])
def test_a_corrupt_record_is_ignored(two, schema_cache, validation_records, damage):
    write(two, "manifests/namespaces/namespace-litellm.yaml", NAMESPACE.replace("litellm", "litellm-x"), env="dev2")
    full = run(two, schema_cache)
    records = sorted(validation_records.rglob("*.json"))
    assert len(records) == 2
    for path in records:
        data = path.read_bytes()
        changed = damage(data) if callable(damage) else damage
        assert changed != data
        path.write_bytes(changed)
    again = run(two, schema_cache)
    assert again.reused == [] and again.ok
    assert_same(again, full)
    assert run(two, schema_cache).reused == ["dev", "dev2"]  # rewritten


def test_the_command_line_options(two, schema_cache, tmp_path, capsys, monkeypatch):
    base = ["validate", "--root", str(two), "--cache", str(schema_cache), "--no-hydrate"]
    chosen = tmp_path / "chosen"
    assert main(base + ["--record", str(chosen)]) == 0
    assert len(list(chosen.rglob("*.json"))) == 2
    capsys.readouterr()
    assert main(base + ["--record", str(chosen)]) == 0
    assert capsys.readouterr().out.endswith("(2 environment(s) unchanged since validated, not checked again)\n")
    assert main(base + ["--record", str(chosen), "--revalidate", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["reused"] == []

    monkeypatch.setenv(record.CACHE_ENV, str(chosen))
    assert main(base + ["--json"]) == 0
    assert json.loads(capsys.readouterr().out)["reused"] == ["dev", "dev2"]
    monkeypatch.delenv(record.CACHE_ENV)
    assert main(base) == 0  # the default: .cache/validated under --root
    assert len(list((two / ".cache" / "validated").rglob("*.json"))) == 2

    a_file = tmp_path / "a-file"
    a_file.write_text("")
    assert main(base + ["--record", str(a_file)]) == 2
    err = capsys.readouterr().err
    assert "validation record folder is not a folder" in err and str(a_file) in err and "--record DIR" in err


def test_a_folder_another_environment_owns_is_never_vouched_for(scratch_repo, schema_cache):
    """dev's namespaces Application reads prod's folder: dev is not recorded (its key does not hash
    that folder), so a problem planted in prod's folder is found in dev's applied state too."""
    app = scratch_repo / "rendered" / "dev" / "apps" / "06-namespaces.yaml"
    app.write_text(app.read_text().replace("path: rendered/dev/manifests/namespaces", "path: rendered/prod/manifests/namespaces"))
    first = run(scratch_repo, schema_cache, hydrate=True)
    assert first.ok, first.text()
    assert run(scratch_repo, schema_cache, hydrate=True).reused == ["prod"]
    overrides = scratch_repo / "rendered" / "prod" / "manifests" / "namespaces" / ".argocd-source.yaml"
    overrides.write_text("kustomize: {}\n")  # hydration refuses a folder holding Argo CD parameter overrides
    report = run(scratch_repo, schema_cache, hydrate=True)
    assert report.reused == []
    assert {"hydrated/dev", "hydrated/prod"} <= {p.path for p in report.problems}, report.text()


def test_hub_environments_and_folders_are_recorded_and_follow_rendered_fleet(scratch_repo, schema_cache):
    """A hub-managed environment's root Application comes out of rendered/fleet/: when hydrating,
    a change there checks its environments again; a standalone environment stays recorded."""
    fixtures = Path(__file__).resolve().parent.parent / "examples" / "hub-fleet"
    shutil.copytree(fixtures / "eu-dev", scratch_repo / "environments" / "eu-dev")
    assert main(["render", "--root", str(scratch_repo)]) == 0
    envs = ["dev", "eu-dev"]
    first = run(scratch_repo, schema_cache, environments=envs, hydrate=True)
    assert first.ok, first.text()
    second = run(scratch_repo, schema_cache, environments=envs, hydrate=True)
    assert (second.reused, second.reused_hubs) == (envs, ["central"])
    assert second.summary().endswith("(2 environment(s) and 1 hub folder(s) unchanged since validated, not checked again)")
    assert_same(second, first)
    readme = scratch_repo / "rendered" / "fleet" / "central" / "README.md"
    readme.write_text(readme.read_text() + "\n")
    third = run(scratch_repo, schema_cache, environments=envs, hydrate=True)
    assert (third.reused, third.reused_hubs) == (["dev"], [])
    assert_same(third, first)
    plain = run(scratch_repo, schema_cache, environments=envs)  # no hydration: the environments' records are apart,
    assert (plain.reused, plain.reused_hubs) == ([], ["central"])  # a hub folder's (never hydrated) serves both
    readme.write_text(readme.read_text() + "\n")
    after = run(scratch_repo, schema_cache, environments=envs)  # without hydrating, nothing reads rendered/fleet/
    assert (after.reused, after.reused_hubs) == (envs, [])


def _record_files(folder: Path) -> set[str]:
    return {p.name for p in folder.rglob("*") if p.is_file() or p.is_symlink()}


def test_pruning_keeps_the_records_this_tree_uses_and_deletes_the_rest(two, schema_cache, validation_records):
    """ci.yml's `validate --prune-records`: records of an older tree (dev2 before its edit) go, the
    ones the run read (dev) or wrote (dev2 now) stay, so the next run still reuses both; leftovers
    of an interrupted write go; a file that is not a record's is left alone; a second prune deletes
    nothing."""
    run(two, schema_cache)
    older = _record_files(validation_records)
    assert len(older) == 2
    env_file = two / "environments" / "dev2" / "environment.yaml"
    env_file.write_text(env_file.read_text() + "\n# edited\n")
    prefix = next(p for p in validation_records.iterdir() if p.is_dir())
    (prefix / ".tmp-interrupted").write_text("{")
    (validation_records / "README").write_text("not a record")
    report = run(two, schema_cache, prune_records=True)
    assert report.reused == ["dev"] and report.pruned == (2, 2)
    assert json.loads(report.as_json())["records"] == {"kept": 2, "deleted": 2}
    now = _record_files(validation_records)
    assert len(now - {"README"}) == 2 and len(now & older) == 1 and "README" in now
    again = run(two, schema_cache, prune_records=True)
    assert again.reused == ["dev", "dev2"] and again.pruned == (2, 0)


def test_pruning_is_refused_for_a_subset_of_environments(two, schema_cache, validation_records, capsys):
    run(two, schema_cache)
    before = _record_files(validation_records)
    code = main(["validate", "--root", str(two), "--cache", str(schema_cache), "--no-hydrate", "--env", "dev",
                 "--prune-records"])
    err = capsys.readouterr().err
    assert code == 2 and "--prune-records with --env" in err and "Traceback" not in err
    assert _record_files(validation_records) == before
