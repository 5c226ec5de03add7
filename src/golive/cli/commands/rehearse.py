"""``golive rehearse``: the whole release against the sandbox on a virtual clock, or against a sandbox daemon.

It parses, calls ``golive.rehearsal`` (``local.rehearse`` in this process, ``remote.run_attached`` with
``--sandbox D``), and renders the summary; the exit code is the rehearsal's (0 when the release went live).
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated, Any

import typer

from golive.analysis.units import counted
from golive.cli.common import AcceptPlanChangeOpt, accepted_change, note_text, out, require_sandbox, ws
from golive.cli.output import Output, progress, styled
from golive.errors import UsageError
from golive.store.statuses import exit_code_of
from golive.textout import rich as esc


def rehearse(
    ctx: typer.Context,
    env: Annotated[str, typer.Option("--env", "-e", help="the environment the release targets")] = "prod",
    inject: Annotated[list[str] | None, typer.Option(
        "--inject", help="fault with a time, e.g. 'order_lambda:error_rate=8%@deploy'")] = None,
    until: Annotated[str | None, typer.Option("--until", help="stop after this phase (e.g. gate)")] = None,
    seed: Annotated[int, typer.Option("--seed", help="the traffic simulator's seed (same seed, same rehearsal)")] = 7,
    speed: Annotated[float | None, typer.Option("--speed", help="virtual seconds per wall second (to watch)")] = None,
    pause_speed: Annotated[float | None, typer.Option(
        "--pause-speed", min=0.001,
        help="while a canary is paused, virtual seconds per wall second (1: as in production), so golive --db STORE "
             "promote --why (or abort) from another terminal can answer it; without it a pause passes unanswered")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="where the report goes")] = None,
    sandbox: Annotated[Path | None, typer.Option(
        "--sandbox", help="drive a running sandbox daemon of this folder instead (resumable: run again to continue)")] = None,
    accept_plan_change: AcceptPlanChangeOpt = False,
    why: Annotated[str | None, typer.Option("--why", help="why the plan change is accepted (recorded)",
                                            callback=note_text)] = None,
) -> None:
    """Rehearse the whole release against the sandbox on a virtual clock (the bundled bbws plan by default)."""
    require_sandbox("rehearse")
    accept = accepted_change(accept_plan_change, why)
    from golive.examples import example_path
    from golive.plan.validate import load_plan
    from golive.sandbox.from_plan import check_plan_faults

    w, o = ws(ctx), out(ctx)
    plan_path = w.plan_path if w.plan_path.exists() or w.plan_path != Path("golive.yaml") else example_path("bbws")
    plan = load_plan(plan_path)
    check_plan_faults(plan, inject or [])  # before the sandbox's heavy imports, and before anything starts
    from golive.rehearsal.local import rehearse as run_rehearsal

    folder = out_dir or Path.cwd() / "golive-rehearsal"
    if not o.json_mode:
        o.info(f"rehearsing {esc(plan.release)} {esc(plan.version)} → {esc(env)} from {esc(plan_path)} (seed {seed})")
    if sandbox is not None:
        if pause_speed is not None:
            raise UsageError("--pause-speed slows a rehearsal run in this process; it does not apply with --sandbox "
                             "(the sandbox's world keeps its own clock)")
        _rehearse_attached(o, plan_path, env, sandbox, inject or [], until, accept)
    if pause_speed is not None and not o.json_mode:
        # The whole command, paths quoted: a second terminal anywhere can paste it.
        store = shlex.quote(f"sqlite:///{folder.absolute() / 'rehearsal.db'}")
        o.info(esc(f"a paused canary waits for an answer: golive -f {shlex.quote(str(plan_path.absolute()))} --db "
                   f"{store} promote PROJECT --env {shlex.quote(env)} --why \"...\" (or abort)"))
    result = run_rehearsal(plan, plan_path.absolute().parent, env, faults=inject or [], seed=seed, until=until,
                           speed=speed, pause_speed=pause_speed, out_dir=folder,
                           notify=None if o.json_mode else progress(o))
    if o.json_mode:
        o.json({**result.summary, "reports": result.reports})
    else:
        _summary(o, result.summary, result.reports)
        if result.status == "no_go":
            _approval_hints(o, plan_path.absolute(), folder.absolute(), result.summary.get("terraform_unapproved", []),
                            [g for g, spec in plan.gates.items() if "terraform" in spec.requires])
    raise typer.Exit(result.exit_code)


def _approval_hints(o: Output, plan_path: Path, folder: Path, unapproved: list[dict[str, str]],
                    gates: list[str]) -> None:
    """How to approve each data-losing plan for the next rehearsal (it keeps this folder's plan approvals)."""
    for plan in unapproved:
        for gate in gates:
            o.print(f"approve {esc(plan['project'])}'s plan for the next rehearsal: golive -f {esc(plan_path)} --db "
                    f"sqlite:///{esc(folder / 'rehearsal.db')} approve {esc(gate)} --env {esc(plan['env'])} --role "
                    f"{esc(plan['approver'])} --plan-sha {esc(plan['sha256'])} --by NAME")


def _rehearse_attached(o: Output, plan_path: Path, env: str, sandbox: Path, inject: list[str],
                       until: str | None, accept_change: str | None) -> None:
    """The rehearsal runner against a daemon's world; its store lives beside the sandbox's files."""
    from golive.rehearsal.remote import run_attached

    db = f"sqlite:///{sandbox.absolute() / 'rehearsal.db'}"
    status = run_attached(plan_path, env, sandbox, db, until=until, faults=inject,
                          notify=None if o.json_mode else progress(o), accept_change=accept_change)
    if o.json_mode:
        o.json({"status": status, "store": db})
    else:
        o.print(f"\n[bold]rehearsal: {styled(status)}[/bold] (store {esc(db)}; golive report reads it)")
    raise typer.Exit(exit_code_of(status))


def _summary(o: Output, s: dict[str, Any], reports: dict[str, str]) -> None:
    o.print(f"\n[bold]rehearsal: {styled(s['status'])}[/bold]" + (f" — {esc(s['reason'])}" if s.get("reason") else ""))
    o.print("phases: " + ", ".join(f"{esc(p)} {styled(v)}" for p, v in s["phases"].items()))
    cp = s["checkpoints"]
    o.print(f"checkpoints: {cp['passed']}/{cp['evaluated']} passed")
    for failed in cp["failed"]:
        o.print(f"  [red]✗ {esc(failed)}[/red]")
    for plan in s.get("terraform_plans", []):
        o.print(f"terraform plan: {esc(plan)}")
    for decision in s["decisions"]:
        o.print(f"decision: {esc(decision)}")
    for canary in s["canaries"]:
        o.print(f"canary: {esc(canary)}")
    for rb in s["rollbacks"]:
        o.print(f"[red]rollback: {esc(rb['project'])} ({esc(rb['seconds'])} s): {esc(rb['reason'])}[/red]")
    for a in s["availability"]:
        o.print(f"availability {esc(a['url'])}: {a.get('availability', 0):.2%} of {a.get('probes')} probes")
    if "dispatches" in s:
        d = s["dispatches"]
        refs: dict[str, dict[str, int]] = d.get("refs_per_repo") or {}
        # A ref run twice is a double dispatch; a second ref is an undo's redeploy at an earlier tag.
        twice = [repo for repo, n in d["per_repo"].items() if n > 1 and (repo not in refs or max(refs[repo].values()) > 1)]
        also = [f"{repo} at {', '.join(sorted(at))}" for repo, at in refs.items() if len(at) > 1]
        o.print(f"dispatches: {counted(d['workflows'], 'workflow')}, {counted(d['runs'], 'run')}"
                + (f" [red](more than one run: {esc(', '.join(twice))})[/red]" if twice else "")
                + (f" (redeployed: {esc('; '.join(also))})" if also else ""))
    v = s["virtual"]
    o.print(f"virtual time: {esc(v['start'])} → {esc(v['end'])} ({v['hours']} h) in {s['wall_seconds']} s of wall time")
    for fmt, path in reports.items():
        o.print(f"report ({fmt}): {esc(path)}")


def register(app: typer.Typer) -> None:
    app.command()(rehearse)
