"""Evaluate an ApplicationSet the way Argo CD v3.5.1's controller does, for the features the
fleet's ApplicationSet uses (generator.fleet), so tests and the guard can read the Applications
it will create as ordinary objects.

Covered, each from Argo CD's source at v3.5.1 (github.com/argoproj/argo-cd):
- the git files generator: applicationset/generators/git.go, generateParamsForGitFiles (include
  patterns minus exclude patterns, files in sorted path order) and generateParamsFromGitFile (a
  file holds one object or a list of objects; with goTemplate the object's keys are copied as they
  are and `path` becomes {path, basename, filename, basenameNormalized, filenameNormalized,
  segments}; without goTemplate keys are flattened with dots and values stringified). Paths
  are matched as v3.5.1 matches them by default, the old globbing: the repo server runs
  `git ls-files -- <path>` (util/git/client.go LsFiles), a git pathspec where `*` also crosses
  `/`; generator.argoglob.git_ls_files asks git itself. (The new globbing, doublestar, applies
  only with ARGOCD_APPLICATIONSET_CONTROLLER_ENABLE_NEW_GIT_FILE_GLOBBING=true, which the fleet's
  hub pins to false in its argocd-cmd-params-cm: generator.fleet.)
- the list generator: applicationset/generators/list.go (each element is one parameter set);
- rendering the template: applicationset/utils/utils.go, RenderTemplateParams (every string of the
  template through the renderer; the resources finalizer added when the template has none and
  syncPolicy.preserveResourcesOnDeletion is not set) and Replace (goTemplate: Go's text/template
  with goTemplateOptions; else fasttemplate `{{ key }}` over flat parameters, unknown keys left
  as they are); applicationset/controllers/template/template.go, GenerateApplications (each
  generated Application gets the ApplicationSet's namespace);
- RollingSync: applicationset/progressivesync/progressive_sync.go, buildAppDependencyList and
  labelMatchedExpression (steps by matchExpressions, In/NotIn, a missing label fails In) and
  disableAutomatedSync (automated.enabled=false when progressive syncs are on).

Go templates are supported only as field lookups, `{{.a}}` and `{{.a.b}}` (what the fleet's
template uses); anything else raises Unsupported rather than guessing, so a template that grows
past this evaluator fails its tests loudly.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import yaml

from generator.argoglob import git_ls_files

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the same YAML 1.1 reading, in C

RESOURCES_FINALIZER = "resources-finalizer.argocd.argoproj.io"
GO_ACTION = re.compile(r"{{-?\s*(.*?)\s*-?}}")
GO_FIELD = re.compile(r"^(\.[A-Za-z_][A-Za-z0-9_]*)+\Z")
FAST_TAG = re.compile(r"{{(.*?)}}")


class Unsupported(ValueError):
    """The ApplicationSet uses something this evaluator does not implement."""


class TemplateError(ValueError):
    """Argo CD would refuse to render (for example a missing key under missingkey=error)."""


def _sanitize(name: str) -> str:
    """utils.SanitizeName: lowercase, anything but [a-z0-9-.] becomes '-', trimmed of '-' and '.'."""
    return re.sub(r"[^a-z0-9.-]", "-", name.lower()).strip("-.")


def _dirname(path: str) -> str:
    return path.rsplit("/", 1)[0] if "/" in path else "."


def _flatten(value: Any, prefix: str = "") -> dict[str, str]:
    if isinstance(value, dict):
        flat: dict[str, str] = {}
        for key, inner in value.items():
            flat.update(_flatten(inner, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    text = "true" if value is True else "false" if value is False else str(value)
    return {prefix: text}


def git_files_parameters(generator: dict[str, Any], files: dict[str, bytes], go_template: bool) -> list[dict[str, Any]]:
    """The parameter sets of one git files generator over `files` (repository path -> content)."""
    git = generator["git"]
    if git.get("directories") or git.get("values") or git.get("pathParamPrefix"):
        raise Unsupported("git generator: only files without values or pathParamPrefix are evaluated")
    include = [f["path"] for f in git.get("files", []) if not f.get("exclude")]
    exclude = [f["path"] for f in git.get("files", []) if f.get("exclude")]
    listed = git_ls_files(include + exclude, list(files))  # each pattern, as the repo server lists it
    excluded = {p for pattern in exclude for p in listed[pattern]}
    chosen = sorted({p for pattern in include for p in listed[pattern]} - excluded)  # git.go: sort.Strings
    result: list[dict[str, Any]] = []
    for file_path in chosen:
        content = yaml.load(files[file_path], Loader=_LOADER) if files[file_path].strip() else {}
        objects = content if isinstance(content, list) else [content or {}]
        for found in objects:
            if not isinstance(found, dict):
                raise TemplateError(f"{file_path}: unable to parse file: not an object or a list of objects")
            directory = _dirname(file_path)
            path_param = {
                "path": directory,
                "basename": directory.rsplit("/", 1)[-1],
                "filename": file_path.rsplit("/", 1)[-1],
                "basenameNormalized": _sanitize(directory.rsplit("/", 1)[-1]),
                "filenameNormalized": _sanitize(file_path.rsplit("/", 1)[-1]),
                "segments": directory.split("/"),
            }
            if go_template:
                params = dict(found)
                params["path"] = path_param
            else:
                params = _flatten(found)
                params["path"] = directory
                for key in ("basename", "filename", "basenameNormalized", "filenameNormalized"):
                    params[f"path.{key}"] = path_param[key]
                for index, segment in enumerate(directory.split("/")):
                    if segment:
                        params[f"path[{index}]"] = segment
            result.append(params)
    return result


def list_parameters(generator: dict[str, Any]) -> list[dict[str, Any]]:
    body = generator["list"]
    if body.get("elementsYaml") or body.get("template"):
        raise Unsupported("list generator: only plain elements are evaluated")
    return [dict(element) for element in body.get("elements", [])]


def _lookup(params: dict[str, Any], expression: str, missing_error: bool) -> str:
    value: Any = params
    for part in expression.split(".")[1:]:
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif missing_error:
            raise TemplateError(f"map has no entry for key {part!r} in {{{{{expression}}}}}")
        else:
            return "<no value>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        raise Unsupported(f"{{{{{expression}}}}} renders a {type(value).__name__}")
    return str(value)


def replace(text: str, params: dict[str, Any], go_template: bool, options: list[str]) -> str:
    """utils.Replace for one string."""
    if go_template:
        missing_error = "missingkey=error" in options
        unknown = [o for o in options if o not in ("missingkey=error", "missingkey=default", "missingkey=invalid")]
        if unknown:
            raise Unsupported(f"goTemplateOptions {unknown}")

        def action(match: re.Match[str]) -> str:
            expression = match.group(1)
            if not GO_FIELD.match(expression):
                raise Unsupported(f"Go template action {{{{{expression}}}}}: only field lookups are evaluated")
            return _lookup(params, expression, missing_error)

        return GO_ACTION.sub(action, text)

    def tag(match: re.Match[str]) -> str:
        key = match.group(1).strip()
        value = params.get(key)
        return value if key and isinstance(value, str) else match.group(0)

    return FAST_TAG.sub(tag, text)


def _render(value: Any, params: dict[str, Any], go_template: bool, options: list[str]) -> Any:
    if isinstance(value, str):
        return replace(value, params, go_template, options)
    if isinstance(value, list):
        return [_render(v, params, go_template, options) for v in value]
    if isinstance(value, dict):  # deeplyReplace renders map keys as well as values
        return {replace(str(k), params, go_template, options): _render(v, params, go_template, options)
                for k, v in value.items()}
    return value


def generate(appset: dict[str, Any], files: dict[str, bytes], progressive_syncs: bool = False) -> list[dict[str, Any]]:
    """The Applications `appset` generates, in name order, reading git files from `files`.

    `progressive_syncs`: the controller runs with progressive syncs enabled, so a RollingSync
    ApplicationSet's Applications get automated.enabled=false."""
    spec = appset["spec"]
    go_template = bool(spec.get("goTemplate"))
    options = list(spec.get("goTemplateOptions") or [])
    if spec.get("templatePatch"):
        raise Unsupported("templatePatch")
    preserve = bool((spec.get("syncPolicy") or {}).get("preserveResourcesOnDeletion"))
    apps: list[dict[str, Any]] = []
    for generator in spec["generators"]:
        if set(generator) - {"git", "list"} or generator.get("selector"):
            raise Unsupported(f"generator {sorted(generator)}")
        if "git" in generator:
            if generator["git"].get("template") or not generator["git"].get("files"):
                raise Unsupported("git generator: only the files form without its own template is evaluated")
            parameter_sets = git_files_parameters(generator, files, go_template)
        else:
            parameter_sets = list_parameters(generator)
        for params in parameter_sets:
            template = _render(copy.deepcopy(spec["template"]), params, go_template, options)
            meta = template.get("metadata") or {}
            app = {
                "apiVersion": "argoproj.io/v1alpha1",
                "kind": "Application",
                "metadata": {k: v for k, v in meta.items() if k in ("name", "labels", "annotations", "finalizers")},
                "spec": template.get("spec") or {},
            }
            app["metadata"]["namespace"] = appset["metadata"].get("namespace", "")
            if not preserve and not app["metadata"].get("finalizers"):
                app["metadata"]["finalizers"] = [RESOURCES_FINALIZER]
            apps.append(app)
    if progressive_syncs and rolling_sync(appset):
        for app in apps:
            automated = (app["spec"].get("syncPolicy") or {}).get("automated")
            if isinstance(automated, dict):
                automated["enabled"] = False
    return sorted(apps, key=lambda a: a["metadata"]["name"])


def rolling_sync(appset: dict[str, Any]) -> bool:
    strategy = appset["spec"].get("strategy") or {}
    return strategy.get("type") == "RollingSync" and bool((strategy.get("rollingSync") or {}).get("steps"))


def _matches(labels: dict[str, str], expression: dict[str, Any]) -> bool:
    operator = expression.get("operator")
    if expression.get("key") not in labels:
        return operator != "In"
    if operator not in ("In", "NotIn"):
        return False
    hit = labels[expression["key"]] in (expression.get("values") or [])
    return hit if operator == "In" else not hit


def rollout_steps(appset: dict[str, Any], apps: list[dict[str, Any]]) -> list[list[str]]:
    """Application names per RollingSync step, in step order (an Application no step selects is
    left out: Argo CD never syncs it on its own)."""
    if not rolling_sync(appset):
        return []
    steps = appset["spec"]["strategy"]["rollingSync"]["steps"]
    result: list[list[str]] = [[] for _ in steps]
    for app in apps:
        labels = app["metadata"].get("labels") or {}
        for index, step in enumerate(steps):
            if all(_matches(labels, e) for e in step.get("matchExpressions") or []):
                result[index].append(app["metadata"]["name"])
    return result
