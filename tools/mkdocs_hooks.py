"""MkDocs hooks (mkdocs.yml `hooks:`): add the generated command reference, docs/reference.md,
from every command's --help (generator/clidoc.py), so the published reference cannot drift."""

from __future__ import annotations

from mkdocs.structure.files import File, Files

from generator.clidoc import reference_markdown


def on_files(files: Files, config) -> Files:
    files.append(File.generated(config, "reference.md", content=reference_markdown()))
    return files
