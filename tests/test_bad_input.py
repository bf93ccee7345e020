"""The bad-input corpus (issue 13): one case per class of input that once crashed a command, ran
without end or leaked, for every command. Each case runs the command on a scratch copy of the
repository and asserts its exit code, its message, that it printed no traceback, and that it
wrote nothing (every file and link under the scratch folder is hashed before and after).

Cases are data: (id, command line, what to do to the scratch repository, exit code, message).
Files live in tests/testdata/bad-input/; large inputs are generated here.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
from pathlib import Path
from typing import Callable

import pytest

from generator.cli import main

DATA = Path(__file__).resolve().parent / "testdata" / "bad-input"
DEV = "environments/dev/environment.yaml"
PROD = "environments/prod/environment.yaml"


# --- what a case does to the scratch repository ----------------------------------------------------

def put(relative: str, fixture: str) -> Callable[[Path], None]:
    """Replace a file with a fixture."""
    return lambda root: _write(root / relative, (DATA / fixture).read_bytes())


def append(relative: str, fixture: str) -> Callable[[Path], None]:
    return lambda root: _write(root / relative, (root / relative).read_bytes() + b"\n" + (DATA / fixture).read_bytes())


def write(relative: str, content: bytes) -> Callable[[Path], None]:
    return lambda root: _write(root / relative, content)


def _write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif os.path.lexists(path):
        path.unlink()
    path.write_bytes(content)


def folder(relative: str) -> Callable[[Path], None]:
    """A folder where a file belongs (or a file where a folder belongs, for a folder)."""
    def apply(root: Path) -> None:
        path = root / relative
        if path.is_dir():
            shutil.rmtree(path)
            path.write_text("not a folder\n")
        else:
            path.unlink()
            (path / "inside").mkdir(parents=True)
    return apply


def link(relative: str, target: str) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        path = root / relative
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif os.path.lexists(path):
            path.unlink()
        path.symlink_to(target)
    return apply


def sparse(relative: str, size: int) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        with open(root / relative, "r+b") as handle:
            handle.truncate(size)
    return apply


def both(*steps: Callable[[Path], None]) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        for step in steps:
            step(root)
    return apply


def base_copy(root: Path) -> None:
    """A second checkout for guard and diff: the scratch rendered/ as it is now, at root/base."""
    shutil.copytree(root / "rendered", root / "base" / "rendered", symlinks=True)


def deep_flow(levels: int) -> bytes:
    return b"aws:\n  region: " + b"[" * levels + b"]" * levels + b"\n"


def deep_block(levels: int) -> bytes:
    return b"aws:\n" + b"".join(b" " * (2 * i + 2) + b"k%d:\n" % i for i in range(levels)) + b" " * (2 * levels + 2) + b"x\n"


ENV_ARGS = ["--env", "dev", "--root", "{root}"]
GUARD = ["--base", "{root}/base", "--head", "{root}"]
MANIFEST = "rendered/dev/manifests/namespaces/namespace-litellm.yaml"
VALUES = "rendered/dev/values/litellm.yaml"

# (id, command line, setup, exit code, a line of the message)
CASES = [
    # environment files: every command that reads one
    ("render nul byte", ["render", "--root", "{root}"], put(DEV, "nul-byte.yaml"), 2,
     f"{DEV}:3:20: error: character U+0000 is not allowed in YAML"),
    ("plan control character", ["plan", *ENV_ARGS], put(DEV, "control-character.yaml"), 2,
     f"{DEV}:3:14: error: character U+001B is not allowed in YAML"),
    ("discover not utf-8", ["discover", *ENV_ARGS], put(DEV, "not-utf8.yaml"), 2,
     f"{DEV}:3: error: not UTF-8 text"),
    ("preflight billion laughs", ["preflight", *ENV_ARGS], put(DEV, "billion-laughs.yaml"), 2,
     f"{DEV}:2:4: error: anchors and aliases (&name, *name) are not allowed in an environment file"),
    ("render billion laughs", ["render", "--root", "{root}"], put(DEV, "billion-laughs.yaml"), 2,
     "error: anchors and aliases"),
    ("render deep flow nesting", ["render", "--root", "{root}"], write(DEV, deep_flow(5000)), 2,
     "error: nested more than 64 levels deep"),
    ("plan deep block nesting", ["plan", *ENV_ARGS], write(DEV, deep_block(300)), 2,
     "error: nested more than 64 levels deep"),
    ("render 2 MB of comments", ["render", "--root", "{root}"], write(DEV, b"# comment\n" * 200_000), 2,
     "error: the environment file is 2,000,000 bytes, more than the limit of 1,048,576"),
    ("render python tag", ["render", "--root", "{root}"], put(DEV, "python-tag.yaml"), 2,
     "error: tag 'tag:yaml.org,2002:python/object/apply:os.system' is not allowed in an environment file"),
    ("plan impossible date", ["plan", *ENV_ARGS], write(DEV, b"aws:\n  region: 2001-13-45\n"), 2,
     f"{DEV}:2:11: error: not a valid timestamp (ValueError)"),
    ("render bool that is not", ["render", "--root", "{root}"], write(DEV, b"aws:\n  region: !!bool maybe\n"), 2,
     f"{DEV}:2:11: error: not a valid bool (KeyError)"),
    ("plan two documents", ["plan", *ENV_ARGS], put(DEV, "two-documents.yaml"), 2,
     f"{DEV}:3:1: error: more than one YAML document"),
    ("render environment.yaml is a folder", ["render", "--root", "{root}"], folder(DEV), 2,
     f"{DEV}: error: a folder stands where the environment file belongs"),
    ("plan environment.yaml is a link loop", ["plan", *ENV_ARGS], link(DEV, "environment.yaml"), 2,
     f"{DEV}: error: the environment file is a symbolic link; links are refused, never followed"),
    ("render defaults.yaml is a folder", ["render", "--root", "{root}"], folder("environments/defaults.yaml"), 2,
     "environments/defaults.yaml: error: a folder stands where the defaults file belongs"),
    ("render same environment twice", ["render", "--root", "{root}"], link("environments/dev2", "dev"), 2,
     "environments/dev2: error: an environment folder is a symbolic link"),
    ("render credential in repoURL", ["render", "--root", "{root}"], append(DEV, "credential-in-repo-url.yaml"), 2,
     "error: git.repoURL holds what looks like a credential (password in a URL)"),
    ("plan token as URL user", ["plan", *ENV_ARGS], append(DEV, "token-as-user-in-repo-url.yaml"), 2,
     "user information in a URL); it would be written into rendered/"),
    ("render kubectl skew names the environment's line", ["render", "--root", "{root}"],
     lambda root: _write(root / PROD, (root / PROD).read_bytes().replace(b"  name: llm-prod\n",
                                                                          b"  name: llm-prod\n  kubernetesVersion: \"1.29\"\n")), 2,
     f"{PROD}:12:3: error: kubectl 1.33.4 is outside the supported skew of the cluster's Kubernetes 1.29"),
    ("validate unknown Kubernetes version names the environment's line", ["validate", "--root", "{root}", "--env", "dev"],
     lambda root: _write(root / DEV, (root / DEV).read_bytes().replace(b"  name: llm-dev\n",
                                                                        b"  name: llm-dev\n  kubernetesVersion: \"1.10\"\n")), 2,
     f"{DEV}:11:3: error: kubernetes-validate"),
    ("validate bad environment", ["validate", "--root", "{root}", "--env", "dev"], put(DEV, "nul-byte.yaml"), 1,
     "character U+0000 is not allowed in YAML"),
    # rendered trees
    ("render rendered is a file", ["render", "--root", "{root}"], folder("rendered"), 2,
     "rendered: error: a file stands where the rendered/ folder belongs"),
    ("render --check leftovers", ["render", "--check", "--root", "{root}"], write("rendered/.tmp-dev-0000/x.yaml", b"x\n"), 1,
     "would remove leftover: rendered/.tmp-dev-0000 (from an interrupted render)"),
    ("render --check stray file", ["render", "--check", "--root", "{root}"], write("rendered/notes.txt", b"x\n"), 1,
     "would delete: rendered/notes.txt (a file no environment renders)"),
    ("render --check dangling link", ["render", "--check", "--root", "{root}"], link(MANIFEST, "/nonexistent"), 1,
     "would replace: rendered/dev/manifests/namespaces/namespace-litellm.yaml (a symbolic link (never followed))"),
    ("render --check env folder is a file", ["render", "--check", "--root", "{root}"], folder("rendered/prod"), 1,
     "would replace: rendered/prod (a file where a folder belongs)"),
    ("validate binary junk", ["validate", "--root", "{root}", "--env", "dev"], put(MANIFEST, "binary-junk.yaml"), 1,
     "not UTF-8 text"),
    ("validate not utf-8 values", ["validate", "--root", "{root}", "--env", "dev"], put(VALUES, "not-utf8.yaml"), 1,
     "rendered/dev/values/litellm.yaml: File/litellm.yaml: -: not UTF-8 text"),
    ("validate billion laughs", ["validate", "--root", "{root}", "--env", "dev"], put(MANIFEST, "billion-laughs-configmap.yaml"), 1,
     "more than 1,000,000 YAML nodes once aliases are expanded"),
    ("validate symlink out of the tree", ["validate", "--root", "{root}", "--env", "dev"], link(MANIFEST, "/etc/hostname"), 1,
     "a symbolic link in a rendered tree (not followed)"),
    ("guard symlink loop", ["guard", *GUARD], both(base_copy, link("rendered/dev/apps/loop", "loop")), 2,
     "rendered/dev/apps/loop: error: the rendered file is a symbolic link; links are refused, never followed"),
    ("diff symlink out of the tree", ["diff", *GUARD], both(base_copy, link(MANIFEST, "/etc/hostname")), 2,
     "namespace-litellm.yaml: error: the rendered file is a symbolic link; links are refused, never followed"),
    ("guard folder link", ["guard", *GUARD], both(base_copy, link("rendered/dev/extra", "/etc")), 2,
     "rendered/dev/extra: error: a symbolic link in a rendered tree; links are refused, never followed"),
    ("guard environment folder link", ["guard", *GUARD], both(base_copy, link("rendered/dev2", "dev")), 2,
     "rendered/dev2: error: a symbolic link in a rendered tree; links are refused, never followed"),
    ("guard billion laughs", ["guard", *GUARD, "--json"], both(base_copy, put(MANIFEST, "billion-laughs-configmap.yaml")), 2,
     "error: YAML alias (*anchor): refused"),
    ("diff not utf-8", ["diff", *GUARD], both(base_copy, put(VALUES, "not-utf8.yaml")), 2,
     "rendered/dev/values/litellm.yaml:3: error: not UTF-8 text"),
    ("guard file too large", ["guard", *GUARD], both(base_copy, sparse(VALUES, 9 << 20)), 2,
     "error: the rendered file is 9,437,184 bytes, more than the limit of 8,388,608"),
    ("guard --markdown into a folder", ["guard", *GUARD, "--markdown", "{root}/rendered"], base_copy, 2,
     "rendered: error: cannot write the --markdown file: is a directory"),
    ("diff --markdown under a file", ["diff", *GUARD, "--no-hydrate", "--markdown", "{root}/rendered/dev/README.md/diff.md"], base_copy, 2,
     "rendered/dev/README.md/diff.md: error: cannot write the --markdown file: file exists"),
    # flags and variables
    ("discover endpoint not a URL", ["discover", *ENV_ARGS], None, 2, "error: AWS_ENDPOINT_URL is not an http(s) URL"),
    ("preflight endpoint not a URL", ["preflight", *ENV_ARGS, "--json"], None, 2, "error: AWS_ENDPOINT_URL is not an http(s) URL"),
    ("comment markdown is a folder", ["comment", "--markdown", "{root}/rendered", "--repo", "o/r", "--pr", "1"], None, 2,
     "rendered: error: a folder stands where the Markdown file belongs"),
    ("comment markdown not utf-8", ["comment", "--markdown", "{root}/" + VALUES, "--repo", "o/r", "--pr", "1"],
     put(VALUES, "not-utf8.yaml"), 2, "rendered/dev/values/litellm.yaml:3: error: not UTF-8 text"),
    ("verify not a URL", ["verify", "--litellm-url", "localhost:4000"], None, 2, "error: --litellm-url must be an http(s) URL"),
    ("schemas sync from nowhere", ["schemas", "sync", "--from", "{root}/nowhere", "--root", "{root}"], None, 2,
     "nowhere: error: schema source folder not found"),
    ("plan unknown environment", ["plan", "--env", "qa", "--root", "{root}"], None, 2, "error: no environment named 'qa'"),
]


def snapshot(root: Path) -> dict[str, str]:
    """Every entry under root (links as their target, never followed) and its content's digest."""
    found = {}
    for base, dirs, names in os.walk(root):
        for name in dirs + names:
            path = Path(base, name)
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                found[rel] = "link:" + os.readlink(path)
            elif path.is_file():
                found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                found[rel] = "folder"
    return found


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input(case, scratch_repo: Path, schema_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, argv, setup, code, message = case
    monkeypatch.setenv("AWS_ENDPOINT_URL", "not a url")  # discover and preflight never reach the network
    monkeypatch.setenv("LITELLM_GITOPS_SCHEMA_CACHE", str(schema_cache))
    monkeypatch.chdir(scratch_repo)
    if setup is not None:
        setup(scratch_repo)
    before = snapshot(scratch_repo)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        exit_code = main([a.replace("{root}", str(scratch_repo)) for a in argv])
    output = out.getvalue() + err.getvalue()
    assert (exit_code, "Traceback" in output) == (code, False), output[-2000:]
    assert message in output.replace(str(scratch_repo) + "/", ""), output[-2000:]
    assert snapshot(scratch_repo) == before, "the command wrote something"
    if "--json" in argv:
        assert json.loads(out.getvalue())["exit"] == code
