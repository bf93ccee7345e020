"""rendered/<env>/cloudformation/README.md: the deploy commands and their order, which stacks
this environment skips and why, and the out-of-band steps (the database URL, AMI pinning); and
cloudformation/deploy.json, the same order as data for the deploy workflow
(.github/workflows/cloudformation.yml): region, account and, per enabled stack in deploy order,
its name, template, parameters file and capabilities.

Components render only when enabled, so the README is rendered by the first enabled
CloudFormation component in deploy order (generator.naming.STACKS): exactly one file, whichever
stacks are skipped. When none is enabled there is no cloudformation/ folder at all.
"""

from __future__ import annotations

import json

from generator import fleet, naming
from generator.artifacts import Artifact
from generator.aws import cfn
from generator.docs import _templates
from generator.environment import Environment

CAPABILITIES = {"irsa-roles": "CAPABILITY_NAMED_IAM", "secrets": None, "backups": "CAPABILITY_IAM",
                "bastion": "CAPABILITY_NAMED_IAM"}
WHY_SKIPPED = {
    "disabled": "disabled: not deployed at all",
    "external": "external: exists and is healthy, managed outside this repository",
}


def owner(env: Environment) -> str | None:
    for _, component in naming.STACKS:
        if env.enabled(component):
            return component
    return None


def stacks(env: Environment) -> list[dict]:
    rows = []
    for stem, component in naming.STACKS:
        state = env.state(component)
        rows.append({
            "stem": stem,
            "component": component,
            "state": state,
            "enabled": state == "enabled",
            "why": WHY_SKIPPED.get(state, ""),
            "stack": naming.stack_name(env, stem),
            "capabilities": CAPABILITIES[stem],
        })
    return rows


def render_if_owner(env: Environment, component: str) -> list[Artifact]:
    if owner(env) != component:
        return []
    bastion = env.component("bastion")
    context = {
        "env": env,
        "stacks": stacks(env),
        "folder": f"rendered/{env.name}/{cfn.FOLDER}",
        "database_url": env.secret_name(naming.DATABASE_URL.key),
        "secret_names": [env.secret_name(key) for key in env.config["secrets"]["names"]],
        "bastion_pinned": bool(bastion.get("amiId")),
        "bastion_enabled": env.enabled("bastion"),
        "bastion_stack": naming.stack_name(env, "bastion"),
        "bastion_role": naming.bastion_role_name(env),
        "bastion_profile": naming.bastion_profile_name(env),
        "access_policy": bastion.get("accessPolicy", "AmazonEKSViewPolicy"),
        "roles": [naming.role_name(env, w) for w in (naming.BEDROCK, naming.EXTERNAL_SECRETS)]
                 + ([fleet.hub_role_name(env)] if fleet.hub_name(env) else []),
    }
    text = _templates().get_template("cloudformation-readme.md.j2").render(context)
    return [Artifact(f"{cfn.FOLDER}/README.md", text), Artifact(f"{cfn.FOLDER}/deploy.json", deploy_manifest(env))]


def deploy_manifest(env: Environment) -> str:
    manifest = {
        "environment": env.name,
        "region": env.region,
        "account": env.account_id,
        "stacks": [
            {"name": s["stack"], "template": f"{s['stem']}.yaml", "parameters": f"{s['stem']}.parameters.json",
             "capabilities": [s["capabilities"]] if s["capabilities"] else []}
            for s in stacks(env) if s["enabled"]
        ],
    }
    return json.dumps(manifest, indent=2) + "\n"
