"""Rendering: the app-of-apps shape, atomic writes, stale files, determinism and `render --check`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from generator.cli import main
from generator.environment import load_environment
from generator.phases import COMPONENTS, Delivery
from generator.render import render_environment


def rendered(repo: Path, env: str) -> dict[str, str]:
    return render_environment(load_environment(repo / "environments", env)).files


def docs(files: dict[str, str], prefix: str) -> list[dict]:
    return [yaml.safe_load(text) for path, text in files.items() if path.startswith(prefix) and path.endswith(".yaml")]


def test_committed_rendered_tree_is_fresh(repo_root, capsys):
    """The golden files: rendered/ in the repository is exactly what the generator renders now."""
    code = main(["render", "--check", "--root", str(repo_root)])
    assert code == 0, capsys.readouterr().out


def test_child_applications_carry_their_phase_as_a_string_wave(repo_root):
    files = rendered(repo_root, "prod")
    apps = {d["metadata"]["name"]: d for d in docs(files, "apps/") if d["kind"] == "Application"}
    expected = {f"prod-{c.name}": c.phase for c in COMPONENTS if c.delivery is Delivery.ARGOCD_APP}
    assert {name: int(app["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]) for name, app in apps.items()} == expected
    for app in apps.values():
        wave = app["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]
        assert isinstance(wave, str)
        assert f"argocd.argoproj.io/sync-wave: '{wave}'" in files[f"apps/{int(wave):02d}-{app['metadata']['name'][5:]}.yaml"]
        policy = app["spec"]["syncPolicy"]
        assert policy["automated"] == {"prune": True, "selfHeal": True}
        assert policy["retry"]["backoff"]["factor"] == 2
        assert app["metadata"]["finalizers"] == ["resources-finalizer.argocd.argoproj.io"]
        assert app["spec"]["project"] == "litellm"


def test_server_side_apply_only_where_crds_are_too_large(repo_root):
    apps = {d["metadata"]["name"]: d for d in docs(rendered(repo_root, "dev"), "apps/") if d["kind"] == "Application"}
    with_ssa = {n for n, a in apps.items() if "ServerSideApply=true" in a["spec"]["syncPolicy"]["syncOptions"]}
    assert {"dev-external-secrets", "dev-kube-prometheus-stack"} <= with_ssa
    assert "dev-namespaces" not in with_ssa


def test_charts_are_pinned_exactly_and_values_come_from_git(repo_root):
    files = rendered(repo_root, "dev")
    for app in docs(files, "apps/"):
        if app["kind"] != "Application" or "sources" not in app["spec"]:
            continue
        chart, values = app["spec"]["sources"]
        assert chart["targetRevision"].count(".") == 2 and not any(ch in chart["targetRevision"] for ch in "*^~x><")
        value_file = chart["helm"]["valueFiles"][0]
        assert value_file.startswith("$values/rendered/dev/values/")
        assert value_file.removeprefix("$values/rendered/dev/") in files
        assert values["ref"] == "values" and values["repoURL"] == "https://github.com/example-org/llm-gateway-gitops.git"


def test_project_allows_only_the_repositories_and_namespaces_of_the_stack(repo_root):
    files = rendered(repo_root, "dev")
    project = yaml.safe_load(files["apps/05-project.yaml"])
    assert project["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] == "5"
    assert project["spec"]["sourceRepos"] == [
        "https://github.com/example-org/llm-gateway-gitops.git",
        "ghcr.io/berriai",
        "https://charts.external-secrets.io",
        "https://dandydeveloper.github.io/charts",
        "https://helm.openwebui.com/",
        "https://jaegertracing.github.io/helm-charts",
        "https://prometheus-community.github.io/helm-charts",
        "https://stakater.github.io/stakater-charts",
    ]
    assert sorted(d["namespace"] for d in project["spec"]["destinations"]) == ["external-secrets", "litellm", "monitoring", "open-webui"]
    assert {d["server"] for d in project["spec"]["destinations"]} == {"https://kubernetes.default.svc"}
    assert "*" not in str(project["spec"])


def test_repository_secrets_have_no_credentials_and_oci_for_litellm(repo_root):
    files = rendered(repo_root, "dev")
    secrets = [d for d in docs(files, "apps/05-repository-") if d["kind"] == "Secret"]
    assert len(secrets) == 7
    for secret in secrets:
        assert secret["metadata"]["labels"]["argocd.argoproj.io/secret-type"] == "repository"
        assert secret["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] == "5"
        assert set(secret["stringData"]) <= {"name", "type", "url", "enableOCI"}
    oci = [s for s in secrets if s["stringData"].get("enableOCI") == "true"]
    assert [s["stringData"]["url"] for s in oci] == ["ghcr.io/berriai"]


def test_namespaces_in_wave_6_protected_from_pruning(repo_root):
    files = rendered(repo_root, "dev")
    objects = docs(files, "manifests/namespaces/")
    namespaces = [o for o in objects if o["kind"] == "Namespace"]
    assert sorted(n["metadata"]["name"] for n in namespaces) == ["external-secrets", "litellm", "monitoring", "open-webui"]
    for ns in namespaces:
        assert ns["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] == "6"
        assert "Prune=false" in ns["metadata"]["annotations"]["argocd.argoproj.io/sync-options"]
    # The NetworkPolicies ride along, in the same wave: in place before any pod they admit.
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    assert policies and {p["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] for p in policies} == {"6"}
    assert {o["kind"] for o in objects} == {"Namespace", "NetworkPolicy"}


def test_health_check_requires_healthy_and_synced(repo_root):
    cm = yaml.safe_load(rendered(repo_root, "dev")["bootstrap/argocd-cm.yaml"])
    lua = cm["data"]["resource.customizations.health.argoproj.io_Application"]
    assert 'health == "Healthy" and sync == "Synced"' in lua
    assert lua.strip().endswith("return hs")


def test_root_application_syncs_the_apps_folder(repo_root):
    root = yaml.safe_load(rendered(repo_root, "prod")["bootstrap/root-app.yaml"])
    assert root["spec"]["source"]["path"] == "rendered/prod/apps"
    assert root["spec"]["project"] == "litellm-bootstrap"
    readme = rendered(repo_root, "prod")["bootstrap/README.md"]
    assert "kubectl apply -f rendered/prod/bootstrap/root-app.yaml" in readme


def test_readme_has_mermaid_graph_and_every_phase(repo_root):
    readme = rendered(repo_root, "prod")["README.md"]
    assert "```mermaid" in readme and "P12 --> P13" in readme and "P9 --> P10" in readme
    for number in range(1, 16):
        assert f"\n| {number} | " in readme


def test_same_input_same_bytes_in_another_process(repo_root, tmp_path):
    first = {p: t for p, t in rendered(repo_root, "prod").items()}
    script = ("import json,sys; from pathlib import Path; from generator.environment import load_environment;"
              "from generator.render import render_environment;"
              "print(json.dumps(render_environment(load_environment(Path(sys.argv[1]),'prod')).files))")
    env = dict(os.environ, PYTHONHASHSEED="12345", TZ="Pacific/Auckland", LC_ALL="C")
    out = subprocess.run([sys.executable, "-c", script, str(repo_root / "environments")], capture_output=True,
                         text=True, check=True, env=env, cwd=tmp_path).stdout
    import json
    assert json.loads(out) == first
    for text in first.values():
        assert text.endswith("\n") and "\r" not in text


def test_render_writes_then_check_is_clean_and_stale_files_go(scratch_repo, capsys):
    stale = scratch_repo / "rendered/dev/apps/99-leftover.yaml"
    stale.write_text("kind: Leftover\n")
    gone_env = scratch_repo / "rendered/staging"
    gone_env.mkdir()
    (gone_env / "README.md").write_text("old\n")
    assert main(["render", "--check", "--root", str(scratch_repo)]) == 1
    out = capsys.readouterr().out
    assert "would delete: rendered/dev/apps/99-leftover.yaml" in out
    assert "would delete: rendered/staging/README.md" in out
    assert stale.exists()  # --check writes nothing
    assert main(["render", "--root", str(scratch_repo)]) == 0
    assert not stale.exists() and not gone_env.exists()
    assert main(["render", "--check", "--root", str(scratch_repo)]) == 0
    assert not list((scratch_repo / "rendered").glob(".tmp-*")) and not list((scratch_repo / "rendered").glob(".old-*"))


def test_check_lists_every_changed_file(scratch_repo, capsys):
    assert main(["render", "--root", str(scratch_repo)]) == 0
    path = scratch_repo / "environments/dev/environment.yaml"
    path.write_text(path.read_text() + "\ngit:\n  targetRevision: release-1\n")
    assert main(["render", "--check", "--root", str(scratch_repo)]) == 1
    out = capsys.readouterr().out
    assert "would update: rendered/dev/apps/13-litellm.yaml" in out
    assert "would update: rendered/dev/bootstrap/root-app.yaml" in out
    assert "rendered/prod" not in out


def test_one_bad_environment_means_nothing_is_written(scratch_repo, capsys):
    (scratch_repo / "rendered/prod").rename(scratch_repo / "rendered/prod-old")
    path = scratch_repo / "environments/dev/environment.yaml"
    path.write_text(path.read_text().replace("  name: llm-dev", "  name: llm dev"))
    assert main(["render", "--root", str(scratch_repo)]) == 2
    assert not (scratch_repo / "rendered/prod").exists()  # prod is valid, but nothing was written


def test_help_explains_every_command(capsys):
    from generator.cli import COMMAND_MODULES, build_parser

    build_parser()
    for name in COMMAND_MODULES:
        assert main([name.replace("_", "-"), "--help"]) == 0
        out = capsys.readouterr().out
        assert "usage: litellm-gitops" in out and "example" in out


def test_a_command_imports_only_what_it_needs():
    """`render` must not pay for boto3 or cfn-lint, which other commands import."""
    code = ("import sys; from generator.cli import main; main(['render', '--check', '--root', sys.argv[1]]);"
            "print('loaded:' + ','.join(m for m in ('boto3', 'cfnlint') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code, str(Path(__file__).resolve().parent.parent)],
                         capture_output=True, text=True, check=False).stdout.strip().splitlines()
    assert out[-1] == "loaded:"
