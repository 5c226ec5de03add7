"""Commands that drive runs: preflight, run, soak, gate, incident, report.

Each command parses its flags, calls one function of ``golive.engine``, and
renders the answer; exit codes follow DESIGN.md (1 for a failed check,
NO-GO or rollback).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from golive.cli.app import EnvOpt, app, out, ws
from golive.cli.github_actions import GitHubActions
from golive.cli.github_actions import table as gha_table
from golive.cli.prompt import confirm, where
from golive.cli.render import Output, progress, styled, when
from golive.clock import parse_instant

if TYPE_CHECKING:
    from golive.engine.session import Driven

soak_app = typer.Typer(help="Soak tests: checkpoints on a schedule, with evidence.", no_args_is_help=True)
incident_app = typer.Typer(help="Incidents P0-P3; an open P0 triggers rollback.", no_args_is_help=True)
app.add_typer(soak_app, name="soak")
app.add_typer(incident_app, name="incident")

_RESULT = {"pass": "[green]pass[/green]", "fail": "[red]FAIL[/red]", "warn": "[yellow]warn[/yellow]",
           "error": "[magenta]error[/magenta]"}


def _exit_for(driven: Driven) -> None:
    if driven.run.status in ("failed", "rolled_back", "no_go", "aborted"):
        raise typer.Exit(1)


def _secret_rows(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for r in results:
        if r["check"] != "github_secrets":
            continue
        for ev in r["evidence"]:
            answered = ev.get("answered")
            if isinstance(answered, dict) and "secrets" in answered:
                repo = r["target"]
                for row in answered["secrets"]:
                    rows.append({"repo": repo, **row})
                for arn in answered.get("hardcoded_role_arns", []):
                    rows.append({"repo": repo, "name": "(role ARN hard-coded)", "status": "hard-coded",
                                 "lines": arn.get("lines") if isinstance(arn, dict) else None})
    return rows


@app.command()
def preflight(ctx: typer.Context, env: EnvOpt) -> None:
    """Prerequisite checks as a table; exit 1 if any fails."""
    from golive.engine import session

    w, o = ws(ctx), out(ctx)
    with o.err.status(f"preflight in {env}: running {len(w.plan.preflight)} checks…"):
        driven = session.preflight(w.services(), w.env(env))
    steps = w.store.steps(driven.run.id)
    data = steps[0].result or {}
    results = data.get("results", [])
    failed = [r for r in results if r["status"] in ("fail", "error")]
    if o.json_mode:
        o.json({"env": env, "run": driven.run.id, "passed": not failed, "results": results,
                "blocking": data.get("blocking", []), "fixable": data.get("fixable", []),
                "unreachable": data.get("unreachable", []), "secrets": _secret_rows(results)})
    else:
        table = Table(title=f"preflight {w.plan.release} in {env}", show_lines=False)
        for col in ("check", "target", "result", "evidence"):
            table.add_column(col, overflow="fold")
        for r in results:
            table.add_row(r["check"], r["target"], _RESULT.get(r["status"], r["status"]), r["summary"])
        o.print(table)
        rows = _secret_rows(results)
        if rows:
            secrets = Table(title="secret status (from the workflow files)")
            for col in ("repository", "secret", "status"):
                secrets.add_column(col, overflow="fold")  # a name cut with … is three repositories looking alike
            for row in rows:
                status = str(row.get("status"))
                style = {"missing": "red", "configured": "green", "present": "green"}.get(status, "yellow")
                secrets.add_row(str(row["repo"]), str(row.get("name")), f"[{style}]{status}[/{style}]")
            o.print(secrets)
        o.print(f"{len(results) - len(failed)} of {len(results)} checks passed" +
                (f"; {len(data.get('fixable', []))} fixable by prep" if data.get("fixable") else ""))
    unreachable: list[str] = data.get("unreachable", [])
    if o.ci is not None:
        _preflight_to_ci(o.ci, f"preflight {w.plan.release} in {env}", results, unreachable)
    if unreachable:
        # Exit 3 (DESIGN §2): the answers are missing, not negative. One line per system, naming the call and endpoint.
        systems: dict[str, str] = {}
        for why in unreachable:
            systems.setdefault(why.split(" ", 1)[0], why)
        sys.stderr.write("golive: error: no answer after retries: " + "; ".join(systems.values()) + "\n")
        raise typer.Exit(3)
    if failed:
        raise typer.Exit(1)


def _preflight_to_ci(ci: GitHubActions, title: str, results: list[dict[str, Any]], unreachable: list[str]) -> None:
    failed = [r for r in results if r["status"] in ("fail", "error")]
    verdict = "no answer from " + ", ".join(u.split(" ", 1)[0] for u in unreachable) if unreachable else (
        f"{len(failed)} failed" if failed else "all passed")
    parts = [f"### golive {title}: {len(results) - len(failed)} of {len(results)} checks passed ({verdict})",
             gha_table(["check", "target", "result", "evidence"],
                       [[r["check"], r["target"], r["status"], r["summary"]] for r in results])]
    rows = _secret_rows(results)
    if rows:
        parts += ["#### secret status (from the workflow files)",
                  gha_table(["repository", "secret", "status"], [[str(r["repo"]), str(r.get("name")), str(r.get("status"))]
                                                                 for r in rows])]
    ci.summary("\n\n".join(parts))
    for r in failed:
        ci.error(f"golive {title}: {r['check']} {r['target']}", f"{r['status']}: {r['summary']}")
    for why in unreachable:
        ci.error(f"golive {title}: no answer", why)


def _render_driven(o: Output, driven: Driven, w: Any) -> None:
    from golive.engine.status import run_status

    data = run_status(w.store, driven.run, w.clock.now())
    if o.ci is not None:
        from golive.report import render

        o.ci.summary(render(w.store, driven.run.id, w.plan.release, "md", redact=w.redact))
        if driven.run.status in ("failed", "rolled_back", "no_go", "aborted"):
            o.ci.error(f"golive {driven.run.kind} {driven.run.env}: {driven.run.status}", driven.run.reason or "(no reason)")
    if o.json_mode:
        o.json(data)
        return
    verb = "resumed" if driven.resumed else "started"
    o.print(f"{driven.run.kind} run {driven.run.id} ({verb}): {styled(driven.run.status)}"
            + (f" — {driven.run.reason}" if driven.run.reason else ""))
    for phase in data["phases"]:
        o.print(f"  {phase['phase']:<14} {styled(phase['status'])}")
    for due in data["due"]:
        o.print(f"  [yellow]next[/yellow] {due}")
    if "No ref found" in (driven.run.reason or ""):
        # A fresh repository (or sandbox) has no release tag for the workflow to run on: the usual first-deploy slip.
        o.info(f"hint: the workflow's ref {w.plan.version} does not exist yet: run golive tag --env {driven.run.env} "
               "first (the order by hand: tag, secrets set, gate, deploy)")


@app.command("run")
def run_cmd(
    ctx: typer.Context,
    env: EnvOpt,
    restart: Annotated[bool, typer.Option("--restart", help="abandon the active run and start again")] = False,
    no_wait: Annotated[bool, typer.Option("--no-wait", help="return at the first wait for a time or an approval, "
                                          "printing what is due when")] = False,
    until: Annotated[str | None, typer.Option("--until", help="stop before the phase after this one")] = None,
) -> None:
    """Drive the whole release to its end; resumable (run it again to continue)."""
    from golive.engine import session

    w, o = ws(ctx), out(ctx)
    confirm(w.yes, "run", where(w.plan, w.env(env), with_dr=True),
            [f"drive the release {w.plan.release} {w.plan.version} " + (f"up to the phase {until}" if until else "to its end")
             + ": deploys, canary shifts and rollbacks as the plan says" + (" (a new run)" if restart else "")])
    services = w.services()
    services.notify = progress(o, w.clock)
    driven = session.release(services, w.env(env), restart=restart, wait_external=not no_wait, until_phase=until,
                             no_wait=no_wait)
    _render_driven(o, driven, w)
    _exit_for(driven)


@soak_app.command("start")
def soak_start(
    ctx: typer.Context, env: EnvOpt,
    restart: Annotated[bool, typer.Option("--restart", help="begin a new soak; the old one's evidence is kept")] = False,
) -> None:
    """Lay out the checkpoints at fixed due times."""
    from golive.engine import session

    w, o = ws(ctx), out(ctx)
    driven = session.soak_start(w.services(), w.env(env), restart=restart)
    _soak_status(o, w, env)
    _exit_for(driven)


@soak_app.command("checkpoint")
def soak_checkpoint(ctx: typer.Context, env: EnvOpt) -> None:
    """Evaluate every checkpoint that is due (late ones over their own windows)."""
    from golive.engine import session

    w, o = ws(ctx), out(ctx)
    driven = session.soak_checkpoint(w.services(), w.env(env))
    _soak_status(o, w, env)
    _exit_for(driven)


@soak_app.command("status")
def soak_status(ctx: typer.Context, env: EnvOpt) -> None:
    """Checkpoints done and passing, the next one due, when the soak ends."""
    w, o = ws(ctx), out(ctx)
    _soak_status(o, w, w.env(env))


def _soak_status(o: Output, w: Any, env: str) -> None:
    from golive.engine.soak_status import soak_summary

    summary = soak_summary(w.store, w.plan, env, w.clock.now())
    if o.json_mode:
        o.json(summary)
    else:
        o.print(summary["text"])
        for cp in summary["checkpoints"]:
            late = " (late)" if cp.get("late") else ""
            due = when(parse_instant(cp["due"])) if cp.get("due") else "-"
            o.print(f"  #{cp['index']} {due}{late}: {styled(cp['status'])} {cp.get('detail', '')}")


@incident_app.command("open")
def incident_open(
    ctx: typer.Context,
    severity: Annotated[str | None, typer.Option("--severity", help="P0, P1, P2 or P3")] = None,
    title: Annotated[str | None, typer.Option("--title")] = None,
    env: Annotated[str | None, typer.Option("--env", "-e")] = None,
    scope: Annotated[str | None, typer.Option("--scope", help="batch or project")] = None,
    by: Annotated[str | None, typer.Option("--by")] = None,
) -> None:
    """Open an incident (or pipe a JSON document on stdin: {"severity": "P0", "title": ...})."""
    from golive.engine.incidents import IncidentInput, open_incident, parse_incident_json
    from golive.errors import UsageError

    w, o = ws(ctx), out(ctx)
    if severity is None and title is None and not sys.stdin.isatty():
        incident = parse_incident_json(sys.stdin.read())
    else:
        if severity not in ("P0", "P1", "P2", "P3") or not title:
            raise UsageError("incident open needs --severity P0..P3 and --title (or JSON on stdin)")
        incident = IncidentInput(severity=severity, title=title, env=env, scope=scope)
    incident_id = open_incident(w.store, w.plan, incident, w.clock.now(), by)
    if o.json_mode:
        o.json({"id": incident_id, **incident.model_dump()})
    else:
        o.print(f"incident #{incident_id} {incident.severity} opened: {incident.title}")


@incident_app.command("resolve")
def incident_resolve(ctx: typer.Context, incident_id: Annotated[int, typer.Argument(help="incident number")]) -> None:
    """Resolve an open incident."""
    from golive.engine.incidents import resolve_incident

    w, o = ws(ctx), out(ctx)
    incident = resolve_incident(w.store, w.plan, incident_id, w.clock.now())
    if o.json_mode:
        o.json({"id": incident.id, "resolved": True})
    else:
        o.print(f"incident #{incident.id} {incident.severity} resolved")


@incident_app.command("list")
def incident_list(ctx: typer.Context, all_: Annotated[bool, typer.Option("--all", help="resolved ones too")] = False) -> None:
    """Incidents of the release (open ones by default)."""
    w, o = ws(ctx), out(ctx)
    found = w.store.incidents(w.plan.release, open_only=not all_)
    if o.json_mode:
        o.json([{"id": i.id, "severity": i.severity, "title": i.title, "env": i.env, "scope": i.scope,
                 "status": i.status, "opened_at": i.opened_at.isoformat()} for i in found])
        return
    if not found:
        o.print("no incidents" if all_ else "no open incidents")
    for i in found:
        o.print(f"#{i.id} {i.severity} {i.status:<8} {when(i.opened_at)} {i.env or '-'} {i.title}")


@app.command()
def gate(ctx: typer.Context, name: Annotated[str, typer.Argument(help="gate name")], env: EnvOpt) -> None:
    """GO / NO-GO with evidence; the decision is stored. Exit 0 for GO, 1 for NO-GO."""
    from golive.engine.gates import evaluate_gate, record_decision

    w, o = ws(ctx), out(ctx)
    decision = evaluate_gate(w.store, w.plan, name, w.env(env), w.clock.now())
    record_decision(w.store, w.plan, decision, w.clock.now(), asked_by="golive gate")
    if o.ci is not None:
        o.ci.summary(f"### golive gate {name} for {env}: {decision.verdict}\n\n" + gha_table(
            ["", "item", "detail"], [["✓" if i.ok else "✗", i.name, str(i.detail)] for i in decision.items]))
        for item in decision.items:
            if not item.ok:
                o.ci.error(f"golive gate {name} {env}: {decision.verdict}", f"{item.name}: {item.detail}")
    if o.json_mode:
        o.json(decision.to_dict())
    else:
        o.print(f"{name} for {env}: {styled(decision.verdict)}")
        for item in decision.items:
            mark = "[green]✓[/green]" if item.ok else "[red]✗[/red]"
            o.print(f"  {mark} {item.name}: {item.detail}")
    if not decision.go:
        raise typer.Exit(1)
