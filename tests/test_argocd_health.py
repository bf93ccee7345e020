"""Health scripts as Argo CD v3.5.1 runs them (tests/argocd_lua.py): the Application health check
read from the rendered argocd-cm, in the sandbox a custom script gets; the harness itself proven
on upstream's own health_test.yaml vectors for the built-in scripts of the kinds the waves wait on,
and shown able to fail (the string-library script the project shipped before errors in it)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from argocd_lua import LuaScriptError, SANDBOX_GLOBALS, configmap_health, run_health
from conftest import REPO

APPLICATION = "argoproj.io_Application"
CASES_DIR = REPO / "tests" / "testdata" / "application-health"
HEALTH_CASES = sorted(CASES_DIR.glob("*.yaml"))
OLD_SCRIPT = CASES_DIR / "string-library-script.lua"
ENVIRONMENTS = ("dev", "prod")

# The built-in health scripts of the kinds the stack's waves wait on (ExternalSecret, SecretStore
# and ClusterSecretStore of External Secrets, the Prometheus of kube-prometheus-stack) and of the
# hub's ApplicationSet; the other External Secrets kinds ship beside them and prove the harness too.
BUILT_IN = ("external-secrets.io/ExternalSecret", "external-secrets.io/ClusterSecretStore",
            "external-secrets.io/SecretStore", "external-secrets.io/ClusterExternalSecret",
            "external-secrets.io/PushSecret", "monitoring.coreos.com/Prometheus",
            "argoproj.io/ApplicationSet")


def argocd_cm(env: str) -> dict:
    return yaml.safe_load((REPO / "rendered" / env / "bootstrap" / "argocd-cm.yaml").read_text())


def case(path: Path) -> tuple[dict, dict]:
    data = yaml.safe_load(path.read_text())
    return data["obj"], data["expect"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize("path", HEALTH_CASES, ids=lambda p: p.stem)
def test_the_rendered_application_health_check_in_argo_cds_sandbox(env, path):
    obj, expect = case(path)
    health = configmap_health(argocd_cm(env), APPLICATION, obj)
    assert {k: health.get(k) for k in expect} == expect


def test_the_cases_cover_what_a_wave_needs():
    """Healthy+Synced at the pinned commit, a pending revision (also over a stale Degraded),
    Degraded and Missing at the pinned commit, Healthy but OutOfSync, no status yet."""
    verdicts = {p.stem: case(p)[1]["status"] for p in HEALTH_CASES}
    assert verdicts["pinned-synced-healthy"] == "Healthy"
    assert verdicts["stale-revision"] == verdicts["degraded-at-old-commit"] == "Progressing"
    assert verdicts["degraded"] == "Degraded" and verdicts["missing"] == "Missing"
    assert verdicts["healthy-but-out-of-sync"] == verdicts["no-status"] == "Progressing"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_script_needs_no_library_argo_cd_withholds(env):
    """No useOpenLibs key: the script runs with package, base and table only."""
    assert not any(k.startswith("resource.customizations.useOpenLibs.") for k in argocd_cm(env)["data"])


@pytest.mark.parametrize("path", HEALTH_CASES, ids=lambda p: p.stem)
def test_the_string_library_script_errors_in_the_sandbox(path):
    """The script the project shipped before (string.len, string.match): every child that has a
    status errors in the sandbox, so no wave completes; with every library open it ran, which is
    why a test that opened them could not see it."""
    obj, _ = case(path)
    script = OLD_SCRIPT.read_text()
    assert run_health(script, obj, open_libs=True)["status"]
    if "status" not in obj:
        return  # the old script only reached is_commit for a child with a status
    with pytest.raises(LuaScriptError, match="string"):
        run_health(script, obj, open_libs=False)


def test_the_sandbox_has_exactly_argo_cds_globals():
    listing = """
    local names = {}
    for name in pairs(_G) do names[#names + 1] = name end
    table.sort(names)
    local os = require("os")
    return {status = "Healthy", message = table.concat(names, ",") .. "|" .. type(os.time) .. type(os.date) .. tostring(os.exit)}
    """
    globals_, os_funcs = run_health(listing, {}, open_libs=False)["message"].split("|")
    assert set(globals_.split(",")) == SANDBOX_GLOBALS | {"obj", "hs", "_GOPHER_LUA_VERSION"} - {"hs"}
    assert os_funcs == "functionfunctionnil"
    assert run_health('return {status = tostring(#"abc")}', {}, open_libs=False) == \
        {"status": "Unknown", "message": "Lua returned an invalid health status"}
    for expression in ('("abc"):len()', 'string.len("abc")', 'os.time()', 'math.floor(1)'):
        with pytest.raises(LuaScriptError):
            run_health(f"return {{status = {expression}}}", {}, open_libs=False)
        run_health(f"return {{status = {expression}}}", {}, open_libs=True)


def test_a_script_that_runs_past_the_deadline_errors():
    with pytest.raises(LuaScriptError, match="deadline"):
        run_health("while true do end", {}, open_libs=False)


def test_a_nil_result_is_an_empty_status():
    assert run_health("return nil", {}, open_libs=False) == {}


def upstream_vectors(shared_dir: Path) -> list[tuple[str, Path, dict]]:
    found = []
    for kind in BUILT_IN:
        folder = shared_dir / "argocd" / "v3.5.1" / "resource_customizations" / kind
        for test in yaml.safe_load((folder / "health_test.yaml").read_text())["tests"]:
            found.append((kind, folder / test["inputPath"], test["healthStatus"]))
    return found


def test_the_harness_passes_upstreams_health_vectors(shared_dir):
    """resource_customizations/<group>/<kind>/health_test.yaml: each input, run through the
    built-in health.lua with every library (lua.go GetHealthScript: built-in scripts always get
    them), must give exactly upstream's status and message."""
    vectors = upstream_vectors(shared_dir)
    assert len(vectors) >= 20 and {k for k, _, _ in vectors} == set(BUILT_IN)
    for kind, input_path, want in vectors:
        script = (input_path.parent.parent / "health.lua" if input_path.parent.name == "testdata"
                  else input_path.parent / "health.lua").read_text()
        obj = yaml.safe_load(input_path.read_text())
        got = run_health(script, obj, open_libs=True)
        assert got == {k: v for k, v in want.items() if v}, f"{kind} {input_path.name}"
