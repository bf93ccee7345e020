"""Which property changes make CloudFormation replace a resource, from AWS's own definition: the
resource provider schemas cfn-lint ships (cfnlint/data/schemas: providers/<region>.json maps a type
to a schema file under resources/). Read as files, without importing cfn-lint (its import alone
costs more than a guard run).

- `createOnlyProperties`: changing one replaces the resource.
- `conditionalCreateOnlyProperties`: may replace or interrupt. Of these, only the ones in
  CONDITIONAL_REPLACEMENT replace, minus the sub-fields named there, as the resource reference
  says. AWS::EC2::Instance BlockDeviceMappings: "After the instance is running, you can modify only
  the DeleteOnTermination parameter for the attached volumes without interrupting the instance.
  Modifying any other parameter results in instance replacement." InstanceType, UserData and
  SecurityGroupIds only stop and start it (some interruption, no replacement).
"""

from __future__ import annotations

import importlib.util
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

DEFAULT_REGION = "us-east-1"
CONDITIONAL_REPLACEMENT: dict[str, dict[str, tuple[str, ...]]] = {
    "AWS::EC2::Instance": {"BlockDeviceMappings": ("DeleteOnTermination",)},
}


def _schemas_dir() -> Path:
    spec = importlib.util.find_spec("cfnlint")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("cfn-lint is not installed: the guard reads CloudFormation's resource schemas from it")
    return Path(list(spec.submodule_search_locations)[0]) / "data" / "schemas"


@lru_cache(maxsize=None)
def _provider_types(region: str) -> dict[str, str]:
    path = _schemas_dir() / "providers" / f"{region}.json"
    if not path.is_file():
        path = _schemas_dir() / "providers" / f"{DEFAULT_REGION}.json"
    return json.loads(path.read_text(encoding="utf-8"))


@lru_cache(maxsize=None)
def schema(resource_type: str, region: str = DEFAULT_REGION) -> dict[str, Any] | None:
    digest = _provider_types(region).get(resource_type)
    if not digest:
        return None
    return json.loads((_schemas_dir() / "resources" / f"{digest}.json").read_text(encoding="utf-8"))


def _top_level(pointers: Any) -> tuple[str, ...]:
    names = [p.split("/")[2] for p in pointers or [] if isinstance(p, str) and p.startswith("/properties/")]
    return tuple(dict.fromkeys(names))


@lru_cache(maxsize=None)
def replacing_properties(resource_type: str, region: str = DEFAULT_REGION) -> tuple[str, ...] | None:
    """Top-level properties whose change replaces the resource; None when the type has no schema."""
    found = schema(resource_type, region)
    if found is None:
        return None
    conditional = set(_top_level(found.get("conditionalCreateOnlyProperties")))
    extra = [p for p in CONDITIONAL_REPLACEMENT.get(resource_type, {}) if p in conditional]
    return tuple(sorted(set(_top_level(found.get("createOnlyProperties"))) | set(extra)))


def replacing_value(resource_type: str, prop: str, value: Any) -> Any:
    """`value` without the sub-fields whose change does not replace (CONDITIONAL_REPLACEMENT)."""
    ignored = CONDITIONAL_REPLACEMENT.get(resource_type, {}).get(prop)
    if not ignored:
        return value

    def strip(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k not in ignored}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    return strip(value)
