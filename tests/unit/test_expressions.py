"""The local GitHub's expression evaluator, against the examples of GitHub's "Evaluate expressions" page.

Each expected value is the one GitHub documents (literals, operators, loose equality, falsy values, the
``format``/``contains``/``startsWith``/``endsWith``/``join`` examples), so the local GitHub renders a
``run-name`` as GitHub would, not as golive happens to expect.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from golive.sandbox.expressions import ExpressionError, evaluate, render, to_number, truthy

CONTEXTS: dict[str, Any] = {
    "github": {"ref": "refs/heads/main", "ref_name": "main", "actor": "octocat", "event_name": "workflow_dispatch",
               "event": {"inputs": {"golive_id": "g-1"},
                         "issue": {"labels": [{"name": "bug"}, {"name": "help wanted"}]}}},
    "inputs": {"golive_id": "g-1", "empty": "", "dry_run": False},
}


@pytest.mark.parametrize(("template", "text"), [
    # "Example of literals"
    ("${{ null }}", ""),
    ("${{ false }}", "false"),
    ("${{ 711 }}", "711"),
    ("${{ -9.2 }}", "-9.2"),
    ("${{ 0xff }}", "255"),
    ("${{ -2.99e-2 }}", "-0.0299"),
    ("Mona the Octocat", "Mona the Octocat"),
    ("${{ 'It''s open source!' }}", "It's open source!"),
    # format(): "Example" and "Example escaping braces"
    ("${{ format('Hello {0} {1} {2}', 'Mona', 'the', 'Octocat') }}", "Hello Mona the Octocat"),
    ("${{ format('{{Hello {0} {1} {2}!}}', 'Mona', 'the', 'Octocat') }}", "{Hello Mona the Octocat!}"),
    # join(): "Example" over an object filter
    ("${{ join(github.event.issue.labels.*.name, ', ') }}", "bug, help wanted"),
    # the documented ternary idiom
    ("${{ github.ref == 'refs/heads/main' && 'value_for_main_branch' || 'value_for_other_branches' }}",
     "value_for_main_branch"),
    # run-names people write
    ("deploy ${{ inputs.golive_id || github.ref_name }}", "deploy g-1"),
    ("deploy ${{ inputs.empty || github.ref_name }}", "deploy main"),
    ("deploy ${{ inputs.missing || github.ref_name }}", "deploy main"),
    ("Deploy to ${{ inputs.golive_id }} by @${{ github.actor }}", "Deploy to g-1 by @octocat"),
    ("${{ github.event.inputs.golive_id }}", "g-1"),
    ("${{ inputs.dry_run && 'dry' || 'real' }}", "real"),
])
def test_render_as_github_documents(template: str, text: str) -> None:
    assert render(template, CONTEXTS) == text


@pytest.mark.parametrize(("expr", "value"), [
    ("contains('Hello world', 'llo')", True),
    ("contains(github.event.issue.labels.*.name, 'bug')", True),
    ("startsWith('Hello world', 'He')", True),
    ("endsWith('Hello world', 'ld')", True),
    ("'abc' == 'ABC'", True),             # GitHub ignores case when comparing strings
    ("null == 0", True),                  # loose equality: null becomes 0
    ("true == 1", True),
    ("'1' == 1", True),
    ("'a' == 1", False),                  # NaN equals nothing
    ("!0", True),
    ("!''", True),
    ("!null", True),
    ("!'false'", False),                  # a non-empty string is truthy
    ("'' || 'b'", "b"),                   # || returns an operand, not a boolean
    ("'a' && ''", ""),
    ("true && 1 && 2", 2),
    ("null && true", None),
    ("3 > 2 && 2 >= 2", True),
    ("github.nope.deeper", None),         # a missing property is null, not an error
    ("GITHUB.REF_NAME", "main"),          # context and property names are case-insensitive
])
def test_operators_and_functions(expr: str, value: Any) -> None:
    assert evaluate(expr, CONTEXTS) == value


def test_falsy_values_and_coercion() -> None:
    assert [truthy(v) for v in (False, 0, -0.0, "", None)] == [False] * 5
    assert all(truthy(v) for v in (True, 1, "0", "false", {}, []))
    assert to_number(None) == 0 and to_number(True) == 1 and to_number("0x10") == 16
    assert math.isnan(to_number("abc"))


@pytest.mark.parametrize("expr", ["'unterminated", "nope(1)", "1 +", "format('{1}', 'a')", "\"double\""])
def test_what_github_rejects(expr: str) -> None:
    with pytest.raises(ExpressionError):
        evaluate(expr, CONTEXTS)
