"""Exit 70 is for real bugs only (issue #22, item 3): corrupt project files and caches, closed or
full stdout and the C locale end in exit 1 or 2 with one clear line, never "bug: unexpected"."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from generator.applied import cache
from generator.cli import main

REPO = Path(__file__).resolve().parent.parent


def command(*args: str, env: dict[str, str] | None = None, **streams) -> subprocess.CompletedProcess:
    streams = streams or {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    return subprocess.run([sys.executable, "-m", "generator", *args], env={**os.environ, **(env or {})},
                          timeout=120, check=False, cwd=REPO, **streams)


def test_a_closed_stdout_is_one_line_on_stderr() -> None:
    done = subprocess.run(["sh", "-c", 'exec "$0" -m generator phases --env dev >&-', sys.executable],
                          stderr=subprocess.PIPE, timeout=120, check=False, cwd=REPO)
    assert done.returncode == 2
    assert done.stderr.decode() == "error: standard output is closed; run with it open (redirect it to a file or /dev/null)\n"


@pytest.mark.parametrize("argv", [["phases", "--env", "dev"], ["phases", "--env", "dev", "--json"],
                                  ["render", "--check"]])
def test_a_full_stdout_is_one_line_never_a_traceback(argv: list[str]) -> None:
    with open("/dev/full", "w") as full:
        done = command(*argv, stdout=full, stderr=subprocess.PIPE)
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.decode().splitlines() if not line.startswith("warning: ")]  # render's placeholders
    assert errors == ["error: cannot write to standard output: no space left on device"]


def test_the_c_locale_prints_what_it_cannot_encode_as_escapes(tmp_path: Path) -> None:
    from guard_build import Rendered

    base = Rendered.minimal("dev", "prod")
    head = base.edit(lambda t: t.obj("Application", "prod-litellm")["spec"]["sources"][0].__setitem__("targetRevision", "9.9.9"))
    base.write(tmp_path / "b")
    head.write(tmp_path / "h")
    done = command("diff", "--base", str(tmp_path / "b"), "--head", str(tmp_path / "h"), "--no-hydrate",
                   env={"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONIOENCODING": ""})
    assert done.returncode == 0, done.stderr
    assert b"wave 13 \\xb7 prod-litellm" in done.stdout and b"9.9.9" in done.stdout  # "·" escaped, no UnicodeEncodeError


@pytest.mark.parametrize("content", [b"{", b"\xff", b"[" * 100_000 + b"]" * 100_000, b'{"type": 5}',
                                     b'{"properties": {"a": {"pattern": "("}}}'],
                         ids=["truncated", "not-utf8", "deep", "wrong-type", "bad-regex"])
def test_a_corrupt_environment_schema_is_bad_input(content: bytes, scratch_repo: Path, capsys) -> None:
    schema = scratch_repo / "schemas" / "environment.schema.json"
    schema.parent.mkdir()
    schema.write_bytes(content)
    assert main(["render", "--check", "--root", str(scratch_repo)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{schema}: error: the environment schema is not ") and "bug" not in err


@pytest.mark.parametrize("content", [b"[" * 100_000 + b"]" * 100_000, b'[["a", "b", "c"]]', b'{"a": 1}', b"\xff"])
def test_a_corrupt_hydrate_cache_entry_is_a_miss(content: bytes, tmp_path: Path) -> None:
    digest = "ab" * 32
    path = tmp_path / "renders" / digest[:2] / f"{digest}.json"
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    assert cache.read(tmp_path, digest) is None


def test_a_hydrate_cache_entry_that_is_a_fifo_is_a_miss_without_blocking(tmp_path: Path) -> None:
    digest = "cd" * 32
    path = tmp_path / "renders" / digest[:2] / f"{digest}.json"
    path.parent.mkdir(parents=True)
    os.mkfifo(path)
    assert cache.read(tmp_path, digest) is None


@pytest.mark.parametrize("content", [b"[" * 100_000 + b"]" * 100_000, b'{"charts": [{"file": {}}]}', b"\xff"])
def test_a_corrupt_chart_lock_is_bad_input(content: bytes, scratch_repo: Path, tmp_path: Path, capsys) -> None:
    lock = scratch_repo / "schemas" / "charts.lock.json"
    lock.parent.mkdir()
    lock.write_bytes(content)
    (tmp_path / "from").mkdir()
    assert main(["charts", "sync", "--root", str(scratch_repo), "--from", str(tmp_path / "from"),
                 "--cache", str(tmp_path / "cache")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{lock}: error: chart lock ") and "bug" not in err


def test_hydrate_of_an_unknown_environment_names_the_known_ones(capsys) -> None:
    assert main(["hydrate", "--root", str(REPO), "--env", "nope", "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(f"{REPO}/environments/nope: error: no environment named 'nope'\n  fix: pick one of: dev, prod")
    assert '"exit": 2' in captured.out


@pytest.mark.parametrize("value", ["inf", "nan", "-1", "0", "1e9"])
def test_preflight_refuses_a_deadline_that_is_not_a_positive_finite_number(value: str, capsys) -> None:
    assert main(["preflight", "--root", str(REPO), "--env", "dev", "--deadline", value]) == 2
    assert "the deadline must be a positive number of seconds, at most 86400 (MAXIMUM)" in capsys.readouterr().err


@pytest.mark.parametrize("content", [b"[" * 100_000 + b"]" * 100_000, b"\xff", b'{"format": []}'])
def test_a_corrupt_validation_record_is_a_miss(content: bytes, tmp_path: Path) -> None:
    from generator.validate.record import Key, Records

    records = Records(tmp_path, tmp_path / "validated", "c" * 64, None, read=True)
    key = Key("ef" * 32, "environment", "dev", None, ("rendered/dev",))
    path = tmp_path / "validated" / key.digest[:2] / f"{key.digest}.json"
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    assert records.read(key) is None
