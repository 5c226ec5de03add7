"""``golive report --release``: one report of a whole release, every run of it and every hand outside a run.

A release done by hand is many runs (tag, deploy per project, verify, ...) and commands that record outside
any run (secrets set, approvals, incidents). This report lists them all in the order they happened, every
override of the release in one table, then each run's own report.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any

from golive.errors import UnknownNameError, UsageError
from golive.evidence import typed
from golive.report import formatting as f
from golive.report.html import render_html
from golive.report.markdown import render_markdown
from golive.report.model import OverrideRow, Report, build, overrides_of
from golive.store.store import Store


@dataclass(frozen=True)
class Entry:
    """One line of the release's timeline: a run, or a record written outside any run."""

    at: datetime
    env: str
    what: str
    outcome: str
    run_id: int | None


@dataclass(frozen=True)
class ReleaseReport:
    release: str
    timeline: tuple[Entry, ...]
    overrides: tuple[OverrideRow, ...]
    runs: tuple[Report, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"release": self.release,
                "timeline": [{"at": e.at.isoformat(), "env": e.env, "what": e.what, "outcome": e.outcome,
                              "run_id": e.run_id} for e in self.timeline],
                "overrides": [{"at": o.at.isoformat(), "guard": o.guard, "by": o.by, "why": o.why,
                               "project": o.project, "run_id": o.run_id} for o in self.overrides],
                "runs": [r.to_dict() for r in self.runs]}


def build_release(store: Store, release: str) -> ReleaseReport:
    runs = store.runs(release)
    if not runs:
        raise UnknownNameError("release", release, sorted({r.release for r in store.runs()}))
    events = store.events(release=release)
    timeline = [Entry(r.created_at, r.env, f"run {r.id}: {r.kind}", r.status + (f" ({r.reason})" if r.reason else ""),
                      r.id) for r in runs]
    timeline += [Entry(e.at, e.env, f"{e.kind} {e.subject}", e.outcome or "", None) for e in events if e.run_id is None]
    timeline += [Entry(a.at, a.env, f"approval of {a.gate} by {a.by}" + (f" as {a.role}" if a.role else ""),
                       "approved", None) for env in sorted({r.env for r in runs}) for a in store.approvals(release, env)]
    timeline.sort(key=lambda e: e.at)
    overrides = overrides_of(typed(e) for e in events if e.kind in ("override", "operator"))
    return ReleaseReport(release, tuple(timeline), tuple(overrides), tuple(build(store, r.id, release) for r in runs))


def _md_cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _markdown(report: ReleaseReport) -> str:
    out = [f"# Release {_md_cell(report.release)}: every run, in order", "",
           "| at | env | what | outcome |", "|---|---|---|---|"]
    out += [f"| {f.when(e.at)} | {_md_cell(e.env)} | {_md_cell(e.what)} | {_md_cell(e.outcome)} |" for e in report.timeline]
    out += ["", "## Overrides of the release", ""]
    if report.overrides:
        out += ["| at | guard or action | by | why | project | run |", "|---|---|---|---|---|---|"]
        out += [f"| {f.when(o.at)} | {_md_cell(o.guard)} | {_md_cell(o.by or 'unknown')} | {_md_cell(o.why or '')} | "
                f"{_md_cell(o.project or '')} | {o.run_id or ''} |" for o in report.overrides]
    else:
        out.append("None.")
    out.append("")
    for run in report.runs:
        out += ["---", "", render_markdown(run).replace("\n# ", "\n## ").replace("# ", "## ", 1)]
    return "\n".join(out) + "\n"


def _html(report: ReleaseReport) -> str:
    pages = [render_html(run) for run in report.runs]
    head = pages[0].split("<body>", 1)[0] if pages else "<!DOCTYPE html>\n<html><head></head>"
    head = re.sub(r"<title>.*?</title>", "<title>golive release report</title>", head, count=1)
    summary = _html_summary(report)
    bodies = [p.split("<body>", 1)[1].rsplit("</body>", 1)[0] for p in pages]
    return head + "<body>" + summary + "<hr>".join(bodies) + "</body></html>\n"


def _html_summary(report: ReleaseReport) -> str:
    rows = "".join(f"<tr><td>{escape(f.when(e.at))}</td><td>{escape(e.env)}</td><td>{escape(e.what)}</td>"
                   f"<td>{escape(e.outcome)}</td></tr>" for e in report.timeline)
    overrides = "".join(f"<tr><td>{escape(f.when(o.at))}</td><td>{escape(o.guard)}</td><td>{escape(o.by or 'unknown')}"
                        f"</td><td>{escape(o.why or '')}</td><td>{escape(o.project or '')}</td><td>{o.run_id or ''}</td></tr>"
                        for o in report.overrides)
    return (f"<h1>Release {escape(report.release)}: every run, in order</h1>"
            f"<table><tr><th>at</th><th>env</th><th>what</th><th>outcome</th></tr>{rows}</table>"
            "<h2>Overrides of the release</h2>"
            + (f"<table><tr><th>at</th><th>guard or action</th><th>by</th><th>why</th><th>project</th><th>run</th></tr>"
               f"{overrides}</table>" if overrides else '<p class="muted">None.</p>') + "<hr>")


def render_release(store: Store, release: str, fmt: str) -> str:
    report = build_release(store, release)
    if fmt in ("md", "markdown"):
        return _markdown(report)
    if fmt == "json":
        return json.dumps(report.to_dict(), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    if fmt == "html":
        return _html(report)
    raise UsageError(f"report --release is written as md, html or json, not '{fmt}'")
