"""A deployed project undone inside the failed run, because a project it depends on failed.

With ``rollback.rollback_dependents`` the engine owes an undo of every started step of a dependent
(``StepContext.owed_for == "dependency"``). A canary's project is put back by its canary step. A project
deployed by a workflow or a command is undone here, from its deploy step's compensation, by the very undo
``golive rollback PROJECT`` runs (``plan/undo.py``, ``steps/undo.py``): the workflow re-dispatched at the
previous release tag through ``dispatch_once`` (its intent and run id saved in the deploy step's state before
and after the POST, so a compensation resumed after a crash watches the same run and never dispatches
twice), or the plan's undo command (its intent saved before it runs); then the project's own ``verify:``.
A project with no undo is recorded as not undone, with why; so is one whose own forward dispatch is in doubt
(runs that cannot be told to be golive's), as a redeploy could be overtaken by the forward run (``_forward_ended``).

What the undo is (and the tag) is frozen in the step's state before anything is done. The evidence (one
``Undone``, the verify's checks) is recorded with the state that says it is done, in one transaction, so a
compensation called again after that records nothing twice.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from golive.engine.context import StepContext
from golive.engine.outcome import Done, Fail, Wait
from golive.errors import UsageError
from golive.evidence.rollback import Undone
from golive.plan.model import Plan
from golive.plan.undo import CommandUndo, NoUndo, RedeployUndo, RouterUndo, undo_of

POLL_EVERY = timedelta(seconds=10)
KEY = "dependency_undo"  # the deploy step's state for it


def _specs(ctx: StepContext, project: str) -> list[dict[str, Any]] | str | None:
    """The undo's steps (the undo, then the project's verify), frozen; a line when it has no undo; None when its
    canary undoes it."""
    from golive.steps import undo  # it imports the planner, which imports the deploy kind, which imports this module

    how = undo_of(ctx.services.plan, ctx.run.env, project)
    if isinstance(how, RouterUndo):
        return None
    if isinstance(how, NoUndo):
        return how.why
    try:
        tag = undo.tag_of(ctx.services, how) if isinstance(how, RedeployUndo) else None
    except UsageError as exc:  # no earlier tag: nothing to go back to, said in words rather than stopping the run
        return str(exc)
    return undo_steps(ctx.services.plan, ctx.run.env, project, how, tag)


def undo_steps(plan: Plan, env: str, project: str, how: RedeployUndo | CommandUndo,
               tag: str | None) -> list[dict[str, Any]] | str:
    """The undo's steps inside a failing run: the undo, then the project's verify, frozen; or why there are none.

    A Terraform project's undo is a plan made at the earlier tag and approved by a person before it applies:
    not something to wait for inside a failing run, so it is left to ``golive rollback`` with a line saying so.
    """
    from golive.steps import checks, planner, undo

    steps = planner.build_undo(plan, env, project, how, tag)
    if any(s.kind not in (undo.KIND.name, checks.KIND.name) for s in steps):
        return (f"its undo is a reviewed Terraform plan at {tag}: run golive rollback {project} "
                f"(it makes the plan, waits for its approval, then applies)")
    return [{"key": s.key, "kind": s.kind, "title": s.title, "params": s.params} for s in steps]


def _finish(ctx: StepContext, spec: dict[str, Any], held: list[dict[str, Any]]) -> Done | Fail | tuple[Undone, str]:
    """Run one of the undo's steps to its end, on the clock (a compensation does not return until it is done);
    its evidence is added to ``held``."""
    from golive.steps import registry, undo

    kind = registry.get(str(spec["kind"]))
    part, evidence = ctx.part(str(spec["key"]))
    params = kind.parse(spec["params"])
    while True:
        got = undo.attempt(part, params) if kind is undo.KIND else kind.run(part, params)
        if not isinstance(got, Wait):
            break
        ctx.services.clock.sleep_until(max(got.until or ctx.now + POLL_EVERY, ctx.now))
    held.extend(evidence)
    return got


def _forward_ended(ctx: StepContext, project: str) -> str | None:
    """A deploy whose workflow still ran when the project it depends on failed: its run ends first (watched as
    the deploy watched it), so the redeploy at the previous tag is not overtaken by it. None when it has ended
    or there is none; a line saying why it is not undone when its forward dispatch is in doubt.

    A dispatch POSTed whose run id is not saved (GitHub did not show the run yet, or golive died between the
    POST and saving it) is looked for as ``dispatch_once`` looks after a restart: found, its id is saved and
    its run watched to its end; not shown yet, looked for again until the intent's grace ends; no run at all on
    the ref long after the intent, the POST never landed and there is nothing to wait for. Runs that cannot be
    told to be golive's are a doubt: redeploying then could be overtaken by the forward run, so it is left to a
    person who looked at them.
    """
    from golive.steps.workflow import DispatchUnconfirmed, find_dispatched, poll

    posted = bool(ctx.state.get("correlation_id") and ctx.state.get("intent_at"))
    if ctx.step.ended_at is not None or (ctx.state.get("run_id") is None and not posted):
        return None  # ended, or no workflow dispatched (a command's deploy, or nothing POSTed yet)
    github = ctx.services.require_github()
    if ctx.state.get("run_id") is None:
        while True:
            try:
                sought = find_dispatched(github, ctx.state)
            except DispatchUnconfirmed as doubt:
                return (f"its forward deploy's dispatch is in doubt: {doubt.doubt}; it was not redeployed, lest "
                        f"golive's forward run end after the redeploy and leave the new version deployed; once the "
                        f"candidate runs have ended, golive rollback {project} redeploys its previous release tag")
            if sought.run is not None:
                ctx.state.update(run_id=sought.run.id, html_url=sought.run.html_url, found="after-restart")
                ctx.save()  # before anything else is done: a resumed compensation watches the same run
                break
            if sought.look_until is None:
                return None  # long after the intent no run at all on the ref: the POST never landed
            ctx.services.clock.sleep_until(min(ctx.now + POLL_EVERY, sought.look_until))

    while not poll(github, ctx.state, ctx.save_state).done:
        ctx.services.clock.sleep_until(ctx.now + POLL_EVERY)
    return None


def undo_dependent(ctx: StepContext, project: str) -> None:
    """Undo ``project`` (its deploy step's ``ctx``) because a project it depends on failed; idempotent."""
    mine: dict[str, Any] = ctx.state.setdefault(KEY, {})
    if mine.get("recorded"):
        return
    if "steps" not in mine:
        if not any(k in ctx.state for k in ("correlation_id", "command", "started_at")):
            return  # never dispatched nor started: nothing of it to undo
        found = _specs(ctx, project)
        if found is None:
            return
        in_doubt = _forward_ended(ctx, project)
        mine["steps"] = in_doubt if in_doubt is not None and not isinstance(found, str) else found
        mine["began"] = ctx.now.isoformat()
        ctx.save()
    held: list[dict[str, Any]] = []  # the evidence of its steps, recorded with its own at the end
    if isinstance(mine["steps"], str):
        record = Undone(subject=project, outcome="undo_failed", project=project, method="none",
                        reason=f"could not be undone: {mine['steps']}", asked_by="dependency")
    else:
        undone = _finish(ctx, mine["steps"][0], held)
        if not isinstance(undone, tuple):  # it could not start, or a killed golive cut it off midway
            record = Undone(subject=project, outcome="undo_failed", project=project,
                            method=str(mine["steps"][0]["params"].get("method", "")), asked_by="dependency",
                            reason=undone.reason if isinstance(undone, Fail) else undone.summary)
        else:
            record, line = undone
            verify = None
            if record.outcome == "undone" and len(mine["steps"]) > 1:
                checked = _finish(ctx, mine["steps"][1], held)
                verify = f"verify failed: {checked.reason}" if isinstance(checked, Fail) else \
                    f"verify: {checked.summary}" if isinstance(checked, Done) else "verify: not run"
            elif record.outcome != "undone":
                verify = f"not verified: {line}"
            outcome = record.outcome if verify is None or not verify.startswith("verify failed") else "undo_failed"
            record = replace(record, outcome=outcome, asked_by="dependency", verify=verify)
    ctx.emit(held)
    ctx.record(record)
    mine["recorded"] = True
    ctx.save()  # the evidence and the state that says it is recorded: one transaction

