"""CloudFormation building blocks shared by the irsa-roles, aws-secrets and bastion renderers:
the template skeleton, the parameters file `aws cloudformation deploy` reads, and tags.

Parameters file format: a JSON array of "Key=Value" strings, read with
`aws cloudformation deploy --parameter-overrides file://<file>`. AWS CLI v1 and v2 both accept it
(v1 accepts nothing else; v2 also takes the create-stack [{ParameterKey, ParameterValue}] format).
"""

from __future__ import annotations

import json
from typing import Any

from generator import naming
from generator.artifacts import GENERATED_HEADER, Artifact
from generator.environment import Environment, config_error
from generator.errors import InputError

FOLDER = "cloudformation"
ENVIRONMENT_PARAMETER = "EnvironmentName"


def sub(text: str) -> dict[str, str]:
    return {"Fn::Sub": text}


def ref(name: str) -> dict[str, str]:
    return {"Ref": name}


def get_att(logical_id: str, attribute: str) -> dict[str, str]:
    return {"Fn::GetAtt": [logical_id, attribute]}


def tags(component: str) -> list[dict[str, Any]]:
    return [
        {"Key": "litellm-gitops/environment", "Value": ref(ENVIRONMENT_PARAMETER)},
        {"Key": "litellm-gitops/component", "Value": component},
        {"Key": "app.kubernetes.io/part-of", "Value": "litellm-gitops"},
    ]


def environment_parameter(env: Environment) -> dict[str, Any]:
    """Every stack takes the environment's name and refuses any other: deploying one
    environment's template with another's parameters file fails before anything changes."""
    return {
        "Type": "String",
        "AllowedValues": [env.name],
        "Description": "The litellm-gitops environment this stack belongs to (tags every resource).",
    }


def template(env: Environment, stem: str, description: str, parameters: dict[str, Any],
             resources: dict[str, Any], outputs: dict[str, Any]) -> dict[str, Any]:
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"litellm-gitops {env.name}: {description} (stack {naming.stack_name(env, stem)})",
        "Parameters": {ENVIRONMENT_PARAMETER: environment_parameter(env), **parameters},
        "Resources": resources,
        "Outputs": outputs,
    }


def artifacts(env: Environment, stem: str, document: dict[str, Any], values: dict[str, str]) -> list[Artifact]:
    """The template and its parameters file, rendered/<env>/cloudformation/<stem>.yaml and
    <stem>.parameters.json."""
    values = {ENVIRONMENT_PARAMETER: env.name, **values}
    declared = set(document["Parameters"])
    unknown = set(values) - declared
    if unknown:
        raise InputError(f"parameters {sorted(unknown)} are not declared in {stem}.yaml",
                         hint="this is a bug in litellm-gitops: report it")
    for key, value in values.items():
        if "\n" in value:
            raise InputError(f"parameter {key} of {stem}.yaml spans lines", hint="this is a bug in litellm-gitops: report it")
    lines = [f"{key}={values[key]}" for key in document["Parameters"] if key in values]
    return [
        Artifact.yaml(f"{FOLDER}/{stem}.yaml", document, header=GENERATED_HEADER.format(env=env.name)),
        Artifact(f"{FOLDER}/{stem}.parameters.json", json.dumps(lines, indent=2) + "\n"),
    ]




ACCESS_MODES = ("API", "API_AND_CONFIG_MAP")  # cluster authentication modes that accept EKS access entries


def require_access_entries(env: Environment, who: str, alternative: str = "") -> None:
    """`who` reaches the cluster through an EKS access entry: the cluster's authentication mode must
    allow access entries, or the error names the line that sets the mode and the command to change it."""
    mode = env.cluster.get("authenticationMode", "CONFIG_MAP")
    if mode not in ACCESS_MODES:
        raise config_error(
            env, ["cluster", "authenticationMode"],
            f"{who} through an EKS access entry, but the cluster's authentication mode is {mode}",
            "switch the cluster to API_AND_CONFIG_MAP (aws eks update-cluster-config --access-config "
            f"authenticationMode=API_AND_CONFIG_MAP), run discover --write{alternative}")
