"""A small builder of rendered trees for the guard's tests, and edits by meaning.

Minimal but realistic: the Applications that deliver the secret store and LiteLLM, a
ClusterSecretStore and two ExternalSecrets, LiteLLM's and External Secrets' values, a
CloudFormation secrets stack and a bastion stack (AMI from an SSM-typed parameter, a launch
template, a parameters file). File names are deliberately unlike the generator's, so the guard is
shown to find things by what they are. The same model loads the real rendered output.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Callable, Iterator

import yaml


ENV = "prod"
REPO_URL = "https://github.com/example-org/llm-gateway-gitops.git"
SECRET_NAMES = {"LITELLM_MASTER_KEY": "litellm/master-key", "LITELLM_SALT_KEY": "litellm/salt-key",
                "REDIS_PASSWORD": "litellm/redis-password", "DATABASE_URL": "litellm/database-url"}
LOGICAL_IDS = {"LITELLM_MASTER_KEY": "MasterKeySecret", "LITELLM_SALT_KEY": "SaltKeySecret",
               "REDIS_PASSWORD": "RedisPasswordSecret", "DATABASE_URL": "DatabaseUrlSecret"}


def _application(env: str, component: str, wave: int, namespace: str, *, path: str | None = None,
                 chart: tuple[str, str, str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"project": "litellm", "destination": {"server": "https://kubernetes.default.svc",
                                                                   "namespace": namespace}}
    if path:
        spec["source"] = {"repoURL": REPO_URL, "targetRevision": "main", "path": f"rendered/{env}/{path}",
                          "directory": {"recurse": False}}
    if chart:
        spec["sources"] = [
            {"repoURL": chart[0], "chart": chart[1], "targetRevision": chart[2],
             "helm": {"releaseName": component, "valueFiles": [f"$values/rendered/{env}/values/{component}.yaml"]}},
            {"repoURL": REPO_URL, "targetRevision": "main", "ref": "values"},
        ]
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": f"{env}-{component}", "namespace": "argocd",
                         "annotations": {"argocd.argoproj.io/sync-wave": str(wave)}},
            "spec": spec}


def _external_secret(env: str, name: str, namespace: str, keys: list[str], template: dict[str, str] | None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "refreshInterval": "1h",
        "secretStoreRef": {"kind": "ClusterSecretStore", "name": "aws-secrets-manager"},
        "target": {"name": name, "creationPolicy": "Owner"},
        "data": [{"secretKey": k, "remoteRef": {"key": f"{env}/{SECRET_NAMES[k]}", "conversionStrategy": "Default"}}
                 for k in keys],
    }
    if template:
        spec["target"]["template"] = {"engineVersion": "v2", "type": "Opaque", "data": template}
    return {"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
            "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def _secrets_stack(env: str) -> dict[str, Any]:
    resources = {}
    for var, logical_id in LOGICAL_IDS.items():
        props: dict[str, Any] = {"Name": f"{env}/{SECRET_NAMES[var]}", "Description": f"{var} for {env}"}
        if var != "DATABASE_URL":
            props["GenerateSecretString"] = {"PasswordLength": 48, "ExcludePunctuation": True}
        resources[logical_id] = {"Type": "AWS::SecretsManager::Secret", "DeletionPolicy": "Retain",
                                 "UpdateReplacePolicy": "Retain", "Properties": props}
    return {"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources,
            "Outputs": {f"{lid}Arn": {"Value": {"Ref": lid}} for lid in LOGICAL_IDS.values()}}


def _bastion_stack() -> dict[str, Any]:
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Parameters": {
            "LatestAmiId": {"Type": "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>",
                            "Default": "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"},
            "SubnetId": {"Type": "AWS::EC2::Subnet::Id"},
            "InstanceType": {"Type": "String", "Default": "t3.small"},
        },
        "Resources": {
            "HostTemplate": {"Type": "AWS::EC2::LaunchTemplate", "Properties": {
                "LaunchTemplateData": {"MetadataOptions": {"HttpTokens": "required"}}}},
            "HostSecurityGroup": {"Type": "AWS::EC2::SecurityGroup", "Properties": {
                "GroupDescription": "bastion: no ingress", "VpcId": "vpc-0123456789abcdef0",
                "SecurityGroupEgress": [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0"}]}},
            "BastionInstance": {"Type": "AWS::EC2::Instance", "Properties": {
                "ImageId": {"Ref": "LatestAmiId"},
                "InstanceType": {"Ref": "InstanceType"},
                "SubnetId": {"Ref": "SubnetId"},
                "SecurityGroupIds": [{"Fn::GetAtt": ["HostSecurityGroup", "GroupId"]}],
                "LaunchTemplate": {"LaunchTemplateId": {"Ref": "HostTemplate"},
                                   "Version": {"Fn::GetAtt": ["HostTemplate", "LatestVersionNumber"]}},
                "UserData": {"Fn::Base64": "#!/bin/bash\necho hello\n"},
                "Tags": [{"Key": "Name", "Value": "bastion"}]}},
        },
    }


def minimal_env(env: str = ENV) -> dict[str, Any]:
    """{path: document | [documents] | text} for one environment."""
    template = {"LITELLM_MASTER_KEY": "sk-{{ .masterKey }}", "LITELLM_SALT_KEY": "{{ .LITELLM_SALT_KEY }}",
                "REDIS_PASSWORD": "{{ .REDIS_PASSWORD }}", "DATABASE_URL": "{{ .DATABASE_URL }}"}
    litellm_es = _external_secret(env, "litellm-secrets", "litellm", list(SECRET_NAMES), template)
    litellm_es["spec"]["data"][0]["secretKey"] = "masterKey"  # the template adds the sk- prefix
    return {
        "apps/a-store.yaml": _application(env, "secret-store", 8, "litellm", path="manifests/secret-store"),
        "apps/b-eso.yaml": _application(env, "external-secrets", 7, "external-secrets",
                                        chart=("https://charts.external-secrets.io", "external-secrets", "2.9.0")),
        "apps/c-llm.yaml": _application(env, "litellm", 13, "litellm", chart=("ghcr.io/berriai", "litellm-helm", "1.83.10")),
        "manifests/secret-store/one.yaml": [
            {"apiVersion": "external-secrets.io/v1", "kind": "ClusterSecretStore",
             "metadata": {"name": "aws-secrets-manager"},
             "spec": {"provider": {"aws": {"service": "SecretsManager", "region": "eu-west-1"}},
                      "conditions": [{"namespaces": ["litellm", "open-webui"]}]}},
            litellm_es,
        ],
        "manifests/secret-store/two.yaml": _external_secret(env, "openwebui-secrets", "open-webui",
                                                            ["LITELLM_MASTER_KEY"], {"OPENAI_API_KEY": "{{ .LITELLM_MASTER_KEY }}"}),
        "values/litellm.yaml": {"replicaCount": 2, "environmentSecrets": ["litellm-secrets"],
                                "masterkeySecretName": "litellm-secrets", "masterkeySecretKey": "LITELLM_MASTER_KEY",
                                "db": {"useExisting": False, "deployStandalone": False},
                                "envVars": {"OTEL_SERVICE_NAME": "litellm"},
                                "proxy_config": {"general_settings": {"master_key": "os.environ/LITELLM_MASTER_KEY"}}},
        "values/external-secrets.yaml": {"replicaCount": 1, "serviceAccount": {
            "name": "external-secrets",
            "annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::444455556666:role/prod-external-secrets-role"}}},
        "cloudformation/stack-one.yaml": _secrets_stack(env),
        "cloudformation/host.yaml": _bastion_stack(),
        "cloudformation/host.parameters.json": [{"ParameterKey": "SubnetId", "ParameterValue": "subnet-0123456789abcdef0"}],
        "README.md": f"# {env}\n",
    }


class Rendered:
    """A rendered tree in memory: {env: {path: content}}; find and edit objects by meaning."""

    def __init__(self, envs: dict[str, dict[str, Any]]) -> None:
        self.envs = envs

    @classmethod
    def minimal(cls, *names: str) -> "Rendered":
        return cls({n: minimal_env(n) for n in (names or (ENV,))})

    @classmethod
    def from_files(cls, envs: dict[str, dict[str, str]]) -> "Rendered":
        parsed: dict[str, dict[str, Any]] = {}
        for env, files in envs.items():
            parsed[env] = {}
            for path, text in files.items():
                if path.endswith(".json"):
                    parsed[env][path] = json.loads(text)
                elif path.endswith((".yaml", ".yml")):
                    docs = [d for d in yaml.safe_load_all(text) if d is not None]
                    parsed[env][path] = docs[0] if len(docs) == 1 else docs
                else:
                    parsed[env][path] = text
        return cls(parsed)

    def copy(self) -> "Rendered":
        return Rendered(copy.deepcopy(self.envs))

    def write(self, root: Path) -> Path:
        (root / "rendered").mkdir(parents=True, exist_ok=True)
        for env, files in self.envs.items():
            for path, content in files.items():
                target = root / "rendered" / env / path
                target.parent.mkdir(parents=True, exist_ok=True)
                if path.endswith(".json"):
                    target.write_text(json.dumps(content, indent=2))
                elif isinstance(content, str):
                    target.write_text(content)
                elif isinstance(content, list) and path.endswith((".yaml", ".yml")):
                    target.write_text("---\n".join(yaml.safe_dump(d, sort_keys=False) for d in content))
                else:
                    target.write_text(yaml.safe_dump(content, sort_keys=False))
        return root

    # --- finding by meaning ---------------------------------------------------------------------

    def _docs(self, env: str) -> Iterator[tuple[str, Any]]:
        for path, content in self.envs[env].items():
            for doc in content if isinstance(content, list) and path.endswith((".yaml", ".yml")) else [content]:
                yield path, doc

    def obj(self, kind: str, name: str, env: str = ENV) -> dict[str, Any]:
        for _, doc in self._docs(env):
            if isinstance(doc, dict) and doc.get("kind") == kind and doc.get("metadata", {}).get("name") == name:
                return doc
        raise KeyError(f"{kind} {name} not in {env}")

    def remove(self, kind: str, name: str, env: str = ENV) -> None:
        target = self.obj(kind, name, env)
        for path, content in list(self.envs[env].items()):
            if content is target:
                del self.envs[env][path]
            elif isinstance(content, list) and any(d is target for d in content):
                content[:] = [d for d in content if d is not target]

    def add(self, path: str, doc: Any, env: str = ENV) -> None:
        self.envs[env][path] = doc

    def entry(self, secret_key: str, es: str = "litellm-secrets", env: str = ENV) -> dict[str, Any]:
        """The data entry of an ExternalSecret whose secretKey is `secret_key`."""
        return next(d for d in self.obj("ExternalSecret", es, env)["spec"]["data"] if d["secretKey"] == secret_key)

    def template_of(self, logical_id: str, env: str = ENV) -> dict[str, Any]:
        for _, doc in self._docs(env):
            if isinstance(doc, dict) and logical_id in (doc.get("Resources") or {}):
                return doc
        raise KeyError(logical_id)

    def resource(self, logical_id: str, env: str = ENV) -> dict[str, Any]:
        return self.template_of(logical_id, env)["Resources"][logical_id]

    def cfn_secret(self, env_var: str, env: str = ENV) -> tuple[str, dict[str, Any]]:
        """The Secrets Manager secret for `env_var`, by the name the ExternalSecret reads."""
        names = {d["remoteRef"]["key"] for _, doc in self._docs(env) if isinstance(doc, dict) and doc.get("kind") == "ExternalSecret"
                 for d in doc["spec"].get("data", []) if d["secretKey"] == env_var}
        for _, doc in self._docs(env):
            for logical_id, res in ((doc or {}).get("Resources") or {}).items() if isinstance(doc, dict) else ():
                if res.get("Type") == "AWS::SecretsManager::Secret" and res.get("Properties", {}).get("Name") in names:
                    return logical_id, res
        raise KeyError(env_var)

    def instance(self, env: str = ENV) -> tuple[str, dict[str, Any], dict[str, Any]]:
        """(logical id, resource, template) of the EC2 instance."""
        for _, doc in self._docs(env):
            for logical_id, res in ((doc or {}).get("Resources") or {}).items() if isinstance(doc, dict) else ():
                if res.get("Type") == "AWS::EC2::Instance":
                    return logical_id, res, doc
        raise KeyError("no EC2 instance")

    def values(self, component: str, env: str = ENV) -> dict[str, Any]:
        app = next(doc for _, doc in self._docs(env) if isinstance(doc, dict) and doc.get("kind") == "Application"
                   and any(component == s.get("helm", {}).get("releaseName") for s in doc["spec"].get("sources", [])))
        value_file = app["spec"]["sources"][0]["helm"]["valueFiles"][0].split(f"rendered/{env}/", 1)[1]
        return self.envs[env][value_file]

    def parameters_file(self, template_path_stem: str, env: str = ENV) -> tuple[str, Any]:
        for path, content in self.envs[env].items():
            if path.startswith("cloudformation/") and path.endswith(".json") and path.split("/")[-1].startswith(template_path_stem + "."):
                return path, content
        raise KeyError(template_path_stem)

    def edit(self, fn: Callable[["Rendered"], Any]) -> "Rendered":
        head = self.copy()
        fn(head)
        return head
