"""Reading a Terraform JSON plan: counts by action, data-holding deletes and replacements by address, the hash."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from golive.tfplan import DATA_TYPES, PlanJsonError, action_of, summarize


def change(address: str, actions: list[str], *, mode: str = "managed") -> dict[str, Any]:
    kind, _, name = address.rpartition(".")
    kind = kind.split(".")[-1] if kind.startswith("module.") else kind
    return {"address": address, "mode": mode, "type": kind, "name": name,
            "provider_name": "registry.terraform.io/hashicorp/aws",
            "change": {"actions": actions, "before": None, "after": None}}


def plan(*changes: dict[str, Any], version: str = "1.2") -> bytes:
    return json.dumps({"format_version": version, "terraform_version": "1.9.8",
                       "resource_changes": list(changes)}).encode()


def test_each_action_is_counted_and_both_replacement_orders_are_replacements() -> None:
    raw = plan(change("aws_lambda_function.api", ["create"]), change("aws_iam_role.deploy", ["update"]),
               change("aws_sns_topic.old", ["delete"]), change("aws_lambda_alias.live", ["delete", "create"]),
               change("aws_cloudwatch_log_group.api", ["create", "delete"]), change("aws_s3_object.a", ["no-op"]),
               change("aws_iam_policy.gone", ["forget"]))
    summary = summarize(raw)
    assert (summary.creates, summary.updates, summary.deletes, summary.replaces) == (1, 1, 1, 2)
    assert summary.data_changes == ()  # none of these types holds data
    assert summary.counts == "1 to create, 1 to update, 1 to delete, 2 to replace"
    assert summary.terraform_version == "1.9.8"
    assert action_of(["delete", "create"]) == action_of(["create", "delete"]) == "replace"


def test_every_delete_or_replace_of_a_data_holding_type_is_named_by_address() -> None:
    raw = plan(change("aws_dynamodb_table.tenants", ["delete", "create"]),
               change("aws_dynamodb_table.products", ["update"]),
               change("aws_s3_bucket.templates", ["delete"]),
               change("module.db.aws_rds_cluster.main", ["create", "delete"]),
               change("aws_kms_key.data", ["create"]),
               change("aws_lambda_function.api", ["delete"]))
    summary = summarize(raw)
    assert [(c.action, c.address, c.type) for c in summary.data_changes] == [
        ("replace", "aws_dynamodb_table.tenants", "aws_dynamodb_table"),
        ("delete", "aws_s3_bucket.templates", "aws_s3_bucket"),
        ("replace", "module.db.aws_rds_cluster.main", "aws_rds_cluster"),
    ]
    assert summary.data_changes[0].line() == "replace aws_dynamodb_table.tenants"


def test_the_plan_extends_the_data_holding_types() -> None:
    raw = plan(change("aws_opensearch_domain.search", ["delete"]))
    assert summarize(raw).data_changes == ()
    extended = summarize(raw, [*DATA_TYPES, "aws_opensearch_domain"])
    assert [c.address for c in extended.data_changes] == ["aws_opensearch_domain.search"]


def test_a_data_source_read_and_a_forget_lose_nothing() -> None:
    raw = plan(change("data.aws_dynamodb_table.tenants", ["read"], mode="data"),
               change("aws_dynamodb_table.legacy", ["forget"]))
    summary = summarize(raw)
    assert summary.data_changes == ()
    assert (summary.creates, summary.updates, summary.deletes, summary.replaces) == (0, 0, 0, 0)


def test_the_hash_is_of_the_bytes_read_so_any_change_to_the_plan_changes_it() -> None:
    raw = plan(change("aws_dynamodb_table.tenants", ["delete", "create"]))
    assert summarize(raw).sha256 == hashlib.sha256(raw).hexdigest()
    other = plan(change("aws_dynamodb_table.tenants", ["delete", "create"]), change("aws_sqs_queue.q", ["create"]))
    assert summarize(other).sha256 != summarize(raw).sha256
    assert summarize(raw).sha256 == summarize(bytes(raw)).sha256  # the same plan, the same hash


def test_a_plan_without_changes_is_an_empty_summary() -> None:
    summary = summarize(json.dumps({"format_version": "1.0"}).encode())
    assert (summary.creates, summary.updates, summary.deletes, summary.replaces, summary.data_changes) == \
        (0, 0, 0, 0, ())


@pytest.mark.parametrize(("raw", "says"), [
    (b"not json", "not JSON"),
    (b"[]", "not an object"),
    (json.dumps({"resource_changes": []}).encode(), "format_version is missing"),
    (plan(version="2.0"), "major version 1 only"),
    (json.dumps({"format_version": "1.2", "resource_changes": {}}).encode(), "resource_changes is not a list"),
    (json.dumps({"format_version": "1.2", "resource_changes": [{"address": "x"}]}).encode(), "has no change"),
    (plan({"address": "a.b", "type": "a", "change": {"actions": "delete"}}), "is not a list of actions"),
    (plan({"change": {"actions": ["delete"]}, "type": "aws_s3_bucket"}), "address is not a name"),
    (b"[" * 300 + b"]" * 300, "nests deeper"),
])
def test_what_is_not_a_terraform_json_plan_is_one_clear_error(raw: bytes, says: str) -> None:
    with pytest.raises(PlanJsonError, match=says):
        summarize(raw)
