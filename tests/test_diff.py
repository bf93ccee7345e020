"""`litellm-gitops diff`: per environment, wave and Application, added/removed/changed objects with
dotted paths, chart bumps called out, totals first; Markdown collapsed and truncated with a count."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from generator.guard import diff, tree
from test_guard import run_cli
from guard_build import ENV, Rendered


def _diff(tmp_path: Path, base: Rendered, head: Rendered) -> diff.TreeDiff:
    """As the command does it: only what differs (and the Applications delivering it) is read."""
    b, h = base.write(tmp_path / "b"), head.write(tmp_path / "h")
    pair = tree.load_pair(b, h, diff.select)
    result = diff.diff_trees(pair.base, pair.head, pair.names)
    full = diff.diff_trees(tree.load_tree(b), tree.load_tree(h))
    assert diff.to_json(result) == diff.to_json(full), "reading less must not change the diff"
    return result


def test_changes_grouped_by_environment_wave_and_application(tmp_path: Path) -> None:
    base = Rendered.minimal("dev", "prod")

    def change(t: Rendered) -> None:
        t.values("litellm")["replicaCount"] = 3
        t.obj("Application", "prod-litellm")["spec"]["sources"][0]["targetRevision"] = "1.84.0"
        t.obj("ExternalSecret", "litellm-secrets")["spec"]["refreshInterval"] = "5m"
        t.remove("ExternalSecret", "openwebui-secrets")
        t.add("manifests/secret-store/new.yaml", {"apiVersion": "v1", "kind": "ConfigMap",
                                                  "metadata": {"name": "extra"}, "data": {"a": "b"}})

    d = _diff(tmp_path, base, base.edit(change))
    assert (d.count("added"), d.count("removed"), d.count("changed")) == (1, 1, 3)
    [prod] = [e for e in d.environments if e.name == ENV]
    assert [e.status for e in d.environments] == ["unchanged", "changed"]
    assert [(g.wave, g.owner) for g in prod.groups] == [(8, "prod-secret-store"), (13, "prod-litellm")]
    store = {c.label: c for c in prod.groups[0].changes}
    assert store["ConfigMap litellm/extra"].kind == "added"  # the Application's namespace is the default
    assert store["ExternalSecret open-webui/openwebui-secrets"].kind == "removed"
    assert store["ExternalSecret litellm/litellm-secrets"].fields == ["spec.refreshInterval"]
    llm = {c.label: c for c in prod.groups[1].changes}
    assert llm["Helm values litellm"].fields == ["replicaCount"]
    assert llm["Application argocd/prod-litellm"].fields == ["spec.sources[0].targetRevision"]
    assert [(b.environment, b.chart, b.before, b.after) for b in d.bumps] == [("prod", "litellm-helm", "1.83.10", "1.84.0")]

    text = diff.text(d)
    assert text.startswith("litellm-gitops diff: 1 added, 1 removed, 3 changed in 1 of 2 environment(s)")
    assert "chart bump: prod prod-litellm: litellm-helm 1.83.10 -> 1.84.0" in text
    md = diff.markdown(d)
    assert md.index("1 added, 1 removed, 3 changed") < md.index("Chart version bumps") < md.index("<details>")
    assert "<summary><b>prod</b>: 1 added, 1 removed, 3 changed</summary>" in md
    assert "wave 8 · prod-secret-store" in md and "wave 13 · prod-litellm" in md


def test_values_are_never_printed_only_paths(tmp_path: Path) -> None:
    base = Rendered.minimal()
    head = base.edit(lambda t: t.values("litellm")["envVars"].__setitem__("LITELLM_SALT_KEY", "Zq8vN2xL5pR7tK1mW4yB9cF3"))
    d = _diff(tmp_path, base, head)
    for out in (diff.text(d), diff.markdown(d)):
        assert "envVars.LITELLM_SALT_KEY" in out and "Zq8vN2xL5pR7tK1mW4yB9cF3" not in out


def test_cloudformation_and_parameters_changes(tmp_path: Path) -> None:
    base = Rendered.minimal()

    def change(t: Rendered) -> None:
        t.resource("BastionInstance")["Properties"]["KeyName"] = "ops"
        t.parameters_file("host")[1][0]["ParameterValue"] = "subnet-2"

    d = _diff(tmp_path, base, base.edit(change))
    [group] = [g for e in d.environments for g in e.groups]
    assert group.title == "CloudFormation"
    fields = {c.label: c.fields for c in group.changes}
    assert fields["CloudFormation template cloudformation/host.yaml"] == ["Resources.BastionInstance.Properties.KeyName"]
    assert fields["CloudFormation parameters cloudformation/host.parameters.json"] == ["SubnetId"]


def test_new_and_removed_environments(tmp_path: Path) -> None:
    base = Rendered.minimal("dev", "prod")
    head = base.edit(lambda t: (t.envs.pop("dev"), t.envs.__setitem__("staging", Rendered.minimal("staging").envs["staging"])))
    d = _diff(tmp_path, base, head)
    status = {e.name: e.status for e in d.environments}
    assert status == {"dev": "removed", "prod": "unchanged", "staging": "added"}
    assert "(new environment)" in diff.markdown(d) and "(environment removed)" in diff.text(d)


def test_large_diffs_are_truncated_with_a_count_and_stay_valid(tmp_path: Path) -> None:
    base = Rendered.minimal(*(f"env{i:02d}" for i in range(40)))

    def change(t: Rendered) -> None:
        for env in t.envs:
            for i in range(30):
                t.add(f"manifests/secret-store/cm-{i}.yaml", {"apiVersion": "v1", "kind": "ConfigMap",
                                                             "metadata": {"name": f"cm-{i}-" + "x" * 40}, "data": {}}, env)

    d = _diff(tmp_path, base, base.edit(change))
    assert d.count("added") == 1200
    md = diff.markdown(d, limit=20_000)
    assert len(md) <= 20_000
    assert md.count("<details>") == md.count("</details>")
    shown = md.count("➕ added")
    assert 0 < shown < 1200
    assert f"… and {1200 - shown} more change(s) not shown" in md
    assert len(diff.markdown(d)) <= diff.MARKDOWN_LIMIT


def test_no_changes(tmp_path: Path) -> None:
    base = Rendered.minimal()
    d = _diff(tmp_path, base, base.copy())
    assert d.empty and "No rendered object changes." in diff.markdown(d)


def test_diff_command_writes_markdown_and_exits_zero(tmp_path: Path) -> None:
    base = Rendered.minimal()
    head = base.edit(lambda t: t.values("litellm").__setitem__("replicaCount", 9))
    md = tmp_path / "diff.md"
    # synthetic rendered trees without environments/: the rendered files only (test_diff_applied.py hydrates)
    code, out, _ = run_cli("diff", "--base", base.write(tmp_path / "b"), "--head", head.write(tmp_path / "h"), "--markdown", md,
                           "--no-hydrate")
    assert code == 0 and "replicaCount" in out and "replicaCount" in md.read_text()
    code, out, _ = run_cli("diff", "--base", tmp_path / "b", "--head", tmp_path / "h", "--json", "--no-hydrate")
    assert code == 0 and '"changed": 1' in out
    code, _, err = run_cli("diff", "--base", tmp_path / "b", "--head", tmp_path / "h")
    assert code == 2 and "--no-hydrate" in err
    code, _, err = run_cli("diff", "--base", tmp_path / "b", "--head", tmp_path / "missing")
    assert code == 2 and "not a directory" in err


# --- the plan: values, redaction, colour, a git revision as base, --exit-code ------------------------

def test_each_changed_field_shows_before_and_after(tmp_path: Path) -> None:
    base = Rendered.minimal()
    head = base.edit(lambda t: (t.values("litellm").__setitem__("replicaCount", 3),
                                t.obj("ExternalSecret", "litellm-secrets")["spec"].__setitem__("refreshInterval", "5m")))
    d = _diff(tmp_path, base, head)
    text = diff.text(d)
    assert "~ Helm values litellm  [values/litellm.yaml]\n        replicaCount: 2 → 3\n" in text
    assert "        spec.refreshInterval: 1h → 5m\n" in text
    md = diff.markdown(d)
    assert "  - <code>replicaCount</code>: <code>2</code> → <code>3</code>" in md
    values = [v for e in diff.to_json(d)["environments"] for g in e["groups"] for c in g["changes"] for v in c["values"]]
    assert {"path": "replicaCount", "before": "2", "after": "3"} in values


def test_secret_bearing_values_show_as_changed_from_the_guards_redaction(tmp_path: Path) -> None:
    salt, password = "Zq8vN2xL5pR7tK1mW4yB9cF3", "hunter2-but-longer"
    base = Rendered.minimal()

    def change(t: Rendered) -> None:
        t.values("litellm")["envVars"]["LITELLM_SALT_KEY"] = salt  # a literal where a secret belongs
        t.values("litellm")["envVars"]["REDIS_PASSWORD"] = password  # named as a credential: not by shape
        t.add("manifests/secret-store/s.yaml", {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                                                "stringData": {"token": "plain"}})

    d = _diff(tmp_path, base, base.edit(change))
    for out in (diff.text(d), diff.markdown(d), json.dumps(diff.to_json(d))):
        assert salt not in out and password not in out
    text = diff.text(d)
    assert "        envVars.LITELLM_SALT_KEY: (changed)\n" in text and "        envVars.REDIS_PASSWORD: (changed)\n" in text


@pytest.mark.parametrize("color, no_color, escapes", [("always", "", True), ("always", "1", True), ("auto", "", False),
                                                      ("never", "", False)])
def test_colour_on_request_never_off_a_terminal(tmp_path: Path, monkeypatch, color, no_color, escapes) -> None:
    monkeypatch.setenv("NO_COLOR", no_color)
    base = Rendered.minimal()
    head = base.edit(lambda t: t.values("litellm").__setitem__("replicaCount", 9))
    code, out, _ = run_cli("diff", "--base", base.write(tmp_path / "b"), "--head", head.write(tmp_path / "h"),
                           "--no-hydrate", "--color", color)
    assert code == 0 and ("\x1b[" in out) == escapes
    assert "replicaCount: 2 → 9" in re.sub(r"\x1b\[[0-9;]*m", "", out)


def test_wants_color_respects_no_color_on_a_terminal(monkeypatch) -> None:
    from generator.console import wants_color

    class Tty:
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert wants_color("auto", Tty()) and not wants_color("never", Tty())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not wants_color("auto", Tty()) and wants_color("always", Tty())


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True,
                          env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
                               "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}).stdout


def test_base_is_a_git_revision_through_a_temporary_worktree_and_exit_code(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    base = Rendered.minimal()
    base.write(repo)
    git(repo, "init", "--quiet", "--initial-branch", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "base")
    git(repo, "switch", "--quiet", "-c", "feature")
    base.edit(lambda t: t.values("litellm").__setitem__("replicaCount", 5)).write(repo)
    git(repo, "commit", "--quiet", "-am", "five replicas")
    for flags in (["--base", "main"], ["--base", "HEAD~1"], []):  # [] : the merge base with main
        code, out, err = run_cli("diff", "--head", repo, "--no-hydrate", "--exit-code", *flags)
        assert code == 1, err
        assert "replicaCount: 2 → 5" in out
    code, out, _ = run_cli("diff", "--head", repo, "--base", "HEAD", "--no-hydrate", "--exit-code", "--json")
    assert code == 0 and json.loads(out)["base"] == {"revision": "HEAD", "commit": git(repo, "rev-parse", "HEAD").strip()}
    assert git(repo, "worktree", "list", "--porcelain").count("worktree ") == 1  # the temporary one is gone
    code, _, err = run_cli("diff", "--head", repo, "--base", "no-such-branch", "--no-hydrate")
    assert code == 2 and "--base no-such-branch: neither a directory nor a git revision" in err
    code, _, err = run_cli("diff", "--head", repo, "--base", "--upload-pack=touch /tmp/x", "--no-hydrate")
    assert code == 2 and "neither a directory nor a git revision" in err


def test_a_multi_line_value_stays_on_its_line(tmp_path: Path) -> None:
    base = Rendered.minimal()
    head = base.edit(lambda t: t.add("manifests/secret-store/cfg.yaml", {"apiVersion": "v1", "kind": "ConfigMap",
                                                                         "metadata": {"name": "cfg"}, "data": {"c": "a: 1\nb: 3\n"}}))
    base = base.edit(lambda t: t.add("manifests/secret-store/cfg.yaml", {"apiVersion": "v1", "kind": "ConfigMap",
                                                                         "metadata": {"name": "cfg"}, "data": {"c": "a: 1\nb: 2\n"}}))
    assert "        data.c: a: 1\\nb: 2\\n → a: 1\\nb: 3\\n\n" in diff.text(_diff(tmp_path, base, head))
