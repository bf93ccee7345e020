"""Environment loading: merge rules, and one clear error (file, line, fix) for each kind of bad input."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from generator.cli import main
from generator.environment import deep_merge, load_environment, looks_like_secret_value
from generator.errors import InputError


def tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def edit(repo: Path, env: str, old: str, new: str) -> Path:
    path = repo / "environments" / env / "environment.yaml"
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))
    return path


def test_maps_merge_and_lists_and_scalars_replace():
    base = {"a": {"b": 1, "c": [1, 2]}, "d": "x"}
    override = {"a": {"c": [3]}, "d": "y"}
    assert deep_merge(base, override) == {"a": {"b": 1, "c": [3]}, "d": "y"}


def test_environment_overrides_defaults(repo_root):
    env = load_environment(repo_root / "environments", "prod")
    assert env.component("redis-ha")["replicas"] == 3
    assert env.component("litellm")["replicas"] == 4
    # The model list replaces the default list rather than being appended to it.
    assert [m["name"] for m in env.component("litellm")["models"]][0] == "claude-sonnet-4"
    # Maps merge: the chart pin comes from defaults while replicas comes from the environment.
    assert env.component("litellm")["chart"]["name"] == "litellm-helm"
    assert env.secret_name("saltKey") == "prod/litellm/salt-key"


def test_examples_differ_as_the_issue_asks(repo_root):
    dev = load_environment(repo_root / "environments", "dev")
    prod = load_environment(repo_root / "environments", "prod")
    assert prod.component("redis-ha")["replicas"] == 3
    assert prod.enabled("bastion") and not dev.enabled("bastion")
    assert prod.component("litellm")["replicas"] > dev.component("litellm")["replicas"]
    assert dev.component("jaeger")["storage"] == "memory"


def test_example_files_carry_the_schema_line(repo_root):
    for path in [repo_root / "environments/defaults.yaml", *sorted((repo_root / "environments").glob("*/environment.yaml"))]:
        assert "# yaml-language-server: $schema=" in path.read_text().splitlines()[0], path


BAD_INPUTS = [
    # (description, old text, new text, expected message part, expected line)
    ("malformed YAML", "  name: llm-dev\n", "  name: [llm-dev\n", "malformed YAML", None),
    ("duplicate key", "  name: llm-dev\n", "  name: llm-dev\n  name: other\n", "duplicate key 'name'", 11),
    ("unknown key", "  name: llm-dev\n", "  name: llm-dev\n  nmae: typo\n", "unknown key 'cluster.nmae'", 11),
    ("wrong type", "    replicas: 3\n", "    replicas: three\n", "components.redis-ha.replicas must be of type integer", 24),
    ("account id", '"111122223333"', '"1111"', "aws.accountId is not valid", 6),
    ("unknown state", "  bastion:\n    state: disabled\n", "  bastion:\n    state: off-ish\n", "components.bastion.state is not valid", 37),
]


@pytest.mark.parametrize("label, old, new, message, line", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_exits_2_names_file_line_and_fix_and_writes_nothing(scratch_repo, capsys, label, old, new, message, line):
    before = tree_digest(scratch_repo / "rendered")
    path = edit(scratch_repo, "dev", old, new)
    code = main(["render", "--root", str(scratch_repo)])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert str(path) in err
    if line is not None:
        assert f"{path}:{line}:" in err
    assert "fix:" in err
    assert tree_digest(scratch_repo / "rendered") == before


def test_secret_value_pasted_as_name_is_refused_without_echoing_it(scratch_repo, capsys):
    edit(scratch_repo, "prod", "  prefix: prod/\n",
         "  prefix: prod/\n  names:\n    saltKey: Zx8v1QpL0mR7tYc2Kd9Wf3Hs6Jb4Ne5A\n")
    code = main(["render", "--root", str(scratch_repo), "--env", "prod"])
    err = capsys.readouterr().err
    assert code == 2
    assert "looks like a secret value" in err and "rotate" in err
    assert "Zx8v1QpL0mR7tYc2Kd9Wf3Hs6Jb4Ne5A" not in err


def test_every_secret_name_is_checked_for_pasted_values(scratch_repo, capsys):
    edit(scratch_repo, "prod", "  prefix: prod/\n",
         "  prefix: prod/\n  names:\n    webuiSecretKey: sk-live-0123456789abcdef\n")
    assert main(["plan", "--root", str(scratch_repo), "--env", "prod"]) == 2
    err = capsys.readouterr().err
    assert "secrets.names.webuiSecretKey looks like a secret value" in err
    assert "sk-live-0123456789abcdef" not in err


def test_error_in_defaults_points_at_defaults(scratch_repo, capsys):
    path = scratch_repo / "environments/defaults.yaml"
    path.write_text(path.read_text().replace("  project: litellm\n", "  project: LiteLLM_Project\n"))
    assert main(["plan", "--root", str(scratch_repo), "--env", "dev"]) == 2
    assert f"{path}:" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["Prod", "prod_eu", "-dev", "a" * 64])
def test_environment_folder_must_be_a_dns_label(scratch_repo, capsys, name):
    (scratch_repo / "environments" / "prod").rename(scratch_repo / "environments" / name)
    before = tree_digest(scratch_repo / "rendered")
    assert main(["render", "--root", str(scratch_repo)]) == 2
    err = capsys.readouterr().err
    assert "not a DNS-1123 label" in err and "rename the folder" in err
    assert tree_digest(scratch_repo / "rendered") == before


def test_missing_environment_file(scratch_repo, capsys):
    (scratch_repo / "environments/dev/environment.yaml").unlink()
    assert main(["render", "--root", str(scratch_repo)]) == 2
    assert "file not found" in capsys.readouterr().err


def test_unknown_environment_lists_the_known_ones(scratch_repo, capsys):
    assert main(["plan", "--root", str(scratch_repo), "--env", "staging"]) == 2
    err = capsys.readouterr().err
    assert "no environment named 'staging'" in err and "dev, prod" in err


def test_missing_required_key_points_at_its_parent(scratch_repo):
    edit(scratch_repo, "dev", "  name: llm-dev\n", "")
    with pytest.raises(InputError) as caught:
        load_environment(scratch_repo / "environments", "dev")
    assert "missing required key 'cluster.name'" in caught.value.message
    assert caught.value.line == 9  # the 'cluster:' line of dev/environment.yaml


@pytest.mark.parametrize("value, secret", [
    ("litellm/salt-key", False),
    ("prod/litellm/database-url", False),
    ("sk-1234567890abcdef", True),
    ("postgresql://user:pass@db:5432/litellm", True),
    ("AKIAIOSFODNN7EXAMPLE", True),
    ("Zx8v1QpL0mR7tYc2Kd9Wf3Hs6Jb4Ne5A", True),
])
def test_secret_value_heuristic(value, secret):
    assert looks_like_secret_value(value) is secret


def test_schema_comes_from_the_repository_being_rendered(scratch_repo, capsys):
    """A plain (non-editable) install reads schemas/ from the repository it renders, and a
    repository's own schema wins over the one in the package checkout."""
    from generator.projectfiles import CHECKOUT, ENVIRONMENT_SCHEMA, project_file

    assert project_file(scratch_repo, ENVIRONMENT_SCHEMA) == CHECKOUT / ENVIRONMENT_SCHEMA
    (scratch_repo / "schemas").mkdir()
    stricter = json.loads((CHECKOUT / ENVIRONMENT_SCHEMA).read_text())
    stricter["properties"]["components"]["properties"]["litellm"]["properties"]["replicas"]["maximum"] = 1
    (scratch_repo / ENVIRONMENT_SCHEMA).write_text(json.dumps(stricter))
    assert project_file(scratch_repo, ENVIRONMENT_SCHEMA) == scratch_repo / ENVIRONMENT_SCHEMA
    assert main(["plan", "--root", str(scratch_repo), "--env", "prod"]) == 2
    assert "components.litellm.replicas" in capsys.readouterr().err


# --- every problem at once ---------------------------------------------------------------------------

def test_every_problem_of_a_file_at_once_with_place_value_and_fix(scratch_repo, capsys):
    before = tree_digest(scratch_repo / "rendered")
    path = edit(scratch_repo, "dev", "  name: llm-dev\n", "  name: llm-dev\n  nmae: typo\n")
    edit(scratch_repo, "dev", '"111122223333"', '"1111"')
    edit(scratch_repo, "dev", "    replicas: 3\n", "    replicas: 3000\n")
    edit(scratch_repo, "dev", "    state: disabled\n", "    state: off-ish\n")
    assert main(["render", "--root", str(scratch_repo)]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [
        f'{path}:6:3: error: aws.accountId is not valid (is "1111")',
        "  fix: 12-digit AWS account ID, quoted. It must match ^[0-9]{12}$",
        f"{path}:11:3: error: unknown key 'cluster.nmae'",
        "  fix: did you mean 'name'? allowed here: authenticationMode, kubernetesVersion, minimumNodes, name, network, oidcIssuer, server",
        f"{path}:25:5: error: components.redis-ha.replicas is out of range (is 3000): it must be at least 1 and at most 9",
        "  fix: use a value that is at least 1 and at most 9",
        f'{path}:38:5: error: components.bastion.state is not valid (is "off-ish"): not one of the allowed values',
        '  fix: use one of: "enabled", "disabled", "external"',
        "4 problem(s)",
    ]
    assert tree_digest(scratch_repo / "rendered") == before


def test_an_offending_value_that_looks_like_a_secret_is_never_echoed(scratch_repo, capsys):
    secret = "sk-live-0123456789abcdef0123"
    edit(scratch_repo, "dev", "    state: disabled\n", f"    state: {secret}\n")
    assert main(["render", "--root", str(scratch_repo)]) == 2
    err = capsys.readouterr().err
    assert "components.bastion.state is not valid: not one of the allowed values" in err and secret not in err


def test_many_problems_stop_at_a_limit_with_a_count(scratch_repo, capsys):
    keys = "".join(f"  typo{i:02d}: x\n" for i in range(25))
    edit(scratch_repo, "dev", "  name: llm-dev\n", "  name: llm-dev\n" + keys)
    assert main(["plan", "--root", str(scratch_repo), "--env", "dev", "--json"]) == 2
    out, err = capsys.readouterr()
    assert err.count("error: unknown key 'cluster.typo") == 20
    assert err.endswith("and 5 more problem(s)\n25 problem(s)\n")
    assert len(json.loads(out)["error"]["problems"]) == 25


def test_render_reports_every_environments_problems(scratch_repo, capsys):
    edit(scratch_repo, "dev", "    state: disabled\n", "    state: off\n")
    edit(scratch_repo, "prod", '"444455556666"', '"4444"')
    assert main(["render", "--root", str(scratch_repo)]) == 2
    err = capsys.readouterr().err
    assert "environments/dev/environment.yaml:" in err and "environments/prod/environment.yaml:" in err
