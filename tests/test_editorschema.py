"""Editor schemas (generator/editorschema.py): derived from schemas/environment.schema.json and
committed fresh; every file people write, this repository's, the fixtures' and a repository `init`
creates, passes check-jsonschema against the schema its `# yaml-language-server` line names;
wrong files fail; every key has a description."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO
from generator import editorschema
from test_workflows import tool

MODELINE = re.compile(r"^# yaml-language-server: \$schema=(\S+)$")


def _check(schema: Path, *files: Path) -> subprocess.CompletedProcess:
    return subprocess.run([tool("check-jsonschema"), "--schemafile", str(schema), *map(str, files)],
                          capture_output=True, text=True)


def _schema_of(path: Path) -> Path:
    match = MODELINE.match(path.read_text().splitlines()[0])
    assert match, f"{path} has no yaml-language-server line"
    return (path.parent / match.group(1)).resolve()


def test_the_committed_editor_schemas_are_fresh():
    assert editorschema.main(["--check", "--root", str(REPO)]) == 0


@pytest.fixture(scope="module")
def created(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("init") / "repo"
    subprocess.run([sys.executable, "-m", "generator", "init", str(target)], check=True, capture_output=True)
    return target


def test_every_shipped_file_passes_the_schema_its_modeline_names(created: Path):
    files = [REPO / "environments" / "defaults.yaml", *sorted((REPO / "environments").glob("*/environment.yaml")),
             *sorted((REPO / "examples").glob("*/*/environment.yaml")),
             created / "environments" / "defaults.yaml", created / "environments" / "example" / "environment.yaml"]
    for path in files:
        schema = _schema_of(path)
        assert schema.name == ("defaults.schema.json" if path.name == "defaults.yaml" else "environment-file.schema.json")
        done = _check(schema, path)
        assert done.returncode == 0, done.stdout + done.stderr


def test_an_environment_file_is_not_the_merged_environment():
    """The merged schema underlines a correct file (git, argocd come from defaults.yaml); the file's does not."""
    dev = REPO / "environments" / "dev" / "environment.yaml"
    assert _check(REPO / "schemas" / "environment.schema.json", dev).returncode == 1
    assert _check(REPO / "schemas" / "environment-file.schema.json", dev).returncode == 0


@pytest.mark.parametrize("schema,text,expected", [
    ("environment-file", "aws:\n  acountId: \"111122223333\"\n", "'acountId' was unexpected"),
    ("environment-file", "components:\n  litellm:\n    replicas: two\n", "'two' is not of type 'integer'"),
    ("environment-file", "components:\n  litellm:\n    models:\n      - name: haiku\n", "'model' is a required property"),
    ("environment-file", "cluster:\n  oidcIssuer: https://example.com/\n", "does not match"),
    ("defaults", "aws:\n  accountId: \"111122223333\"\n", "'accountId' was unexpected"),
    ("defaults", "hub:\n  name: central\n", "'hub' was unexpected"),
])
def test_wrong_files_are_rejected(tmp_path: Path, schema: str, text: str, expected: str):
    path = tmp_path / "file.yaml"
    path.write_text(text)
    done = _check(REPO / "schemas" / f"{schema}.schema.json", path)
    assert done.returncode == 1 and expected in done.stdout, done.stdout


@pytest.mark.parametrize("name", ["environment-file.schema.json", "defaults.schema.json"])
def test_every_key_has_a_description(name: str):
    schema = json.loads((REPO / "schemas" / name).read_text())
    defs = schema.get("$defs", {})

    def described(node: dict) -> bool:
        if node.get("description"):
            return True
        ref = node.get("$ref", "")
        return bool(ref) and described(defs[ref.rsplit("/", 1)[-1]])

    missing = []

    def walk(node, path: str):
        if isinstance(node, dict):
            for key, value in (node.get("properties") or {}).items():
                if isinstance(value, dict) and not described(value):
                    missing.append(f"{path}.{key}")
            for key, value in node.items():
                walk(value, f"{path}/{key}")
        elif isinstance(node, list):
            for value in node:
                walk(value, path)

    walk(schema, "")
    assert missing == []
