"""What one validation problem is, and how a list of them prints (text or JSON).

Text: `path[:document]: kind/name: field.path: message`, one per line, then a summary line, which
ends by saying how many environments (and hub folders) came from validation records, if any.
`document` is the 1-based position of the YAML document in a multi-document file. A problem of
severity "note" is reported (prefixed `note: `) but does not fail the run.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Problem:
    path: str  # relative to the repository root, POSIX separators
    document: int | None  # 1-based, only for files holding several YAML documents
    kind: str
    name: str
    field: str  # dotted path inside the document ("-" when the problem is the whole file)
    message: str
    check: str = "kubernetes"  # kubernetes | values | cloudformation | dashboard | environment
    severity: str = "error"  # error: fails validate | note: reported only

    def __post_init__(self) -> None:
        # Plain strings only: values from parsers (cfn-lint's str_node) cannot cross process boundaries.
        for name in ("path", "kind", "name", "field", "message", "check", "severity"):
            object.__setattr__(self, name, str.__str__(getattr(self, name)))

    def location(self) -> str:
        return self.path if self.document is None else f"{self.path}:{self.document}"

    def sort_key(self) -> tuple:
        return (self.path, self.document or 0, self.field, self.message)

    @property
    def fails(self) -> bool:
        return self.severity != "note"

    def line(self) -> str:
        prefix = "" if self.fails else "note: "
        return f"{prefix}{self.location()}: {self.kind}/{self.name}: {self.field or '-'}: {self.message}"


@dataclass
class Report:
    problems: list[Problem] = field(default_factory=list)
    environments: list[str] = field(default_factory=list)
    files: int = 0
    documents: dict[str, int] = field(default_factory=dict)  # check -> documents checked
    reused: list[str] = field(default_factory=list)  # environments whose record matched (validate/record.py)
    reused_hubs: list[str] = field(default_factory=list)  # hub folders whose record matched
    pruned: tuple[int, int] | None = None  # validation records kept and deleted (validate --prune-records)

    @property
    def ok(self) -> bool:
        return not any(p.fails for p in self.problems)

    def summary(self) -> str:
        checked = ", ".join(f"{n} {check}" for check, n in sorted(self.documents.items())) or "nothing"
        failing = sum(p.fails for p in self.problems)
        verdict = "no problems" if self.ok else f"{failing} problem(s)"
        notes = len(self.problems) - failing
        verdict += f", {notes} note(s)" if notes else ""
        envs = ", ".join(self.environments) or "none"
        return f"validated {self.files} file(s) ({checked}) for environment(s) {envs}: {verdict}{self._reused()}"

    def _reused(self) -> str:
        """The one fact a run that reused records adds: how much came from them (counted above as checked)."""
        if not self.reused and not self.reused_hubs:
            return ""
        hubs = f" and {len(self.reused_hubs)} hub folder(s)" if self.reused_hubs else ""
        return f" ({len(self.reused)} environment(s){hubs} unchanged since validated, not checked again)"

    def text(self) -> str:
        return "".join(p.line() + "\n" for p in sorted(self.problems, key=Problem.sort_key)) + self.summary() + "\n"

    def as_json(self) -> str:
        data = {
            "ok": self.ok,
            "environments": self.environments,
            "files": self.files,
            "documents": dict(sorted(self.documents.items())),
            "problems": [asdict(p) for p in sorted(self.problems, key=Problem.sort_key)],
            "reused": self.reused,
            "reused_hubs": self.reused_hubs,
            "summary": self.summary(),
        }
        if self.pruned is not None:
            data["records"] = {"kept": self.pruned[0], "deleted": self.pruned[1]}
        return json.dumps(data, indent=2) + "\n"
