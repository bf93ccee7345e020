"""Evaluating one Jsonnet file with go-jsonnet, bounded in time and memory (issue #19, item 5).

A Jsonnet file is a program: `local s(n) = if n == 0 then 'x' else s(n - 1) + s(n - 1); s(60)`
runs for ever and fills memory, and go-jsonnet (the `gojsonnet` binding of the Go implementation
Argo CD links: argo-cd v3.5.1 reposerver/repository/repository.go makeJsonnetVM, go.mod
github.com/google/go-jsonnet v0.22.0) has no time or memory bound of its own (only a stack depth,
`MaxStack`, 500 frames). So every evaluation runs in a child process (`python -m
generator.applied.jsonnet`, through generator/child.py: its own process group, bounded output):

- the child sets RLIMIT_AS to limits.JSONNET_MEMORY_BYTES before it loads go-jsonnet, so an
  evaluation that grows past it fails inside the child (Go: "out of memory"; Python: MemoryError);
- the parent waits at most limits.JSONNET_TIMEOUT seconds, then stops the child's process group;
- the result (JSON text, and every path the importer looked at) is at most
  limits.JSONNET_OUTPUT_BYTES.

Any overrun is bad input (generator.errors.InputError, exit 2) naming the file and the limit. The
request crosses to the child as JSON on stdin; imports are resolved in the child by the same
rules as before (directory.py's module docstring): confined to the repository, no links.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from generator import limits

_CHILD = [sys.executable, "-I", "-m", "generator.applied.jsonnet"]  # -I: no PYTHONPATH, no user site


class EvaluationError(Exception):
    """The file does not evaluate (go-jsonnet's first line), or a limit stopped it (naming it:
    `limit` is then True)."""

    def __init__(self, message: str, limit: bool = False) -> None:
        super().__init__(message)
        self.limit = limit


def evaluate(full: Path, top: Path, jpaths: list[Path], ext_vars: dict[str, str], ext_codes: dict[str, str],
             tla_vars: dict[str, str], tla_codes: dict[str, str]) -> tuple[str, list[str]]:
    """(JSON output, every import candidate looked at, resolved) of `full`, evaluated in a bounded
    child; EvaluationError otherwise."""
    from generator import child

    request = json.dumps({"file": str(full), "top": str(top), "jpaths": [str(p) for p in jpaths],
                          "ext_vars": ext_vars, "ext_codes": ext_codes, "tla_vars": tla_vars,
                          "tla_codes": tla_codes, "memory": limits.JSONNET_MEMORY_BYTES}).encode()
    try:
        done = child.run(_CHILD, timeout=limits.JSONNET_TIMEOUT, timeout_name="JSONNET_TIMEOUT",
                         stdout_limit=limits.JSONNET_OUTPUT_BYTES, stdout_name="JSONNET_OUTPUT_BYTES",
                         stdin=request, cwd=str(Path(__file__).resolve().parents[2]))
    except child.ChildLimit as exc:
        raise EvaluationError(f"the evaluation {exc}", limit=True) from None
    except OSError as exc:
        raise EvaluationError(f"the evaluator could not start: {exc.strerror or exc}") from None
    try:
        answer = json.loads(done.stdout)
    except ValueError:
        answer = None
    if done.returncode != 0 or not isinstance(answer, dict):
        said = child.message(done.stderr) or f"exit {done.returncode}"
        if "out of memory" in said or "MemoryError" in said or "cannot allocate memory" in said.lower():
            raise EvaluationError(f"the evaluation ran past JSONNET_MEMORY_BYTES "
                                  f"({limits.JSONNET_MEMORY_BYTES:,} bytes) and was stopped", limit=True) from None
        raise EvaluationError(f"the evaluation stopped ({said}); it may have run past JSONNET_MEMORY_BYTES "
                              f"({limits.JSONNET_MEMORY_BYTES:,} bytes)", limit=True) from None
    if "error" in answer:
        raise EvaluationError(str(answer["error"]))
    return str(answer["output"]), [str(r) for r in answer["reads"]]


def _child() -> int:
    """The child: limit the address space, then evaluate the request read from stdin."""
    import resource

    request: dict[str, Any] = json.loads(sys.stdin.buffer.read())
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    memory = request["memory"] if hard == resource.RLIM_INFINITY else min(request["memory"], hard)
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))  # never above a limit the caller already has
    import _gojsonnet  # loaded under the limit: the Go runtime's heap counts against it

    top = Path(request["top"])
    jpaths = [Path(p) for p in request["jpaths"]]
    reads: list[str] = []

    def importer(folder: str, name: str) -> tuple[str, bytes]:
        for base in [Path(folder)] + jpaths:
            candidate = Path(base, name)
            reads.append(str(candidate.resolve()))
            if candidate.is_file():
                resolved = candidate.resolve()
                if candidate.is_symlink() or not resolved.is_relative_to(top):
                    raise RuntimeError(f"import {name!r} leaves the repository or goes through a link")
                return str(resolved), resolved.read_bytes()
        raise RuntimeError(f"import {name!r} not found")

    try:
        output = _gojsonnet.evaluate_file(request["file"], ext_vars=request["ext_vars"],
                                          ext_codes=request["ext_codes"], tla_vars=request["tla_vars"],
                                          tla_codes=request["tla_codes"], import_callback=importer)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "evaluation failed"
        answer: dict[str, Any] = {"error": first}
    else:
        answer = {"output": output, "reads": reads}
    sys.stdout.write(json.dumps(answer))
    return 0


if __name__ == "__main__":
    sys.exit(_child())
