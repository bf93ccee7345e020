"""Settings in layers (issue 25): an environment names shared layer files, deep-merged in order
over defaults.yaml and under its own file; each layer is checked against the schema at its own
line; `render --explain KEY` names the file that set a value; records and the Kubernetes version
hydrate uses see the layers."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.applied.build import kubernetes_version_of
from generator.cli import main
from generator.environment import environment_names, load_environment
from generator.errors import InputError


def _layers(repo: Path, env: str = "dev", names: str = "[layers/eu-west-1.yaml, layers/prod.yaml]") -> Path:
    folder = repo / "environments" / "layers"
    folder.mkdir(exist_ok=True)
    (folder / "eu-west-1.yaml").write_text("cluster:\n  kubernetesVersion: \"1.32\"\nsecrets:\n  refreshInterval: 2h\n")
    (folder / "prod.yaml").write_text("# prod everywhere\ncluster:\n  kubernetesVersion: \"1.31\"\n")
    path = repo / "environments" / env / "environment.yaml"
    path.write_text(f"layers: {names}\n" + path.read_text())
    return path


def test_layers_merge_in_order_under_the_environment(scratch_repo: Path) -> None:
    _layers(scratch_repo)
    env = load_environment(scratch_repo / "environments", "dev")
    assert env.cluster["kubernetesVersion"] == "1.31"  # the later layer wins over the earlier
    assert env.config["secrets"]["refreshInterval"] == "2h"  # a layer wins over the defaults
    assert env.config["secrets"]["prefix"] == "dev/"  # the environment's own file wins over all
    assert env.region == "us-east-1"
    assert "layers" not in environment_names(scratch_repo / "environments")
    assert kubernetes_version_of(scratch_repo, "dev") == "1.31"  # what hydrate renders with
    assert load_environment(scratch_repo / "environments", "prod").cluster["kubernetesVersion"] != "1.31"


def test_render_explain_names_the_file_that_set_a_value(scratch_repo: Path, capsys) -> None:
    _layers(scratch_repo)
    code = main(["render", "--root", str(scratch_repo), "--explain", "cluster.kubernetesVersion"])
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out[0] == ('dev: cluster.kubernetesVersion = "1.31" set by environments/layers/prod.yaml:3 '
                      "(over environments/layers/eu-west-1.yaml:2, environments/defaults.yaml:10)"), out
    assert out[1].startswith('prod: cluster.kubernetesVersion = "1.33" set by environments/defaults.yaml:10'), out
    main(["render", "--root", str(scratch_repo), "--env", "dev", "--explain", "secrets.prefix"])
    assert capsys.readouterr().out == ('dev: secrets.prefix = "dev/" set by environments/dev/environment.yaml:19 '
                                       '(over environments/defaults.yaml:25)\n')
    main(["render", "--root", str(scratch_repo), "--env", "dev", "--explain", "hub.name"])
    assert capsys.readouterr().out == "dev: hub.name is not set\n"


@pytest.mark.parametrize("layer, names, message, where", [
    ("cluster:\n  kubernetesVersoin: \"1.31\"\n", None, "unknown key 'cluster.kubernetesVersoin'", ("prod.yaml", 2)),
    ("cluster:\n  kubernetesVersion: 1.31\n", None, "cluster.kubernetesVersion must be of type string", ("prod.yaml", 2)),
    ("layers: [layers/eu-west-1.yaml]\n", None, "only an environment file names layers", ("prod.yaml", 1)),
    (None, "[layers/missing.yaml]", "layer 'layers/missing.yaml' is not a file", ("environment.yaml", 1)),
    (None, "[../defaults.yaml]", "is not a file under environments/layers/", ("environment.yaml", 1)),
    (None, "[layers/prod.yaml, layers/prod.yaml]", "is named twice", ("environment.yaml", 1)),
])
def test_a_bad_layer_is_refused_at_its_line(scratch_repo: Path, layer, names, message, where) -> None:
    _layers(scratch_repo, names=names or "[layers/eu-west-1.yaml, layers/prod.yaml]")
    if layer is not None:
        (scratch_repo / "environments" / "layers" / "prod.yaml").write_text(layer)
    with pytest.raises(InputError) as caught:
        load_environment(scratch_repo / "environments", "dev")
    assert message in caught.value.message, caught.value.message
    assert (Path(caught.value.file).name, caught.value.line) == where and caught.value.hint


def test_a_layer_edit_changes_the_validation_record_key(scratch_repo: Path, schema_cache: Path) -> None:
    from generator.schemacache import load_lock
    from generator.validate import record
    from generator.projectfiles import UPSTREAM_LOCK, project_file

    _layers(scratch_repo)
    lock = load_lock(project_file(scratch_repo, UPSTREAM_LOCK))
    before = record.Records.open(scratch_repo, scratch_repo / "rec", lock, schema_cache, None, False).environment_key("prod")
    (scratch_repo / "environments" / "layers" / "prod.yaml").write_text("cluster:\n  kubernetesVersion: \"1.30\"\n")
    after = record.Records.open(scratch_repo, scratch_repo / "rec", lock, schema_cache, None, False).environment_key("prod")
    assert before is not None and after is not None and before.digest != after.digest


def test_the_guard_traces_a_layer_change_to_every_environment_it_reaches(scratch_repo: Path, tmp_path: Path, capsys) -> None:
    """A pull request that edits one layer: the guard names every environment that layer reaches
    (dev names it; prod does not), beside its verdict on what the rendered trees show."""
    import shutil

    _layers(scratch_repo)
    assert main(["render", "--root", str(scratch_repo)]) == 0
    head = tmp_path / "head"
    shutil.copytree(scratch_repo, head)
    (head / "environments" / "layers" / "eu-west-1.yaml").write_text(
        "cluster:\n  kubernetesVersion: \"1.32\"\nsecrets:\n  refreshInterval: 3h\n")
    assert main(["render", "--root", str(head)]) == 0
    capsys.readouterr()
    code = main(["guard", "--base", str(scratch_repo), "--head", str(head), "--no-hydrate"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "layer environments/layers/eu-west-1.yaml changed: it reaches 1 environment(s): dev" in out
    assert "layers/prod.yaml" not in out


def test_the_sharded_guard_carries_the_layer_lines_into_the_one_verdict(scratch_repo: Path, tmp_path: Path, capsys) -> None:
    import json
    import shutil

    _layers(scratch_repo)
    assert main(["render", "--root", str(scratch_repo)]) == 0
    head = tmp_path / "head"
    shutil.copytree(scratch_repo, head)
    (head / "environments" / "layers" / "prod.yaml").write_text("cluster:\n  kubernetesVersion: \"1.31\"\n# reviewed\n")
    files = []
    for index in (1, 2):
        capsys.readouterr()
        assert main(["guard", "--shard", f"{index}/2", "--base", str(scratch_repo), "--head", str(head), "--no-hydrate"]) == 0
        files.append(tmp_path / f"{index}.json")
        files[-1].write_text(capsys.readouterr().out)
        assert json.loads(files[-1].read_text())["layers"] == [
            "layer environments/layers/prod.yaml changed: it reaches 1 environment(s): dev"]
    assert main(["guard-combine", "--shards", "2", *map(str, files)]) == 0
    out = capsys.readouterr().out
    assert out.count("layer environments/layers/prod.yaml changed: it reaches 1 environment(s): dev") == 1
