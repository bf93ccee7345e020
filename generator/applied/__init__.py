"""The applied state: every object Argo CD will apply, per environment, per Application.

One model that validate, diff and the guard all read (as gitops-engine's diff, health and sync
read the same unstructured objects). Public API (everything else in the package is internal):

    from generator.applied import Hydrator, hydrate, AppliedState, AppliedObject, Application

    hydrator = Hydrator(charts=Path(".cache/charts"), cache_dir=Path(".cache/hydrated"))
    states = hydrate(Path("."), ["dev"], hydrator)        # {env: AppliedState}
    state = states["dev"]
    state.applications["dev-litellm"]                       # Application: name, file, doc, wave,
                                                            #   namespace, server, sources
    deploy = state.get("apps", "Deployment", "litellm", "litellm")   # AppliedObject or None
    deploy.doc                                              # the unstructured object (a dict)
    deploy.key, deploy.group, deploy.kind, deploy.namespace, deploy.name, deploy.label
    deploy.application, deploy.app_wave                     # who applies it, in which root wave
    deploy.wave, deploy.hooks                               # its own sync wave and hook types
    deploy.origin                                           # "rendered/dev/manifests/x.yaml#0" or
                                                            #   "chart litellm-helm 1.83.10: litellm-helm/templates/deployment.yaml"
    state.of_kind("PersistentVolumeClaim"), state.of_application("dev-redis-ha"), list(state)
    state.duplicates                                        # objects whose identity was taken already

- `AppliedState.objects`: {key: AppliedObject}, key `group/kind/namespace/name` (model.object_key),
  sorted; the namespace is defaulted to the Application's destination for namespaced kinds.
- The root Application (from `rendered/<env>/bootstrap/`) applies `rendered/<env>/apps/`; the rest
  of bootstrap/ is the pseudo-Application `bootstrap` (model.BOOTSTRAP), applied by a person.
- `Hydrator(charts, cache_dir=None, helm=None, workers=2)`: `charts` is a folder of
  locked chart archives (`.cache/charts` after `charts sync`, or ../shared/charts); `cache_dir`
  the on-disk render cache (None: memory only); `hydrator.renders` counts helm runs. One Hydrator
  can serve many environments and checkouts (base and head): identical renders are shared, and
  each checkout's charts are checked against its own `schemas/charts.lock.json`.
- Errors are `generator.errors.InputError` (exit 2): unreadable sources, unlocked charts, a
  failing `helm template`, a missing helm.

Modules: model (the dataclasses, waves, hooks), directory (Argo CD's directory source),
helm (Argo CD's `helm template` call), apiversions (what `--api-versions` gets), cache (the
render cache), build (an environment, end to end), out (files for people).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from generator.applied.model import BOOTSTRAP, AppliedObject, AppliedState, Application, object_key

if TYPE_CHECKING:
    from generator.applied.build import Hydrator

__all__ = ["BOOTSTRAP", "AppliedObject", "AppliedState", "Application", "Hydrator", "hydrate", "object_key"]


def __getattr__(name: str) -> Any:
    """`Hydrator` on first use: building the state imports helm's runner and kubernetes-validate,
    which readers of the model (diff, the guard) do not need."""
    if name == "Hydrator":
        from generator.applied.build import Hydrator

        return Hydrator
    raise AttributeError(name)


def hydrate(root: Path, environments: list[str], hydrator: Hydrator) -> dict[str, AppliedState]:
    """The applied state of each named environment of the checkout `root` (a repository with
    environments/ and rendered/), each with the Kubernetes version its environment declares."""
    from generator.applied.build import hydrate_environment, kubernetes_version_of
    from generator.console import progress

    states = {}
    with progress("hydrating", len(environments)) as step:  # a bar on a terminal only
        for env in environments:
            states[env] = hydrate_environment(root, env, kubernetes_version_of(root, env), hydrator)
            step(env)
    return states
