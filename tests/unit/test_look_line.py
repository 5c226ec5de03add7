"""Each canary look says one thing: the decision in words, the reason that decided it, then the numbers."""

from __future__ import annotations

from typing import Any

import pytest

from golive.analysis.look_line import line

WAITING = "trigger p95_duration > 5s for 2m has 128 of 300 calls (window grows to 5m)"


def judgement(outcome: str) -> dict[str, Any]:
    return {"outcome": outcome, "final": False, "results": [
        {"metric": "errors", "scope": "pooled (3 functions)", "outcome": outcome, "statistic": 2.0, "n_canary": 370.0,
         "effect": 0.8},
        {"metric": "p95_duration", "scope": "pooled (3 functions)", "outcome": outcome, "statistic": 15.0,
         "n_canary": 370.0, "quantile": 0.95, "tolerance": 0.1}]}


def test_the_issue_line_waiting_on_a_trigger_with_a_judge_that_passed() -> None:
    said = line("cart", 10.0, "inconclusive", WAITING, judgement("Successful"))
    assert said == ("cart at 10%: waiting for data — trigger p95_duration > 5s for 2m has 128 of 300 calls (window "
                    "grows to 5m); judge: no worse than stable (errors 2 of 370, x0.8 the stable's rate; 15 of 370 "
                    "calls above stable p95 x1.1 (5% allowed))")


@pytest.mark.parametrize("verdict", ["ok", "inconclusive", "fail"])
@pytest.mark.parametrize("outcome", ["Successful", "Inconclusive", "Failed"])
def test_a_line_never_says_two_verdicts(verdict: str, outcome: str) -> None:
    why = "judge: canary no worse than stable on 2 metrics" if verdict != "inconclusive" else WAITING
    said = line("cart", 50.0, verdict, why, judgement(outcome))
    assert "Successful" not in said and "Inconclusive" not in said and "inconclusive" not in said
    assert said.count("—") == 1 and said.count("judge:") == 1


def test_a_look_the_judge_decided_reads_its_words_once() -> None:
    said = line("cart", 10.0, "ok", "judge: canary no worse than stable on 2 metrics", judgement("Successful"))
    assert said.startswith("cart at 10%: healthy so far — judge: no worse than stable (errors 2 of 370")


def test_a_tail_line_read_before_the_shift_says_the_stables_own_share_is_what_is_allowed() -> None:
    found = judgement("Successful")
    found["results"][1].update(before=True, expected=0.047)
    said = line("cart", 10.0, "ok", "judge: canary no worse than stable on 2 metrics", found)
    assert said.endswith("15 of 370 calls above stable p95 x1.1 (the stable 4.7% above its p95))"), said
