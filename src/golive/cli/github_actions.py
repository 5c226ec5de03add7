"""What a run shows inside GitHub Actions: the job summary and one annotation per failure.

When ``GITHUB_ACTIONS=true`` the runner reads two channels besides the log:
Markdown appended to the file named by ``$GITHUB_STEP_SUMMARY`` becomes the
job's summary page, and a ``::error title=T::message`` line on stdout becomes
an annotation on the run. Both are read by people who did not open the log, so
each failure names what failed and why, with every secret value redacted.

Workflow commands are one line each: the runner unescapes ``%25``, ``%0D``
and ``%0A`` in the message and, in a property such as ``title``, ``%3A`` and
``%2C`` too (the escaping of ``@actions/core``'s ``command.ts``), so a value
holding a newline, ``:`` or ``,`` cannot end the command early or forge another; other control
characters than CR and LF are made visible (an ESC would colour the log). Summary tables escape Markdown and HTML.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from golive.textout import markdown, visible


def escape_data(text: str) -> str:
    shown = "\r".join(visible(part) for part in text.split("\r"))  # CR and LF are escaped below, read back as such
    return shown.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def error_command(title: str, message: str) -> str:
    """``::error title=…::…``, escaped so the runner reads back exactly ``title`` and ``message``."""
    return f"::error title={escape_property(title)}::{escape_data(message)}"


@dataclass(frozen=True)
class GitHubActions:
    """The runner's channels for one golive command; every text passes through ``redact`` first."""

    summary_path: Path | None
    redact: Callable[[str], str]
    stdout: TextIO | None = None

    @classmethod
    def detect(cls, environ: Mapping[str, str], redact: Callable[[str], str]) -> GitHubActions | None:
        """The channels when running in GitHub Actions, else None (nothing extra is written)."""
        if environ.get("GITHUB_ACTIONS") != "true":
            return None
        summary = environ.get("GITHUB_STEP_SUMMARY")
        return cls(Path(summary) if summary else None, redact)

    def summary(self, markdown: str) -> None:
        """Append to the job summary (several golive steps in one job each add their part)."""
        if self.summary_path is None:
            return
        with self.summary_path.open("a", encoding="utf-8") as handle:
            handle.write(self.redact(markdown).rstrip("\n") + "\n\n")

    def error(self, title: str, message: str) -> None:
        stream = self.stdout or sys.stdout
        stream.write(error_command(self.redact(title), self.redact(message)) + "\n")
        stream.flush()


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A GitHub-flavoured Markdown table of text: ``|``, HTML and line breaks in a cell cannot break its row."""
    lines = ["| " + " | ".join(markdown(h) for h in headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(markdown(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
