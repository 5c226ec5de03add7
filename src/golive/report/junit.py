"""The report as JUnit XML, so a CI system shows a release's evidence as tests.

One test case per soak checkpoint × criterion, per item of each gate's
latest decision, per canary decision (promoted or rolled back; a DR canary
is its own, with its region), per check of any phase (preflight, verify,
validation: every kind of run has its cases) and per failed step that none
of those tells of. A failure carries the reason (value, threshold, worst
function, window) as its message. A measurement whose API failed is an
``<error>``, one with no data is ``<skipped>``. A checkpoint that failed on
its checks alone (an incident, an alarm) gets one extra case, so a failed
soak never shows green. Soaks superseded by a later one are left out: their
evidence stays in the other formats. Every text goes through ``textout.xml_text``:
a control character from a command's output would make the file unreadable XML.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from golive.report import formatting as f
from golive.report.model import ERROR, FAILED, INCONCLUSIVE, Report
from golive.store.statuses import StepStatus
from golive.textout import xml_text as x


@dataclass
class _Case:
    name: str
    classname: str
    failure: str | None = None
    error: str | None = None
    skipped: str | None = None
    details: list[str] = field(default_factory=list)


def cases(report: Report) -> dict[str, list[_Case]]:
    """Test cases by suite name."""
    suites: dict[str, list[_Case]] = {}
    for soak in report.soaks:
        if soak.superseded_by is not None:
            continue
        suite = suites.setdefault(f"soak {soak.env}", [])
        classname = f"golive.{report.release}.soak.{soak.env}"
        for cp in soak.checkpoints:
            label = f"checkpoint {cp.index} of {cp.of}" if cp.of else f"checkpoint {cp.index}"
            when = f"window {f.window(cp, full=True)}" + (" (late)" if cp.late else "")
            for cell in cp.cells:
                case = _Case(f"{label}: {cell.criterion}", classname, details=[cell.message, when])
                reason = f"{f.cell_text(cell)}; {when}"
                if cell.dry_run:
                    case.details.append(f"dry run: {cell.outcome}")
                elif cell.outcome == FAILED:
                    case.failure = reason
                elif cell.outcome == ERROR:
                    case.error = reason
                elif cell.outcome == INCONCLUSIVE:
                    case.skipped = f"inconclusive: {cell.message or 'no data'}"
                suite.append(case)
            if cp.outcome == "fail" and not any(c.failed for c in cp.cells):
                reason = "; ".join(cp.failures) or "; ".join(
                    f"{c.check} {c.target}: {c.summary or c.status}" for c in cp.checks if c.status not in ("pass", "warn"))
                suite.append(_Case(f"{label}: checks", classname, failure=reason or "checkpoint failed"))

    for gate in report.gates:
        if not gate.latest:
            continue
        suite = suites.setdefault(f"gate {gate.gate} {gate.env}", [])
        for item in gate.items:
            suite.append(_Case(f"{gate.gate}: {item.name}", f"golive.{report.release}.gate.{gate.gate}",
                               failure=None if item.ok else (item.detail or f"{item.name} not satisfied"),
                               details=[item.detail]))

    for canary in report.canaries:
        suite = suites.setdefault("canary", [])
        for step in canary.steps:
            if not step.decision:
                continue
            reason = "; ".join(x for x in [step.reason, f.judgement_text(step.judgement)] if x)
            suite.append(_Case(f"{canary.title}: {step.outcome} at {f.weight(step.weight)}",
                               f"golive.{report.release}.canary.{canary.project}"
                               + (f".{canary.region}" if canary.region else ""),
                               failure=(reason or "rolled back") if step.outcome == "rolled_back" else None,
                               details=[reason]))

    for check in report.checks:
        phase = check.phase or "checks"
        case = _Case(f"{check.check} {check.target}", f"golive.{report.release}.{phase}", details=[check.summary])
        if check.status == "fail":
            case.failure = check.summary or "failed"
        elif check.status == "error":
            case.error = check.summary or "no answer"
        suites.setdefault(phase if phase == "validation" else f"checks {phase}", []).append(case)

    # A failed step that no case above tells of (a deploy command, a workflow run): the run never shows green.
    told = {c.step_key for c in report.checks if c.status in ("fail", "error")}
    for row in report.steps:
        if row.status != StepStatus.FAILED or row.key in told or row.key.startswith(_TOLD_ELSEWHERE) \
                or row.phase in ("soak", "prod_soak"):
            continue
        suites.setdefault("steps", []).append(_Case(row.title, f"golive.{report.release}.{row.phase}",
                                                    failure=row.summary or "failed"))
    return suites


_TOLD_ELSEWHERE = ("canary.", "gate.")


def render_junit(report: Report) -> str:
    root = ET.Element("testsuites", name=x(f"golive {report.release} {report.version or ''}".strip()))
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for name, found in cases(report).items():
        counts = {"tests": len(found), "failures": sum(c.failure is not None for c in found),
                  "errors": sum(c.error is not None for c in found), "skipped": sum(c.skipped is not None for c in found)}
        suite = ET.SubElement(root, "testsuite", {"name": x(name), "timestamp": report.started_at.isoformat(),
                                                  **{k: str(v) for k, v in counts.items()}})
        for key, value in counts.items():
            totals[key] += value
        for case in found:
            element = ET.SubElement(suite, "testcase", name=x(case.name), classname=x(case.classname))
            if case.failure is not None:
                ET.SubElement(element, "failure", message=x(case.failure)).text = x(case.failure)
            if case.error is not None:
                ET.SubElement(element, "error", message=x(case.error)).text = x(case.error)
            if case.skipped is not None:
                ET.SubElement(element, "skipped", message=x(case.skipped))
            shown = [d for d in case.details if d and d not in (case.failure, case.error)]
            if shown:
                ET.SubElement(element, "system-out").text = x("\n".join(shown))
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
