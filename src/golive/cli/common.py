"""What several commands share: the workspace and output of a command, the exit code of a driven run.

Command modules import this module and ``golive.cli.output``, never each other (a test reads their imports),
so a helper two commands need lives here, once.
"""

from __future__ import annotations

import importlib.util
import os
from typing import TYPE_CHECKING, Annotated, Any

import typer

from golive.cli.github_actions import GitHubActions
from golive.cli.output import Output, styled
from golive.cli.prompt import confirm, where
from golive.errors import UnknownNameError, UsageError
from golive.store.statuses import RUN_FAILED
from golive.textinput import check_note, check_title
from golive.textout import rich as esc
from golive.workspace import Workspace

if TYPE_CHECKING:
    from golive.runs.session import Driven

EnvOpt = Annotated[str, typer.Option("--env", "-e", help="environment from the plan")]
AcceptPlanChangeOpt = Annotated[bool, typer.Option(
    "--accept-plan-change", help="resume a run whose plan was edited: its unfinished changed steps take the new "
    "parameters (needs --why; recorded)")]


def accepted_change(accept: bool, why: str | None) -> str | None:
    """The why of ``--accept-plan-change`` (which needs one), or None when the flag is not given."""
    if accept and not why:
        raise UsageError("--accept-plan-change needs --why \"...\" (it is recorded)")
    return why if accept else None


def title_text(param: typer.CallbackParam, value: str | None) -> str | None:
    """An option's callback: a one-line text (a title, a name) checked at the door (``textinput.check_title``)."""
    return None if value is None else check_title(param.opts[0], value)


def note_text(param: typer.CallbackParam, value: str | None) -> str | None:
    """An option's callback: a note or reason checked at the door (``textinput.check_note``)."""
    return None if value is None else check_note(param.opts[0], value)


SANDBOX_MODULES = ("moto", "werkzeug", "numpy")
SERVE_MODULES = ("starlette", "uvicorn", "prometheus_client", "argon2")


def known_names(w: Workspace, *, project: str | None = None, batch: str | None = None, gate: str | None = None) -> None:
    """Every plan name a command was given exists, checked before it asks anything (a typo is told, not confirmed)."""
    plan = w.plan
    if project is not None and project not in plan.projects:
        raise UnknownNameError("project", project, list(plan.projects))
    batches = {b.name: b for b in plan.batches}
    if batch is not None and batch not in batches:
        raise UnknownNameError("batch", batch, list(batches))
    if batch is not None and project is not None and project not in batches[batch].projects:
        raise UsageError(f"project '{project}' is not in batch '{batch}' (its projects: {', '.join(batches[batch].projects)})")
    if gate is not None and gate not in plan.gates and gate != "signoff":
        raise UnknownNameError("gate", gate, [*plan.gates, "signoff"])


def ws(ctx: typer.Context) -> Workspace:
    """The command's workspace (plan, store, clients), made by the global options in ``cli/main.py``."""
    obj: Workspace = ctx.obj
    return obj


def out(ctx: typer.Context) -> Output:
    return Output(ws(ctx).json, GitHubActions.detect(os.environ, ws(ctx).redact))


def exit_for(driven: Driven) -> None:
    """Exit 1 when the run ended failed, rolled back, NO-GO or aborted (an outside failure raised before: 3)."""
    if driven.run.status in RUN_FAILED:
        raise typer.Exit(1)


def _absent(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is None
    except ImportError:
        return True


def require_extra(command: str, extra: str, modules: tuple[str, ...]) -> None:
    """Exit 2 with the install line when an extra (``sandbox``, ``serve``) is not installed, instead of a traceback."""
    missing = [m for m in modules if _absent(m)]
    if missing:
        raise UsageError(f"golive {command} needs the {extra} extra ({', '.join(missing)} not installed): "
                         f"pip install 'golive[{extra}]'")


def require_sandbox(command: str) -> None:
    require_extra(command, "sandbox", SANDBOX_MODULES)


def render_driven(o: Output, driven: Driven, w: Workspace, extra: dict[str, Any] | None = None) -> None:
    """A release or deploy run as it stands: its phases and what is due (the CI summary too, in GitHub Actions);
    ``extra`` joins the JSON (what the command did besides the run)."""
    from golive.runs.status import run_status

    data = {**run_status(w.store, driven.run, w.clock.now()), **(extra or {})}
    if o.ci is not None:
        from golive.report import render

        o.ci.summary(render(w.store, driven.run.id, w.plan.release, "md", redact=w.redact))
        if driven.run.status in RUN_FAILED:
            o.ci.error(f"golive {driven.run.kind} {driven.run.env}: {driven.run.status}", driven.run.reason or "(no reason)")
    if o.json_mode:
        o.json(data)
        return
    verb = "resumed" if driven.resumed else "started"
    o.print(f"{esc(driven.run.kind)} run {driven.run.id} ({verb}): {styled(driven.run.status)}"
            + (f" — {esc(driven.run.reason)}" if driven.run.reason else ""))
    for phase in data["phases"]:
        o.print(f"  {esc(str(phase['phase']).ljust(14))} {styled(phase['status'])}")
    for due in data["due"]:
        o.print(f"  [yellow]next[/yellow] {esc(due)}")
    if "No ref found" in (driven.run.reason or ""):
        # A fresh repository (or sandbox) has no release tag for the workflow to run on: the usual first-deploy slip.
        o.info(esc(f"hint: the workflow's ref {w.plan.version} does not exist yet: run golive tag --env {driven.run.env} "
                   "first (the order by hand: tag, secrets set, gate, deploy)"))


ProjectArg = Annotated[str, typer.Argument(help="project from the plan")]


def operator_action(ctx: typer.Context, project: str, env: str, action: str, by: str | None, why: str | None,
                    effect: str) -> None:
    """``abort`` and ``promote``: ask, record the operator's action for the running canary, say what happens next."""
    from golive.runs.audit import hand_on_canary as operator

    w, o = ws(ctx), out(ctx)
    known_names(w, project=project)
    confirm(w.yes, action, where(w.plan, w.env(env)), [f"the running canary of {project} {effect} on its next pass"])
    event = operator(w.services(), w.env(env), project, action, by, why)
    if o.json_mode:
        o.json({"event": event, "project": project, "action": action})
    else:
        o.print(esc(f"{action} recorded (event {event}); the running canary of {project} {effect} on its next pass"))
