"""CloudFormation as the guard reads it: short-form intrinsic tags, parameters and their effective
values (a parameters file beside the template wins over the Default), and what a resource refers to."""

from __future__ import annotations

import re
from typing import Any

import yaml

PSEUDO_PREFIX = "AWS::"
_SUB_VARIABLE = re.compile(r"\$\{([A-Za-z0-9_:.]+)\}")


def _intrinsic(loader: yaml.Loader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    """`!Ref X` -> {"Ref": X}, `!GetAtt A.b` -> {"Fn::GetAtt": [A, b]}, `!Sub ...` -> {"Fn::Sub": ...}."""
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        return {"Fn::GetAtt": value.split(".", 1)}
    if suffix == "Condition":
        return {"Condition": value}
    return {f"Fn::{suffix}": value}


def register_tags(loader_class: type) -> None:
    loader_class.add_multi_constructor("!", _intrinsic)


def is_template(doc: Any) -> bool:
    return (isinstance(doc, dict) and isinstance(doc.get("Resources"), dict)
            and ("AWSTemplateFormatVersion" in doc or any(
                isinstance(r, dict) and str(r.get("Type", "")).startswith(("AWS::", "Custom::"))
                for r in doc["Resources"].values())))


def is_deploy_manifest(doc: Any) -> bool:
    """The deploy manifest beside the templates: which stack, region and account deploy each
    template with which parameters file ({"stacks": [{"name", "template", "parameters"}, ...]})."""
    stacks = doc.get("stacks") if isinstance(doc, dict) else None
    return isinstance(stacks, list) and bool(stacks) and all(isinstance(s, dict) and "template" in s for s in stacks)


def parameter_values(doc: Any) -> dict[str, Any] | None:
    """A parameters file in any of the usual shapes, or None when `doc` is not one."""
    if isinstance(doc, list) and doc and all(isinstance(i, dict) and "ParameterKey" in i for i in doc):
        return {str(i["ParameterKey"]): i.get("ParameterValue") for i in doc}
    if isinstance(doc, list) and doc and all(isinstance(i, str) and "=" in i for i in doc):
        return dict(i.split("=", 1) for i in doc)  # `aws cloudformation deploy --parameter-overrides` form
    if isinstance(doc, dict) and isinstance(doc.get("Parameters"), dict) and "Resources" not in doc:
        return {str(k): v for k, v in doc["Parameters"].items()}
    return None


def references(node: Any) -> set[str]:
    """Names a value refers to: Ref targets, GetAtt resources, ${X} in Fn::Sub (pseudo parameters left out)."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                if key == "Ref" and isinstance(inner, str):
                    found.add(inner)
                elif key == "Fn::GetAtt":
                    target = inner[0] if isinstance(inner, list) and inner else inner
                    if isinstance(target, str):
                        found.add(target.split(".", 1)[0])
                elif key == "Fn::Sub":
                    text = inner[0] if isinstance(inner, list) and inner else inner
                    if isinstance(text, str):
                        found.update(m.split(".", 1)[0] for m in _SUB_VARIABLE.findall(text))
                    if isinstance(inner, list) and len(inner) > 1:
                        walk(inner[1])
                    continue
                walk(inner)
        elif isinstance(value, list):
            for inner in value:
                walk(inner)

    walk(node)
    return {name for name in found if not name.startswith(PSEUDO_PREFIX)}


def template_stem(file: str) -> str:
    name = file.rsplit("/", 1)[-1]
    return name.split(".", 1)[0]
