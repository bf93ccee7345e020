"""The objects Argo CD applies for one component's Application, for the stack tests: read from the
applied-state model (generator.applied: the real `helm template` of the pinned archives in
../shared/charts with the rendered values, exactly as `litellm-gitops hydrate` does), so the tests
assert on the same objects validate, diff and the guard read."""

from __future__ import annotations

from functools import cache

from conftest import REPO, SHARED
from generator.applied import AppliedState, Hydrator, hydrate
from generator.applied import cache as render_cache


@cache
def _state(env: str) -> AppliedState:
    hydrator = Hydrator(charts=SHARED / "charts", cache_dir=render_cache.default_dir(REPO))
    return hydrate(REPO, [env], hydrator)[env]


def objects(env: str, component: str) -> list[dict]:
    """The objects Argo CD would apply for this component's Application in this environment."""
    return [obj.doc for obj in _state(env).of_application(f"{env}-{component}")]


def helm_components(env: str) -> list[str]:
    """Components of this environment rendered as a Helm Application."""
    prefix = f"{env}-"
    return sorted(app.name.removeprefix(prefix) for app in _state(env).applications.values()
                  if app.wave is not None and any(s.get("chart") for s in app.sources))
