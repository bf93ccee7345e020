"""hydrate: the applied state, built with the real helm and the pinned charts from ../shared/charts."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from generator.applied import Hydrator, hydrate, out
from generator.applied import directory
from generator.applied.build import split_helm_output
from generator.errors import InputError

DATA = Path(__file__).parent / "testdata" / "applied" / "directory"
SECRET_KEYS = ("LITELLM_MASTER_KEY", "LITELLM_SALT_KEY", "REDIS_PASSWORD", "DATABASE_URL")


def _secret_env(state, workload, container_name: str | None = None) -> dict[str, tuple[str, str]]:
    """env var -> (Secret, key) for the workload's containers, envFrom expanded through the keys the
    ExternalSecret that owns the Secret writes (as the cluster will see them)."""
    spec = workload.spec["template"]["spec"]
    found: dict[str, tuple[str, str]] = {}
    for container in spec["containers"]:
        if container_name and container["name"] != container_name:
            continue
        for source in container.get("envFrom") or []:
            secret = (source.get("secretRef") or {}).get("name")
            if secret:
                external = state.get("external-secrets.io", "ExternalSecret", workload.namespace, secret)
                assert external is not None, f"no ExternalSecret creates {secret}"
                for item in external.spec.get("data") or []:
                    found[item["secretKey"]] = (secret, item["secretKey"])
        for var in container.get("env") or []:
            ref = (var.get("valueFrom") or {}).get("secretKeyRef")
            if ref:
                found[var["name"]] = (ref["name"], ref["key"])
    return found


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_litellm_deployment_gets_its_secrets_from_litellm_secrets(hydrated, env):
    state = hydrated[env]
    deployment = state.get("apps", "Deployment", "litellm", "litellm")
    assert deployment.application == f"{env}-litellm" and deployment.app_wave == 13
    assert deployment.origin == "chart litellm-helm 1.83.10: litellm-helm/templates/deployment.yaml"
    env_vars = _secret_env(state, deployment)
    for key in SECRET_KEYS:
        assert env_vars[key] == ("litellm-secrets", key), key
    assert env_vars["PROXY_MASTER_KEY"] == ("litellm-secrets", "LITELLM_MASTER_KEY")


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_litellm_migration_job_is_a_presync_hook_reading_litellm_secrets(hydrated, env):
    state = hydrated[env]
    job = state.get("batch", "Job", "litellm", "litellm-migrations")
    assert job.hooks == ("PreSync",)
    assert job.spec["template"]["spec"]["serviceAccountName"] == "litellm"
    env_vars = _secret_env(state, job)
    assert env_vars["DATABASE_URL"] == ("litellm-secrets", "DATABASE_URL")
    # What the chart gives the migration Job today: DATABASE_URL only (extraEnvVars; it has no
    # envFrom). The other three keys reach the Deployment only. Asserted so a change is seen.
    assert {k for k in SECRET_KEYS if k in env_vars} == {"DATABASE_URL"}


def test_applications_waves_and_namespaces(hydrated):
    state = hydrated["dev"]
    assert state.applications["dev-root"].wave is None
    assert state.applications["dev-redis-ha"].wave == 12
    # a namespaced object without a namespace lands in its Application's destination
    assert state.get("apps", "StatefulSet", "litellm", "redis-ha-server") is not None
    # cluster-scoped, also custom kinds by their CRD's scope
    assert state.get("external-secrets.io", "ClusterSecretStore", "", "aws-secrets-manager") is not None
    assert state.get("", "Namespace", "", "litellm").application == "dev-namespaces"
    assert state.get("", "Secret", "argocd", "repo-litellm-helm").application == "dev-root"
    assert state.get("", "ConfigMap", "argocd", "argocd-cm").application == "bootstrap"
    assert not state.duplicates


def test_capabilities_follow_the_crds_the_environment_installs(hydrated):
    # kube-prometheus-stack and redis-ha render ServiceMonitors only when the cluster serves
    # monitoring.coreos.com/v1 (from the charts' own CRDs), which hydrate passes as Argo CD would.
    # (LiteLLM's own needs a licence: dev has none, see test_stack_values.)
    state = hydrated["dev"]
    assert state.get("monitoring.coreos.com", "ServiceMonitor", "litellm", "redis-ha") is not None
    assert state.get("monitoring.coreos.com", "ServiceMonitor", "litellm", "litellm") is None
    assert state.get("monitoring.coreos.com", "Prometheus", "monitoring", "kube-prometheus-stack-prometheus") is not None
    crd = state.get("apiextensions.k8s.io", "CustomResourceDefinition", "", "prometheuses.monitoring.coreos.com")
    assert crd.application == "dev-kube-prometheus-stack"


def _helm_shim(tmp_path: Path) -> tuple[Path, Path]:
    real = shutil.which("helm")
    assert real, "helm must be installed (tools/install)"
    counter = tmp_path / "template-calls"
    shim = tmp_path / "helm"
    shim.write_text(f'#!/bin/sh\n[ "$1" = template ] && echo "$2" >> "{counter}"\nexec "{real}" "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    return shim, counter


def _calls(counter: Path) -> list[str]:
    return counter.read_text().splitlines() if counter.exists() else []


def test_cache_hit_runs_no_helm_and_a_values_change_renders_only_its_application(
        scratch_repo, charts_dir, tmp_path, monkeypatch):
    shim, counter = _helm_shim(tmp_path)
    monkeypatch.setenv("LITELLM_GITOPS_HELM", str(shim))
    cache = tmp_path / "cache"
    first = hydrate(scratch_repo, ["dev"], Hydrator(charts=charts_dir, cache_dir=cache))["dev"]
    cold = _calls(counter)
    assert len(cold) >= 6  # six Helm Applications, each rendered for real
    again = hydrate(scratch_repo, ["dev"], Hydrator(charts=charts_dir, cache_dir=cache))["dev"]
    assert _calls(counter) == cold  # a new process-like Hydrator: everything from the cache
    assert out.files(again) == out.files(first)
    values = scratch_repo / "rendered" / "dev" / "values" / "litellm.yaml"
    values.write_text(values.read_text().replace("replicaCount: 1", "replicaCount: 2"))
    changed = hydrate(scratch_repo, ["dev"], Hydrator(charts=charts_dir, cache_dir=cache))["dev"]
    new_calls = _calls(counter)[len(cold):]
    assert new_calls and all(call.endswith("litellm-helm-1.83.10.tgz") for call in new_calls)
    assert changed.get("apps", "Deployment", "litellm", "litellm").spec["replicas"] == 2


def test_hydration_is_deterministic(hydrated, charts_dir, tmp_path):
    from conftest import REPO

    fresh = hydrate(REPO, ["dev"], Hydrator(charts=charts_dir, cache_dir=tmp_path / "c"))["dev"]
    assert out.files(fresh) == out.files(hydrated["dev"])


def test_unlocked_chart_archive_is_refused(scratch_repo, charts_dir, tmp_path):
    charts = tmp_path / "charts"
    shutil.copytree(charts_dir, charts)
    (charts / "redis-ha-4.39.0.tgz").write_bytes(b"not the pinned archive")
    with pytest.raises(InputError, match="redis-ha-4.39.0.tgz has sha256 .* does not pin"):
        hydrate(scratch_repo, ["dev"], Hydrator(charts=charts))


def test_missing_helm_is_exit_2_naming_tools_install(scratch_repo, charts_dir, tmp_path):
    env = {**os.environ, "PATH": str(tmp_path), "LITELLM_GITOPS_HYDRATE_CACHE": str(tmp_path / "c")}
    env.pop("LITELLM_GITOPS_HELM", None)
    done = subprocess.run([sys.executable, "-m", "generator", "hydrate", "--root", str(scratch_repo), "--charts", str(charts_dir)],
                          capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 2, done.stderr
    assert "helm is not installed" in done.stderr and "tools/install" in done.stderr
    assert "Traceback" not in done.stderr


def test_hydrate_out_writes_one_file_per_object(scratch_repo, charts_dir, tmp_path):
    done = subprocess.run([sys.executable, "-m", "generator", "hydrate", "--root", str(scratch_repo), "--env", "dev",
                           "--charts", str(charts_dir), "--hydrate-cache", str(tmp_path / "c"), "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    job = tmp_path / "o" / "dev" / "dev-litellm" / "Job_litellm_litellm-migrations.yaml"
    assert job.read_text().startswith("# chart litellm-helm 1.83.10: litellm-helm/templates/migrations-job.yaml\n")
    assert not (scratch_repo / "rendered" / "dev" / "hydrated").exists()


# --- reading a directory as Argo CD does ----------------------------------------------------------


def _names(found):
    return [doc["metadata"]["name"] for _, doc in found]


def test_directory_reads_hidden_files_multi_docs_lists_and_skips_the_rest():
    found = directory.read(DATA, "app", None)
    assert _names(found) == ["hidden-file", "a", "a2", "from-list"]
    assert [origin for origin, _ in found][1:] == ["app/a.yaml#0", "app/a.yaml#1", "app/list.json#0[0]"]


def test_directory_recurse_include_exclude():
    assert set(_names(directory.read(DATA, "app", {"recurse": True}))) == {
        "hidden-file", "a", "a2", "from-list", "in-hidden-folder", "in-subfolder"}
    assert _names(directory.read(DATA, "app", {"recurse": True, "include": "{*.yml,*.json}"})) == ["from-list", "in-subfolder"]
    assert "in-subfolder" not in _names(directory.read(DATA, "app", {"recurse": True, "exclude": "sub/*"}))


@pytest.mark.parametrize("folder, message", [
    ("bad-json", "one object per JSON file"),
    ("bad-yaml", "unparsable YAML"),
    ("dup-keys", "duplicate key 'name'"),
])
def test_directory_refuses_what_argo_cd_would_fail_on(folder, message):
    with pytest.raises(InputError, match=message):
        directory.read(DATA, folder, None)


def test_helm_output_is_split_with_its_template_as_origin():
    output = "---\n# Source: c/templates/a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n# Source: c/templates/empty.yaml\n---\n"
    assert split_helm_output(output, "chart c 1") == [
        ("chart c 1: c/templates/a.yaml", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}})]


def test_jsonnet_is_evaluated_with_argo_cds_build_environment():
    """go-jsonnet (as Argo CD links it) evaluates the file: extVars expanded from the build
    environment, imports relative to the file, one object or a list."""
    settings = {"jsonnet": {"extVars": [{"name": "revision", "value": "$ARGOCD_APP_REVISION"},
                                        {"name": "app", "value": "${ARGOCD_APP_NAME}-x $$literal"}]}}
    found = directory.read(DATA, "jsonnet", {**settings, "include": "*.jsonnet"},
                           env={"ARGOCD_APP_REVISION": "0123abc", "ARGOCD_APP_NAME": "dev-root"})
    [(origin, child)] = found
    assert origin == "jsonnet/pin.jsonnet#0"
    assert [s["targetRevision"] for s in child["spec"]["sources"]] == ["1.2.3", "0123abc"]
    assert child["metadata"]["labels"] == {"app": "dev-root-x $literal"}


def test_jsonnet_cannot_read_outside_the_repository():
    with pytest.raises(InputError, match="Jsonnet does not evaluate: .*leaves the repository"):
        directory.read(DATA, "jsonnet-escape", None)


def test_the_roots_pin_moves_every_child_git_source_to_the_roots_revision(hydrated):
    """rendered/<env>/apps/pin-revision.jsonnet, evaluated: each child's Git sources read the root's
    revision (offline: its targetRevision), chart sources keep their version."""
    state = hydrated["dev"]
    root_revision = state.applications["dev-root"].sources[0]["targetRevision"]
    litellm = state.applications["dev-litellm"]
    assert {s.get("chart") or s.get("ref"): s["targetRevision"] for s in litellm.sources} == {
        "litellm-helm": "1.83.10", "values": root_revision}
    assert state.get("argoproj.io", "Application", "argocd", "dev-litellm").origin.startswith(
        "rendered/dev/apps/pin-revision.jsonnet#")


def test_helm_test_hooks_are_not_in_the_applied_state(hydrated, charts_dir):
    """redis-ha renders test Pods (`helm.sh/hook: test-success`) that Argo CD never applies
    (gitops-engine sync_context.go getSyncTasks skips hooks, syncPhases gives them no phase)."""
    from generator.applied.model import HELM_HOOK, annotations

    env = "dev"
    state = hydrated[env]
    assert not [o.key for o in state.objects.values() if str(annotations(o.doc).get(HELM_HOOK, "")).startswith("test")]
    chart = next(charts_dir.glob("redis-ha-*.tgz"))
    chart_output = subprocess.run(["helm", "template", "redis-ha", str(chart), "-f", f"rendered/{env}/values/redis-ha.yaml"],
                         capture_output=True, text=True, check=True, timeout=120,
                         cwd=Path(__file__).resolve().parent.parent).stdout
    assert '"helm.sh/hook": test-success' in chart_output  # the chart does render them
