"""Reports: the evidence of a run, rendered as Markdown, HTML, JSON or JUnit.

``render(store, run_id, release, fmt)`` is what ``golive report`` calls,
``render_many`` what ``golive rehearse`` calls for its three formats (one
reading of the store); ``build`` gives the model itself to callers that want
the numbers (a summary printed at the end of a rehearsal).
"""

from __future__ import annotations

import json

from golive.errors import UsageError
from golive.redact import Redactor
from golive.report.html import render_html
from golive.report.junit import render_junit
from golive.report.markdown import render_markdown
from golive.report.model import Report, build
from golive.store.store import Store

FORMATS = ("md", "html", "json", "junit")

__all__ = ["FORMATS", "Report", "build", "render", "render_many", "render_report"]


def render_report(report: Report, fmt: str) -> str:
    """One format of an already built report."""
    if fmt in ("md", "markdown"):
        return render_markdown(report)
    if fmt == "html":
        return render_html(report)
    if fmt == "json":
        return json.dumps(report.to_dict(), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    if fmt in ("junit", "xml"):
        return render_junit(report)
    raise UsageError(f"unknown report format '{fmt}' (known: {', '.join(FORMATS)})")


def render(store: Store, run_id: int | None, release: str, fmt: str, *, redact: Redactor | None = None) -> str:
    """The report of a run (the latest run of ``release`` when ``run_id`` is None) in ``fmt``.

    Events are redacted when stored; the text is passed through ``redact`` once more on the way out.
    """
    return render_many(store, run_id, release, (fmt,), redact=redact)[fmt]


def render_many(store: Store, run_id: int | None, release: str, fmts: tuple[str, ...], *,
                redact: Redactor | None = None) -> dict[str, str]:
    """The report in several formats, from one reading of the store."""
    for fmt in fmts:
        if fmt not in (*FORMATS, "markdown", "xml"):
            raise UsageError(f"unknown report format '{fmt}' (known: {', '.join(FORMATS)})")
    report = build(store, run_id, release)
    scrubbed = redact or Redactor()
    return {fmt: scrubbed(render_report(report, fmt)) for fmt in fmts}
