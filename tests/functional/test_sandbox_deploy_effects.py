"""What a deploy leaves in the sandbox's AWS follows the project's verify checks, ``dynamodb_table`` included."""

from __future__ import annotations

from pathlib import Path

import pytest

from golive.errors import PlanError
from golive.examples import example_plan
from golive.plan.validate import load_plan_text
from golive.sandbox.world import SandboxWorld

TABLES = "- dynamodb_tables: [tenants, products, campaigns]"


def test_a_dynamodb_table_verify_names_a_table_the_deploy_creates(tmp_path: Path) -> None:
    text = example_plan("bbws").replace(
        TABLES, TABLES + "\n      - dynamodb_table: {name: \"orders-ledger-{env}\", hash_key: LedgerId}", 1)
    plan = load_plan_text(text)
    world = SandboxWorld(plan, "prod").start()
    try:
        def table(env: str) -> dict[str, object] | None:
            client = world.aws(env).client("dynamodb")
            if f"orders-ledger-{env}" not in client.list_tables()["TableNames"]:
                return None
            return dict(client.describe_table(TableName=f"orders-ledger-{env}")["Table"])

        assert table("prod") is None  # the release has not reached PROD yet
        sit = table("sit")  # SIT was released before: it already has what the deploy makes
        assert sit is not None and sit["KeySchema"] == [{"AttributeName": "LedgerId", "KeyType": "HASH"}]
        assert world.effects is not None
        world.effects.apply("dynamodb_schemas")
        prod = table("prod")
        assert prod is not None and prod["KeySchema"] == [{"AttributeName": "LedgerId", "KeyType": "HASH"}]
    finally:
        world.stop()


def test_a_deploy_publishes_the_functions_the_sandbox_section_names(tmp_path: Path) -> None:
    functions = [f"2-1-bbws-tf-order-{verb}-prod" for verb in ("get", "list")]
    text = example_plan("bbws").replace("sandbox:\n", "sandbox:\n  command_publishes:\n    order_lambda: ["
                                        + ", ".join(functions) + "]\n", 1)
    world = SandboxWorld(load_plan_text(text), "prod").start()
    try:
        assert world.effects is not None
        lam = world.aws("prod").client("lambda")

        def newest(fn: str) -> int:
            return max(int(v["Version"]) for v in lam.list_versions_by_function(FunctionName=fn)["Versions"]
                       if v["Version"] != "$LATEST")

        # moto's backends live in the process: another world of this test process may have published before.
        before = {fn: newest(fn) for fn in [*functions, "2-1-bbws-tf-order-create-prod"]}
        world.command_deployed("order_lambda")
        assert [newest(fn) for fn in functions] == [before[fn] + 1 for fn in functions]
        unnamed = "2-1-bbws-tf-order-create-prod"
        assert newest(unnamed) == before[unnamed]  # not named: not published
    finally:
        world.stop()


def test_command_publishes_must_name_a_project() -> None:
    text = example_plan("bbws").replace("sandbox:\n", "sandbox:\n  command_publishes:\n    ordr_lambda: [f]\n", 1)
    with pytest.raises(PlanError, match=r"sandbox\.command_publishes\.ordr_lambda: no project 'ordr_lambda'"):
        load_plan_text(text)
