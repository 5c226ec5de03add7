"""docs/plan-reference.md is generated from the model: it must match a fresh rendering."""

from pathlib import Path

from golive.plan.reference import render

DOC = Path(__file__).resolve().parents[2] / "docs" / "plan-reference.md"


def test_plan_reference_is_in_step_with_the_model() -> None:
    assert DOC.read_text(encoding="utf-8") == render(), (
        "docs/plan-reference.md is stale: python -m golive.plan.reference > docs/plan-reference.md"
    )


def test_reference_lists_every_plan_key_and_check() -> None:
    text = render()
    for key in ("`environments`", "`batches`", "`soak`", "`gates`", "`rollback`", "`freeze`", "`risks`", "`sandbox`",
                "`lambda_canary`", "`steps`", "`bake`", "`weight`"):
        assert key in text, key
    for check in ("aws_account", "vpc", "github_secrets", "lambda_active", "acm_certificate", "incidents"):
        assert f"**`{check}`**" in text
