"""The redactor searches only where a credential can be, and masks exactly what a search of everything would.

Each shape skips a text that lacks its needles and reads only the lines, or the URLs, that hold one (a
report is megabytes). Texts built from the pieces the patterns turn on (schemes, ``://``, ``@``, line
breaks, quotes, the Unicode letters that fold onto ASCII, needles in every case) must come out of the
scoped search exactly as out of the pattern run over the whole text.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from golive.redact import _SHAPES, MASK, Redactor, _keep_prefix

PIECES = [
    "a", "Z", "1", "+", ".", "-", "_", ":", "/", "@", " ", "\n", "'", '"', "<", ">", "=", "?", "&", ";", "#",
    "\u212a", "\u017f", "\u0130", "\u0131", "ß", "é",
    "://", "http", "HTTPS", "s3", "x+y.z-", "user:pa55", "tok", "host/", "@h",
    "secret", "Secret", "SECRET", "sEcReT", "token=", "KEY=", "api_key=", "x-amz-signature=", "Code=",
    "authorization: bearer ", "Authorization:\n token ", "aws_secret_access_key = ", "AWS_SESSION_TOKEN:",
    "hooks.slack.com/services/", "discordapp.com/api/webhooks/12/", "ghp_", "github_pat_",
    "A" * 20, "b" * 40, "Ab0/+=" * 7,
    "_http://", "ßx://", "é1a://", "+ftp://", "-\u212ax://", "u:p@", "tok@",
]
texts = st.lists(st.sampled_from(PIECES), max_size=40).map("".join)


@settings(max_examples=400, deadline=None)
@given(texts)
def test_each_shape_masks_what_a_whole_text_search_masks(text: str) -> None:
    for shape in _SHAPES:
        expected = shape.pattern.sub(_keep_prefix, text)
        assert shape.sub(text, text.casefold()) == expected, (shape.pattern.pattern, text)


@settings(max_examples=200, deadline=None)
@given(texts)
def test_the_redactor_is_the_shapes_in_order_over_the_whole_text(text: str) -> None:
    expected = text
    for shape in _SHAPES:
        expected = shape.pattern.sub(_keep_prefix, expected)
    assert Redactor()(text) == expected


def test_credentials_far_into_a_long_text_are_found() -> None:
    filler = ("<td>errors on fn-prod:live@2</td> ok " * 5000 + "\n") * 20
    text = (filler + "see https://deploy:hunter2pass@git.example.com/repo and ?token=abc123 here\n" + filler
            + "x" * 40 + " is the secret\n")
    masked = Redactor()(text)
    assert "hunter2pass" not in masked and "abc123" not in masked and "x" * 40 not in masked
    assert masked.count(MASK) == 3
    assert masked.count("live@2") == text.count("live@2")


def test_a_value_added_after_the_redactor_was_used_is_masked_longest_first() -> None:
    redact = Redactor(["abcd"])
    assert redact("x abcdefgh y") == f"x {MASK}efgh y"
    redact.add("abcdefgh")  # the values are sorted once per set of values: a new one sorts them again
    assert redact("x abcdefgh y") == f"x {MASK} y"
    redact.add("zzzz")
    assert redact("zzzz abcd") == f"{MASK} {MASK}"
