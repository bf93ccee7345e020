"""What a pull request changes, by meaning, as a plan a reviewer reads: per environment, per sync
wave, per Application, the objects added, removed and changed, each changed field as
`path: before → after`, chart version bumps called out, totals first. Text for a terminal (coloured
with rich when asked), Markdown for a PR comment (the same content; collapsed sections, truncated
with a count beyond a size limit), JSON with the values.

A value is printed only when the guard's redaction (generator/guard/redact.py, `shown_change`)
allows it: a secret-bearing path (Secret data, a SecretString, inline Helm values, a credential's
env entry) or a value that looks like a secret shows as `(changed)`. A Secret's changed
`data`/`stringData` is named as that field only, never its keys.

The Kubernetes objects compared are those of the applied state (`with_applied`: every object the
Applications will apply, chart templates included, from generator/applied/), so a chart bump or a
values change shows what it does to the objects; Helm values, CloudFormation and other files come
from the rendered trees (generator/guard/tree.py)."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from generator.applied.model import BOOTSTRAP, AppliedState
from generator.guard import cfn
from generator.guard.flatten import changed_paths, flatten
from generator.guard.redact import MISSING, shown_change
from generator.guard.tree import EnvTree, Obj, Pair, Tree, app_sources

SECRET_DATA = ("data", "stringData")

FIELDS_SHOWN = 12
MARKDOWN_LIMIT = 50_000  # leaves room for the guard's verdict in one 65,536-character comment
TEXT_FIELDS_SHOWN = 40
CHANGED = "(changed)"


@dataclass
class FieldChange:
    path: str
    before: str | None = None  # None, both: a secret-bearing value, shown as (changed)
    after: str | None = None

    def show(self, arrow: str = "→") -> str:
        if self.before is None:
            return f"{self.path}: {CHANGED}"
        return f"{self.path}: {self.before} {arrow} {self.after}"


@dataclass
class Change:
    kind: str  # added, removed, changed
    label: str
    file: str
    fields: list[str] = field(default_factory=list)
    values: list[FieldChange] = field(default_factory=list)  # one per field, as it may be printed


@dataclass
class Group:
    owner: str
    wave: int | None
    changes: list[Change] = field(default_factory=list)

    @property
    def title(self) -> str:
        if self.owner == "bootstrap":
            return "bootstrap (applied by hand)"
        if self.owner == "cloudformation":
            return "CloudFormation"
        if self.owner == "other":
            return "other files"
        return f"wave {self.wave} · {self.owner}" if self.wave is not None else self.owner

    @property
    def order(self) -> tuple[int, str]:
        special = {"bootstrap": -3, "cloudformation": -2}
        if self.owner in special:
            return special[self.owner], self.owner
        return (self.wave if self.wave is not None else 10_000), self.owner


@dataclass
class ChartBump:
    environment: str
    application: str
    chart: str
    before: str
    after: str


@dataclass
class EnvDiff:
    name: str
    status: str  # added, removed, changed, unchanged
    groups: list[Group] = field(default_factory=list)

    def count(self, kind: str) -> int:
        return sum(1 for g in self.groups for c in g.changes if c.kind == kind)


@dataclass
class TreeDiff:
    environments: list[EnvDiff]
    bumps: list[ChartBump]

    def count(self, kind: str) -> int:
        return sum(e.count(kind) for e in self.environments)

    @property
    def empty(self) -> bool:
        return not any(e.groups for e in self.environments)


def _charts(app: Obj) -> dict[tuple[str, str], str]:
    return {(str(s.get("repoURL")), str(s["chart"])): str(s.get("targetRevision")) for s in app_sources(app) if s.get("chart")}


def _env_diff(name: str, old: EnvTree | None, new: EnvTree | None, bumps: list[ChartBump]) -> EnvDiff:
    status = "added" if old is None else "removed" if new is None else "changed"
    before = old.objects if old else {}
    after = new.objects if new else {}
    groups: dict[str, Group] = {}
    for key in sorted(set(before) | set(after)):
        a, b = before.get(key), after.get(key)
        obj = b or a
        assert obj is not None
        if a is None:
            change = Change("added", obj.label, obj.file)
        elif b is None:
            change = Change("removed", obj.label, obj.file)
        elif a.doc == b.doc:
            continue
        else:
            old_doc, new_doc = a.doc, b.doc
            if obj.kind == "CloudFormationParameters":
                old_doc, new_doc = cfn.parameter_values(a.doc), cfn.parameter_values(b.doc)
            paths = [] if obj.kind == "File" else changed_paths(old_doc, new_doc)
            if obj.kind == "Secret" and obj.key.startswith("k8s//"):
                paths = list(dict.fromkeys(_secret_field(p) for p in paths))
            change = Change("changed", obj.label, obj.file, paths, _values(obj.kind, paths, old_doc, new_doc))
            if obj.kind == "Application":
                old_charts, new_charts = _charts(a), _charts(b)
                for source, version in sorted(new_charts.items()):
                    if source in old_charts and old_charts[source] != version:
                        bumps.append(ChartBump(name, obj.name, source[1], old_charts[source], version))
        group = groups.setdefault(obj.owner, Group(obj.owner, obj.wave))
        group.changes.append(change)
    env = EnvDiff(name, status, sorted(groups.values(), key=lambda g: g.order))
    if not env.groups:
        env.status = "unchanged"
    return env


def _values(kind: str, paths: list[str], before: Any, after: Any) -> list[FieldChange]:
    """Each changed path with its values as they may be printed (redact.shown_change decides)."""
    left, right = flatten(before), flatten(after)
    no_echo = _no_echo(before) | _no_echo(after) if kind == "CloudFormationTemplate" else set()
    out = []
    for path in paths:
        if path.split(".")[:1] == ["Parameters"] and path.split(".")[1:2] and path.split(".")[1] in no_echo:
            out.append(FieldChange(path))  # a NoEcho parameter's default
            continue
        key = "" if path == "(document)" else path
        if key not in left and key not in right:  # a Secret's data, collapsed to its field name
            out.append(FieldChange(path))
            continue
        pair = shown_change(kind, path, left.get(key, MISSING), right.get(key, MISSING))
        # One line per field: a multi-line value (a config file in a ConfigMap) shows its newlines as \n.
        out.append(FieldChange(path, *(v.replace("\n", "\\n") for v in pair)) if pair else FieldChange(path))
    return out


def _no_echo(doc: Any) -> set[str]:
    params = doc.get("Parameters") if isinstance(doc, dict) else None
    return {str(k) for k, v in params.items() if isinstance(v, dict) and str(v.get("NoEcho")).lower() == "true"} \
        if isinstance(params, dict) else set()


def _secret_field(path: str) -> str:
    """A Secret's data paths name the field only (`data`), never the key inside it."""
    head = path.split(".", 1)[0].split("[", 1)[0]
    return head if head in SECRET_DATA else path


def with_applied(env: EnvTree | None, state: AppliedState) -> EnvTree:
    """`env` (the rendered tree's entries) with its Kubernetes objects replaced by the applied
    state's: each object under its Application (the root's children under their own wave)."""
    tree = EnvTree(state.environment, {k: o for k, o in (env.objects if env else {}).items() if not o.key.startswith("k8s/")})
    root = next((a.name for a in state.applications.values() if a.wave is None), "")
    prefix = f"rendered/{state.environment}/"
    placed = [(f"k8s/{o.key}", o) for o in state] + [(f"k8s/{o.key}@{o.origin}", o) for o in state.duplicates]
    for key, obj in placed:
        wave = obj.wave if obj.application == root else obj.app_wave
        tree.objects[key] = Obj(key, obj.kind, obj.label, obj.origin.removeprefix(prefix), obj.doc, obj.namespace, obj.name,
                                obj.application, None if obj.application == BOOTSTRAP else wave)
    tree.objects = dict(sorted(tree.objects.items()))
    return tree


def select(files: dict[str, bytes], changed: set[str]) -> set[str]:
    """Besides the files that differ, only the Applications that deliver one of them (and the
    root's bootstrap when apps/ changed) are read, to group changes by wave and Application."""
    targets = {(rel if rel.startswith("values/") else rel.rsplit("/", 1)[0]).encode()
               for rel in changed if not rel.startswith(("apps/", "bootstrap/")) and "/" in rel}
    chosen = {rel for rel, raw in files.items() if rel.startswith("apps/") and any(t in raw for t in targets)}
    if any(rel.startswith("apps/") for rel in changed):  # the root Application names their group
        chosen |= {rel for rel, raw in files.items() if rel.startswith("bootstrap/") and b"kind: Application" in raw}
    return chosen


def plan(pair: Pair, states: tuple[dict[str, AppliedState], dict[str, AppliedState]]) -> TreeDiff:
    """The plan of two checkouts: `pair` as load_pair(..., select) read them, each environment's
    Kubernetes objects replaced by its applied state where it was hydrated (`states`, per side:
    `diff`, and `guard --diff-markdown` from the states its verdict read)."""
    for trees, side in zip((pair.base, pair.head), states):
        for name, state in side.items():
            trees[name] = with_applied(trees.get(name), state)
    return diff_trees(pair.base, pair.head, pair.names)


def diff_trees(base: Tree, head: Tree, names: list[str] | None = None) -> TreeDiff:
    """`names`: every environment of both trees, when `base` and `head` hold only those that differ."""
    bumps: list[ChartBump] = []
    envs = []
    for name in sorted(set(base) | set(head) | set(names or ())):
        if name not in base and name not in head:
            envs.append(EnvDiff(name, "unchanged"))
        else:
            envs.append(_env_diff(name, base.get(name), head.get(name), bumps))
    return TreeDiff(envs, bumps)


def _totals(d: TreeDiff) -> str:
    changed = [e for e in d.environments if e.groups]
    return (f"{d.count('added')} added, {d.count('removed')} removed, {d.count('changed')} changed "
            f"in {len(changed)} of {len(d.environments)} environment(s)")


def _summary(env: EnvDiff) -> str:
    extra = {"added": " (new environment)", "removed": " (environment removed)"}.get(env.status, "")
    return f"{env.count('added')} added, {env.count('removed')} removed, {env.count('changed')} changed{extra}"


SYMBOL = {"added": "+", "removed": "-", "changed": "~"}
STYLE = {"added": "green", "removed": "red", "changed": "yellow"}
Line = list[tuple[str, str]]  # (text, rich style) segments


def lines(d: TreeDiff) -> list[Line]:
    """The plan, line by line, each a list of (text, style) segments: `text` joins the texts,
    `rich_text` keeps the styles. Changed fields are indented under their object."""
    out: list[Line] = [[("litellm-gitops diff: ", "bold"), (_totals(d), "bold")]]
    for bump in d.bumps:
        out.append([("  chart bump: ", "bold"), (f"{bump.environment} {bump.application}: {bump.chart} ", ""),
                    (bump.before, "red"), (" -> ", ""), (bump.after, "green")])
    for env in d.environments:
        if not env.groups:
            continue
        out += [[], [(env.name, "bold"), (f": {_summary(env)}", "")]]
        for group in env.groups:
            out.append([(f"  {group.title}", "cyan")])
            for change in group.changes:
                out.append([(f"    {SYMBOL[change.kind]} {change.label}", STYLE[change.kind]), (f"  [{change.file}]", "dim")])
                values = change.values or [FieldChange(f) for f in change.fields]
                for value in values[:TEXT_FIELDS_SHOWN]:
                    if value.before is None:
                        out.append([(f"        {value.path}: ", ""), (CHANGED, "magenta")])
                    else:
                        out.append([(f"        {value.path}: ", ""), (value.before, "red"), (" → ", ""), (value.after, "green")])
                if len(values) > TEXT_FIELDS_SHOWN:
                    out.append([(f"        … and {len(values) - TEXT_FIELDS_SHOWN} more field(s)", "dim")])
    return out


def text(d: TreeDiff) -> str:
    return "\n".join("".join(part for part, _style in line) for line in lines(d)) + "\n"


def rich_text(d: TreeDiff):
    """The same lines as `text`, styled for a terminal (rich.text.Text)."""
    from rich.text import Text

    return Text("\n").join(Text.assemble(*line) if line else Text("") for line in lines(d))


def _code(value: str) -> str:
    return "<code>" + html.escape(value, quote=False).replace("|", "&#124;") + "</code>"


def _change_md(change: Change) -> str:
    icon = {"added": "➕", "removed": "➖", "changed": "✏️"}[change.kind]
    line = f"- {icon} {change.kind} {_code(change.label)} <sub>{html.escape(change.file, quote=False)}</sub>"
    values = change.values or [FieldChange(f) for f in change.fields]
    shown = values[:FIELDS_SHOWN]
    for value in shown:
        if value.before is None:
            line += f"\n  - {_code(value.path)}: {CHANGED}"
        else:
            line += f"\n  - {_code(value.path)}: {_code(value.before)} → {_code(value.after)}"
    if len(values) > len(shown):
        line += f"\n  - … and {len(values) - len(shown)} more field(s)"
    return line


def markdown(d: TreeDiff, limit: int = MARKDOWN_LIMIT) -> str:
    out = ["### Rendered changes", "", f"**{_totals(d)}**", ""]
    if d.bumps:
        out += ["**Chart version bumps**", ""]
        out += [f"- {html.escape(b.environment)} · {_code(b.application)}: {_code(b.chart)} "
                f"{_code(b.before)} → {_code(b.after)}" for b in d.bumps] + [""]
    if d.empty:
        out.append("No rendered object changes.")
    size = sum(len(line) + 1 for line in out)
    reserve = 300  # the closing tags and the truncation note
    total = sum(len(g.changes) for e in d.environments for g in e.groups)
    written, truncated = 0, False
    for env in d.environments:
        if not env.groups or truncated:
            continue
        section = [f"<details><summary><b>{html.escape(env.name)}</b>: {_summary(env)}</summary>", ""]
        size += sum(len(line) + 1 for line in section)
        for group in env.groups:
            title = [f"**{html.escape(group.title, quote=False)}**", ""]
            lines: list[str] = []
            for change in group.changes:
                line = _change_md(change)
                if size + len(title[0]) + len(line) + reserve > limit:
                    truncated = True
                    break
                lines.append(line)
                size += len(line) + 1
                written += 1
            if lines:
                section += title + lines + [""]
                size += len(title[0]) + 3
            if truncated:
                break
        out += section + ["</details>", ""]
        size += 12
    if written < total:
        out.append(f"… and {total - written} more change(s) not shown (comment size limit); "
                   "run `litellm-gitops diff` for the full list.")
    return "\n".join(out) + "\n"


def _change_json(change: Change) -> dict[str, Any]:
    """`fields` the paths; `values` each with `before` and `after` as they may be printed, or
    `"redacted": true` (and no values) where the change shows as (changed)."""
    return {"kind": change.kind, "label": change.label, "file": change.file, "fields": change.fields,
            "values": [{"path": v.path, "before": v.before, "after": v.after} if v.before is not None
                       else {"path": v.path, "redacted": True} for v in change.values]}


def to_json(d: TreeDiff) -> dict[str, Any]:
    return {
        "totals": {k: d.count(k) for k in ("added", "removed", "changed")},
        "chart_bumps": [vars(b) for b in d.bumps],
        "environments": [{"name": e.name, "status": e.status, "groups": [
            {"owner": g.owner, "wave": g.wave, "changes": [_change_json(c) for c in g.changes]} for g in e.groups]}
            for e in d.environments],
    }


def from_json(document: dict[str, Any]) -> TreeDiff:
    """The TreeDiff `to_json` printed, back (`diff-combine` reads each `diff --shard` this way):
    `to_json(from_json(d)) == d`. The document's shape is checked by the caller
    (generator/commands/diff_combine.py)."""
    def change(item: dict[str, Any]) -> Change:
        values = [FieldChange(v["path"]) if v.get("redacted") else FieldChange(v["path"], v["before"], v["after"])
                  for v in item["values"]]
        return Change(item["kind"], item["label"], item["file"], list(item["fields"]), values)

    return TreeDiff(
        [EnvDiff(e["name"], e["status"], [Group(g["owner"], g["wave"], [change(c) for c in g["changes"]]) for g in e["groups"]])
         for e in document["environments"]],
        [ChartBump(**b) for b in document["chart_bumps"]])


def merged(parts: list[TreeDiff]) -> TreeDiff:
    """Diffs of disjoint sets of environments (shards) as the one diff of them all, exactly as
    `diff_trees` orders it: environments by name, chart bumps in their environment's order."""
    environments = sorted((e for part in parts for e in part.environments), key=lambda e: e.name)
    order = {e.name: i for i, e in enumerate(environments)}
    bumps = sorted((b for part in parts for b in part.bumps), key=lambda b: order.get(b.environment, -1))
    return TreeDiff(environments, bumps)
