"""What a deploy leaves in the sandbox's AWS follows the project's verify checks, ``dynamodb_table`` included."""

from __future__ import annotations

from pathlib import Path

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
