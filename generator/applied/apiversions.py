"""The API versions the cluster will serve, as Argo CD passes them to `helm template --api-versions`.

Argo CD v3.5.1 passes the live cluster's discovery (`controller/state.go` ->
`util/argo/argo.go` `APIResourcesToStrings(resources, true)`): every served `group/version` and
`group/version/Kind`, sorted. Without a cluster, hydrate passes the set the cluster converges to
once every Application has synced (Argo CD re-renders on every refresh, so this is what stays
applied):
- Kubernetes' own kinds at the environment's version, from the OpenAPI definitions the
  kubernetes-validate package ships, GA versions only (`v1`, `v2`): EKS serves no alpha APIs, and
  beta APIs are off by default since Kubernetes 1.24 (charts test GA versions: policy/v1,
  autoscaling/v2, ...);
- Argo CD's own CRDs (argoproj.io/v1alpha1 Application, AppProject, ApplicationSet), which exist
  before any Application does;
- every version the applied state's CustomResourceDefinitions serve (the charts' own CRDs:
  External Secrets, prometheus-operator, ...).

What this leaves out: API groups of cluster add-ons outside this repository (EKS's own CRDs such as
vpcresources.k8s.aws) and the first sync of a fresh cluster, when a later wave's CRDs do not exist
yet (Argo CD renders again after they do).
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any, Iterable

from generator.validate.kubernetes import BUNDLED, strict_schema_dir

ARGO_CD = ("argoproj.io/v1alpha1/Application", "argoproj.io/v1alpha1/AppProject", "argoproj.io/v1alpha1/ApplicationSet")
NOT_RESOURCES = frozenset({"Status", "APIGroup", "APIGroupList", "APIResourceList", "APIVersions", "WatchEvent",
                           "DeleteOptions", "ListOptions", "GetOptions", "PatchOptions", "CreateOptions", "UpdateOptions"})
GA = re.compile(r"^v\d+\Z")


@lru_cache(maxsize=8)
def core(kubernetes_version: str) -> tuple[str, ...]:
    """`group/version/Kind` of Kubernetes' own GA kinds at this version."""
    folder = strict_schema_dir(kubernetes_version)  # names the versions there are when this one is missing
    definitions = json.loads((BUNDLED / folder.name.removesuffix("-strict") / "_definitions.json").read_text(encoding="utf-8"))
    found = set()
    for schema in (definitions.get("$defs") or definitions.get("definitions") or {}).values():
        gvks = schema.get("x-kubernetes-group-version-kind") or []
        if len(gvks) != 1:
            continue  # meta types (DeleteOptions, WatchEvent) list every group
        gvk = gvks[0]
        kind, version = gvk.get("kind", ""), gvk.get("version", "")
        if GA.match(version) and kind not in NOT_RESOURCES and not kind.endswith("List"):
            found.add(f"{gvk['group']}/{version}/{kind}" if gvk.get("group") else f"{version}/{kind}")
    return tuple(sorted(found))


def served_by(crds: Iterable[dict[str, Any]]) -> set[str]:
    """`group/version/Kind` of every served version of these CustomResourceDefinitions."""
    found = set()
    for crd in crds:
        spec = crd.get("spec") if isinstance(crd.get("spec"), dict) else {}
        group, kind = spec.get("group"), (spec.get("names") or {}).get("kind")
        for version in spec.get("versions") or []:
            if group and kind and isinstance(version, dict) and version.get("served", True) and version.get("name"):
                found.add(f"{group}/{version['name']}/{kind}")
    return found


def api_versions(kubernetes_version: str, crds: Iterable[dict[str, Any]] = ()) -> tuple[str, ...]:
    """Argo CD's format: each `group/version` and each `group/version/Kind`, sorted."""
    kinds = set(core(kubernetes_version)) | set(ARGO_CD) | served_by(crds)
    return tuple(sorted(kinds | {k.rsplit("/", 1)[0] for k in kinds}))
