"""One cluster, one environment: a hub's new or moved cluster registration must not point at the
cluster of another environment.

A hub-managed environment's child Applications target their cluster by name (the environment's
name, generator.argocd.cluster_destination); the hub's cluster Secret for it
(rendered/fleet/<hub>/hub/<env>/cluster.yaml, generator.fleet.cluster_secret) maps that name to an
API server (argo-cd v3.5.1 docs/operator-manual/declarative-setup.md, "Clusters": `name`,
`server`; util/db/cluster.go resolves a destination's name to its server). An environment added
with another environment's server deploys its whole stack into that cluster: over its namespaces,
its LiteLLM Deployment and the ExternalSecret that writes its salt key (from its own secrets
prefix). Every other part of such a pull request is new (a new environment, a new root, a new
project), so nothing else would say so.

A cluster is known by its API server URL and, for EKS, by its cluster id: the first label of the
endpoint (`https://<ID>.<suffix>.<region>.eks.amazonaws.com`) is the id of its OIDC issuer
(`https://oidc.eks.<region>.amazonaws.com/id/<ID>`), which every environment's IRSA roles name in
cloudformation/irsa-roles.yaml. So a cluster Secret of head that is new or whose server changed is
compared with every other environment of head (changed or not, every hub): its server with their
cluster Secrets' servers, its EKS id with theirs and with their OIDC issuers. A match is a
finding naming both environments, blocked like any source that reaches the salt key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from generator import yamlio
from generator.guard.tree import FLEET, EnvTree, _env_dirs

SECRET_TYPE = "argocd.argoproj.io/secret-type"
EKS_ENDPOINT = re.compile(r"https://([0-9A-F]{32})\.[a-z0-9]+\.([a-z0-9-]+)\.eks\.amazonaws\.com/?", re.I)
OIDC_ISSUER = re.compile(rb"oidc\.eks\.([a-z0-9-]+)\.amazonaws\.com/id/([0-9A-Fa-f]{32})")
IRSA_STACK = "cloudformation/irsa-roles.yaml"
CLUSTER_FILE = re.compile(r"hub/[^/]+/cluster\.ya?ml")


@dataclass(frozen=True)
class Registration:
    """A hub's cluster Secret: which environment's name it registers, at which server."""

    environment: str
    server: str
    hub: str
    object: str
    file: str


@dataclass(frozen=True)
class Collision:
    tree: str  # the tree it is in: "fleet/<hub>" or an environment
    environment: str  # the environment that would deploy there
    object: str
    file: str
    field: str  # "stringData.server", "spec.destination.name", ...
    value: str
    other: str  # the environment whose cluster it is
    how: str  # "API server <url>", "EKS cluster <region>/<id>" or "cluster name <env>"
    before: str | None  # the value in base, if any


def keys(server: str) -> set[str]:
    """What identifies the cluster behind an API server URL."""
    found = {f"API server {server.strip().rstrip('/').lower()}"} if server.strip() else set()
    match = EKS_ENDPOINT.fullmatch(server.strip())
    if match:
        found.add(f"EKS cluster {match.group(2).lower()}/{match.group(1).upper()}")
    return found


def _secret(doc: Any) -> tuple[str, str] | None:
    if not isinstance(doc, dict) or doc.get("kind") != "Secret":
        return None
    labels = (doc.get("metadata") or {}).get("labels") if isinstance(doc.get("metadata"), dict) else None
    data = doc.get("stringData")
    if not isinstance(labels, dict) or labels.get(SECRET_TYPE) != "cluster" or not isinstance(data, dict):
        return None
    return str(data.get("name") or ""), str(data.get("server") or "")


def registrations(hub: str, env: EnvTree | None) -> dict[str, Registration]:
    """The cluster Secrets of one hub tree (`fleet/<hub>`), by object key."""
    found = {}
    for key, obj in (env.objects.items() if env is not None else ()):
        secret = _secret(obj.doc)
        if secret is not None:
            found[key] = Registration(secret[0], secret[1], hub, obj.label or key, obj.file)
    return found


def _read(path: Path) -> bytes:
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > yamlio.MAX_RENDERED_BYTES:
            return b""  # the tree loader refuses links and oversized files; nothing to learn here
        return path.read_bytes()
    except OSError:
        return b""


def identities(head_dir: Path) -> dict[str, set[str]]:
    """Every environment of the head checkout, by name: the keys of its cluster (its hub's cluster
    Secret, its IRSA roles' OIDC issuer). Read from disk: unchanged environments are not parsed."""
    found: dict[str, set[str]] = {}
    for name, folder in _env_dirs(head_dir).items():
        if name.startswith(f"{FLEET}/"):
            for path in sorted((folder / "hub").glob("*/cluster.y*ml")) if (folder / "hub").is_dir() else []:
                try:
                    docs = list(yaml.safe_load_all(_read(path)))
                except yaml.YAMLError:
                    continue  # the tree loader reports it when it matters
                for doc in docs:
                    secret = _secret(doc)
                    if secret is not None and secret[0]:
                        found.setdefault(secret[0], set()).update(keys(secret[1]))
        else:
            for region, ident in OIDC_ISSUER.findall(_read(folder / IRSA_STACK)):
                found.setdefault(name, set()).add(f"EKS cluster {region.decode().lower()}/{ident.decode().upper()}")
    return found


def _destination(doc: Any) -> tuple[str, str]:
    spec = doc.get("spec") if isinstance(doc, dict) and isinstance(doc.get("spec"), dict) else {}
    destination = spec.get("destination") if isinstance(spec.get("destination"), dict) else {}
    return str(destination.get("name") or ""), str(destination.get("server") or "")


def _moved(base: dict[str, EnvTree], head: dict[str, EnvTree]) -> list[tuple[str, str, str, str, str, str, str | None]]:
    """(tree, environment, object, file, field, value, value in base) for every cluster
    registration and Application destination of head that is new or changed."""
    found = []
    for name in sorted(head):
        old_env = base.get(name)
        if name.startswith(f"{FLEET}/"):
            before = registrations(name.split("/", 1)[1], old_env)
            for key, mine in sorted(registrations(name.split("/", 1)[1], head[name]).items()):
                old = before.get(key)
                if old is None or (old.environment, old.server) != (mine.environment, mine.server):
                    found.append((name, mine.environment, mine.object, mine.file, "stringData.server", mine.server,
                                  old.server if old is not None else None))
            continue
        for app in head[name].of_kind("Application"):
            old = old_env.objects.get(app.key) if old_env is not None else None
            was = _destination(old.doc) if old is not None else ("", "")
            for index, (field, value) in enumerate(zip(("spec.destination.name", "spec.destination.server"),
                                                       _destination(app.doc))):
                if value and value != was[index]:
                    found.append((name, name, app.label or app.key, app.file, field, value, was[index] or None))
    return found


def evaluate(base: dict[str, EnvTree], head: dict[str, EnvTree], head_dir: Path) -> list[Collision]:
    """Every cluster registration (hub) or Application destination of head, new or changed, that
    names another environment's cluster."""
    moved = _moved(base, head)
    if not moved:
        return []
    known = identities(head_dir)
    found = []
    for tree, environment, obj, file, field, value, before in moved:
        if field == "spec.destination.name":  # a hub registers each environment's cluster under its name
            if value != environment and value in known:
                found.append(Collision(tree, environment, obj, file, field, value, value, f"cluster name {value}", before))
            continue
        mine = keys(value)
        for other in sorted(known):
            if other != environment:
                found += [Collision(tree, environment, obj, file, field, value, other, how, before)
                          for how in sorted(mine & known[other])]
    return found
