"""Text that goes out, kept as text in every format golive writes.

The other half of ``golive.textinput``: whatever a plan, an operator, the page, AWS, GitHub or a command
wrote is data, never markup, wherever golive renders it. Each output format has its own syntax (Rich markup
on a terminal, HTML, Markdown tables, XML, GitHub workflow commands), so each has its escape here, and each
first makes control characters visible (an ESC would rewrite the terminal, a NUL is invalid XML): the reader
sees ``␛[31m`` rather than red text. Rendered and read back, an escaped text is the text itself.
"""

from __future__ import annotations

import html
import re

# C0 controls but tab and newline, and DEL: shown as their Unicode control pictures (U+2400..U+2421).
_C0 = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# C1 controls, lone surrogates, the two non-characters XML forbids, and the bidirectional controls (embeddings,
# overrides, isolates, marks: an RLO in a run's title would print the rest of the line reversed, "Trojan Source"):
# no picture exists, so U+FFFD.
_UNSHOWABLE = re.compile("[\x80-\x9f\ud800-\udfff\ufffe\uffff\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
REPLACEMENT = "\ufffd"


def _picture(match: re.Match[str]) -> str:
    code = ord(match.group())
    return "\u2421" if code == 0x7F else chr(0x2400 + code)


def visible(text: object) -> str:
    """``text`` with every control character but tab and newline replaced by a visible stand-in."""
    return _UNSHOWABLE.sub(REPLACEMENT, _C0.sub(_picture, str(text)))


# Rich's tag syntax (rich.markup.RE_TAGS): a ``[`` starting a tag, with the backslashes before it.
_RICH_TAG = re.compile(r"(\\*)(\[[a-z#/@][^[]*?])")
_TRAILING_BACKSLASHES = re.compile(r"\\+$")


def rich(text: object) -> str:
    """Outside text for a Rich markup string: its markup inert, its control characters visible.

    ``rich.markup.escape`` doubles one trailing backslash (right when a tag follows, wrong at the end of the
    string) and leaves two alone (wrong when a tag follows); here trailing backslashes are doubled and followed
    by an empty style, so they print as written whatever comes after.
    """
    body = _RICH_TAG.sub(lambda m: f"{m.group(1)}{m.group(1)}\\{m.group(2)}", visible(text))
    trailing = _TRAILING_BACKSLASHES.search(body)
    if trailing is None:
        return body
    return body[:trailing.start()] + trailing.group() * 2 + "[default][/default]"


def html_text(text: object) -> str:
    """Outside text for HTML (element content or a quoted attribute)."""
    return html.escape(visible(text), quote=True)


# Markdown punctuation that can start or end inline syntax (emphasis, code, links, strikethrough, headings,
# table cells) gets a backslash, which CommonMark allows before any ASCII punctuation. A ``<`` that could open
# a tag, comment or autolink and an ``&`` that could start an entity become entities, so no raw HTML gets
# through; ``error_rate < 0.1%`` stays readable (an ``_`` inside a word and a ``<`` before a space are text).
_MD_PUNCT = re.compile(r"[\\`*\[\]#|~]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
_MD_HTML = re.compile(r"<(?=[A-Za-z/!?])|&(?=[#A-Za-z])")


def markdown(text: object) -> str:
    """Outside text for Markdown: no emphasis, link, code, HTML or table syntax; a line break is ``<br>``."""
    escaped = _MD_PUNCT.sub(lambda m: "\\" + m.group(), visible(text))
    escaped = _MD_HTML.sub(lambda m: "&lt;" if m.group() == "<" else "&amp;", escaped)
    return escaped.replace("\n", "<br>")


# What would open a block where the text starts a line (a list item's text): a quote, a list marker, a numbered
# item, or indentation (written as entities, which CommonMark never reads as indentation).
_MD_BLOCK_START = re.compile(r"^(?:[>+=-]|\d{1,9}(?=[.)]))")
_MD_INDENT = re.compile(r"^[ \t]+")


def markdown_item(text: object) -> str:
    """Outside text that starts a line of Markdown (``- {text}``): ``markdown``, and no block opened by its head."""
    escaped = _MD_INDENT.sub(lambda m: "".join(f"&#{ord(c)};" for c in m.group()), markdown(text))
    return _MD_BLOCK_START.sub(lambda m: m.group() + "\\" if m.group()[0].isdigit() else "\\" + m.group(), escaped)


def xml_text(text: object) -> str:
    """Outside text for XML: characters XML 1.0 cannot hold made visible (the serialiser escapes the rest)."""
    return visible(text)
