"""Outside text comes out as itself from every renderer: Rich lines, HTML, Markdown, JUnit, the step summary.

Hypothesis writes text out of markup's own pieces (``[/x]``, ``[bold]``, ``[link=…]``, ANSI escapes,
``<script>``, ``|`` and line breaks, entities, XML-invalid characters) and each renderer's output is read
back the way its reader reads it: Rich's plain text, an HTML parser, a CommonMark renderer with GitHub's
tables, an XML parser, the Actions runner's unescaping. What is read back is the text itself, with control
characters shown as visible stand-ins (``textout.visible``), and no markup of its own.
"""

from __future__ import annotations

import contextlib
import io
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from golive.cli.commands.status import _status_lines
from golive.cli.github_actions import error_command
from golive.cli.github_actions import table as gha_table
from golive.cli.output import Output, Progress, styled
from golive.engine.outcome import Fail
from golive.evidence.gates import GateItem
from golive.redact import scrub
from golive.report.html import render_html
from golive.report.junit import render_junit
from golive.report.markdown import render_markdown
from golive.report.model import ApprovalRow, CheckRow, GateDecision, IncidentRow, Report, RollbackRow, StepRow
from golive.textout import html_text, markdown, rich, visible, xml_text

PIECES = ["[/x]", "[bold]", "[/bold]", "[/]", "[link=https://evil.example]", "[@click=quit]", "[#ff0000]", "\\",
          "\\[b]", ":warning:", "\x1b[31m", "\x1b]52;c;ZXZpbA==\x07", "\x1b[2J", "\r", "\x00", "\x08", "\x7f", "\x9b",
          "\ufffe", "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "<!--", "&amp;", "&#35;", "&lt;",
          "|", "||", "\n", "\t", "*", "**", "_", "`", "~~", "#", "- ", "> ", "[x](http://e)", "![i](x)",
          "<http://e>", "&", "<", ">", '"', "'", "%", "%0A", ":", ",", "::error::", " ", "\u202e", "\u2067", "\u200f"]
TEXT = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=4)), max_size=8).map("".join)
# Rich expands a tab to spaces (a terminal shows no tab either), and ``Output`` masks what looks like a credential
# (a URL's user info): neither is a markup question.
NO_TAB = TEXT.map(lambda s: s.replace("\t", " ")).filter(lambda s: scrub(s) == s)
AT = datetime(2026, 12, 5, 9, 10, tzinfo=UTC)


# -- Rich: what a terminal or a log shows ------------------------------------------------------------------------

def _printed(lines: list[str], *, err: bool = False) -> str:
    """The lines as ``Output`` prints them to a log (not a terminal: no colour codes), read back as text."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
        o = Output(json_mode=False)
        for line in lines:
            o.info(line) if err else o.print(line)
    return buffer.getvalue()


@given(NO_TAB)
@settings(max_examples=150, deadline=None)
def test_rich_markup_around_escaped_text_prints_the_text(text: str) -> None:
    for template in ("{}", "[red]{}[/red]", "[bold]{}[/bold] and [dim]{}[/dim]", "{}[yellow]!"):
        assert _printed([template.format(*[rich(text)] * template.count("{}"))]) == \
            template.replace("[red]", "").replace("[/red]", "").replace("[bold]", "").replace("[/bold]", "") \
            .replace("[dim]", "").replace("[/dim]", "").replace("[yellow]", "") \
            .format(*[visible(text)] * template.count("{}")) + "\n"


@given(NO_TAB.filter(bool))
@settings(max_examples=100, deadline=None)
def test_status_lines_print_every_outside_text_as_written(text: str) -> None:
    data: dict[str, Any] = {"release": text, "runs": [{
        "kind": "release", "env": text, "run": 1, "status": text, "steps_done": 1, "steps_total": 2, "reason": text,
        "phases": [{"phase": text, "status": "failed"}],
        "canaries": [{"project": text, "weight": 10.0, "verdict": "fail", "reason": text}],
        "due": [text]}],
        "open_incidents": [{"id": 1, "severity": "P1", "title": text}]}
    shown = visible(text)
    assert _printed(_status_lines(data)) == (
        f"release {shown} run 1: {shown} (1/2 steps) — {shown}\n"
        f"  {shown.ljust(14)} failed\n"
        f"  canary {shown} at 10%, last verdict fail: {shown}\n"
        f"  next {shown}\n"
        f"open incident 1 P1 {shown}\n")
    assert _printed([styled(text)]) == shown + "\n"


@given(NO_TAB)
@settings(max_examples=100, deadline=None)
def test_progress_lines_print_titles_and_reasons_as_written(text: str) -> None:
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
        progress = Progress(Output(json_mode=False), live=False)
        progress._line("step_failed", {"title": text, "virtual_now": AT, "outcome": Fail(text)})
        progress._line("rollback", {"project": text, "seconds": 1.5, "reason": text, "virtual_now": AT})
        progress._line("retry", {"line": text, "virtual_now": AT})
        progress.close()
    shown = visible(text)
    assert buffer.getvalue() == (f"Sat 05 09:10 UTC ✗ {shown}: {visible(text[:300])}\n"
                                 f"Sat 05 09:10 UTC   {shown} ROLLED BACK in 1.5 s: {shown}\n"
                                 f"Sat 05 09:10 UTC   {shown}\n")


# -- the reports --------------------------------------------------------------------------------------------------

def _report(text: str) -> Report:
    return Report(
        release=text, version=text, env="prod", envs=("prod",), run_id=1, run_kind="release", status="no_go",
        reason=text, started_at=AT, ended_at=AT,
        steps=(StepRow("gate.go_no_go", "gate", text, "failed", "fail", text, AT, AT),),
        soaks=(),
        gates=(GateDecision(text, "prod", "NO-GO", AT, (GateItem(text, False, text),), (text,), True),),
        approvals=(ApprovalRow("go_no_go", "prod", text, text, text, AT, False),),
        incidents=(IncidentRow(1, "prod", "P1", text, "open", AT, None),),
        canaries=(),
        rollbacks=(RollbackRow(AT, text, text, 1.0, (text,)),),
        availability=(),
        checks=(CheckRow(text, text, "fail", text, phase="verify"),))


class _Html(HTMLParser):
    """The text of each element as a browser shows it, with every tag and attribute seen."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.cells: list[str] = []
        self.open: list[list[str]] = []
        self.tags: set[str] = set()
        self.attrs: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attrs.update(name for name, _ in attrs)
        if tag == "br" and self.open:
            self.open[-1].append("\n")
        elif tag in ("td", "th", "li", "h1", "h2", "h3", "p", "title"):
            self.open.append([])

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th", "li", "h1", "h2", "h3", "p", "title") and self.open:
            self.cells.append("".join(self.open.pop()))

    def handle_data(self, data: str) -> None:
        for part in self.open:
            part.append(data)


def _read_html(text: str) -> _Html:
    parser = _Html()
    parser.feed(text)
    parser.close()
    return parser


HTML_TAGS = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "strong", "span", "table",
             "thead", "tbody", "tr", "th", "td", "ul", "li", "div", "br"}


@given(TEXT)
@settings(max_examples=100, deadline=None)
def test_the_html_report_shows_outside_text_as_itself(text: str) -> None:
    page = _read_html(render_html(_report(text)))
    shown = visible(text)
    assert page.tags <= HTML_TAGS and page.attrs <= {"class", "lang", "charset", "title"}
    # incident title, approval note and by, gate item and detail, step title and summary, rollback reason, checks
    assert page.cells.count(shown) >= 10, (shown, page.cells)
    assert f"Reason: {shown}" in page.cells or not text


MD = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
MD_TAGS = {"h1", "h2", "h3", "p", "strong", "table", "thead", "tbody", "tr", "th", "td", "ul", "li", "br"}


@given(TEXT)
@settings(max_examples=100, deadline=None)
def test_the_markdown_report_shows_outside_text_as_itself(text: str) -> None:
    page = _read_html(MD.render(render_markdown(_report(text))))
    shown = visible(text).strip()  # a table cell's and a heading's edges are trimmed by Markdown itself
    assert page.tags <= MD_TAGS and not page.attrs, page.tags
    cells = [cell.strip() for cell in page.cells]
    assert cells.count(shown) >= 10, (shown, cells)
    assert f"{visible(text)} for prod: NO-GO at 2026-12-05 09:10 UTC".strip() in cells, cells


@given(TEXT)
@settings(max_examples=100, deadline=None)
def test_the_junit_report_is_xml_with_outside_text_as_itself(text: str) -> None:
    root = ET.fromstring(render_junit(_report(text)))
    shown = visible(text)
    failures = [f.get("message") for f in root.iter("failure")]
    assert (shown in failures or not text) and all(f.text == f.get("message") for f in root.iter("failure"))
    assert any(case.get("name") == f"{shown}: {shown}" for case in root.iter("testcase"))


@given(TEXT, TEXT)
@settings(max_examples=150, deadline=None)
def test_the_step_summary_and_annotations_keep_outside_text_as_itself(title: str, message: str) -> None:
    page = _read_html(MD.render(gha_table(["item", "detail"], [[title, message]])))
    assert page.tags <= MD_TAGS and not page.attrs
    assert [c.strip() for c in page.cells] == ["item", "detail", visible(title).strip(),
                                                    visible(message).strip()]
    command = error_command(title, message)
    assert "\n" not in command and "\r" not in command
    head, _, data = command.partition("::")[2].partition("::")
    assert head.startswith("error title=")

    assert _runner_reads(head.removeprefix("error title="), prop=True) == _annotation_shows(title)
    assert _runner_reads(data) == _annotation_shows(message)


def _annotation_shows(text: str) -> str:
    """A workflow command carries CR and LF escaped, read back as such; other control characters visible."""
    return "\r".join(visible(part) for part in text.split("\r"))


def _runner_reads(value: str, *, prop: bool = False) -> str:
    """A workflow command's value as the Actions runner unescapes it (``%25`` last, as it was escaped first)."""
    codes = [("%0D", "\r"), ("%0A", "\n")] + ([("%3A", ":"), ("%2C", ",")] if prop else []) + [("%25", "%")]
    for code, char in codes:
        value = value.replace(code, char)
    return value


BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def test_no_bidirectional_control_reaches_a_reader() -> None:
    # "order_lambda \u202edeliart\u202c" would print as "order_lambda tailed" reversed: a run's title or a commit
    # message could make a line read other than it is (Trojan Source). Every renderer shows a stand-in instead.
    text = "order_lambda \u202edellor kcab\u202c ok " + BIDI
    for render in (visible, rich, html_text, markdown, xml_text):
        shown = render(text)
        assert not set(shown) & set(BIDI), (render.__name__, shown)
        assert "dellor kcab" in shown
    assert not set(_printed([rich(text)])) & set(BIDI)
