"""The documentation: README.md stays a short front page whose links all resolve, the MkDocs site
builds with `mkdocs build --strict` (offline: the Material theme needs no network to build), and
its command reference is every command's --help verbatim (generator/clidoc.py through
tools/mkdocs_hooks.py), so it cannot drift from the parser."""

from __future__ import annotations

import html
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
    # Pages other branches add are in the nav; every other link must resolve now.
    pending = set(nav_pages()) - {p.relative_to(REPO / "docs").as_posix() for p in (REPO / "docs").rglob("*.md")}
    missing = [t for t in targets if not (REPO / t).exists() and t.removeprefix("docs/") not in pending]
    assert missing == []


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


def test_every_page_in_docs_is_in_the_nav():
    pages = {p.relative_to(REPO / "docs").as_posix() for p in (REPO / "docs").rglob("*.md")}
    assert pages - set(nav_pages()) == set()
    assert "reference.md" in nav_pages() and not (REPO / "docs" / "reference.md").exists()  # generated


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
