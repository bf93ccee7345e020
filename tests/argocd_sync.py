"""The root Application's sync operation as Argo CD v3.5.1 drives it, pass by pass: gitops-engine's
wave loop, the application controller's timeout and retry, and automated sync. Health of every
child comes from the real rendered health script, run in Argo CD's Lua sandbox (argocd_lua).

Only the paths a root of child Applications takes are modelled (no hooks, no pruning, no dry-run
failures); each step cites the upstream lines it follows.

gitops-engine/pkg/sync/sync_context.go (../shared/argocd/v3.5.1/), `Sync`:
- 553-571: every running task with a live object gets its health (`health.GetResourceHealth`, which
  runs the argocd-cm script): Healthy -> succeeded, Degraded -> failed, anything else and an error
  -> still running (an error sets nothing).
- 576-599: a multi-wave sync with any running task waits ("waiting for healthy state of ...").
- 636-639: a completed unsuccessful task fails the operation ("one or more synchronization tasks
  completed unsuccessfully").
- 652-656: no pending task left -> Succeeded ("successfully synced (no more tasks)").
- 659-664, 700-715: the lowest pending wave is applied; its tasks then run, except in the last wave,
  where non-hook tasks end the operation Succeeded at once ("all tasks run").
- 725-746 `Terminate`: a terminating operation ends Failed, "Operation terminated".

argo-cd controller/appcontroller.go at v3.5.1 (fetched: github.com/argoproj/argo-cd tag v3.5.1),
`processRequestedAppOperation`:
- 1542-1547: an operation still in progress `syncTimeout` after its StartedAt turns Terminating,
  "operation is terminating due to timeout".
- 1548-1577: a Running operation with FinishedAt is a retry: it waits for the backoff, then (with
  `retry.refresh`) forgets its revision so the latest is used; StartedAt is kept.
- 1581-1590: a new operation gets StartedAt now.
- 1594: `terminating` is read after the timeout check; controller/sync.go 360-361 calls
  `Terminate` for it.
- 1619-1640: Failed or Error is retried unless terminating; a terminated one completes, its
  message suffixed ", triggered by controller sync timeout".
`autoSync` (2322-2470): skipped while an operation exists ("another operation is in progress") or
the application is not OutOfSync; skipped when the last attempt to the same revision failed
(alreadyAttemptedSync, "Failed last sync attempt"); otherwise a new operation at the newest revision.
`RetryStrategy.NextRetryAt` (pkg/apis/application/v1alpha1/types.go 1566-1595): duration *
factor^count, capped at maxDuration; the retry waits from FinishedAt with the count already
incremented (appcontroller.go 1550, 1627-1630).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from argocd_lua import LuaScriptError, configmap_health

APPLICATION_KEY = "argoproj.io_Application"

# (health, sync) a child reports once Argo CD has refreshed it at `revision`.
ChildState = Callable[[str, str], tuple[str, str]]


def _duration(text: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600}
    return int(text[:-1]) * units[text[-1]]


def next_retry_after(retry: dict[str, Any], count: int) -> int:
    """types.go RetryStrategy.NextRetryAt: backoff duration * factor^count, at most maxDuration."""
    backoff = retry["backoff"]
    return min(_duration(backoff["duration"]) * backoff["factor"] ** count, _duration(backoff["maxDuration"]))


@dataclass
class Operation:
    revision: str
    started_at: int
    phase: str = "Running"
    message: str = ""
    finished_at: int | None = None
    retry_count: int = 0
    results: dict[str, str] = field(default_factory=dict)  # task -> Running | Succeeded | Failed


@dataclass
class Cluster:
    """The Applications the root applied (live objects, by name) and what Argo CD reports for each."""

    state: ChildState
    live: dict[str, dict[str, Any]] = field(default_factory=dict)
    just_applied: set[str] = field(default_factory=set)

    def apply(self, obj: dict[str, Any]) -> None:
        name = obj["metadata"]["name"]
        before = self.live.get(name, {}).get("status")
        self.live[name] = {**obj, **({"status": before} if before else {})}
        self.just_applied.add(name)  # its status describes the previous spec until it is refreshed

    def refresh(self) -> None:
        """Argo CD reconciles each child: status.sync.revision(s) become its pinned revisions. A
        child applied during the last reconciliation is refreshed one round later, so the root's
        next pass sees its stale status (no status yet, or the previous commit's)."""
        lagging, self.just_applied = self.just_applied, set()
        for name, obj in self.live.items():
            if obj["kind"] != "Application" or name in lagging:
                continue
            sources = obj["spec"].get("sources") or [obj["spec"]["source"]]
            git = next(s["targetRevision"] for s in sources if "chart" not in s)
            health, sync = self.state(name, git)
            revisions = [s["targetRevision"] for s in sources]
            status = {"status": sync, **({"revisions": revisions} if "sources" in obj["spec"] else {"revision": revisions[0]})}
            obj["status"] = {"health": {"status": health}, "sync": status}


@dataclass
class Controller:
    argocd_cm: dict[str, Any]
    sync_timeout: int  # controller.sync.timeout.seconds; 0: none
    retry: dict[str, Any]
    desired: Callable[[str], list[dict[str, Any]]]  # the root's manifests at a revision
    cluster: Cluster
    head: str  # the newest commit of the branch the root follows
    operation: Operation | None = None
    last: Operation | None = None  # the last completed operation (status.operationState)
    log: list[str] = field(default_factory=list)

    # -- gitops-engine sync_context.go Sync, one pass ------------------------------------------------
    def _health(self, obj: dict[str, Any]) -> str | None:
        if obj["kind"] != "Application":
            return None  # no health (AppProject, Secret): succeeds at once (sync_context.go 558-560)
        try:
            return configmap_health(self.argocd_cm, APPLICATION_KEY, obj).get("status")
        except LuaScriptError:
            return "error"  # sets nothing (553-571): the task stays running

    def _sync_pass(self, op: Operation) -> None:
        tasks = {o["metadata"]["name"]: o for o in self.desired(op.revision)}
        wave = {name: int(o["metadata"].get("annotations", {}).get("argocd.argoproj.io/sync-wave", "0")) for name, o in tasks.items()}
        for name, result in op.results.items():
            if result == "Running":
                status = self._health(self.cluster.live[name])
                if status in (None, "Healthy"):
                    op.results[name] = "Succeeded"
                elif status == "Degraded":
                    op.results[name] = "Failed"
        running = sorted(n for n, r in op.results.items() if r == "Running")
        if running and len(set(wave.values())) > 1:
            more = f" and {len(running) - 1} more resources" if len(running) > 1 else ""
            op.message = f"waiting for healthy state of argoproj.io/Application/{running[0]}{more}"
            return
        if any(r == "Failed" for r in op.results.values()):
            op.phase, op.message = "Failed", "one or more synchronization tasks completed unsuccessfully"
            return
        pending = [n for n in tasks if n not in op.results]
        if not pending:
            op.phase, op.message = "Succeeded", "successfully synced (no more tasks)"
            return
        current = min(wave[n] for n in pending)
        now = [n for n in pending if wave[n] == current]
        for name in now:
            self.cluster.apply(tasks[name])
            op.results[name] = "Running"
        if len(now) == len(pending):  # the last wave, no hooks (700-711)
            op.phase, op.message = "Succeeded", "successfully synced (all tasks run)"
        else:
            op.message = f"waiting for healthy state of argoproj.io/Application/{sorted(now)[0]}"

    # -- controller/appcontroller.go processRequestedAppOperation and autoSync -----------------------
    def _out_of_sync(self) -> bool:
        def applied(name: str) -> dict[str, Any]:
            return {k: v for k, v in self.cluster.live.get(name, {}).items() if k != "status"}

        return any(applied(o["metadata"]["name"]) != o for o in self.desired(self.head))

    def _auto_sync(self, now: int) -> None:
        if self.operation is not None:
            self.log.append("Skipping auto-sync: another operation is in progress")
            return
        if not self._out_of_sync():
            return
        if self.last is not None and self.last.revision == self.head and self.last.phase != "Succeeded":
            self.log.append(f"Skipping auto-sync: failed previous sync attempt to [{self.head}]")
            return
        self.operation = Operation(revision=self.head, started_at=now)  # 1581-1590
        self.log.append(f"Initiated automated sync to '{self.head}'")

    def _process_operation(self, now: int) -> None:
        op = self.operation
        assert op is not None
        cause = ""
        if op.phase == "Terminating":
            pass
        elif self.sync_timeout and now > op.started_at + self.sync_timeout:  # 1542-1547
            op.phase, op.message, cause = "Terminating", "operation is terminating due to timeout", "controller sync timeout"
        elif op.phase == "Running" and op.finished_at is not None:  # a retry, 1548-1577
            if now < op.finished_at + next_retry_after(self.retry, op.retry_count):
                return
            if self.retry.get("refresh"):
                op.revision = self.head
            op.finished_at, op.results = None, {}
            op.message = f"Retrying operation with latest revisions. Attempt #{op.retry_count}"
        terminating = op.phase == "Terminating"  # 1594
        if terminating:  # controller/sync.go 360-361, sync_context.go Terminate
            op.phase, op.message = "Failed", "Operation terminated"
        else:
            self._sync_pass(op)
        if op.phase in ("Failed", "Error"):  # 1619-1640
            limit = self.retry["limit"]
            if not terminating and (op.retry_count < limit or limit < 0):
                op.phase, op.finished_at = "Running", now
                op.retry_count += 1
                op.message += f". Retrying attempt #{op.retry_count}"
            elif terminating and cause:
                op.message += f", triggered by {cause}"
        if op.phase in ("Succeeded", "Failed", "Error"):
            op.finished_at = now
            self.last, self.operation = op, None
            self.log.append(f"operation {op.phase}: {op.message}")

    def step(self, now: int) -> None:
        """One reconciliation: refresh the children, process the operation, then automated sync."""
        self.cluster.refresh()
        if self.operation is not None:
            self._process_operation(now)
        self._auto_sync(now)
