"""Terraform plans in the sandbox: what a project's plan workflow uploads, shaped as ``terraform show -json``.

A project with ``terraform: {plan_workflow: ...}`` gets that workflow in its local repository; when a run of
it succeeds, the local GitHub uploads the artifact this module makes: a zip holding the saved plan
(``tfplan``, opaque here) and its JSON (``tfplan.json``) with ``format_version``, ``terraform_version`` and
``resource_changes[]`` (``address``, ``mode``, ``type``, ``name``, ``provider_name``, ``change.actions``,
``before``, ``after``). The resources are what the project's deploy creates (its tables and buckets, read
from its ``verify`` checks, as the deploy's effects are): ``["create"]`` while a resource does not exist in
the sandbox's AWS, ``["no-op"]`` once it does. A ``terraform`` fault (``dynamodb_schemas:terraform=replace:
tenants``) makes the plan replace (``["delete", "create"]``, a changed ``hash_key``), delete or update
the resource. Nothing here depends on the clock: the same world and faults give the same bytes, so the
same plan has the same SHA-256 in every rehearsal.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from golive.plan.model import Plan
from golive.plan.variables import variables
from golive.providers.aws import Aws
from golive.sandbox.faults import Fault
from golive.sandbox.from_plan import terraform_resources as resources

PROVIDER = "registry.terraform.io/hashicorp/aws"
TERRAFORM_VERSION = "1.9.8"
JSON_FILE = "tfplan.json"


def _attributes(kind: str, name: str, hash_key: str = "id") -> dict[str, Any]:
    if kind == "aws_dynamodb_table":
        return {"name": name, "billing_mode": "PAY_PER_REQUEST", "hash_key": hash_key,
                "attribute": [{"name": hash_key, "type": "S"}]}
    return {"bucket": name, "force_destroy": False}


class TerraformPlans:
    """The plan JSON each Terraform project's plan workflow uploads, from the world's AWS and the faults."""

    def __init__(self, plan: Plan, env: str, aws_for: Callable[[str, str | None], Aws], faults: Sequence[Fault]) -> None:
        self.plan = plan
        self.env = env
        self.aws_for = aws_for
        self.faults = [f for f in faults if f.kind == "terraform"]
        self.by_repo = {p.repo.lower(): name for name, p in plan.projects.items() if p.terraform is not None}

    def _existing(self) -> tuple[set[str], set[str]]:
        aws = self.aws_for(self.env, None)
        dynamodb, s3 = aws.client("dynamodb"), aws.client("s3")
        tables = set(aws.call("dynamodb:ListTables", lambda: dynamodb.list_tables()).get("TableNames", []))
        buckets = {b["Name"] for b in aws.call("s3:ListBuckets", lambda: s3.list_buckets()).get("Buckets", [])}
        return tables, buckets

    def _fault_action(self, project: str, kind: str, name: str) -> str | None:
        for fault in self.faults:
            if fault.target == project and fault.resource in (name, f"{kind}.{name}"):
                return fault.mode
        return None

    def plan_json(self, project_name: str) -> bytes:
        project = self.plan.projects[project_name]
        tables, buckets = self._existing()
        changes = []
        for kind, name in resources(project, variables(self.plan, self.env)):
            exists = name in (tables if kind == "aws_dynamodb_table" else buckets)
            current = _attributes(kind, name) if exists else None
            after: dict[str, Any] | None = _attributes(kind, name)
            actions = ["no-op"] if exists else ["create"]
            change: dict[str, Any] = {}
            fault = self._fault_action(project_name, kind, name)
            if fault == "replace":
                current = current or _attributes(kind, name)
                after = _attributes(kind, name, "tenant_id") if kind == "aws_dynamodb_table" else \
                    {**_attributes(kind, name), "bucket": f"{name}-v2"}
                actions = ["delete", "create"]
                change["replace_paths"] = [["hash_key"] if kind == "aws_dynamodb_table" else ["bucket"]]
            elif fault == "delete":
                current, after, actions = current or _attributes(kind, name), None, ["delete"]
            elif fault == "update":
                current = current or _attributes(kind, name)
                after = {**(current or {}), "tags": {"golive": "updated"}}
                actions = ["update"]
            entry: dict[str, Any] = {
                "address": f"{kind}.{name}", "mode": "managed", "type": kind, "name": name, "provider_name": PROVIDER,
                "change": {"actions": actions, "before": current, "after": after, "after_unknown": {},
                           "before_sensitive": {} if current is not None else False,
                           "after_sensitive": {} if after is not None else False, **change}}
            if fault == "replace":
                entry["action_reason"] = "replace_because_cannot_update"
            elif fault == "delete":
                entry["action_reason"] = "delete_because_no_resource_config"
            changes.append(entry)
        doc = {"format_version": "1.2", "terraform_version": TERRAFORM_VERSION,
               "variables": {"environment": {"value": self.env}}, "resource_changes": changes,
               "errored": False}
        return json.dumps(doc, separators=(",", ":")).encode("utf-8")

    def artifacts(self, repo: str, ref: str, inputs: dict[str, str]) -> dict[str, dict[str, bytes]]:
        """What a successful run of the project's plan workflow uploads: its one artifact, plan and JSON."""
        project_name = self.by_repo[repo.lower()]
        spec = self.plan.projects[project_name].terraform
        assert spec is not None and spec.artifact is not None
        raw = self.plan_json(project_name)
        return {spec.artifact: {"tfplan": b"terraform saved plan (binary, opaque to golive)\n",
                                spec.file or JSON_FILE: raw}}
