"""The one error path (generator/cli.py): every command, whatever goes wrong inside it, ends in one
message and a code of its own: 2 bad input (an OSError included), 1 a check that could not be
done, 70 a bug. --json keeps stdout one JSON document. Each command's handler is proven by making
a function the command calls raise."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from generator.cli import COMMAND_MODULES, main
from generator.errors import EXIT_BAD_INPUT, EXIT_BUG, EXIT_FAILED, CheckFailed, InputError

# command -> (module attribute the command calls, arguments; "{md}" is an existing Markdown file)
COMMANDS = {
    "render": ("generator.commands.render.selected_names", []),
    "phases": ("generator.commands.phases.check_catalogue", ["--env", "dev", "--json"]),
    "completion": ("generator.commands.completion.script", ["bash"]),
    "verify": ("generator.commands.verify.check", ["--litellm-url", "http://127.0.0.1:9", "--json"]),
    "validate": ("generator.commands.validate.validate", ["--json"]),
    "schemas": ("generator.commands.schemas.load_lock", ["sync"]),
    "discover": ("generator.commands.discover.load_one", ["--env", "dev", "--json"]),
    "preflight": ("generator.commands.preflight.load_one", ["--env", "dev", "--json"]),
    "guard": ("generator.guard.tree.load_pair", ["--base", ".", "--head", ".", "--json"]),
    "diff": ("generator.guard.tree.load_pair", ["--base", ".", "--head", ".", "--json"]),
    "guard_combine": ("generator.commands.guard_combine.combine", ["--shards", "2", "--json"]),
    "diff_combine": ("generator.commands.diff_combine.combine", ["--shards", "2", "--json"]),
    "comment": ("generator.commands.comment.github_client", ["--markdown", "{md}"]),
    "hydrate": ("generator.commands.hydrate.hydrate", ["--env", "dev", "--json"]),
    "cache": ("generator.commands.cache.environment_names", ["prune", "--json"]),
    "charts": ("generator.chartlock.load", ["sync"]),
    "init": ("generator.scaffold.init", ["{md}.new"]),
    "env": ("generator.commands.env.environment_names", ["new", "x", "--from", "dev", "--account", "210987654321",
                                                          "--region", "eu-west-1", "--cluster", "c"]),
}


def test_every_command_is_covered() -> None:
    assert set(COMMANDS) == set(COMMAND_MODULES)


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def invoke(command: str, raised: BaseException, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    target, args = COMMANDS[command]
    module, name = target.rsplit(".", 1)

    def boom(*_a, **_k):
        raise raised

    monkeypatch.setattr(f"{module}.{name}", boom)
    md = tmp_path / "part.md"
    md.write_text("hello\n")
    monkeypatch.chdir(Path(__file__).resolve().parent.parent)
    return run([command.replace("_", "-"), *[a.replace("{md}", str(md)) for a in args]]), "--json" in args


def check_json(out: str, code: int, is_json: bool) -> dict | None:
    if not is_json:
        assert out == ""
        return None
    document = json.loads(out)
    assert document["ok"] is False and document["exit"] == code
    return document["error"]


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_an_unexpected_exception_is_one_line_saying_bug(command, monkeypatch, tmp_path) -> None:
    (code, out, err), is_json = invoke(command, ZeroDivisionError("secret-looking-value"), monkeypatch, tmp_path)
    assert code == EXIT_BUG
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"litellm-gitops {command.replace('_', '-')}: bug: unexpected ZeroDivisionError at " in err
    assert "LITELLM_GITOPS_DEBUG=1" in err
    assert "secret-looking-value" not in err + out  # the message may quote input
    error = check_json(out, code, is_json)
    assert error is None or error["bug"] is True


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_bad_input_is_exit_2_with_file_and_fix(command, monkeypatch, tmp_path) -> None:
    raised = InputError("something is wrong", file="environments/dev/environment.yaml", line=3, column=1, hint="do this")
    (code, out, err), is_json = invoke(command, raised, monkeypatch, tmp_path)
    assert code == EXIT_BAD_INPUT
    assert err == "environments/dev/environment.yaml:3:1: error: something is wrong\n  fix: do this\n"
    error = check_json(out, code, is_json)
    assert error is None or (error["line"] == 3 and error["hint"] == "do this")


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_file_system_error_is_bad_input_naming_the_path(command, monkeypatch, tmp_path) -> None:
    raised = PermissionError(13, "Permission denied", "rendered/dev/apps")
    (code, out, err), is_json = invoke(command, raised, monkeypatch, tmp_path)
    assert code == EXIT_BAD_INPUT
    assert err.startswith("rendered/dev/apps: error: permission denied\n  fix: ")
    check_json(out, code, is_json)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_check_that_could_not_be_done_is_exit_1(command, monkeypatch, tmp_path) -> None:
    (code, out, err), is_json = invoke(command, CheckFailed("GET https://api.example/x: no answer within 5s"),
                                       monkeypatch, tmp_path)
    assert code == EXIT_FAILED
    assert err == "error: GET https://api.example/x: no answer within 5s\n"
    check_json(out, code, is_json)


def test_debug_variable_shows_the_traceback(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("LITELLM_GITOPS_DEBUG", "1")
    (code, _, err), _ = invoke("render", ZeroDivisionError("x"), monkeypatch, tmp_path)
    assert code == EXIT_BUG and "Traceback" in err
