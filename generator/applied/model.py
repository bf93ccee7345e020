"""The applied-state model: Applications and the unstructured objects each one applies.

Objects stay plain dicts (as gitops-engine's pkg/diff, pkg/health and pkg/sync all read the same
`unstructured.Unstructured`); this module only adds what every reader needs beside the document:
identity, sync wave, hook types, the Application that applies it and where it came from.

Sync waves and hooks follow Argo CD v3.5.1's gitops-engine (argoproj/argo-cd, tag v3.5.1):
- `gitops-engine/pkg/sync/syncwaves/waves.go`: `argocd.argoproj.io/sync-wave` as an integer, else
  Helm's `helm.sh/hook-weight`, else 0;
- `gitops-engine/pkg/sync/hook/hook.go` and `hook/helm/type.go`: `argocd.argoproj.io/hook` types
  (comma-separated); only when there are none, Helm's pre-install/pre-upgrade -> PreSync and
  post-install/post-upgrade -> PostSync. Any other `helm.sh/hook` value maps to no hook type;
- `gitops-engine/pkg/sync/hook/hook.go` IsHook and Skip, and `gitops-engine/pkg/sync/sync_phase.go`
  syncPhases (fetched from the same tag): an object that is a hook (any `argocd.argoproj.io/hook`
  but Skip alone, or a `helm.sh/hook` other than crd-install) gets a task only for its hook types;
  so a hook with none (Helm's test-success, test-failure, test, rollback hooks) or a Skip-only
  object is never applied (sync_context.go getSyncTasks: "Skipping hook"; docs/user-guide/helm.md:
  "Argo CD currently skips manifests that include hooks not supported by Argo CD, including Helm
  test hooks"). `applied_by_argo_cd` says which objects the applied state keeps; PreDelete and
  PostDelete hooks are kept, since Argo CD runs them when the Application is deleted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

WAVE_ANNOTATION = "argocd.argoproj.io/sync-wave"
HOOK_ANNOTATION = "argocd.argoproj.io/hook"
HELM_HOOK = "helm.sh/hook"
HELM_WEIGHT = "helm.sh/hook-weight"
ARGO_HOOK_TYPES = ("PreSync", "Sync", "PostSync", "SyncFail", "PostDelete", "PreDelete", "Skip")
HELM_HOOK_TYPES = {"pre-install": "PreSync", "pre-upgrade": "PreSync", "post-install": "PostSync", "post-upgrade": "PostSync"}
BOOTSTRAP = "bootstrap"  # the pseudo-Application of rendered/<env>/bootstrap/, applied by a person

# Kubernetes' own cluster-scoped kinds (custom kinds: the scope of their CRD in the applied state).
CLUSTER_SCOPED = frozenset({
    "Namespace", "Node", "PersistentVolume", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
    "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding", "StorageClass", "CSIDriver", "CSINode", "VolumeAttachment", "PriorityClass",
    "RuntimeClass", "IngressClass", "APIService", "CertificateSigningRequest", "FlowSchema",
    "PriorityLevelConfiguration", "ComponentStatus", "TokenReview", "SelfSubjectReview", "SelfSubjectAccessReview",
    "SelfSubjectRulesReview", "SubjectAccessReview", "DeviceClass", "ResourceSlice", "IPAddress", "ServiceCIDR",
})


def annotations(doc: dict[str, Any]) -> dict[str, Any]:
    meta = doc.get("metadata")
    found = meta.get("annotations") if isinstance(meta, dict) else None
    return found if isinstance(found, dict) else {}


def _csv(value: Any) -> list[str]:
    return [p.strip() for p in str(value).split(",") if p.strip()] if value is not None else []


def hook_types(doc: dict[str, Any]) -> tuple[str, ...]:
    notes = annotations(doc)
    argo = tuple(t for t in _csv(notes.get(HOOK_ANNOTATION)) if t in ARGO_HOOK_TYPES)
    if argo:
        return argo
    return tuple(dict.fromkeys(HELM_HOOK_TYPES[t] for t in _csv(notes.get(HELM_HOOK)) if t in HELM_HOOK_TYPES))


APPLIED_HOOK_TYPES = frozenset({"PreSync", "Sync", "PostSync", "SyncFail", "PreDelete", "PostDelete"})


def is_hook(doc: dict[str, Any]) -> bool:
    """hook.IsHook: an Argo CD hook annotation other than Skip alone, or a Helm hook but crd-install."""
    notes = annotations(doc)
    if HOOK_ANNOTATION in notes:
        return set(hook_types(doc)) != {"Skip"}
    return HELM_HOOK in notes and notes[HELM_HOOK] != "crd-install"


def applied_by_argo_cd(doc: dict[str, Any]) -> bool:
    """False for what Argo CD never applies: a Skip-only object, or a hook with no type it runs."""
    types = set(hook_types(doc))
    if types == {"Skip"}:
        return False
    return not is_hook(doc) or bool(types & APPLIED_HOOK_TYPES)


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def sync_wave(doc: dict[str, Any]) -> int:
    notes = annotations(doc)
    wave = _int(notes.get(WAVE_ANNOTATION))
    if wave is None:
        wave = _int(notes.get(HELM_WEIGHT))
    return wave if wave is not None else 0


def group_of(api_version: str) -> str:
    return api_version.rsplit("/", 1)[0] if "/" in api_version else ""


def object_key(group: str, kind: str, namespace: str, name: str) -> str:
    """The identity people and the guard use: `group/kind/namespace/name` (empty parts stay empty)."""
    return f"{group}/{kind}/{namespace}/{name}"


@dataclass(frozen=True)
class Application:
    """An Argo CD Application as rendered: its sources and destination, and where it is defined."""

    name: str
    file: str  # path inside rendered/<env>/
    doc: dict[str, Any]
    wave: int | None  # None for the root (applied by hand)

    @property
    def spec(self) -> dict[str, Any]:
        spec = self.doc.get("spec")
        return spec if isinstance(spec, dict) else {}

    @property
    def namespace(self) -> str:
        return str((self.spec.get("destination") or {}).get("namespace") or "")

    @property
    def server(self) -> str:
        return str((self.spec.get("destination") or {}).get("server") or "")

    @property
    def sources(self) -> list[dict[str, Any]]:
        """`spec.source` or `spec.sources` (Argo CD uses `sources` when it is set)."""
        sources = self.spec.get("sources")
        if isinstance(sources, list) and sources:
            return [s for s in sources if isinstance(s, dict)]
        source = self.spec.get("source")
        return [source] if isinstance(source, dict) else []


@dataclass
class AppliedObject:
    """One object an Application applies, exactly as Argo CD will send it (namespace defaulted)."""

    doc: dict[str, Any]
    application: str  # Application name, or BOOTSTRAP
    app_wave: int | None  # the Application's own wave among the root's children
    origin: str  # "manifests/x/a.yaml#0" or "chart litellm-helm 1.83.10: litellm-helm/templates/deployment.yaml"
    namespace: str = ""

    @property
    def api_version(self) -> str:
        return str(self.doc.get("apiVersion") or "")

    @property
    def group(self) -> str:
        return group_of(self.api_version)

    @property
    def kind(self) -> str:
        return str(self.doc.get("kind") or "")

    @property
    def name(self) -> str:
        meta = self.doc.get("metadata")
        return str(meta.get("name") or "") if isinstance(meta, dict) else ""

    @property
    def key(self) -> str:
        return object_key(self.group, self.kind, self.namespace, self.name)

    @property
    def label(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"

    @property
    def wave(self) -> int:
        return sync_wave(self.doc)

    @property
    def hooks(self) -> tuple[str, ...]:
        return hook_types(self.doc)

    @property
    def spec(self) -> dict[str, Any]:
        spec = self.doc.get("spec")
        return spec if isinstance(spec, dict) else {}


@dataclass
class AppliedState:
    """One environment: its Applications (root and children, by name) and every object they apply.

    `objects` is keyed by `AppliedObject.key`; an identity applied twice (two Applications, or one
    twice) keeps the first under its key and lists the rest in `duplicates`. `inputs` names what of
    the checkout it was read from (folders and files, relative to the checkout, links resolved),
    besides the chart archives: validate records a result only when its key covers all of them.
    `refused`: the root's Applications that Argo CD would not reconcile where they are (an
    Application's namespace decides which AppProject may hold it; generator.appnamespaces).
    """

    environment: str
    applications: dict[str, Application] = field(default_factory=dict)
    objects: dict[str, AppliedObject] = field(default_factory=dict)
    duplicates: list[AppliedObject] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    # Child Applications Argo CD would refuse to create or reconcile, with why (generator.appnamespaces).
    refused: dict[str, str] = field(default_factory=dict)

    def __iter__(self) -> Iterator[AppliedObject]:
        return iter(self.objects.values())

    def of_kind(self, *kinds: str) -> list[AppliedObject]:
        return [o for o in self.objects.values() if o.kind in kinds]

    def get(self, group: str, kind: str, namespace: str, name: str) -> AppliedObject | None:
        return self.objects.get(object_key(group, kind, namespace, name))

    def of_application(self, name: str) -> list[AppliedObject]:
        return [o for o in self.objects.values() if o.application == name]
