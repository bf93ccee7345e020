"""CloudFormation templates (rendered/<env>/cloudformation/) through cfn-lint's Python API.

Errors and warnings are problems (as the cfn-lint command fails on both); informational matches
are not. The environment's AWS region is the region linted for.
"""

from __future__ import annotations

from generator.validate.problems import Problem

TEMPLATE_SUFFIXES = (".yaml", ".yml", ".json", ".template")


def check_template(path: str, text: str, region: str) -> list[Problem]:
    from cfnlint.api import ManualArgs, lint  # imported lazily: it takes a second

    problems = []
    for match in lint(text, config=ManualArgs(regions=[region])):
        if match.rule.id.startswith("I"):
            continue
        parts = [str(p) for p in (match.path or [])]
        kind, name = "Template", path.rsplit("/", 1)[-1]
        if len(parts) >= 2 and parts[0] == "Resources":
            name = parts[1]
            kind = _resource_type(text, name)
        field = ".".join(parts) or "-"
        problems.append(Problem(path, None, kind, name, field,
                                f"{match.rule.id} {match.message} (line {match.linenumber})", "cloudformation"))
    return problems


def _resource_type(text: str, logical_id: str) -> str:
    from cfnlint.decode import decode_str

    try:
        template, _ = decode_str(text)
        return str(template["Resources"][logical_id]["Type"])
    except Exception:  # noqa: BLE001 - a template cfn-lint could not parse has no resource types to name
        return "Resource"
