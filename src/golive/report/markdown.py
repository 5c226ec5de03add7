"""The report as Markdown: for a pull request, a wiki page or a terminal.

Every section of the report in plain tables. Markdown cannot colour a cell,
so a failing value is written in bold with ✗, and a late checkpoint is
flagged in its own column. Every text from a run (titles, reasons, notes,
names) goes through ``textout.markdown``: no HTML, emphasis, link or table
syntax of its own; only the ``Md`` pieces built here are Markdown.
"""

from __future__ import annotations

from collections.abc import Sequence

from golive.report import formatting as f
from golive.report.model import OWED, Canary, Report, Soak
from golive.textout import markdown, markdown_item


class Md(str):
    """Markdown written here (bold around escaped text): a table cell that is not escaped again."""


def _esc(text: object) -> str:
    return text if isinstance(text, Md) else markdown(text)


def _bold(text: object) -> Md:
    return Md(f"**{markdown(text)}**")


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    out = ["| " + " | ".join(_esc(h) for h in header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(_esc(c) for c in row) + " |" for row in rows]
    return [*out, ""]


def _soak(soak: Soak) -> list[str]:
    out = [f"### {_esc(f.soak_title(soak))}", ""]
    criteria = [c.text for c in soak.criteria]
    rows: list[list[object]] = []
    for cp in soak.checkpoints:
        row: list[object] = [f"{cp.index} of {cp.of}" if cp.of else cp.index, f.clock(cp.due_at or cp.at),
                             f.late_note(cp), f.window(cp), f.checkpoint_outcome(cp)]
        for text in criteria:
            cell = cp.cell(text)
            if cell is None:
                row.append("—")
            else:
                shown = f.cell_text(cell)
                row.append(_bold(shown) if cell.failed else shown)
        failing_checks = [f"{c.check} {c.target}: {c.status}" for c in cp.checks if c.status not in ("pass", "warn")]
        row.append("; ".join(failing_checks) or (f"{len(cp.checks)} passed" if cp.checks else ""))
        rows.append(row)
    out += _table(["checkpoint", "due", "late", "window", "outcome", *criteria, "checks"], rows)
    failures = [(cp.index, text) for cp in soak.checkpoints for text in cp.failures]
    if failures or soak.reasons:
        out += ["Reasons:", ""]
        out += [f"- checkpoint {i}: {_esc(text)}" for i, text in failures]
        out += [f"- {markdown_item(text)}" for text in soak.reasons if all(text != t for _, t in failures)]
        out.append("")
    return out


def _canary_rows(canary: Canary) -> list[str]:
    """Shifts and decisions, and one compact row per analysis: the full numbers are in the HTML and the store."""
    start = f.canary_start(canary)
    analyses = iter(f.analysis_rows(canary))
    rows: list[list[object]] = []
    for step in canary.steps:
        minute = "" if start is None else f"+{f.minutes_since(start, step.at):g} min"
        if step.outcome == "analysis":
            row = next(analyses)
            rows.append([minute, f.clock(step.at), f.weight(step.weight), row.verdict + (" (final)" if row.final else ""),
                         row.worst, row.p_text])
        else:
            versions = f"{step.stable or '?'} → {step.canary or '?'}" if step.stable or step.canary else ""
            rows.append([minute, f.clock(step.at), f.weight(step.weight), step.outcome, versions, step.reason])
    return _table(["minute", "at", "weight", "event / verdict", "worst metric and function", "p against boundary"],
                  rows)


def _virtual(report: Report) -> str:
    return " (virtual)" if report.rehearsal else ""


def render_markdown(report: Report) -> str:
    out = [f"# Release report: {_esc(f.headline(report))}", ""]
    out += _table(["", ""], [
        ["release", report.release], ["version", report.version or "—"], ["environment", report.env],
        ["environments covered", ", ".join(report.envs)], ["run", f"{report.run_id} ({report.run_kind})"],
        ["status", _bold(report.status)], ["reason", report.reason or "—"],
        [f"started{_virtual(report)}", f.when(report.started_at)], [f"ended{_virtual(report)}", f.when(report.ended_at)],
        ["duration", f.duration(report.duration_s)],
    ])

    if report.steps:
        out += ["## Phases", ""]
        out += _table(["phase", "step", "started", "status", "outcome", "summary"],
                      [[s.phase, s.title, f.when(s.started_at), s.status, s.outcome or "", s.summary]
                       for s in report.steps])

    out += ["## Soaks", ""]
    if not report.soaks:
        out += ["No soak checkpoints recorded.", ""]
    for soak in report.soaks:
        out += _soak(soak)

    out += ["## Gate decisions", ""]
    if not report.gates:
        out += ["No gate decision recorded.", ""]
    for gate in report.gates:
        note = "" if gate.latest else " (earlier decision)"
        out += [f"### {_esc(gate.gate)} for {_esc(gate.env)}: {_bold(gate.decision)} at {f.when(gate.at)}{note}", ""]
        out += _table(["item", "ok", "detail"], [[i.name, "✓" if i.ok else "✗", i.detail] for i in gate.items])
        if gate.reasons:
            out += ["Reasons:", "", *(f"- {markdown_item(r)}" for r in gate.reasons), ""]

    if report.terraform_plans:
        out += ["## Terraform plans", ""]
        out += _table(["project", "plan sha256", "create", "update", "delete", "replace", "data-holding changes",
                       "approved by", "from"],
                      [[t.project, t.sha256, t.creates, t.updates, t.deletes, t.replaces,
                        "; ".join(t.data_changes) or "none",
                        (f"{t.approved_by} ({t.approver})" if t.approved_by else
                         f"nobody ({t.approver} needed)" if t.data_changes else "not needed"), t.source]
                       for t in report.terraform_plans])

    out += ["## Overrides", ""]
    out += _table(["at", "guard or action", "by", "why", "project", "run"],
                  [[f.when(o.at), o.guard, o.by or "unknown", o.why or "", o.project or "", o.run_id or ""]
                   for o in report.overrides]) if report.overrides else ["None.", ""]

    out += ["## Approvals", ""]
    out += _table(["gate", "env", "by", "role", "note", "at"],
                  [[a.gate, a.env, a.by + (" (rehearsal)" if a.rehearsal else ""), a.role or "", a.note or "",
                    f.when(a.at)] for a in report.approvals]) if report.approvals else ["None recorded.", ""]

    out += ["## Incidents", ""]
    out += _table(["id", "severity", "title", "env", "status", "opened", "resolved"],
                  [[i.id if i.id is not None else "", i.severity, i.title, i.env or "all", i.status,
                    f.when(i.opened_at), f.when(i.resolved_at)] for i in report.incidents]) \
        if report.incidents else ["None.", ""]

    out += ["## Canaries", ""]
    if not report.canaries:
        out += ["No canary recorded.", ""]
    for canary in report.canaries:
        out += [f"### {_esc(canary.title)}: {_esc(canary.outcome)}", ""]
        out += _canary_rows(canary)

    out += ["## Rollbacks", ""]
    out += _table(["at", "project", "reason", "took", "functions"],
                  [[f.when(r.at), r.project, r.reason, f.duration(r.seconds), ", ".join(r.functions)]
                   for r in report.rollbacks]) if report.rollbacks else ["None.", ""]

    for hold in report.holds:
        out += ["## Dependencies held", ""]
        undo = "undone first" if hold.rollback_dependents else "held, not undone"
        out += [f"{_esc(hold.failed)} failed ({_esc(hold.step)}) at {f.when(hold.at)}: its dependents "
                f"{_esc(', '.join(hold.held))} are {undo}. Undo order: {_esc(' → '.join(hold.order) or 'nothing')}.", ""]
        if hold.undone:
            out += _table(["#", "project", "step", "owed because", "done at", "took"],
                          [[u.position, u.project, u.step, OWED.get(u.owed_for, u.owed_for), f.when(u.at), f.duration(u.seconds)]
                           for u in hold.undone])

    if report.plan_changes:
        out += ["## Plan changes accepted", ""]
        out += _table(["at", "why", "steps given the new parameters", "finished steps kept as they ran"],
                      [[f.when(c.at), c.why, ", ".join(c.refrozen) or "none", ", ".join(c.kept) or "none"]
                       for c in report.plan_changes])

    out += ["## Availability", ""]
    out += _table(["url", "probes", "up", "availability"],
                  [[a.url, a.probes, a.up, f.share(a.availability)] for a in report.availability]) \
        if report.availability else ["No probes recorded.", ""]

    out += ["## Checks", ""]
    out += _table(["phase", "check", "target", "status", "summary"],
                  [[c.phase or "", c.check, c.target, c.status, c.summary] for c in report.checks]) \
        if report.checks else ["No checks recorded.", ""]
    return "\n".join(out).rstrip() + "\n"
