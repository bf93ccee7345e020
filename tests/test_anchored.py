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


# --- the guard's and the generator's own regexes (Python's `$` matches before a final newline) ---

def _regex_literals() -> list[tuple[str, str, bool]]:
    """(where, pattern, line-wise) for every `re.<fn>(literal, ...)` call under generator/."""
    import ast

    found = []
    for path in sorted((REPO / "generator").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "re" and node.func.attr != "sub" and node.args
                    and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, (str, bytes))):
                value = node.args[0].value
                text = value.decode() if isinstance(value, bytes) else value
                line_wise = any(isinstance(a, ast.Attribute) and a.attr in ("M", "MULTILINE") for a in ast.walk(node))
                found.append((f"{path.relative_to(REPO)}:{node.lineno}", text, line_wise))
    return found


def test_no_whole_string_regex_under_generator_ends_in_a_plain_dollar() -> None:
    """Every regex literal under generator/ anchors its end with `\\Z` (or is run with fullmatch);
    a plain `$` is left only where the pattern is line-wise (re.M: lines of helm's output, the pin)."""
    found = _regex_literals()
    assert len(found) >= 40
    loose = [where for where, text, line_wise in found if re.search(r"(?<!\\)\$", text) and not line_wise]
    assert loose == []
    assert sum(r"\Z" in text for _, text, _ in found) >= 30


def _guard_patterns() -> list[tuple[str, re.Pattern[str], str, str]]:
    from generator import chartbump, environment
    from generator.guard import allowlist, redact, report, rules, sources, synced, yamlcheck

    return [
        ("synced.MANIFEST_FILE", synced.MANIFEST_FILE, "match", "values.yaml"),
        ("yamlcheck float", yamlcheck._YAML_STYLE_FLOAT, "match", "1.5e3"),
        ("yamlcheck Go dot float", yamlcheck._GO_DOT_FLOAT, "match", ".5"),
        ("yamlcheck timestamp", yamlcheck._TIMESTAMP, "match", "2026-12-04T17:00:00Z"),
        ("rules reference only", rules._REFERENCE_ONLY, "match", "os.environ/LITELLM_MASTER_KEY"),
        ("redact safe value", redact._SAFE, "match", "ami-0abc123"),
        ("redact safe URL", redact._SAFE, "match", "https://bedrock.amazonaws.com"),
        ("redact secret field", redact._SECRET_FIELD, "search", "master_key"),
        ("redact Secret path", redact._SECRET_PATHS["Secret"], "search", "data"),
        ("redact SecretString path", redact._SECRET_PATHS["CloudFormationTemplate"], "search", "Properties.SecretString"),
        ("redact helm values path", redact._SECRET_PATHS["Application"], "search", "spec.source.helm.values"),
        ("redact named item", redact._NAMED_ITEM_VALUE, "search", "env[LITELLM_MASTER_KEY].value"),
        ("report wiring", report._WIRING, "search", "spec.data[0].remoteRef.key"),
        ("sources inline", sources._INLINE, "search", "spec.source.helm.values"),
        ("allowlist Open WebUI image", allowlist.OPEN_WEBUI_IMAGE, "search", "ghcr.io/open-webui/open-webui"),
        ("allowlist ESO image", allowlist.ESO_IMAGE, "search", "ghcr.io/external-secrets/external-secrets"),
        ("allowlist Bedrock only", allowlist.BEDROCK_ONLY, "match", "bedrock:InvokeModel"),
        ("allowlist sensitive", allowlist._SENSITIVE, "search", "stringData"),
        ("allowlist data loss", allowlist._DATA_LOSS, "search", "spec.template.spec.volumes"),
        ("environment DNS label", environment.DNS_LABEL, "match", "dev"),
        ("environment layer path", environment.LAYER_PATH, "match", "layers/base.yaml"),
        ("chartbump version", chartbump.VERSION, "match", "1.2.3"),
    ]


@pytest.mark.parametrize("name, pattern, how, value", _guard_patterns(), ids=[c[0] for c in _guard_patterns()])
def test_guard_patterns_refuse_a_trailing_newline(name: str, pattern: re.Pattern[str], how: str, value: str) -> None:
    """Each pattern, run as its module runs it, accepts the value and not the value with "\\n" after it."""
    run = getattr(pattern, how)
    assert run(value), name
    assert not run(value + "\n"), name


def test_a_url_followed_by_a_second_line_is_not_a_safe_value() -> None:
    """redact's "safe" shapes (shown unredacted) stop at the first line: a URL's host stops at white
    space, so `https://host` and a secret on the next line is not safe to print."""
    from generator.guard import redact

    assert redact._SAFE.match("https://bedrock.amazonaws.com/")
    assert not redact._SAFE.match("https://bedrock.amazonaws.com\nsk-live-0123456789")
