"""`litellm-gitops completion bash|zsh|fish` and `phases` (with `plan` as its deprecated alias).

The bash script is sourced into a real bash and its completion function asked, as bash would
(COMP_WORDS, COMP_CWORD), for commands, options and nested actions; the zsh and fish scripts are
checked to name every command and option of the parser they come from (no zsh or fish here)."""

from __future__ import annotations

import subprocess

import pytest

from generator.cli import build_parser, main
from generator.clidoc import _subcommands
from generator.commands.completion import script


def complete_bash(words: list[str]) -> list[str]:
    line = " ".join(words)
    program = (f"source /dev/stdin <<'EOF'\n{script('bash')}\nEOF\n"
               f"COMP_WORDS=({line}); COMP_CWORD={len(words) - 1}; COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}}\n"
               "_shtab_litellm_gitops; printf '%s\\n' \"${COMPREPLY[@]}\"\n")
    result = subprocess.run(["bash", "--norc", "--noprofile", "-c", program], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_bash_completes_commands_options_and_nested_actions():
    assert complete_bash(["litellm-gitops", "ph"]) == ["phases"]
    assert "completion" in complete_bash(["litellm-gitops", "co"])
    assert complete_bash(["litellm-gitops", "diff", "--exit"]) == ["--exit-code"]
    assert complete_bash(["litellm-gitops", "schemas", "sync", "--ref"]) == ["--reference-out"]
    assert complete_bash(["litellm-gitops", "completion", "f"]) == ["fish"]


def test_zsh_and_fish_name_every_command_and_option():
    parser = build_parser()
    commands = [name for name, _ in _subcommands(parser)]
    zsh, fish = script("zsh"), script("fish")
    assert zsh.startswith("#compdef litellm-gitops")
    for name, sub in _subcommands(parser):
        assert f"-a {name} -d" in fish
        assert name in zsh
        for action in sub._actions:  # noqa: SLF001
            for flag in action.option_strings:
                if flag.startswith("--"):
                    assert f"-l {flag[2:]}" in fish, (name, flag)
    assert "complete -c litellm-gitops -n '__fish_seen_subcommand_from completion' -a 'bash zsh fish'" in fish
    assert "-n '__fish_seen_subcommand_from schemas; and not __fish_seen_subcommand_from sync' -a sync" in fish
    assert len(commands) >= 13


def test_completion_command_prints_the_script(capsys):
    assert main(["completion", "fish"]) == 0
    assert capsys.readouterr().out == script("fish")
    assert main(["completion", "tcsh"]) == 2


def test_phases_and_plan_as_a_deprecated_alias(repo_root, capsys):
    assert main(["phases", "--root", str(repo_root), "--env", "prod"]) == 0
    table, err = capsys.readouterr()
    assert "deprecated" not in err and "Plan for environment prod" in table
    assert main(["plan", "--root", str(repo_root), "--env", "prod"]) == 0
    out, err = capsys.readouterr()
    assert out == table
    assert "warning: `litellm-gitops plan` is deprecated and will be removed in 0.2: use `litellm-gitops phases`" in err
