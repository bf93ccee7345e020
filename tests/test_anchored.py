"""Anchored means anchored (issue #22, item 4): every pattern of the environment schema matches the
whole value, as Python's jsonschema runs it (re.search, where `$` also matches before a final
newline) and as ECMA-262 reads it (editors, check-jsonschema); ranges a pattern cannot express
are checked; `--jobs` is at least 1."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from generator.cli import main

REPO = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((REPO / "schemas" / "environment.schema.json").read_text())


def patterns(node=SCHEMA, path="") -> list[tuple[str, str]]:
    found, stack = [], [(node, path)]
    while stack:  # bounded: the schema is finite
        node, path = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("pattern"), str):
                found.append((path, node["pattern"]))
            stack.extend((v, f"{path}/{k}") for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, f"{path}/{i}") for i, v in enumerate(node))
    return sorted(found)


def test_every_schema_pattern_is_anchored_at_both_ends() -> None:
    found = patterns()
    assert len(found) >= 38
    loose = [where for where, pattern in found if not (pattern.startswith("^") and pattern.endswith("$(?!\\n)"))]
    assert loose == []


@pytest.mark.parametrize("where, pattern", patterns())
def test_no_pattern_accepts_a_trailing_or_leading_newline(where: str, pattern: str) -> None:
    """For each pattern, the values of the shipped environments it accepts stop matching with a
    newline added (and the pattern compiles as a JSON Schema regex)."""
    validator = jsonschema.Draft202012Validator({"type": "string", "pattern": pattern})
    samples = [v for v in _values() if re.search(pattern, v)]
    for value in samples:
        assert not validator.is_valid(value + "\n") and not validator.is_valid("\n" + value), (where, value)


def _values() -> list[str]:
    import yaml

    found = []
    for path in [REPO / "environments/defaults.yaml", *sorted((REPO / "environments").glob("*/environment.yaml"))]:
        stack = [yaml.safe_load(path.read_text())]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                stack.extend(node.values())
            elif isinstance(node, list):
                stack.extend(node)
            elif isinstance(node, str):
                found.append(node)
    return found + ["111122223333", "https://kubernetes.default.svc", "https://search.example.com:443"]


def _edit(repo: Path, old: str, new: str, env: str = "dev") -> None:
    path = repo / "environments" / env / "environment.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize("old, new, words", [
    ('accountId: "111122223333"', 'accountId: "111122223333\\n"', "aws.accountId is not valid"),
    ("name: llm-dev", 'name: "llm-dev\\n"', "cluster.name is not valid"),
    ("cluster:\n", 'cluster:\n  server: "https://k8s.example.com\\nx: y"\n', "cluster.server is not valid"),
    ("limits: {memory: 1Gi}", "limits: {memory: 256Mi}", "components.litellm.resources.requests.memory (512Mi) is more than"),
    ("limits: {memory: 1Gi}", "limits: {memory: 1Gi, cpu: 100m}", "requests.cpu (250m) is more than"),
    ("  bastion:\n", "  open-webui:\n    storageSize: 99999Ti\n  bastion:\n", "outside the gp3 volume sizes"),
    ("  bastion:\n", "  open-webui:\n    storageSize: 10Mi\n  bastion:\n", "outside the gp3 volume sizes"),
])
def test_values_out_of_shape_or_range_are_refused(old: str, new: str, words: str, scratch_repo: Path, capsys) -> None:
    _edit(scratch_repo, old, new)
    assert main(["render", "--check", "--root", str(scratch_repo)]) == 2
    err = capsys.readouterr().err
    assert words in err and "environment.yaml:" in err, err


@pytest.mark.parametrize("port, ok", [("443", True), ("65535", True), ("0", False), ("65536", False), ("99999", False)])
def test_ports_are_1_to_65535(port: str, ok: bool) -> None:
    [pattern] = [p for where, p in patterns() if where.endswith("serverUrls/items")]
    validator = jsonschema.Draft202012Validator({"type": "string", "pattern": pattern})
    assert validator.is_valid(f"https://search.example.com:{port}") is ok


def test_an_environment_folder_name_with_a_newline_is_refused(scratch_repo: Path, capsys) -> None:
    (scratch_repo / "environments" / "dev").rename(scratch_repo / "environments" / "dev\n")
    assert main(["render", "--check", "--root", str(scratch_repo), "--env", "dev\n"]) == 2
    assert "is not a DNS-1123 label" in capsys.readouterr().err


@pytest.mark.parametrize("jobs", ["0", "-3", "x", "100000"])
def test_validate_jobs_must_be_at_least_one(jobs: str, capsys) -> None:
    assert main(["validate", "--jobs", jobs]) == 2
    assert "argument --jobs:" in capsys.readouterr().err


def test_the_generator_s_own_patterns_match_whole_strings() -> None:
    """Go's `$` (Argo CD's regexps) matches only at the very end; these models of them too."""
    from generator.applied.apiversions import GA
    from generator.applied.directory import MANIFEST_FILE, SOURCE_OVERRIDES
    from generator.appset import GO_FIELD

    for pattern, value in ((MANIFEST_FILE, "a.yaml"), (SOURCE_OVERRIDES, ".argocd-source.yaml"), (GA, "v1"),
                           (GO_FIELD, ".path.basename")):
        assert pattern.match(value) and not pattern.match(value + "\n"), pattern.pattern
