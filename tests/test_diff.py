"""`litellm-gitops diff`: per environment, wave and Application, added/removed/changed objects with
dotted paths, chart bumps called out, totals first; Markdown collapsed and truncated with a count."""

from __future__ import annotations

from pathlib import Path

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
