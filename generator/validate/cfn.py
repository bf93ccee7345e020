"""CloudFormation templates (rendered/<env>/cloudformation/) through cfn-lint's Python API.

The linter policy, defined here once (validate and the tests both call `check_template`): cfn-lint's
errors (E) and warnings (W) are problems and fail; informational rules (I), of which every cfn-lint
release may add new ones, are reported as notes and never fail, except those silenced in
`SILENCED` with the reason. cfn-lint itself is pinned by the lock (requirements/ci.txt), so a new
rule arrives as a reviewed dependency update, not as a red build. The environment's AWS region is
the region linted for; the rules load once per region and run. A `<stem>.parameters.json` beside
a template (a JSON list of "Key=Value", as `aws cloudformation deploy --parameter-overrides` takes)
must set only parameters the template declares, and every one it declares without a default.
Which files are templates: *.yaml, *.yml and *.template, and *.json files that look like one
(AWSTemplateFormatVersion or Resources at the top). Another JSON file there (such as a deploy
manifest) is not linted, but every `stacks[].template` and `stacks[].parameters` it names must exist.
"""

from __future__ import annotations

from generator.validate.problems import Problem

import json
from functools import cache

TEMPLATE_SUFFIXES = (".yaml", ".yml", ".json", ".template")
FAILING_SEVERITIES = ("E", "W")  # rule id prefixes that fail validate
SILENCED = {
    "I4010": "per-resource Metadata.com.aws.cloudformation.Context documents intent for CDK-style authoring; "
             "these templates are generated and documented by rendered/<env>/cloudformation/README.md",
}
PARAMETERS_SUFFIX = ".parameters.json"


@cache
def runner_for(region: str):
    """cfn-lint's rules, loaded once per region and run (call it before forking workers)."""
    from cfnlint.api import ConfigMixIn, Runner  # imported lazily: it takes half a second

    return Runner(ConfigMixIn(regions=[region], include_checks=["I"], ignore_checks=sorted(SILENCED)))


def check_template(path: str, text: str, region: str) -> list[Problem]:
    """cfnlint.api.lint, with the rules loaded once instead of on every call, and the template parsed once."""
    from cfnlint.api import decode_str

    template, errors = decode_str(text)
    matches = errors or (runner_for(region).validate_template(template) if template is not None else [])
    resources = template.get("Resources") if isinstance(template, dict) else None
    problems = []
    for match in matches:
        severity = "error" if match.rule.id.startswith(FAILING_SEVERITIES) else "note"
        parts = [str(p) for p in (getattr(match, "path", None) or [])]
        kind, name = "Template", path.rsplit("/", 1)[-1]
        if len(parts) >= 2 and parts[0] == "Resources":
            name = parts[1]
            resource = resources.get(name) if isinstance(resources, dict) else None
            kind = str(resource.get("Type", "Resource")) if isinstance(resource, dict) else "Resource"
        field = ".".join(parts) or "-"
        problems.append(Problem(path, None, kind, name, field,
                                f"{match.rule.id} {match.message} (line {match.linenumber})", "cloudformation", severity))
    return problems


def check_parameters(path: str, text: str, template_path: str, template_text: str | None) -> list[Problem]:
    from cfnlint.decode import decode_str

    name = path.rsplit("/", 1)[-1]
    if template_text is None:
        return [Problem(path, None, "Parameters", name, "-", f"no template {template_path} beside it", "cloudformation")]
    try:
        pairs = json.loads(text)
    except json.JSONDecodeError as exc:
        return [Problem(path, None, "Parameters", name, "-", f"not valid JSON: {exc.msg} (line {exc.lineno})", "cloudformation")]
    if not isinstance(pairs, list) or not all(isinstance(p, str) and "=" in p for p in pairs):
        return [Problem(path, None, "Parameters", name, "-", 'must be a JSON list of "Key=Value" strings', "cloudformation")]
    given = [p.split("=", 1)[0] for p in pairs]
    try:
        template, _ = decode_str(template_text)
        declared = dict((template or {}).get("Parameters") or {})
    except Exception:  # noqa: BLE001 - the template's own problems are reported by check_template
        return []
    problems = [Problem(path, None, "Parameters", name, key, f"{template_path} declares no parameter {key!r}", "cloudformation")
                for key in given if key not in declared]
    problems += [Problem(path, None, "Parameters", name, key, f"{template_path} needs parameter {key!r} (it has no default)",
                         "cloudformation")
                 for key, spec in declared.items() if key not in given and not (isinstance(spec, dict) and "Default" in spec)]
    problems += [Problem(path, None, "Parameters", name, key, "parameter set more than once", "cloudformation")
                 for key in sorted({k for k in given if given.count(k) > 1})]
    return problems


def is_template(name: str, text: str) -> bool:
    if not name.endswith(".json"):
        return True
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return True  # let cfn-lint report it
    return isinstance(data, dict) and ("AWSTemplateFormatVersion" in data or "Resources" in data)


def check_manifest(path: str, text: str, present: list[str]) -> list[Problem]:
    """A JSON file beside the templates that is not one: the files its stacks name must exist."""
    name = path.rsplit("/", 1)[-1]
    data = json.loads(text)
    stacks = data.get("stacks") if isinstance(data, dict) else None
    problems = []
    for index, stack in enumerate(stacks if isinstance(stacks, list) else []):
        for key in ("template", "parameters"):
            ref = stack.get(key) if isinstance(stack, dict) else None
            if isinstance(ref, str) and ref not in present:
                problems.append(Problem(path, None, "Manifest", name, f"stacks[{index}].{key}",
                                        f"names {ref!r}, which is not in this folder", "cloudformation"))
    return problems
