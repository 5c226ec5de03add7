"""Reading a Terraform plan as ``terraform show -json`` prints it: what it creates, updates, deletes, replaces.

A release must not destroy data by accident, and a Terraform plan is where that shows before it happens: a
renamed key or a changed ``hash_key`` makes Terraform replace a DynamoDB table (delete it and create an
empty one). This module reads the plan's JSON representation (Terraform's "JSON Output Format",
https://developer.hashicorp.com/terraform/internals/json-format): ``format_version`` (major version 1;
another major version is refused, as the format's rules ask), and for each entry of ``resource_changes``
its ``address``, ``type``, ``mode`` and ``change.actions``: ``["no-op"]``, ``["create"]``, ``["read"]``,
``["update"]``, ``["delete"]``, ``["delete", "create"]`` or ``["create", "delete"]`` (a replacement, in
either order), ``["forget"]`` (removed from the state only: nothing is destroyed). Every delete or
replacement of a resource type that holds data (``DATA_TYPES``, extendable by the plan) is named.

The summary carries the SHA-256 of the plan JSON's bytes as they were read: an approval is of that hash,
so a plan that changes in any way needs a new one. Outside text: the JSON is checked for size and depth
(``textinput.json_depth_exceeds``) and every name read from it is kept as data, printed through ``textout``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from golive.errors import ConfigError
from golive.textinput import json_depth_exceeds

# Resource types whose deletion loses data: tables, buckets, databases, file systems, caches, keys.
DATA_TYPES: tuple[str, ...] = (
    "aws_dynamodb_table", "aws_s3_bucket", "aws_db_instance", "aws_rds_cluster", "aws_efs_file_system",
    "aws_elasticache_cluster", "aws_elasticache_replication_group", "aws_kms_key",
)
PLAN_MAX_BYTES = 50_000_000  # a plan's JSON larger than this is refused (golive keeps only its summary)
PLAN_MAX_DEPTH = 256  # attribute values nest; deeper than this is not a plan golive reads
REPLACE_ORDERS = (("delete", "create"), ("create", "delete"))


class PlanJsonError(ConfigError):
    """The text is not a Terraform plan in JSON as ``terraform show -json`` prints it."""


@dataclass(frozen=True)
class DataChange:
    """A delete or replacement of a resource that holds data: what golive asks an approval for."""

    address: str
    type: str
    action: str  # "delete" or "replace"

    def line(self) -> str:
        return f"{self.action} {self.address}"


@dataclass(frozen=True)
class PlanSummary:
    """What a plan does, counted, and by address every data-holding resource it deletes or replaces."""

    sha256: str
    format_version: str
    terraform_version: str | None
    creates: int = 0
    updates: int = 0
    deletes: int = 0
    replaces: int = 0
    data_changes: tuple[DataChange, ...] = field(default_factory=tuple)

    @property
    def counts(self) -> str:
        return f"{self.creates} to create, {self.updates} to update, {self.deletes} to delete, " \
               f"{self.replaces} to replace"


def sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def action_of(actions: Sequence[str]) -> str:
    """One word for a change's ``actions``: create, update, delete, replace, no-op, read, forget (or as given)."""
    if tuple(actions) in REPLACE_ORDERS:
        return "replace"
    if len(actions) == 1:
        return actions[0]
    return "+".join(actions)


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise PlanJsonError(f"not a Terraform JSON plan: {what} is not a name")
    return value


def summarize(raw: bytes, data_types: Iterable[str] = DATA_TYPES) -> PlanSummary:
    """The summary of a plan JSON (``terraform show -json PLANFILE``); ``PlanJsonError`` when it is not one."""
    if len(raw) > PLAN_MAX_BYTES:
        raise PlanJsonError(f"the Terraform JSON plan is {len(raw)} bytes, more than golive reads ({PLAN_MAX_BYTES})")
    if json_depth_exceeds(raw, PLAN_MAX_DEPTH):
        raise PlanJsonError(f"the Terraform JSON plan nests deeper than {PLAN_MAX_DEPTH} levels")
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise PlanJsonError(f"the Terraform plan is not JSON ({exc})") from None
    if not isinstance(doc, Mapping):
        raise PlanJsonError("not a Terraform JSON plan: the document is not an object")
    version = doc.get("format_version")
    if not isinstance(version, str) or not version:
        raise PlanJsonError("not a Terraform JSON plan: format_version is missing (terraform show -json PLANFILE)")
    if version.split(".", 1)[0] != "1":
        raise PlanJsonError(f"Terraform JSON plan format_version {version}: golive reads major version 1 only")
    changes = doc.get("resource_changes", [])
    if not isinstance(changes, list):
        raise PlanJsonError("not a Terraform JSON plan: resource_changes is not a list")
    kinds = frozenset(data_types)
    counts = {"create": 0, "update": 0, "delete": 0, "replace": 0}
    data: list[DataChange] = []
    for i, entry in enumerate(changes):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("change"), Mapping):
            raise PlanJsonError(f"not a Terraform JSON plan: resource_changes[{i}] has no change")
        actions = entry["change"].get("actions")
        if not isinstance(actions, list) or not actions or not all(isinstance(a, str) for a in actions):
            raise PlanJsonError(f"not a Terraform JSON plan: resource_changes[{i}].change.actions is not a list of "
                                "actions")
        if entry.get("mode", "managed") != "managed":
            continue  # a data source is only read
        action = action_of(actions)
        if action in counts:
            counts[action] += 1
        if action in ("delete", "replace"):
            kind = _text(entry.get("type"), f"resource_changes[{i}].type")
            if kind in kinds:
                data.append(DataChange(_text(entry.get("address"), f"resource_changes[{i}].address"), kind, action))
    terraform = doc.get("terraform_version")
    return PlanSummary(sha256=sha256(raw), format_version=version,
                       terraform_version=terraform if isinstance(terraform, str) else None,
                       creates=counts["create"], updates=counts["update"], deletes=counts["delete"],
                       replaces=counts["replace"], data_changes=tuple(data))
