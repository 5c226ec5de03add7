"""``golive preflight``: the prerequisite checks as a table, and the secret status the workflows read.

Exit 1 when a check fails, 3 when an outside system gave no answer after retries (the answers are missing,
not negative: DESIGN §2), with one line naming each system.
"""

from __future__ import annotations

import sys
from typing import Any

import typer
from rich.table import Table

from golive.analysis.units import counted
from golive.cli.common import EnvOpt, out, ws
from golive.cli.github_actions import GitHubActions
from golive.cli.github_actions import table as gha_table
from golive.evidence import checks as evidence_checks
from golive.textout import markdown, visible
from golive.textout import rich as esc

_RESULT = {"pass": "[green]pass[/green]", "fail": "[red]FAIL[/red]", "warn": "[yellow]warn[/yellow]",
           "error": "[magenta]error[/magenta]"}


def _secret_rows(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return evidence_checks.secret_rows(results)


def preflight(ctx: typer.Context, env: EnvOpt) -> None:
    """Prerequisite checks as a table; exit 1 if any fails."""
    from golive.runs import session

    w, o = ws(ctx), out(ctx)
    with o.err.status(f"preflight in {esc(env)}: running {counted(len(w.plan.preflight), 'check')}…"):
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
        table = Table(title=esc(f"preflight {w.plan.release} in {env}"), show_lines=False)
        for col in ("check", "target", "result", "evidence"):
            table.add_column(col, overflow="fold")
        for r in results:
            table.add_row(esc(r["check"]), esc(r["target"]), _RESULT.get(r["status"], esc(r["status"])), esc(r["summary"]))
        o.print(table)
        rows = _secret_rows(results)
        if rows:
            secrets = Table(title="secret status (from the workflow files)")
            for col in ("repository", "secret", "status"):
                secrets.add_column(col, overflow="fold")  # a name cut with … is three repositories looking alike
            for row in rows:
                status = str(row.get("status"))
                style = {"missing": "red", "configured": "green", "present": "green"}.get(status, "yellow")
                secrets.add_row(esc(row["repo"]), esc(row.get("name")), f"[{style}]{esc(status)}[/{style}]")
            o.print(secrets)
        o.print(f"{len(results) - len(failed)} of {counted(len(results), 'check')} passed" +
                (f"; {len(data.get('fixable', []))} fixable by prep" if data.get("fixable") else ""))
    unreachable: list[str] = data.get("unreachable", [])
    if o.ci is not None:
        _preflight_to_ci(o.ci, f"preflight {w.plan.release} in {env}", results, unreachable)
    if unreachable:
        # Exit 3 (DESIGN §2): the answers are missing, not negative. One line per system, naming the call and endpoint.
        systems: dict[str, str] = {}
        for why in unreachable:
            systems.setdefault(why.split(" ", 1)[0], why)
        sys.stderr.write("golive: error: no answer after retries: " + visible("; ".join(systems.values())) + "\n")
        raise typer.Exit(3)
    if failed:
        raise typer.Exit(1)


def _preflight_to_ci(ci: GitHubActions, title: str, results: list[dict[str, Any]], unreachable: list[str]) -> None:
    failed = [r for r in results if r["status"] in ("fail", "error")]
    verdict = "no answer from " + ", ".join(u.split(" ", 1)[0] for u in unreachable) if unreachable else (
        f"{len(failed)} failed" if failed else "all passed")
    parts = [f"### golive {markdown(title)}: {len(results) - len(failed)} of {counted(len(results), 'check')} passed "
             f"({markdown(verdict)})",
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


def register(app: typer.Typer) -> None:
    app.command()(preflight)
