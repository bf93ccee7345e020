"""Argo CD's "applications in any namespace": which Applications Argo CD reconciles, and with
which AppProject, for hydrate (generator.applied.build) and the guard (generator.guard.isolation).

From argo-cd v3.5.1 (github.com/argoproj/argo-cd, docs/operator-manual/app-any-namespace.md,
"Implementation details"): an Application outside the control plane's namespace is reconciled
only when

1. its namespace is enabled: `application.namespaces` in argocd-cmd-params-cm (read at start by
   argocd-server and argocd-application-controller), util/security/application_namespaces.go
   IsNamespaceEnabled: `namespace == serverNamespace || glob.MatchStringInList(enabledNamespaces,
   namespace, glob.REGEXP)`;
2. its AppProject lists the namespace in `sourceNamespaces`: pkg/apis/application/v1alpha1/
   app_project_types.go AppProject.IsAppNamespacePermitted: `app.Namespace == "" || app.Namespace
   == controllerNs` is always permitted, else `glob.MatchStringInList(p.Spec.SourceNamespaces,
   app.Namespace, glob.REGEXP)`. Otherwise "Argo CD would consider this as a permission violation
   and refuse to reconcile the Application" (the doc).

util/glob/glob.go MatchStringInList with REGEXP: an entry wrapped in `/` is a regular expression
(regexp2; Python's `re` here, the same for the expressions a namespace list needs), any other a
gobwas glob without separators (generator.argoglob.glob_match).

Besides, whoever creates the Application is bound by its own project: the root that syncs an
environment's children may only place them in its project's destinations
(AppProject.IsDestinationPermitted, same file; exact and glob namespaces, `!` exclusions).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from generator.argoglob import glob_match

APP_NAMESPACES_KEY = "application.namespaces"
CMD_PARAMS = "argocd-cmd-params-cm"


def match_in_list(patterns: list[str], item: str) -> bool:
    """glob.MatchStringInList(list, item, glob.REGEXP)."""
    for pattern in patterns:
        if len(pattern) > 1 and pattern.startswith("/") and pattern.endswith("/"):
            try:
                if re.search(pattern[1:-1], item):
                    return True
            except re.error:
                pass  # regexp2.Compile fails: no match
        elif glob_match(pattern, item):
            return True
    return False


def enabled_namespaces(cmd_params: dict[str, Any] | None) -> list[str]:
    """`application.namespaces` of an argocd-cmd-params-cm, comma-separated, blanks dropped."""
    data = (cmd_params or {}).get("data") if isinstance(cmd_params, dict) else None
    value = data.get(APP_NAMESPACES_KEY) if isinstance(data, dict) else None
    return [p.strip() for p in str(value).split(",") if p.strip()] if value else []


def _spec(doc: dict[str, Any]) -> dict[str, Any]:
    spec = doc.get("spec") if isinstance(doc, dict) else None
    return spec if isinstance(spec, dict) else {}


def source_namespaces(project: dict[str, Any]) -> list[str]:
    listed = _spec(project).get("sourceNamespaces")
    return [str(n) for n in listed] if isinstance(listed, list) else []


def namespace_permitted_as_destination(project: dict[str, Any], server: str, namespace: str) -> bool:
    """IsDestinationPermitted for one in-cluster namespace: a `!` entry matching denies, else any
    destination whose server (or name `in-cluster`) and namespace match permits."""
    destinations = [d for d in _spec(project).get("destinations") or [] if isinstance(d, dict)]

    def server_matches(d: dict[str, Any]) -> bool:
        return (glob_match(str(d.get("server") or ""), server) if d.get("server")
                else glob_match(str(d.get("name") or ""), "in-cluster"))

    denied = any(str(d.get("namespace") or "").startswith("!") and server_matches(d)
                 and glob_match(str(d["namespace"])[1:], namespace) for d in destinations)
    return not denied and any(server_matches(d) and not str(d.get("namespace") or "").startswith("!")
                              and glob_match(str(d.get("namespace") or ""), namespace) for d in destinations)


@dataclass(frozen=True)
class ArgoCD:
    """What one Argo CD knows: its own namespace, application.namespaces, its AppProjects by name."""

    namespace: str
    enabled: tuple[str, ...] = ()
    projects: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def of(cls, namespace: str, docs: list[dict[str, Any]]) -> "ArgoCD":
        """From the documents an Argo CD is configured with (AppProjects, argocd-cmd-params-cm)."""
        projects: dict[str, dict[str, Any]] = {}
        params = None
        for doc in docs:
            meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
            if doc.get("kind") == "AppProject" and meta.get("namespace", namespace) == namespace:
                projects.setdefault(str(meta.get("name") or ""), doc)
            elif doc.get("kind") == "ConfigMap" and meta.get("name") == CMD_PARAMS and meta.get("namespace", namespace) == namespace:
                params = doc
        return cls(namespace, tuple(enabled_namespaces(params)), projects)

    def refusal(self, app: dict[str, Any], placed_by: dict[str, Any] | None = None, server: str = "") -> str | None:
        """Why Argo CD would not reconcile Application `app` (None: it would). `placed_by`: the
        project of the Application that applies it (a root), which must admit its namespace on
        `server`, the API server the root deploys to."""
        meta = app.get("metadata") if isinstance(app.get("metadata"), dict) else {}
        namespace = str(meta.get("namespace") or "")
        name = f"{namespace}/{meta.get('name')}" if namespace and namespace != self.namespace else str(meta.get("name"))
        if placed_by is not None and not namespace_permitted_as_destination(placed_by, server, namespace or self.namespace):
            return (f"Application {name}: its root's AppProject {placed_by['metadata'].get('name')} does not permit "
                    f"namespace {namespace or self.namespace} as a destination, so the root may not create or modify it")
        if namespace and namespace != self.namespace and not match_in_list(list(self.enabled), namespace):
            return (f"Application {name}: namespace {namespace} is not in {APP_NAMESPACES_KEY} of {CMD_PARAMS} "
                    f"({', '.join(self.enabled) or 'empty'}), so Argo CD does not reconcile it")
        project_name = str(_spec(app).get("project") or "")
        project = self.projects.get(project_name)
        if project is None:
            return f"Application {name}: AppProject {project_name!r} does not exist in {self.namespace}"
        if namespace and namespace != self.namespace and not match_in_list(source_namespaces(project), namespace):
            return (f"Application {name}: AppProject {project_name} lists {source_namespaces(project) or 'no'} "
                    f"sourceNamespaces, not {namespace}: Argo CD refuses to reconcile it")
        return None
