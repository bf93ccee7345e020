"""Verbosity, progress and machine output on every command (generator/console.py, generator/cli.py):
every command takes -q/--quiet, -v/--verbose and --json; progress shows only on a terminal (and not
with -q), leaves nothing behind, and off a terminal the output is unchanged; -v says each step."""

from __future__ import annotations

import argparse
import io
import json

import pytest

from generator import console
from generator.cli import build_parser, main
from generator.clidoc import _subcommands, _walk


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def leaf_commands() -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    return [(path, parser) for path, parser in _walk(build_parser(), ("litellm-gitops",))
            if len(path) > 1 and not _subcommands(parser)]


def options(parser: argparse.ArgumentParser) -> set[str]:
    return {flag for action in parser._actions for flag in action.option_strings}  # noqa: SLF001


def test_every_command_takes_quiet_verbose_and_json():
    commands = leaf_commands()
    assert {" ".join(path[1:]) for path, _ in commands} >= {"render", "validate", "hydrate", "diff", "guard", "charts sync",
                                                             "schemas sync", "comment", "verify", "discover", "preflight"}
    missing = {" ".join(path[1:]): {"-q", "--quiet", "-v", "--verbose", "--json"} - options(parser)
               for path, parser in commands}
    assert {name: flags for name, flags in missing.items() if flags} == {}


def test_quiet_and_verbose_given_before_or_after_a_nested_action():
    parser = build_parser("schemas")
    for argv, expected in ((["schemas", "-q", "sync"], (True, 0)), (["schemas", "sync", "-vv"], (False, 2)),
                           (["schemas", "sync"], (False, 0))):
        args = parser.parse_args(argv)
        assert (args.quiet, args.verbose) == expected


@pytest.fixture
def stderr(monkeypatch):
    def use(stream):
        monkeypatch.setattr("sys.stderr", stream)
        return stream
    yield use
    console.configure(argparse.Namespace(quiet=False, verbose=0))


def run_steps() -> None:
    with console.progress("hydrating", 2) as step:
        for name in ("dev", "prod"):
            with console.progress("inner", 1) as inner:  # one bar at a time: the inner one is silent
                inner("x")
            step(name)


def test_progress_off_a_terminal_prints_nothing_and_with_verbose_each_step(stderr):
    err = stderr(io.StringIO())
    console.configure(argparse.Namespace(quiet=False, verbose=0))
    run_steps()
    assert err.getvalue() == ""
    console.configure(argparse.Namespace(quiet=False, verbose=1))
    run_steps()
    assert err.getvalue() == "inner: x\nhydrating: dev\ninner: x\nhydrating: prod\n"


def test_progress_on_a_terminal_draws_a_bar_unless_quiet(stderr, monkeypatch):
    monkeypatch.delenv("TERM", raising=False)
    err = stderr(Terminal())
    console.configure(argparse.Namespace(quiet=False, verbose=0))
    run_steps()
    assert "hydrating" in err.getvalue() and "2/2" in err.getvalue()
    err = stderr(Terminal())
    console.configure(argparse.Namespace(quiet=True, verbose=0))
    run_steps()
    assert err.getvalue() == ""


def test_render_json_and_quiet(repo_root, capsys):
    assert main(["render", "--root", str(repo_root), "--check", "--json", "-q"]) == 0
    out, err = capsys.readouterr()
    document = json.loads(out)
    assert document["fresh"] is True and document["environments"] >= 2 and err == ""


def test_verbose_prints_a_bugs_traceback(monkeypatch, capsys):
    def boom(_args):
        raise RuntimeError("boom")

    monkeypatch.setattr("generator.commands.phases.run", boom)
    monkeypatch.delenv("LITELLM_GITOPS_DEBUG", raising=False)
    assert main(["plan", "--env", "dev"]) == 70
    assert "Traceback" not in capsys.readouterr().err
    assert main(["plan", "--env", "dev", "-v"]) == 70
    assert "Traceback" in capsys.readouterr().err


def test_validate_on_a_terminal_shows_a_table_and_off_it_the_one_summary_line(repo_root, schema_cache, tmp_path, monkeypatch, capsys):
    argv = ["validate", "--root", str(repo_root), "--env", "dev", "--no-hydrate", "--cache", str(schema_cache),
            "--record", str(tmp_path / "records")]
    assert main(argv) == 0
    line = capsys.readouterr().out
    assert line.startswith("validated ") and line.count("\n") == 1 and "(" in line
    terminal = Terminal()
    monkeypatch.setattr("sys.stdout", terminal)
    monkeypatch.setenv("NO_COLOR", "1")
    assert main(argv) == 0
    text = terminal.getvalue()
    assert "\x1b[3" not in text  # no colour under NO_COLOR
    assert "validated " in text and "kubernetes" in text and text.rstrip().endswith("no problems")
    assert "environment(s) unchanged since validated" in text
