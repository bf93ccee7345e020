"""Helm values files (rendered/<env>/values/*.yaml) against their chart's values.schema.json.

Which chart a values file belongs to comes from the Argo CD Application that lists it in
`helm.valueFiles` (chart and targetRevision of that source), else from the environment's
`components.<file stem>.chart`. The chart and version must be in schemas/upstream.lock.json:
either with the values.schema.json the chart ships (read from the verified schema cache) or
recorded as shipping none. A chart version missing from the lock is a problem, so bumping a chart
cannot silently drop its values check.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from generator.schemacache import Lock, verified_schema
from generator.validate.kubernetes import schema_problems, validator_class
from generator.validate.problems import Problem

KIND = "HelmValues"


def charts_from_applications(env_name: str, documents: list[Any]) -> dict[str, tuple[str, str]]:
    """values file name -> (chart, version), from Applications' helm.valueFiles."""
    found: dict[str, tuple[str, str]] = {}
    prefix = f"rendered/{env_name}/values/"
    for doc in documents:
        if not isinstance(doc, dict) or doc.get("kind") != "Application":
            continue
        spec = doc.get("spec") if isinstance(doc.get("spec"), dict) else {}
        sources = list(spec.get("sources") or []) + ([spec["source"]] if isinstance(spec.get("source"), dict) else [])
        for source in sources:
            if not isinstance(source, dict) or not source.get("chart"):
                continue
            helm = source.get("helm") if isinstance(source.get("helm"), dict) else {}
            for value_file in helm.get("valueFiles") or []:
                text = str(value_file)
                if prefix in text:
                    found[text.split(prefix, 1)[1]] = (str(source["chart"]), str(source.get("targetRevision", "")))
    return found


def chart_from_config(config: dict, file_name: str) -> tuple[str, str] | None:
    component = config.get("components", {}).get(Path(file_name).stem, {})
    chart = component.get("chart") if isinstance(component, dict) else None
    if isinstance(chart, dict) and chart.get("name"):
        return str(chart["name"]), str(chart.get("version", ""))
    return None


class ValuesSchemas:
    """Chart values schemas from the verified cache, each loaded and compiled once per run."""

    def __init__(self, lock: Lock, cache: Path):
        self.lock = lock
        self.cache = cache
        self._compiled: dict[tuple[str, str], Any] = {}

    def validator(self, chart: tuple[str, str]) -> Any:
        if chart not in self._compiled:
            schema = verified_schema(self.lock, self.cache, self.lock.charts[chart])
            self._compiled[chart] = validator_class(schema)(schema)
        return self._compiled[chart]


def plan_values(path: str, values: Any, chart: tuple[str, str] | None, schemas: ValuesSchemas) -> tuple[list[Problem], Any]:
    """Problems found without a schema, and the compiled schema to check `values` against (or None).

    `values` is the parsed YAML (None for an empty file).
    """
    if chart is None:
        return [Problem(path, None, KIND, Path(path).stem, "-",
                        "no chart found for this values file (no Application lists it in helm.valueFiles, "
                        "and no component of that name has a chart)", "values")], None
    name = f"{chart[0]}@{chart[1]}"
    if values is not None and not isinstance(values, dict):
        return [Problem(path, None, KIND, name, "-", "Helm values must be a YAML mapping", "values")], None
    if chart not in schemas.lock.charts:
        return [Problem(path, None, KIND, name, "-",
                        f"chart {chart[0]} {chart[1]} is not in {schemas.lock.source.name}: add it, with the values.schema.json "
                        "the chart ships (or valuesSchema: null if it ships none)", "values")], None
    if schemas.lock.charts[chart] is None:
        return [], None
    return [], schemas.validator(chart)


def check_values(path: str, name: str, validator: Any, values: Any) -> list[Problem]:
    return [Problem(path, None, KIND, name, field, message, "values")
            for field, message in schema_problems(validator, values or {})]
