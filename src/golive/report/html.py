"""The report as one self-contained HTML file, with a chart per soak criterion and a view of each canary.

The file is evidence that gets attached to a change ticket or mailed around,
so it carries everything inline: the styles and the charts (SVG drawn here),
no scripts, fonts or stylesheets fetched from anywhere. Each soak criterion
gets a chart of its value across the checkpoints with the threshold drawn as
a dashed line and failing checkpoints in red, so a reader sees at a glance
where the soak went wrong and by how much. The canary section is drawn by
``golive.report.canary_view`` (charts from ``golive.report.charts``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from golive.analysis.criteria import format_value
from golive.report import formatting as f
from golive.report.canary_view import render_canaries
from golive.report.model import (
    ERROR,
    FAILED,
    INCONCLUSIVE,
    OWED,
    SUCCESSFUL,
    Cell,
    CriterionInfo,
    Report,
    Soak,
)
from golive.store.statuses import RunStatus, StepStatus
from golive.textout import html_text

_CSS = """
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:24px auto;max-width:1180px;color:#1d2330;
line-height:1.4;padding:0 16px}
h1{font-size:22px;margin-bottom:4px}h2{font-size:18px;border-bottom:1px solid #d6dae3;padding-bottom:4px;margin-top:32px}
h3{font-size:15px;margin:18px 0 6px}
table{border-collapse:collapse;margin:6px 0 12px;font-size:13px}
th,td{border:1px solid #d6dae3;padding:4px 8px;text-align:left;vertical-align:top}th{background:#f1f3f7}
td.fail,tr.fail td.outcome{background:#fdecea;color:#a31515;font-weight:600}td.pass{color:#1e6b30}
td.warn{background:#fff6e0}td.inconclusive{color:#6b7280;background:#f6f7f9}
.badge{display:inline-block;border-radius:3px;padding:1px 6px;font-size:12px;font-weight:600}
.badge.good{background:#dcf3e1;color:#1e6b30}.badge.bad{background:#fdecea;color:#a31515}
.badge.late{background:#fff1cc;color:#8a5a00}.badge.neutral{background:#eceff4;color:#3b4252}
.muted{color:#6b7280}.charts{display:flex;flex-wrap:wrap;gap:14px}
.chart{border:1px solid #d6dae3;border-radius:4px;padding:6px;background:#fff}
.chart .legend{max-width:360px;margin:4px 0 0;font-size:11px;color:#4b5563}
.bar{background:#e6e9ef;width:120px;height:10px;display:inline-block;vertical-align:middle;margin-right:6px}
.bar span{display:block;height:10px;background:#3b6fd8}
ul.reasons{margin:4px 0 12px;padding-left:20px}ul.reasons li{color:#a31515}
section.canary{margin:10px 0 22px}table.analyses td:nth-child(-n+3),table.timeline td:nth-child(-n+3){white-space:nowrap}
tr.analysis.fail td{background:#fdecea}
details.canary-numbers summary{cursor:pointer;color:#3b4252;font-size:13px}
details.canary-numbers h4{font-size:13px;margin:10px 0 4px}
"""

_GOOD: set[str] = {"pass", "GO", RunStatus.SUCCEEDED, "promoted", StepStatus.DONE, "Successful", "resolved", "approved"}
_BAD: set[str] = {"fail", "NO-GO", StepStatus.FAILED, RunStatus.ROLLED_BACK, RunStatus.NO_GO, RunStatus.ABORTED, "error",
                  "Failed", "Error", "open"}

# Chart geometry (pixels).
_W, _H = 540, 230
_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 16, 30, 42
_COLOUR = {SUCCESSFUL: "#2e7d32", FAILED: "#c62828", INCONCLUSIVE: "#9aa0a6", ERROR: "#ef6c00"}


def _e(text: object) -> str:
    return html_text(text)


def _badge(text: str) -> str:
    tone = "good" if text in _GOOD else "bad" if text in _BAD else "neutral"
    return f'<span class="badge {tone}">{_e(text)}</span>'


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], row_classes: Sequence[str] | None = None) -> str:
    """Cells are HTML already (escape before passing)."""
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        css = f' class="{row_classes[i]}"' if row_classes and row_classes[i] else ""
        body.append(f"<tr{css}>" + "".join(c if c.startswith("<td") else f"<td>{c}</td>" for c in row) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


@dataclass(frozen=True)
class _Point:
    index: int
    cell: Cell
    late: bool


def _nice_step(span: float) -> float:
    """A tick step of 1, 2, 2.5 or 5 times a power of ten, giving about four ticks over ``span``."""
    raw = span / 4
    power = 10.0 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)


def _scale_top(values: list[float], thresholds: list[float]) -> tuple[float, float, float | None]:
    """The y-axis top, its tick step, and the cap above which points are drawn clipped at the top edge.

    A single 2% spike against a 0.1% threshold would squash the threshold line into the axis;
    when a value exceeds four times the threshold, the axis stops there and the spike is drawn
    as a clipped marker labelled with its value.
    """
    limit = max(thresholds, default=0.0) * 4
    cap: float | None = None
    if limit > 0 and values and max(values) > limit:
        below = [v for v in values if v <= limit]
        top, cap = max(limit, max(below, default=0.0) * 1.15), limit
    else:
        top = max([*values, *thresholds, 0.0]) * 1.15
    if top <= 0:
        return 1.0, 0.25, cap
    step = _nice_step(top)
    return math.ceil(top / step - 1e-9) * step, step, cap


def chart(soak: Soak, criterion: CriterionInfo) -> str:
    """An inline SVG: the criterion's overall value at each checkpoint, the threshold, failures in red."""
    points = [_Point(cp.index, cell, cp.late) for cp in soak.checkpoints if (cell := cp.cell(criterion.text))]
    count = max([soak.planned or 0, *(p.index for p in points), 1])
    values = [p.cell.value for p in points if p.cell.value is not None]
    thresholds = [p.cell.threshold for p in points if p.cell.threshold is not None]
    top, step, cap = _scale_top(values, thresholds)
    plot_w, plot_h = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM

    def x(index: float) -> float:
        return _LEFT + plot_w * (index - 0.5) / count

    def y(value: float) -> float:
        return _TOP + plot_h * (1 - min(max(value, 0.0), top) / top)

    unit = criterion.unit
    parts = [f'<svg class="soak-chart" width="{_W}" height="{_H}" '
             f'viewBox="0 0 {_W} {_H}" role="img" aria-label="{_e(criterion.text)} across checkpoints">',
             f'<text x="{_LEFT}" y="18" font-size="13" font-weight="600" fill="#1d2330">{_e(criterion.text)}'
             f'<tspan fill="#6b7280" font-weight="400"> — {_e(soak.env)} soak</tspan></text>']
    band = plot_w / count
    for cp in soak.checkpoints:
        if cp.outcome == "fail":
            parts.append(f'<rect class="fail-band" x="{x(cp.index) - band / 2:.1f}" y="{_TOP}" width="{band:.1f}" '
                         f'height="{plot_h}" fill="#fdecea"/>')
    for i in range(round(top / step) + 1):
        value = step * i
        gy = y(value)
        parts.append(f'<line x1="{_LEFT}" y1="{gy:.1f}" x2="{_W - _RIGHT}" y2="{gy:.1f}" stroke="#eceff4"/>')
        parts.append(f'<text x="{_LEFT - 6}" y="{gy + 4:.1f}" font-size="10" text-anchor="end" fill="#6b7280">'
                     f"{_e(format_value(value, unit))}</text>")
    parts.append(f'<line x1="{_LEFT}" y1="{_TOP + plot_h}" x2="{_W - _RIGHT}" y2="{_TOP + plot_h}" stroke="#9aa0a6"/>')
    for index in range(1, count + 1):
        late = any(p.late and p.index == index for p in points)
        parts.append(f'<text x="{x(index):.1f}" y="{_TOP + plot_h + 14}" font-size="10" text-anchor="middle" '
                     f'fill="#3b4252">#{index}</text>')
        if late:
            parts.append(f'<text x="{x(index):.1f}" y="{_TOP + plot_h + 26}" font-size="9" text-anchor="middle" '
                         f'fill="#8a5a00" class="late-mark">late</text>')
    parts.append(f'<text x="{_LEFT + plot_w / 2:.0f}" y="{_H - 4}" font-size="10" text-anchor="middle" '
                 f'fill="#6b7280">checkpoint</text>')

    if thresholds:
        if len(set(thresholds)) == 1:
            ty = y(thresholds[0])
            parts.append(f'<line class="threshold" x1="{_LEFT}" y1="{ty:.1f}" x2="{_W - _RIGHT}" y2="{ty:.1f}" '
                         f'stroke="#c62828" stroke-width="1.5" stroke-dasharray="6 4"/>')
        else:
            path = " ".join(f"{x(p.index):.1f},{y(p.cell.threshold):.1f}" for p in points if p.cell.threshold is not None)
            parts.append(f'<polyline class="threshold" points="{path}" fill="none" stroke="#c62828" '
                         f'stroke-width="1.5" stroke-dasharray="6 4"/>')
        last = next(p.cell for p in reversed(points) if p.cell.threshold is not None)
        parts.append(f'<line x1="{_W - _RIGHT - 118}" y1="14" x2="{_W - _RIGHT - 98}" y2="14" stroke="#c62828" '
                     f'stroke-width="1.5" stroke-dasharray="6 4"/><text x="{_W - _RIGHT - 94}" y="18" font-size="11" '
                     f'fill="#c62828">threshold {_e(last.threshold_text)}</text>')

    measured = [p for p in points if p.cell.value is not None]
    if len(measured) > 1:
        path = " ".join(f"{x(p.index):.1f},{y(p.cell.value or 0.0):.1f}" for p in measured)
        parts.append(f'<polyline class="values" points="{path}" fill="none" stroke="#3b6fd8" stroke-width="1.5"/>')
    for p in points:
        parts.append(_marker(p, x(p.index), y, cap))
    parts.append("</svg>")
    return "".join(parts)


def _marker(p: _Point, px: float, y: Callable[[float], float], cap: float | None) -> str:
    cell = p.cell
    colour = _COLOUR.get(cell.outcome, "#9aa0a6")
    state = "failed" if cell.outcome == FAILED else cell.outcome.lower()
    title = f"<title>{_e(f'#{p.index}' + (' (late)' if p.late else '') + ': ' + f.cell_text(cell))}</title>"
    if cell.value is None:
        py = y(0.0)
        return (f'<circle class="point {state}" cx="{px:.1f}" cy="{py:.1f}" r="5" fill="#fff" stroke="{colour}" '
                f'stroke-width="2">{title}</circle>'
                f'<text x="{px:.1f}" y="{py - 9:.1f}" font-size="9" text-anchor="middle" fill="#6b7280">n/a</text>')

    def label(at: float, note: str = "") -> str:
        if cell.outcome != FAILED:
            return ""
        right = px < _W - 110  # near the right edge the label goes to the left of the marker
        return (f'<text x="{px + 10 if right else px - 10:.1f}" y="{at:.1f}" font-size="10" font-weight="600" '
                f'text-anchor="{"start" if right else "end"}" fill="#c62828">{_e(cell.value_text + note)}</text>')

    if cap is not None and cell.value > cap:
        py = y(cap * 10)  # clipped at the top edge
        return (f'<path class="point {state} clipped" d="M{px - 7:.1f},{py + 7:.1f} L{px:.1f},{py - 5:.1f} '
                f'L{px + 7:.1f},{py + 7:.1f} Z" fill="{colour}">{title}</path>' + label(py + 6, " (off scale)"))
    py = y(cell.value)
    radius = 6 if cell.outcome == FAILED else 4
    ring = (f'<circle cx="{px:.1f}" cy="{py:.1f}" r="{radius + 4}" fill="none" stroke="#8a5a00" '
            f'stroke-dasharray="2 2"/>') if p.late else ""
    shape = f'<circle class="point {state}" cx="{px:.1f}" cy="{py:.1f}" r="{radius}" fill="{colour}">{title}</circle>'
    return ring + shape + label(py + 4)


def _soak(soak: Soak) -> str:
    out = [f"<h3>{_e(f.soak_title(soak))} {_badge(soak.verdict or 'in progress')}</h3>"]
    criteria = [c.text for c in soak.criteria]
    rows: list[list[str]] = []
    classes: list[str] = []
    for cp in soak.checkpoints:
        row = [_e(f"{cp.index} of {cp.of}" if cp.of else cp.index),
               _e(f.clock(cp.due_at or cp.at)) + (f' <span class="badge late">{_e(f.late_note(cp))}</span>' if cp.late else ""),
               _e(f.window(cp)), f'<td class="outcome">{_badge(cp.outcome)}</td>']
        for text in criteria:
            cell = cp.cell(text)
            if cell is None:
                row.append("—")
                continue
            css = "fail" if cell.failed else "pass" if cell.outcome == SUCCESSFUL else "inconclusive"
            detail = f"{cell.value_text}"
            extra = f'<br><span class="muted">{_e(cell.threshold_text)} · {_e(cell.outcome)}'
            extra += f" · {_e(cell.scope)}" if cell.outcome != SUCCESSFUL and cell.scope else ""
            extra += " · dry run" if cell.dry_run else ""
            row.append(f'<td class="{css}" title="{_e(cell.message)}">{_e(detail)}{extra}</span></td>')
        bad = [c for c in cp.checks if c.status not in ("pass", "warn")]
        row.append("<br>".join(_e(f"{c.check} {c.target}: {c.summary or c.status}") for c in bad)
                   or _e(f"{len(cp.checks)} passed" if cp.checks else ""))
        rows.append(row)
        classes.append("fail" if cp.outcome == "fail" else "")
    out.append(_table(["checkpoint", "due", "window", "outcome", *criteria, "checks"], rows, classes))
    failures = [f"checkpoint {cp.index}: {text}" for cp in soak.checkpoints for text in cp.failures]
    failures += [r for r in soak.reasons if not any(r in x for x in failures)]
    if failures:
        out.append('<ul class="reasons">' + "".join(f"<li>{_e(r)}</li>" for r in failures) + "</ul>")
    out.append('<div class="charts">' + "".join(f'<div class="chart">{chart(soak, c)}</div>' for c in soak.criteria)
               + "</div>")
    return "".join(out)


def _virtual(report: Report) -> str:
    return " (virtual)" if report.rehearsal else ""


def render_html(report: Report) -> str:
    title = f"golive report: {f.headline(report)}"
    body = [f"<h1>{_e(report.release)} {_e(report.version or '')} {_badge(report.status)}</h1>",
            f'<p class="muted">{_e(report.run_kind)} run {report.run_id} in {_e(report.env)} · '
            f"{_e(f.when(report.started_at))} → {_e(f.when(report.ended_at))}{_virtual(report)} · "
            f"{_e(f.duration(report.duration_s))}</p>"]
    if report.reason:
        body.append(f"<p><strong>Reason:</strong> {_e(report.reason)}</p>")
    body.append(_table(["", ""], [
        ["release", _e(report.release)], ["version", _e(report.version or "—")],
        ["environments", _e(", ".join(report.envs))], ["status", _badge(report.status)],
        [f"started{_virtual(report)}", _e(f.when(report.started_at))],
        [f"ended{_virtual(report)}", _e(f.when(report.ended_at))],
        ["duration", _e(f.duration(report.duration_s))]]))

    if report.steps:
        body.append("<h2>Phases</h2>")
        body.append(_table(["phase", "step", "started", "status", "outcome", "summary"], [
            [_e(s.phase), _e(s.title), _e(f.when(s.started_at)), _badge(s.status),
             _badge(s.outcome) if s.outcome else "", _e(s.summary)]
            for s in report.steps]))

    body.append("<h2>Soaks</h2>")
    body += [_soak(s) for s in report.soaks] or ['<p class="muted">No soak checkpoints recorded.</p>']

    body.append("<h2>Gate decisions</h2>")
    for gate in report.gates:
        note = "" if gate.latest else ' <span class="muted">(earlier decision)</span>'
        body.append(f"<h3>{_e(gate.gate)} for {_e(gate.env)}: {_badge(gate.decision)} "
                    f'<span class="muted">{_e(f.when(gate.at))}</span>{note}</h3>')
        body.append(_table(["item", "ok", "detail"], [
            [_e(i.name), f'<td class="{"pass" if i.ok else "fail"}">{"✓" if i.ok else "✗"}</td>', _e(i.detail)]
            for i in gate.items]))
        if gate.reasons:
            body.append('<ul class="reasons">' + "".join(f"<li>{_e(r)}</li>" for r in gate.reasons) + "</ul>")
    if not report.gates:
        body.append('<p class="muted">No gate decision recorded.</p>')

    if report.terraform_plans:
        body.append("<h2>Terraform plans</h2>")
        body.append(_table(["project", "plan sha256", "create", "update", "delete", "replace", "data-holding changes",
                            "approved by", "from"], [
            [_e(t.project), f"<code>{_e(t.sha256)}</code>", _e(t.creates), _e(t.updates), _e(t.deletes),
             _e(t.replaces), f'<td class="{"warn" if t.data_changes else "pass"}">'
                             f'{_e("; ".join(t.data_changes) or "none")}</td>',
             _e(f"{t.approved_by} ({t.approver})" if t.approved_by else
                f"nobody ({t.approver} needed)" if t.data_changes else "not needed"), _e(t.source)]
            for t in report.terraform_plans]))

    body.append("<h2>Overrides</h2>")
    body.append(_table(["at", "guard or action", "by", "why", "project", "run"], [
        [_e(f.when(o.at)), _e(o.guard), _e(o.by or "unknown"), _e(o.why or ""), _e(o.project or ""),
         _e(o.run_id or "")] for o in report.overrides]) if report.overrides else '<p class="muted">None.</p>')

    body.append("<h2>Approvals</h2>")
    body.append(_table(["gate", "env", "by", "role", "note", "at"], [
        [_e(a.gate), _e(a.env), _e(a.by) + (' <span class="badge neutral">rehearsal</span>' if a.rehearsal else ""),
         _e(a.role or ""), _e(a.note or ""), _e(f.when(a.at))] for a in report.approvals])
        if report.approvals else '<p class="muted">None recorded.</p>')

    body.append("<h2>Incidents</h2>")
    body.append(_table(["id", "severity", "title", "env", "status", "opened", "resolved"], [
        [_e(i.id if i.id is not None else ""), _e(i.severity), _e(i.title), _e(i.env or "all"), _badge(i.status),
         _e(f.when(i.opened_at)), _e(f.when(i.resolved_at))] for i in report.incidents])
        if report.incidents else '<p class="muted">None.</p>')

    body.append("<h2>Canaries</h2>")
    body.append(render_canaries(report.canaries))

    body.append("<h2>Rollbacks</h2>")
    body.append(_table(["at", "project", "reason", "took", "functions"], [
        [_e(f.when(r.at)), _e(r.project), _e(r.reason), _e(f.duration(r.seconds)), _e(", ".join(r.functions))]
        for r in report.rollbacks]) if report.rollbacks else '<p class="muted">None.</p>')

    for hold in report.holds:
        body.append("<h2>Dependencies held</h2>")
        undo = "undone first" if hold.rollback_dependents else "held, not undone"
        body.append(f"<p>{_e(hold.failed)} failed ({_e(hold.step)}) at {_e(f.when(hold.at))}: its dependents "
                    f"{_e(', '.join(hold.held))} are {undo}. Undo order: {_e(' → '.join(hold.order) or 'nothing')}.</p>")
        if hold.undone:
            body.append(_table(["#", "project", "step", "owed because", "done at", "took"], [
                [_e(u.position), _e(u.project), _e(u.step), _e(OWED.get(u.owed_for, u.owed_for)), _e(f.when(u.at)),
                 _e(f.duration(u.seconds))] for u in hold.undone]))

    if report.plan_changes:
        body.append("<h2>Plan changes accepted</h2>")
        body.append(_table(["at", "why", "steps given the new parameters", "finished steps kept as they ran"], [
            [_e(f.when(c.at)), _e(c.why), _e(", ".join(c.refrozen) or "none"), _e(", ".join(c.kept) or "none")]
            for c in report.plan_changes]))

    body.append("<h2>Availability</h2>")
    body.append(_table(["url", "probes", "up", "availability"], [
        [_e(a.url), _e(a.probes), _e(a.up), _e(f.share(a.availability))] for a in report.availability])
        if report.availability else '<p class="muted">No probes recorded.</p>')

    body.append("<h2>Checks</h2>")
    body.append(_table(["phase", "check", "target", "status", "summary"], [
        [_e(c.phase or ""), _e(c.check), _e(c.target),
         f'<td class="{_status_class(c.status)}">{_e(c.status)}</td>', _e(c.summary)] for c in report.checks])
        if report.checks else '<p class="muted">No checks recorded.</p>')

    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
            + "\n".join(body) + "</body></html>\n")


def _status_class(status: str) -> str:
    return {"pass": "pass", "warn": "warn", "fail": "fail", "error": "fail"}.get(status, "")
