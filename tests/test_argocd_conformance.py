"""Argo CD behaviours the project models, checked on upstream's own examples and test vectors
(../shared/argocd/v3.5.1/), and docs/argocd-conformance.md kept honest: every row names an
upstream file that exists and a test that exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import REPO
from generator.applied import directory
from generator.applied.model import applied_by_argo_cd, hook_types, is_hook, sync_wave

CONFORMANCE = REPO / "docs" / "argocd-conformance.md"


def pod(annotations: dict[str, str] | None = None) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "annotations": annotations or {}}}


# gitops-engine/pkg/sync/hook/hook_test.go (TestNoHooks, TestOneHook, TestSkipHook, TestGarbageHook,
# TestTwoHooks, TestDupHookTypes, TestSkipAndHook, TestGarbageAndHook, TestHelmHook,
# TestGarbageHelmHook, TestBothHooks) and hook/helm/type_test.go (TestTypes, TestType_HookType):
# annotations -> the hook types `hook.Types` returns (as a set; ElementsMatch where upstream uses it).
HOOK_VECTORS = [
    ({}, set()),
    ({"argocd.argoproj.io/hook": "PreSync"}, {"PreSync"}),
    ({"argocd.argoproj.io/hook": "Sync"}, {"Sync"}),
    ({"argocd.argoproj.io/hook": "PostSync"}, {"PostSync"}),
    ({"argocd.argoproj.io/hook": "SyncFail"}, {"SyncFail"}),
    ({"argocd.argoproj.io/hook": "Skip"}, {"Skip"}),
    ({"argocd.argoproj.io/hook": "Garbage"}, set()),
    ({"argocd.argoproj.io/hook": "PreSync,PostSync"}, {"PreSync", "PostSync"}),
    ({"argocd.argoproj.io/hook": "Sync,Sync"}, {"Sync"}),
    ({"argocd.argoproj.io/hook": "Skip,PreSync,PostSync"}, {"Skip", "PreSync", "PostSync"}),
    ({"argocd.argoproj.io/hook": "Sync,Garbage"}, {"Sync"}),
    ({"helm.sh/hook": "pre-install"}, {"PreSync"}),
    ({"helm.sh/hook": "pre-upgrade"}, {"PreSync"}),
    ({"helm.sh/hook": "post-upgrade"}, {"PostSync"}),
    ({"helm.sh/hook": "post-install"}, {"PostSync"}),
    ({"helm.sh/hook": "garbage"}, set()),
    ({"helm.sh/hook": "crd-install"}, set()),
    ({"helm.sh/hook": "pre-rollback"}, set()),
    ({"helm.sh/hook": "post-rollback"}, set()),
    ({"helm.sh/hook": "test-success"}, set()),
    ({"helm.sh/hook": "test-failure"}, set()),
    ({"argocd.argoproj.io/hook": "Sync", "helm.sh/hook": "pre-install"}, {"Sync"}),
]


@pytest.mark.parametrize("annotations, expected", HOOK_VECTORS, ids=lambda v: repr(v) if isinstance(v, dict) else "")
def test_hook_types_follow_gitops_engines_vectors(annotations, expected):
    assert set(hook_types(pod(annotations))) == expected


# hook_test.go's IsHook verdicts, and sync_phase.go syncPhases: which objects get a task at all.
APPLIED_VECTORS = [
    ({}, False, True),
    ({"argocd.argoproj.io/hook": "PreSync"}, True, True),
    ({"argocd.argoproj.io/hook": "Skip"}, False, False),  # TestSkipHook: not a hook, never applied
    ({"argocd.argoproj.io/hook": "Garbage"}, True, False),  # TestGarbageHook: a hook of no phase
    ({"argocd.argoproj.io/hook": "Skip,PreSync,PostSync"}, True, True),  # TestSkipAndHook
    ({"helm.sh/hook": "pre-install"}, True, True),  # TestHelmHook
    ({"helm.sh/hook": "garbage"}, True, False),  # TestGarbageHelmHook
    ({"helm.sh/hook": "crd-install"}, False, True),  # helm/hook.go: a CRD, not a hook
    ({"helm.sh/hook": "test-success"}, True, False),  # helm.md: test hooks are skipped
    ({"helm.sh/hook": "test"}, True, False),
    ({"argocd.argoproj.io/hook": "PostDelete"}, True, True),  # run when the Application is deleted
]


@pytest.mark.parametrize("annotations, hook, applied", APPLIED_VECTORS, ids=lambda v: repr(v) if isinstance(v, dict) else "")
def test_which_objects_argo_cd_applies_follows_gitops_engine(annotations, hook, applied):
    assert is_hook(pod(annotations)) is hook
    assert applied_by_argo_cd(pod(annotations)) is applied


def test_waves_follow_gitops_engines_vectors():
    """syncwaves/waves_test.go TestWave: 0 by default, the sync-wave annotation, else Helm's weight."""
    assert sync_wave(pod()) == 0
    assert sync_wave(pod({"argocd.argoproj.io/sync-wave": "1"})) == 1
    assert sync_wave(pod({"helm.sh/hook-weight": "1"})) == 1


def _manifest(name: str) -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n"


@pytest.fixture
def directory_md_repo(tmp_path: Path) -> Path:
    """The source repository of docs/user-guide/directory.md, "Including/Excluding Files"."""
    app = tmp_path / "guestbook"
    for rel in ("deployment.yaml", "env-use2/configmap.yaml", "env-usw2/configmap.yaml", "some-directory/a.yaml",
                "b.yml"):
        (app / rel).parent.mkdir(parents=True, exist_ok=True)
        (app / rel).write_text(_manifest(rel.replace("/", "-").replace(".", "-")))
    (app / "config.json").write_text('{"not": "a manifest"}')
    return tmp_path


@pytest.mark.parametrize("settings, expected", [
    # --directory-include "*.yaml" --directory-exclude "{config.json,env-usw2/*}": the doc's result.
    ({"include": "*.yaml", "exclude": "{config.json,env-usw2/*}"},
     ["deployment-yaml", "env-use2-configmap-yaml", "some-directory-a-yaml"]),
    # --directory-include "{*.yml,*.yaml}"
    ({"include": "{*.yml,*.yaml}", "exclude": "config.json"},
     ["b-yml", "deployment-yaml", "env-use2-configmap-yaml", "env-usw2-configmap-yaml", "some-directory-a-yaml"]),
    # --directory-include "some-directory/*"
    ({"include": "some-directory/*"}, ["some-directory-a-yaml"]),
    # --directory-exclude "{config.json,env-use2/*}"
    ({"exclude": "{config.json,env-use2/*}"},
     ["b-yml", "deployment-yaml", "env-usw2-configmap-yaml", "some-directory-a-yaml"]),
])
def test_directory_include_and_exclude_as_directory_md_shows(directory_md_repo, settings, expected):
    found = directory.read(directory_md_repo, "guestbook", {"recurse": True, **settings})
    assert sorted(doc["metadata"]["name"] for _, doc in found) == expected


# -- the table itself ---------------------------------------------------------------------------------

ROW = re.compile(r"^\|(?P<behaviour>[^|]+)\|(?P<upstream>[^|]+)\|(?P<tests>[^|]+)\|\s*$")
TEST_REF = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")
UPSTREAM_REF = re.compile(r"`((?:argocd/v3\.5\.1|fetched)/[^`]+?)`")


def rows() -> list[dict[str, str]]:
    found = []
    for line in CONFORMANCE.read_text().splitlines():
        match = ROW.match(line)
        if match and not set(match["behaviour"].strip()) <= {"-", " "} and match["behaviour"].strip() != "behaviour":
            found.append({k: v.strip() for k, v in match.groupdict().items()})
    return found


def test_every_conformance_row_names_an_upstream_file_and_a_test_that_exist(shared_dir):
    table = rows()
    assert len(table) >= 14
    for row in table:
        tests = TEST_REF.findall(row["tests"])
        assert tests, f"no test for {row['behaviour']}"
        for file, name in tests:
            assert re.search(rf"^def {name}\(", (REPO / file).read_text(), re.M), f"{file}::{name} ({row['behaviour']})"
        upstream = UPSTREAM_REF.findall(row["upstream"])
        assert upstream, f"no upstream file for {row['behaviour']}"
        for ref in upstream:
            path = ref.split(" ")[0].split("#")[0]
            if path.startswith("argocd/"):
                assert (shared_dir / path).exists(), f"{path} ({row['behaviour']})"
