"""The applied state of a Helm Application, until `hydrate` lands: the real `helm template` (the
pinned binary tools/install puts on PATH) over the pinned chart archive in ../shared/charts, with the
rendered values file, release name and namespace the committed Application names.

One small helper on purpose: when `litellm-gitops hydrate` merges, `objects()` becomes a lookup in
its model and the tests that call it stay as they are.
"""

from __future__ import annotations

import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest
import yaml

from conftest import REPO, SHARED

# CRD-backed kinds the stack's charts render only when the cluster serves them (Argo CD passes the
# cluster's API versions to helm template the same way).
API_VERSIONS = ("monitoring.coreos.com/v1", "monitoring.coreos.com/v1/ServiceMonitor",
                "monitoring.coreos.com/v1/PrometheusRule", "policy/v1/PodDisruptionBudget")


class _Loader(yaml.SafeLoader):
    """YAML 1.1's `=` (value) tag has no constructor in PyYAML; Kubernetes reads it as the string "="
    (kube-prometheus-stack's CRDs have `- =` in an enum)."""


_Loader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))


def application(env: str, component: str) -> dict:
    [path] = (REPO / "rendered" / env / "apps").glob(f"[0-9][0-9]-{component}.yaml")
    return yaml.safe_load(path.read_text())


def archive(chart: str, version: str) -> Path:
    path = SHARED / "charts" / f"{chart}-{version}.tgz"
    if not path.is_file():
        pytest.fail(f"no pinned chart archive {path.name} in {path.parent} (see its SOURCES.md)")
    return path


@cache
def _template(env: str, component: str) -> tuple[dict, ...]:
    helm = shutil.which("helm")
    if helm is None:
        pytest.fail("helm is not on PATH: run tools/install and activate .venv")
    app = application(env, component)
    [source] = [s for s in app["spec"]["sources"] if s.get("chart")]
    values = REPO / source["helm"]["valueFiles"][0].removeprefix("$values/")
    kube = yaml.safe_load((REPO / "environments" / "defaults.yaml").read_text())["cluster"]["kubernetesVersion"]
    command = [helm, "template", source["helm"]["releaseName"], str(archive(source["chart"], source["targetRevision"])),
               "--namespace", app["spec"]["destination"]["namespace"], "--values", str(values),
               "--kube-version", f"{kube}.0", "--include-crds"]
    for api in API_VERSIONS:
        command += ["--api-versions", api]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return tuple(doc for doc in yaml.load_all(done.stdout, Loader=_Loader) if isinstance(doc, dict))


def objects(env: str, component: str) -> list[dict]:
    """The objects Argo CD would apply for this component's Application in this environment."""
    return list(_template(env, component))


def helm_components(env: str) -> list[str]:
    """Components of this environment rendered as a Helm Application."""
    result = []
    for path in sorted((REPO / "rendered" / env / "apps").glob("[0-9][0-9]-*.yaml")):
        doc = yaml.safe_load(path.read_text())
        charts = [s for s in doc["spec"].get("sources", []) if s.get("chart")] if doc.get("kind") == "Application" else []
        if charts:
            result.append(path.stem[3:])
    return result
