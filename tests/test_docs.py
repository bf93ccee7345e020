"""The documentation: README.md stays a short front page whose links all resolve, the MkDocs site
builds with `mkdocs build --strict` (offline: the Material theme needs no network to build), and
its command reference is every command's --help verbatim (generator/clidoc.py through
tools/mkdocs_hooks.py), so it cannot drift from the parser, and its environment file reference is
every key of schemas/environment.schema.json with its description (tools/mkdocs_hooks.py), so it
cannot drift from the schema."""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

from generator.cli import build_parser
from generator.clidoc import WIDTH, _walk, reference_markdown

REPO = Path(__file__).resolve().parent.parent
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def test_the_readme_is_a_short_front_page_whose_links_resolve():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) < 250
    for heading in ("## Install", "## The two commands", "## Add an environment", "## Adopt it", "## Where to read more"):
        assert heading in text
    targets = {t for t in LINK.findall(text) if "://" not in t}
    assert "docs/environments.md" in targets
    missing = [t for t in targets if not (REPO / t).exists()]
    assert missing == []
    # Every page of the site is named in the README's "where to read more" (the generated ones aside).
    pages = {p.relative_to(REPO).as_posix() for p in (REPO / "docs").rglob("*.md")} - {"docs/index.md"}
    assert pages - targets == set()


def nav_pages() -> list[str]:
    def walk(node):
        if isinstance(node, str):
            yield node
        elif isinstance(node, dict):
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for item in node:
                yield from walk(item)
    config = yaml.safe_load((REPO / "mkdocs.yml").read_text(encoding="utf-8"))
    return list(walk(config["nav"]))


def test_every_page_in_docs_is_in_the_nav_and_every_nav_entry_exists():
    pages = {p.relative_to(REPO / "docs").as_posix() for p in (REPO / "docs").rglob("*.md")}
    generated = {"reference.md", "environment-reference.md"}  # tools/mkdocs_hooks.py
    assert pages - set(nav_pages()) == set()
    assert set(nav_pages()) - pages == generated
    assert not any((REPO / "docs" / page).exists() for page in generated)
    config = yaml.safe_load((REPO / "mkdocs.yml").read_text(encoding="utf-8"))
    assert config["validation"]["nav"]["not_found"] == "warn"  # strict: a nav entry never points at nothing


def _schema_keys(node, schema, path=""):
    """Every key path of the environment schema, `$ref`s followed, list items as `[]`."""
    if "$ref" in node:
        node = {**schema["$defs"][node["$ref"].rsplit("/", 1)[1]], **node}
        node.pop("$ref")
        yield from _schema_keys(node, schema, path)
        return
    for key, child in (node.get("properties") or {}).items():
        here = f"{path}.{key}" if path else key
        yield here
        yield from _schema_keys(child, schema, here)
        if isinstance(child.get("items"), dict):
            yield from _schema_keys(child["items"], schema, f"{here}[]")


def test_the_environment_reference_names_every_key_of_the_schema_with_its_description():
    sys.path.insert(0, str(REPO / "tools"))
    try:
        from mkdocs_hooks import environment_reference
    finally:
        sys.path.remove(str(REPO / "tools"))
    schema = json.loads((REPO / "schemas" / "environment.schema.json").read_text(encoding="utf-8"))
    page = environment_reference()
    keys = list(_schema_keys(schema, schema))
    for key in ("components.litellm.imageDigest", "networkPolicies.ingress.cidrs", "secrets.replicaRegions",
                "secrets.kmsKeyUsers", "secrets.names.license", "layers", "cluster.minimumNodes",
                "components.reloader.chart.version", "components.storage-class.backup.retentionDays",
                "components.litellm.models[].model"):
        assert key in keys
    rows = {line.split("|")[1].strip().strip("`"): line for line in page.splitlines() if line.startswith("| `")}
    assert [k for k in keys if k not in rows] == []
    assert len(rows) == len(keys)
    description = schema["properties"]["secrets"]["properties"]["replicaRegions"]["description"]
    assert " ".join(description.split()) in rows["secrets.replicaRegions"]
    assert "`\"1h\"` (defaults.yaml)" in rows["secrets.refreshInterval"]  # the repository's default
    assert environment_reference() == page  # deterministic
    environments = (REPO / "docs" / "environments.md").read_text(encoding="utf-8")
    assert "(environment-reference.md)" in environments


def test_the_reference_is_every_commands_help_verbatim(monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")  # whatever the terminal, the page is formatted at WIDTH
    page = reference_markdown()
    commands = list(_walk(build_parser(), ("litellm-gitops",)))
    assert len(commands) > 10
    monkeypatch.setenv("COLUMNS", str(WIDTH))
    for path, sub in commands:
        assert f"`{' '.join(path)}`" in page
        assert sub.format_help().rstrip("\n") in page, path
    assert reference_markdown() == page  # deterministic


def test_mkdocs_build_strict(tmp_path):
    site = tmp_path / "site"
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
                            cwd=REPO, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert result.returncode == 0, result.stderr
    reference = html.unescape((site / "reference" / "index.html").read_text(encoding="utf-8"))
    assert "usage: litellm-gitops render" in reference and "usage: litellm-gitops schemas sync" in reference
    assert (site / "environments" / "index.html").is_file()
    environment = html.unescape((site / "environment-reference" / "index.html").read_text(encoding="utf-8"))
    assert "components.litellm.imageDigest" in environment and "networkPolicies.databaseCidrs" in environment


def test_ci_runs_exactly_the_readme_s_test_command():
    """.ci/run installs from the repository's own files, then runs the README's test command."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    command = re.search(r"## Test\n\n```sh\n(.+)\n```", readme)
    assert command, "README.md has no `## Test` section with the test command"
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert ci[-1] == command.group(1) and "tools/install" in ci
