"""The reconcile loop: read a run's stored state, take the next due action.

``Engine.advance`` looks at the run's steps, finds the current group (a
phase or a batch), and for each of its lanes (a project in a batch) calls the
handler of the first unfinished step if it is due. Lanes of a group advance
side by side, up to the group's concurrency. A handler's outcome is written
back with its evidence in one transaction, with the step's "running" mark
when the handler finished at once.

Writes of a pass: outcomes are held in memory and written together, all
lanes of the pass (with the run's status) in one transaction, as long as
that keeps the guarantees. Three things write at once instead: a handler's
``ctx.save()`` (an intent must be durable before the side effect it guards;
it carries whatever else the pass holds), a handler that recorded evidence
(``ctx.record``: its records and its outcome are written when it returns,
so evidence of something done outside is never held back behind other
lanes). Nothing is reported (``notify``) as finished before it is committed.
A held outcome lost to a crash is only a handler run again, which handlers
allow: they are idempotent or guarded by their saved intent.

A failure and its consequences are one write: the failed step, every other
started step of its group that owes an undo (``compensating``: a shifted
canary's rollback), the cancellation of every step that has not run, and the
run's new status (``failing`` while undos are owed, else its end: ``no_go``
when the outcome says so, ``failed``). The projects that depend on the failed
one (the run's ``depends_on`` graph) are held with it, and with
``rollback_dependents`` owe their undos first; the order the undos run in is
part of that write. The owed undos then run, each ended
with its evidence in one write, and the run ends. A process killed anywhere
in that resumes into the same handling (a ``failing`` run settles what it
still owes; a failed step in an active run, as a store written before this
rule may hold, is failed again), so a resumed run never passes a failed step.

``Engine.drive`` holds the run's lease and calls ``advance`` until the run
ends or only waits remain; it sleeps on the injected clock (a virtual clock
jumps), renewing the lease. While it holds the lease the run row is not read
again each pass: it changes only through this engine, through handlers on
the same store (``Store.run_writes`` says when), or from another process
ending it, which is read at each lease renewal. A process killed anywhere resumes from the
store: handlers are idempotent or guarded by a recorded intent.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from golive.clock import Clock
from golive.engine.context import Services, StepContext
from golive.engine.outcome import Done, Fail, Handler, Outcome, Wait
from golive.engine.retry import Budget, Unanswered, unanswered
from golive.errors import GoliveError, LeaseHeld, StoreError
from golive.errors import unanswered as unanswered_error
from golive.evidence.dependencies import DependentsHeld, UndoDone
from golive.evidence.runs import RunNote
from golive.plan.dependencies import Graph, project_of_lane
from golive.store.statuses import RUN_FINISHED, RunStatus, StepStatus
from golive.store.store import Run, Step, run_values

# Steps the cursor passes. A failed step is not among them: an active run holding one owes its failure's handling.
PASSED = frozenset({StepStatus.DONE, StepStatus.CANCELLED, StepStatus.SKIPPED})


@dataclass
class AdvanceResult:
    progressed: bool = False
    finished: bool = False
    status: str = RunStatus.RUNNING
    next_due: datetime | None = None
    waiting_on: list[str] = field(default_factory=list)
    next_phase: str | None = None  # the phase of the first unfinished step after this pass
    retrying: bool = False  # a step waits to try an unreachable system again (bounded by the retry budget)


def _proc_stat(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name (Linux); empty where that cannot be read."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        return []
    # The command name (field 2) may hold spaces and parentheses; the fields after its last ")" do not.
    return stat.rpartition(")")[2].split()


def _process_start(pid: int) -> str | None:
    """When the process started, in clock ticks since boot; None where that cannot be read."""
    fields = _proc_stat(pid)
    return fields[19] if len(fields) > 19 else None


def default_holder() -> str:
    """This process, uniquely: host, pid and the process's start time (a reused pid is another holder)."""
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_process_start(pid) or '-'}"


def holder_gone(holder: str) -> bool:
    """The lease's holder was a process on this host that no longer exists (a golive killed with SIGKILL).

    A holder on another host, or one whose liveness cannot be told, is never gone: its lease must expire.
    """
    parts = holder.split(":")
    if len(parts) >= 3 and parts[-2].isdigit():
        host, pid, started = ":".join(parts[:-2]), int(parts[-2]), parts[-1]
    elif len(parts) >= 2 and parts[-1].isdigit():
        host, pid, started = ":".join(parts[:-1]), int(parts[-1]), "-"
    else:
        return False
    if host != socket.gethostname():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    fields = _proc_stat(pid)
    if fields and fields[0] in ("Z", "X"):
        return True  # killed, not yet reaped by its parent: it will never renew the lease
    # Alive: still the holder, unless the pid now belongs to a process started later.
    now_started = fields[19] if len(fields) > 19 else None
    return started != "-" and now_started is not None and now_started != started


def lease_name(run: Run) -> str:
    return f"run:{run.release}:{run.env}:{run.kind}"


class Engine:
    """Advances runs stored in ``services.store`` with the given handlers."""

    def __init__(self, services: Services, handlers: Mapping[str, Handler], *, holder: str | None = None,
                 lease_ttl: timedelta = timedelta(seconds=60), concurrency: Mapping[str, int] | None = None,
                 lease_clock: Clock | None = None) -> None:
        self.services = services
        self.store = services.store
        self.clock = services.clock
        self.handlers = dict(handlers)
        self.holder = holder or default_holder()
        self.lease_ttl = lease_ttl
        # Leases time processes, not the release: workers sharing a virtual clock each see their own "now" of it.
        self.lease_clock = lease_clock or services.clock
        self.concurrency = dict(concurrency or {})
        self._cache: dict[int, list[Step]] = {}
        self._index: dict[int, dict[int, int]] = {}
        self._cursor: dict[int, int] = {}
        self._failed: dict[int, Step] = {}  # run id -> a failed step found in the store whose failure is unhandled
        self._unanswered: dict[int, int] = {}  # step id -> consecutive tries the outside world did not answer
        self._runs: dict[int, tuple[Run, int]] = {}  # run id -> (run, store.run_writes when read), while driven
        self._held: set[int] = set()  # runs whose lease drive() holds
        # What the current pass holds back: step id -> new values, events, run values, notifications.
        self._pending_steps: dict[int, dict[str, Any]] = {}
        self._pending_events: list[dict[str, Any]] = []
        self._pending_run: tuple[int, dict[str, Any]] | None = None
        self._pending_notes: list[tuple[str, dict[str, Any]]] = []
        self._recorded = False  # the running handler recorded evidence

    # -- one pass -------------------------------------------------------------
    def advance(self, run_id: int) -> AdvanceResult:
        run = self._run(run_id)
        if run.status in RUN_FINISHED:
            return AdvanceResult(finished=True, status=run.status)
        if run.status == RunStatus.FAILING:
            return self._settle(run)
        open_steps = self._open_head(run_id)
        if open_steps and open_steps[0].status == StepStatus.FAILED:
            # Failed, but its failure was never handled (a store written before failures were one write).
            failed = open_steps[0]
            reason = str((failed.result or {}).get("reason") or "failed")
            return self._fail_group(run, failed, failed.group, Fail(
                reason, ends_as=_ends_as(failed), undo_self=bool((failed.result or {}).get("undo_self"))))
        now = self.clock.now()
        if not open_steps:
            self._end(run, RunStatus.SUCCEEDED, run.reason, note="every step done")
            return AdvanceResult(progressed=True, finished=True, status=RunStatus.SUCCEEDED)
        if run.status == RunStatus.PENDING:
            run = self._set_status(run, RunStatus.RUNNING, now)
        try:
            return self._pass(run, open_steps)
        except BaseException:
            # Outcomes already held (other lanes' finished steps) are still true: keep them.
            with contextlib.suppress(StoreError):
                self._flush()
            raise

    def _pass(self, run: Run, open_steps: list[Step]) -> AdvanceResult:
        run_id, now = run.id, self.clock.now()
        group = open_steps[0].group
        result = AdvanceResult()
        for step in self._runnable(group, open_steps):
            if step.status == StepStatus.WAITING and step.due_at is not None and step.due_at > now:
                result.next_due = step.due_at if result.next_due is None else min(result.next_due, step.due_at)
                result.waiting_on.append(f"{step.key}: {step.wait_reason or 'waiting'}")
                result.retrying = result.retrying or step.id in self._unanswered
                continue
            outcome = self._execute(run, step)
            if isinstance(outcome, Fail):
                return self._fail_group(run, step, group, outcome)
            if isinstance(outcome, Done):
                result.progressed = True
            elif isinstance(outcome, Wait):
                if outcome.until is not None and outcome.until <= self.clock.now():
                    result.progressed = True
                elif outcome.until is not None:
                    result.next_due = outcome.until if result.next_due is None else min(result.next_due, outcome.until)
                    result.retrying = result.retrying or step.id in self._unanswered
                result.waiting_on.append(f"{step.key}: {outcome.reason}")
        status = RunStatus.RUNNING if result.progressed else RunStatus.WAITING
        if run.status != status:
            run = self._set_status(run, status, self.clock.now())
        self._flush()
        result.status = status
        head = self._open_head(run_id)
        result.next_phase = head[0].phase if head else None
        return result

    def _run(self, run_id: int) -> Run:
        """The run: read from the store unless this engine holds its lease and nothing changed it since."""
        cached = self._runs.get(run_id)
        if cached is not None and run_id in self._held and cached[1] == self.store.run_writes(run_id):
            return cached[0]
        run = self.store.get_run(run_id)
        self._runs[run_id] = (run, self.store.run_writes(run_id))
        return run

    def _set_status(self, run: Run, status: str, now: datetime) -> Run:
        """The run's new status, written with the pass (held until ``_flush``)."""
        values = run_values(now, status=status)
        if self._pending_run is not None and self._pending_run[0] == run.id:
            values = {**self._pending_run[1], **values}
        self._pending_run = (run.id, values)
        run = replace(run, status=status, updated_at=now)
        if run.id in self._runs:
            self._runs[run.id] = (run, self._runs[run.id][1])
        return run

    def _hold(self, step: Step, **values: Any) -> None:
        self._pending_steps[step.id] = {**self._pending_steps.get(step.id, {}), **values}

    def _flush(self) -> None:
        """Write what the pass holds in one transaction, then say what it wrote.

        What is held is let go before writing: a write that failed at COMMIT may have been applied, so it is
        never written a second time (the events would be doubled); the next process reads the store instead.
        """
        steps = [{"id": step_id, **values} for step_id, values in self._pending_steps.items()]
        events, run_changed, notes = self._pending_events, self._pending_run, self._pending_notes
        self._pending_steps, self._pending_events, self._pending_run, self._pending_notes = {}, [], None, []
        if steps or events or run_changed is not None:
            self.store.write(steps, events, run_changed)
            if run_changed is not None and run_changed[0] in self._runs:
                run, read_at = self._runs[run_changed[0]]
                if self.store.run_writes(run.id) == read_at + 1:  # only this write since the run was read
                    self._runs[run.id] = (run, read_at + 1)
                else:  # a handler changed the run (its meta) meanwhile: read it again
                    self._runs.pop(run.id)
        for kind, data in notes:
            self.services.notify(kind, data)

    def _steps(self, run_id: int) -> list[Step]:
        if run_id not in self._cache:
            steps = self.store.steps(run_id)
            self._cache[run_id] = steps
            self._index[run_id] = {s.id: i for i, s in enumerate(steps)}
            self._cursor[run_id] = 0
            failed = next((s for s in steps if s.status == StepStatus.FAILED), None)
            if failed is not None:
                self._failed[run_id] = failed
        return self._cache[run_id]

    def _open_head(self, run_id: int) -> list[Step]:
        """The unfinished steps of the current group's first lanes (steps are stored in group order)."""
        steps = self._steps(run_id)
        cursor = self._cursor[run_id]
        while cursor < len(steps) and steps[cursor].status in PASSED:
            cursor += 1
        self._cursor[run_id] = cursor
        if cursor == len(steps):
            return []
        group = steps[cursor].group
        failed = self._failed.get(run_id)
        if failed is not None:
            return [failed]
        # Only the first lanes up to the group's concurrency can run: reading further is work for nothing.
        limit = self.concurrency.get(group)
        lanes: set[str] = set()
        head: list[Step] = []
        for i in range(cursor, len(steps)):
            step = steps[i]
            if step.group != group:
                break
            if step.status in PASSED:
                continue
            if step.lane not in lanes:
                if limit is not None and len(lanes) >= limit:
                    break
                lanes.add(step.lane)
            head.append(step)
        return head

    def forget(self, run_id: int) -> None:
        """Drop cached steps (another process may have advanced the run)."""
        self._cache.pop(run_id, None)
        self._index.pop(run_id, None)
        self._cursor.pop(run_id, None)
        self._failed.pop(run_id, None)
        self._runs.pop(run_id, None)

    def _runnable(self, group: str, open_steps: list[Step]) -> list[Step]:
        lanes: dict[str, Step] = {}
        for step in open_steps:
            if step.group != group:
                continue
            lanes.setdefault(step.lane, step)
        limit = self.concurrency.get(group, len(lanes) or 1)
        return list(lanes.values())[:limit]

    def _replace_cached(self, step: Step) -> None:
        steps = self._cache.get(step.run_id)
        index = self._index.get(step.run_id, {})
        if steps is not None and step.id in index:
            steps[index[step.id]] = step

    def _execute(self, run: Run, step: Step) -> Outcome:
        handler = self.handlers.get(step.kind)
        now = self.clock.now()
        self._recorded = False
        if step.status == StepStatus.PENDING:
            # Written with the handler's first write: its intent, or its outcome when it finishes at once.
            step = replace(step, status=StepStatus.RUNNING, started_at=now, attempts=step.attempts + 1)
            self._replace_cached(step)
            self.services.notify("step_started", {"step": step.key, "title": step.title, "phase": step.phase,
                                                  "group": step.group})
        if handler is None:
            return self._finish(run, step, Fail(f"golive cannot execute '{step.kind}' steps yet"))
        ctx = self._context(run, step, executing=True)
        gave_up: Unanswered | None = None
        try:
            outcome = handler.run(ctx)
            self._unanswered.pop(step.id, None)
        except GoliveError as exc:
            if not unanswered_error(exc):
                return self._finish(run, replace(step, state=ctx.state), Fail(str(exc)))
            # The outside world did not answer: keep the step and try again later (handlers fail safe),
            # within the environment's budget, saying so each time.
            attempt = self._unanswered.get(step.id, 0) + 1
            self._unanswered[step.id] = attempt
            github = self.services.github
            why = unanswered(exc, attempt, self._budget(run), github.base_url if github is not None else None)
            why = replace(why, endpoint=self.services.redact(why.endpoint), reason=self.services.redact(why.reason))
            if why.exhausted:
                gave_up = why
                outcome = Wait(self.clock.now(), f"gave up after {attempt} attempts: {exc}")
            else:
                self.services.notify("retry", {"step": step.key, "title": step.title, "line": why.line(),
                                               "system": why.system, "endpoint": why.endpoint, "attempt": attempt,
                                               "attempts": why.budget.attempts})
                outcome = Wait(self.clock.now() + why.budget.every, f"retrying after: {exc}")
        current = replace(step, state=ctx.state)
        finished = self._finish(run, current, outcome)
        if gave_up is not None:
            self._unanswered.pop(step.id, None)
            raise gave_up.error(f"{step.title} ({step.key})")
        return finished

    def _budget(self, run: Run) -> Budget:
        env = self.services.plan.environments.get(run.env)
        if env is None:
            return Budget()
        return Budget(env.retry.attempts, env.retry.every)

    def _context(self, run: Run, step: Step, *, executing: bool = False) -> StepContext:
        def save(state: dict[str, Any]) -> None:
            # An intent: committed now, before the side effect it guards, with whatever the pass holds.
            # The step's whole row for the running step (its "running" mark included), so it shares the
            # pass's one executemany; a compensation only changes the state of a step that has ended.
            self._hold(step, **(_row(replace(step, state=dict(state))) if executing else {"state": dict(state)}))
            self._flush()
            self._replace_cached(replace(step, state=dict(state), status=StepStatus.RUNNING if executing else step.status))

        def event(**kwargs: Any) -> None:
            self._pending_events.append(self.store.event_row(release=run.release, env=run.env, run_id=run.id,
                                                             step_key=step.key, at=self.clock.now(), **kwargs))
            self._recorded = True

        return StepContext(run=run, step=step, state=dict(step.state), services=self.services, _save=save,
                           _event=event)

    def _finish(self, run: Run, step: Step, outcome: Outcome) -> Outcome:
        now = self.clock.now()
        redact = self.services.redact
        event: dict[str, Any] | None
        base = {"release": run.release, "env": run.env, "run_id": run.id, "step_key": step.key, "at": now}
        if isinstance(outcome, Done):
            # One redaction for the row and the event: the same data, and neither is changed once written.
            result = redact.data({"summary": outcome.summary, **outcome.result})
            event = {**base, "kind": outcome.kind, "subject": outcome.subject or step.title, "outcome": outcome.outcome,
                     "data": result}
            new = replace(step, status=StepStatus.DONE, ended_at=now, due_at=None, wait_reason=None, result=result)
        elif isinstance(outcome, Wait):
            event = None
            new = replace(step, status=StepStatus.WAITING, due_at=outcome.until, wait_reason=outcome.reason)
        else:
            data = redact.data({"reason": outcome.reason, **outcome.result})
            event = {**base, "kind": "step", "subject": step.title, "outcome": "fail", "data": data}
            # The row keeps what the run ends as, so a resume that finds the failure unhandled ends it the same.
            result = {**data, "ends_as": outcome.ends_as.value} if outcome.ends_as != RunStatus.FAILED else data
            if outcome.undo_self:
                result = {**result, "undo_self": True}
            new = replace(step, status=StepStatus.FAILED, ended_at=now, due_at=None, wait_reason=None, result=result)
        # The whole row: the engine is its only writer, and one shape puts every lane in one executemany.
        self._hold(step, **_row(new))
        if event is not None:
            self._pending_events.append(event)
        self._replace_cached(replace(new, state=step.state))
        self._pending_notes.append(("step_" + new.status, {"step": step.key, "title": step.title, "outcome": outcome}))
        if self._recorded and not isinstance(outcome, Fail):
            self._flush()  # evidence of something done outside: not held behind other lanes
        # A failure is held too: _fail_group writes it with its consequences, in one transaction.
        return outcome

    def _fail_group(self, run: Run, failed: Step, group: str, outcome: Fail) -> AdvanceResult:
        """Write the failure and its consequences in one transaction, then settle the undos it owes.

        With the failed step (held by ``_finish``, or already stored): each started step of its group that has
        a compensation becomes ``compensating``, every other unfinished step ``cancelled``, and the run
        ``failing`` (undos owed) or ended. The projects that depend on the failed one (the run's
        ``depends_on`` graph) are held: their unstarted steps are cancelled naming it, and with
        ``rollback_dependents`` their started steps owe an undo too, in any batch. The owed undos are kept in
        the run's meta in the order they run: dependents before what they depend on, the failed step's own
        (``Fail.undo_self``) after its dependents'.
        """
        now = self.clock.now()
        why = f"{failed.key} failed: {outcome.reason}"
        graph, undo_dependents = _dependencies(run)
        failed_project = _project(failed, graph)
        held = graph.dependents(failed_project) if failed_project is not None else []
        owed: list[tuple[int, Step, str]] = []  # (place in the run, step, why it owes an undo)
        for index, step in enumerate(self._steps(run.id)):
            handler = self.handlers.get(step.kind)

            def owes(why: str, handler: Handler | None = handler, step: Step = step) -> bool:
                return handler is not None and handler.owes_undo(step.params, why)

            if step.id == failed.id:
                if outcome.undo_self and owes("self"):
                    owed.append((index, step, "self"))
                continue
            started = step.status in (StepStatus.RUNNING, StepStatus.WAITING, StepStatus.DONE)
            dependent = _project(step, graph) in held
            if started and dependent and undo_dependents and owes("dependency"):
                owed.append((index, step, "dependency"))
            elif step.group == group and started and owes("batch"):
                owed.append((index, step, "batch"))
            elif StepStatus(step.status).open:
                reason = f"held: depends on {failed_project}, which failed" if dependent else \
                    f"cancelled: {failed.key} failed" if step.group == group else "not started"
                self._hold(step, status=StepStatus.CANCELLED, ended_at=now, due_at=None, wait_reason=reason)
                self._replace_cached(replace(step, status=StepStatus.CANCELLED))
        order = _undo_order(owed, graph)
        for step, owed_for in order:
            if owed_for == "self":
                continue  # it stays failed; its undo is done in its turn
            first = f"rolling back before {failed_project}: it depends on it" if owed_for == "dependency" else ""
            self._hold(step, status=StepStatus.COMPENSATING, due_at=None, wait_reason=first or f"rolling back: {why}")
            self._replace_cached(replace(step, status=StepStatus.COMPENSATING))
        noted = failed_project is not None and bool(held)
        if noted:
            assert failed_project is not None
            record = DependentsHeld(subject=failed_project, failed=failed_project, step=failed.key, held=tuple(held),
                                    undo=tuple(step.key for step, _ in order), rollback_dependents=undo_dependents)
            self._pending_events.append(self.store.event_row(
                release=run.release, env=run.env, run_id=run.id, step_key=failed.key, at=now, kind=record.stored_kind,
                subject=record.subject, outcome=record.outcome, data=record.to_data()))
        ends_as = RunStatus.ROLLED_BACK if outcome.rolled_back or order else outcome.ends_as
        reason = f"{failed.title}: {outcome.reason}"
        if order:
            undo = [{"key": step.key, "for": owed_for} for step, owed_for in order]
            meta = {**self.store.get_run(run.id).meta, "failure": {"step": failed.key, "reason": why,
                                                                   "ends_as": ends_as.value, "undo": undo,
                                                                   "noted": noted, "project": failed_project,
                                                                   "held": held}}
            self._pending_run = (run.id, run_values(now, status=RunStatus.FAILING, reason=reason, meta=meta))
            self._flush()
            self.forget(run.id)
            return self._settle(self.store.get_run(run.id))
        self._pending_run = None  # the run's end supersedes a status held by this pass
        self._end(run, ends_as, reason)
        return AdvanceResult(progressed=True, finished=True, status=ends_as)

    def _settle(self, run: Run) -> AdvanceResult:
        """Run the undos a failing run still owes, in their order, each ended with its evidence in one write; then
        end the run.

        A compensation may be called again after a crash in it: compensations are idempotent. A run failed
        before the order was kept in its meta owes the undos of its ``compensating`` steps, in step order.
        """
        failure = dict(run.meta.get("failure") or {})
        why = str(failure.get("reason") or run.reason or "a step failed")
        steps = self._steps(run.id)
        stored = failure.get("undo")
        if isinstance(stored, list):
            by_key = {step.key: step for step in steps}
            order = [(by_key[str(e["key"])], str(e.get("for") or "batch")) for e in stored if str(e["key"]) in by_key]
        else:
            order = [(step, "batch") for step in steps if step.status == StepStatus.COMPENSATING]
        for position, (listed, owed_for) in enumerate(order, 1):
            step = self._steps(run.id)[self._index[run.id][listed.id]]
            if owed_for == "self":
                if step.status != StepStatus.FAILED or (step.result or {}).get("undone_at"):
                    continue
            elif step.status != StepStatus.COMPENSATING:
                continue
            handler = self.handlers.get(step.kind)
            ctx = replace(self._context(run, step), owed_for=owed_for)
            began, began_at = time.perf_counter(), self.clock.now()
            if handler is not None and handler.compensate is not None:
                handler.compensate(ctx, f"depends on {failure.get('project')}: {why}" if owed_for == "dependency" else why)
            now = self.clock.now()
            # The time it took: wall time, except where a virtual clock moved while it waited (a rehearsal's
            # redeploy takes the minutes its workflow runs in the sandbox; an alias put back takes its wall time).
            waited = (now - began_at).total_seconds()
            seconds = round(waited if _is_virtual(self.clock) and waited > 0 else time.perf_counter() - began, 3)
            if owed_for == "self":
                # Still the failed step; its row says its own undo is done, so a resumed run does not repeat it.
                result = {**(step.result or {}), "undone_at": now.isoformat()}
                self._hold(step, state=ctx.state, result=result)
                self._replace_cached(replace(step, state=ctx.state, result=result))
            else:
                # Its undo is in its evidence (a rollback record); as a step it was cancelled by the failure.
                dependent = project_of_lane(step.lane) in (failure.get("held") or [])
                self._hold(step, status=StepStatus.CANCELLED, state=ctx.state, ended_at=now,
                           wait_reason=f"held: depends on {failure.get('project')}, which failed" if dependent
                           else f"cancelled: {failure.get('step') or 'a step'} failed")
                self._replace_cached(replace(step, status=StepStatus.CANCELLED, state=ctx.state))
            if failure.get("noted"):
                record = UndoDone(subject=project_of_lane(step.lane), step=step.key, project=project_of_lane(step.lane),
                                  position=position, of=len(order), owed_for=owed_for, seconds=seconds)
                self._pending_events.append(self.store.event_row(
                    release=run.release, env=run.env, run_id=run.id, step_key=step.key, at=now,
                    kind=record.stored_kind, subject=record.subject, outcome=record.outcome, data=record.to_data()))
            self._flush()
        ends_as = RunStatus(str(failure.get("ends_as") or RunStatus.ROLLED_BACK))
        self._end(run, ends_as, run.reason or why)
        return AdvanceResult(progressed=True, finished=True, status=ends_as)

    def _end(self, run: Run, status: RunStatus, reason: str | None, *, note: str | None = None) -> None:
        """The run's end and its note, with whatever the pass holds, in one transaction; then say so."""
        now = self.clock.now()
        record = RunNote(subject=run.kind, outcome=status.value, reason=note or reason or status.value)
        self._pending_events.append(self.store.event_row(
            release=run.release, env=run.env, run_id=run.id, at=now, kind=record.stored_kind,
            subject=record.subject, outcome=record.outcome, data=record.to_data()))
        self._pending_run = (run.id, run_values(now, status=status, reason=reason, ended=True))
        self._pending_notes.append(("run_" + status.value, {"reason": record.reason}))
        self._flush()
        self.forget(run.id)

    # -- the loop -------------------------------------------------------------
    def drive(self, run_id: int, *, stop_when: Callable[[AdvanceResult], bool] | None = None,
              wait_external: bool = False, poll: timedelta = timedelta(seconds=10),
              max_passes: int | None = None) -> AdvanceResult:
        """Advance until the run ends, or only external waits remain (unless ``wait_external``).

        Holds the run's lease throughout; raises LeaseHeld if another process has it.
        """
        run = self.store.get_run(run_id)
        name = lease_name(run)
        try:
            self.store.acquire_lease(name, self.holder, self.lease_ttl, self.lease_clock.now())
        except LeaseHeld as held:
            if not holder_gone(held.holder):
                raise
            # Taken as of its expiry: a second restarter racing us then finds it held (by us) and stops.
            self.store.acquire_lease(name, self.holder, self.lease_ttl, max(held.expires_at, self.lease_clock.now()))
        self.forget(run_id)
        self._held.add(run_id)
        renewed = self.lease_clock.now()
        passes = 0
        try:
            while True:
                result = self.advance(run_id)
                passes += 1
                if result.finished or (stop_when is not None and stop_when(result)):
                    return result
                if max_passes is not None and passes >= max_passes:
                    return result
                now = self.clock.now()
                if self.lease_clock.now() - renewed > self.lease_ttl / 3:
                    renewed = self.lease_clock.now()
                    self.store.acquire_lease(name, self.holder, self.lease_ttl, renewed)
                    self._runs.pop(run_id, None)  # another process may have ended the run: read it again
                if result.progressed:
                    continue
                if result.next_due is None and not wait_external:
                    return result
                target = result.next_due or now + poll
                if wait_external:
                    target = min(target, now + poll)
                target = min(target, now + self.lease_ttl / 3) if not _is_virtual(self.clock) else target
                self.clock.sleep_until(target)
        finally:
            self._held.discard(run_id)
            with contextlib.suppress(StoreError):
                self.store.release_lease(name, self.holder)


def _dependencies(run: Run) -> tuple[Graph, bool]:
    """The projects' ``depends_on`` graph the run started with (its meta), and whether dependents are undone."""
    facts = (run.meta.get("plan") or {}).get("dependencies") or {}
    return Graph.from_data(facts), bool(facts.get("rollback_dependents")) if isinstance(facts, dict) else False


def _project(step: Step, graph: Graph) -> str | None:
    """The project a batch step (or its DR region's) belongs to, when the graph knows it."""
    if not step.group.startswith(("batch.", "dr.")):
        return None
    project = project_of_lane(step.lane)
    return project if project in graph.needs else None


def _undo_order(owed: list[tuple[int, Step, str]], graph: Graph) -> list[tuple[Step, str]]:
    """Owed undos in the order they run: the failed project's dependents and then its own (its bad version off
    soonest), then its batch's other undos; within each, a project before those it depends on, then the run's
    order (without dependencies: the run's order alone). No batch sibling comes after a project it depends on:
    one that depends on the failed project is its dependent."""
    rank = graph.undo_rank()

    def key(item: tuple[int, Step, str]) -> tuple[int, int, int]:
        index, step, owed_for = item
        return int(owed_for == "batch"), rank.get(_project(step, graph) or "", len(rank)), index

    return [(step, owed_for) for _, step, owed_for in sorted(owed, key=key)]


def _ends_as(step: Step) -> RunStatus:
    """What a stored failed step's run ends as (kept in its row by ``_finish``)."""
    try:
        return RunStatus(str((step.result or {}).get("ends_as") or RunStatus.FAILED))
    except ValueError:
        return RunStatus.FAILED


def _row(step: Step) -> dict[str, Any]:
    """A step's columns the engine writes, as they stand in memory."""
    return {"status": step.status, "state": step.state, "due_at": step.due_at, "wait_reason": step.wait_reason,
            "attempts": step.attempts, "started_at": step.started_at, "ended_at": step.ended_at, "result": step.result}


def _is_virtual(clock: object) -> bool:
    return hasattr(clock, "advance")
