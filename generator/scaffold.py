"""`litellm-gitops init DIR`: a new GitOps repository that uses this tool instead of containing it.

What it writes, and where each file comes from (one source for each: this repository's own files,
shipped in the wheel by setup.py, or a template in generator/templates/init/):
- environments/defaults.yaml: this repository's defaults, with git.repoURL set to --repo-url;
- environments/example/environment.yaml: a commented example (templates/init);
- schemas/charts.lock.json: this version's chart lock (`charts bump` edits the repository's copy);
- schemas/environment-file.schema.json and defaults.schema.json: the editor schemas the files'
  `# yaml-language-server` lines name (generator/editorschema.py; the tool itself never reads them);
- requirements.in and requirements.txt: this exact litellm-gitops version, and every package it
  needs pinned exactly (the versions installed beside it now); Renovate's pip-compile manager
  regenerates the file with hashes;
- .github/workflows/: ci.yml (templates/init), cloudformation.yml (this repository's), guard.yml
  and review.yml (this repository's, installing the tool as the BASE commit's requirements.txt
  pins it instead of from a checkout of the tool);
- renovate.json: this repository's chart managers, with the pip-compile manager on requirements.txt;
- .pre-commit-config.yaml, .gitignore, README.md (templates/init).
Everything is written into a folder beside DIR and renamed into place: DIR appears complete or not
at all, and an existing non-empty DIR is refused.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import tempfile
from importlib import metadata, resources
from pathlib import Path

import jinja2
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from generator import __version__
from generator.aws.discover import _yaml
from generator.errors import InputError
from generator.projectfiles import shipped_file

DISTRIBUTION = "litellm-gitops"
EXAMPLE_ENV = "example"
PLACEHOLDER_REPO = "https://github.com/example-org/llm-gateway-gitops.git"
INSTALL_FROM_CHECKOUT = re.compile(
    r"(?P<indent> +)- name: Install litellm-gitops from the base checkout\n"
    r"(?P=indent)  run: \|\n(?:(?P=indent)    .*\n)+?(?P=indent)    python -m pip install [^\n]*\./base\n")


def _template(name: str, **values: str) -> str:
    """A file of templates/init, with {@ name @} filled in (GitHub's ${{ }} passes through)."""
    env = jinja2.Environment(variable_start_string="{@", variable_end_string="@}", block_start_string="{@%",
                             block_end_string="%@}", comment_start_string="{@#", comment_end_string="#@}",
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
    text = resources.files("generator").joinpath("templates", "init", name).read_text(encoding="utf-8")
    return env.from_string(text).render(**values)


def requirements() -> str:
    """This version of the tool and every package it needs at run time, each pinned exactly to the
    version installed now (the closure of Requires-Dist without extras)."""
    pins: dict[str, str] = {}
    todo = [DISTRIBUTION]
    while todo:
        name = todo.pop()
        key = canonicalize_name(name)
        if key in pins:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise InputError(f"{name} is not installed, so its version cannot be pinned",
                             hint=f"install {DISTRIBUTION} with its dependencies, then run init again") from None
        pins[key] = dist.version
        for line in dist.requires or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    pins[canonicalize_name(DISTRIBUTION)] = __version__
    lines = [f"{name}=={version}" for name, version in sorted(pins.items())]
    return ("# litellm-gitops and everything it needs, pinned exactly (written by `litellm-gitops init`).\n"
            "# Regenerate with hashes after changing requirements.in:\n"
            "#   uv pip compile requirements.in --generate-hashes -o requirements.txt\n" + "\n".join(lines) + "\n")


def _helm_pin() -> tuple[str, str]:
    """The Helm version and binary sha256 this repository's guard workflow installs."""
    env = yaml.safe_load(shipped_file(".github/workflows/guard.yml").read_text(encoding="utf-8"))["env"]
    return env["HELM_VERSION"], env["HELM_BINARY_SHA256"]


def _base_pinned(workflow: str) -> str:
    """This repository's guard or review workflow, installing the tool as the base commit pins it."""
    text = shipped_file(f".github/workflows/{workflow}").read_text(encoding="utf-8")

    def install(match: re.Match) -> str:
        indent = match["indent"]
        return (f"{indent}- name: Install litellm-gitops as the base commit's requirements.txt pins it\n"
                f"{indent}  run: python -m pip install --disable-pip-version-check -r base/requirements.txt\n")

    replaced, count = INSTALL_FROM_CHECKOUT.subn(install, text)
    if count == 0:
        raise AssertionError(f"{workflow} has no 'Install litellm-gitops from the base checkout' step to replace")
    return replaced


def _renovate() -> str:
    source = json.loads(shipped_file("renovate.json").read_text(encoding="utf-8"))
    charts = [rule for rule in source["packageRules"] if "custom.regex" in rule.get("matchManagers", [])]
    for rule in charts:
        if "postUpgradeTasks" in rule:
            commands = rule["postUpgradeTasks"]["commands"]
            rule["postUpgradeTasks"]["commands"] = ["python3 -m pip install -r requirements.txt"] + [
                c for c in commands if c.startswith("litellm-gitops ")]
    config = {
        "$schema": source["$schema"],
        "description": [
            "requirements.txt pins litellm-gitops and its dependencies (pip-compile of requirements.in);",
            "a new litellm-gitops version arrives as a pull request whose CI renders and validates with it.",
            "Helm charts: every `chart:` block in environments/ (see the customManagers); the post-upgrade task",
            "runs `litellm-gitops charts bump` and `render`, so the pull request is complete.",
            "A self-hosted Renovate must allow those commands (allowedCommands).",
        ],
        "extends": source["extends"],
        "enabledManagers": ["pip-compile", "github-actions", "custom.regex"],
        "pip-compile": {"managerFilePatterns": ["/^requirements\\.txt$/"]},
        "customManagers": source["customManagers"],
        "schedule": source["schedule"],
        "packageRules": charts,
    }
    return json.dumps(config, indent=2) + "\n"


def _defaults(repo_url: str) -> str:
    text = shipped_file("environments/defaults.yaml").read_text(encoding="utf-8")
    rt = _yaml()
    doc = rt.load(text)
    doc["git"]["repoURL"] = repo_url
    out = io.StringIO()
    rt.dump(doc, out)
    return out.getvalue()


def files(repo_url: str) -> dict[str, str]:
    """Every file of the new repository, by path."""
    helm_version, helm_sha256 = _helm_pin()
    values = {"version": __version__, "helm_version": helm_version, "helm_sha256": helm_sha256}
    return {
        "README.md": _template("README.md", **values),
        ".gitignore": _template("gitignore"),
        ".pre-commit-config.yaml": _template("pre-commit-config.yaml"),
        "requirements.in": f"{DISTRIBUTION}=={__version__}\n",
        "requirements.txt": requirements(),
        "renovate.json": _renovate(),
        "environments/defaults.yaml": _defaults(repo_url),
        f"environments/{EXAMPLE_ENV}/environment.yaml": _template("example-environment.yaml"),
        **{f"schemas/{name}": shipped_file(f"schemas/{name}").read_text(encoding="utf-8")
           for name in ("charts.lock.json", "environment-file.schema.json", "defaults.schema.json")},
        ".github/workflows/ci.yml": _template("ci.yml", **values),
        ".github/workflows/guard.yml": _base_pinned("guard.yml"),
        ".github/workflows/review.yml": _base_pinned("review.yml"),
        ".github/workflows/cloudformation.yml": shipped_file(".github/workflows/cloudformation.yml").read_text(encoding="utf-8"),
    }


def init(target: Path, repo_url: str) -> list[str]:
    """Create the repository at `target` (absent or an empty folder); the paths written."""
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InputError("the target exists and is not an empty folder", file=target,
                         hint="pick a new folder: init never writes into an existing repository")
    content = files(repo_url)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.init-", dir=target.parent))
    try:
        for rel, text in content.items():
            path = staging / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8", newline="\n")
        if target.exists():
            target.rmdir()  # empty, checked above
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return sorted(content)
