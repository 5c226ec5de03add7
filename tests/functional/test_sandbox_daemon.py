"""The detached sandbox: a real subprocess that outlives its starter, reached through the plan's profiles."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from golive.providers.aws import Aws, AwsTarget
from golive.sandbox import daemon
from golive.sandbox.spec import FunctionSpec, SandboxSpec, TableSpec

PROD = "093646564004"
SIT = "210000000021"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_start_detached_serves_both_profiles_and_stop_leaves_no_process(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    specs = [
        SandboxSpec("sit", SIT, "eu-west-1", profile="Tebogo-sit", tables=(TableSpec("lock-sit", "LockID"),)),
        SandboxSpec("prod", PROD, "af-south-1", profile="Tebogo-prod", tables=(TableSpec("lock-prod", "LockID"),),
                    functions=(FunctionSpec("product_lambda", versions=2),)),
    ]
    info = daemon.start_detached(tmp_path, specs)
    try:
        assert info.pid != os.getpid() and _alive(info.pid)
        assert info.endpoint.startswith("http://127.0.0.1:")
        recorded = json.loads((tmp_path / "sandbox.json").read_text())
        assert recorded["pid"] == info.pid
        assert [e["account_id"] for e in recorded["environments"]] == [SIT, PROD]
        assert daemon.status(tmp_path) == info
        credentials = (tmp_path / "aws-credentials").read_text()
        assert stat.S_IMODE((tmp_path / "aws-credentials").stat().st_mode) == 0o600
        assert "secret" not in (tmp_path / "sandbox.json").read_text().lower()
        assert info.environment("prod").access_key_id in credentials

        lines = daemon.exports(info)
        assert info.token and f"export GOLIVE_SANDBOX_TOKEN={info.token}" in lines
        assert stat.S_IMODE((tmp_path / "sandbox.json").stat().st_mode) == 0o600
        for line in lines:
            name, _, value = line.removeprefix("export ").partition("=")
            monkeypatch.setenv(name, value.strip("'"))
        for spec, table in ((specs[0], "lock-sit"), (specs[1], "lock-prod")):
            aws = Aws(AwsTarget(region=spec.region, profile=spec.profile))
            assert aws.endpoint == info.endpoint
            assert aws.caller_account() == spec.account_id
            ddb = aws.client("dynamodb")
            assert aws.call("dynamodb:ListTables", lambda ddb=ddb: ddb.list_tables()["TableNames"]) == [table]
        prod = Aws(AwsTarget(region="af-south-1", profile="Tebogo-prod"))
        alias = prod.client("lambda").get_alias(FunctionName="product_lambda", Name="live")
        assert alias["FunctionVersion"] == "2"
    finally:
        assert daemon.stop(tmp_path)
    assert not _alive(info.pid)
    assert daemon.status(tmp_path) is None
    assert not (tmp_path / "sandbox.json").exists()
    assert not daemon.stop(tmp_path)


def test_a_daemon_that_cannot_start_is_reported_with_its_log(tmp_path: Path) -> None:
    from golive.errors import GoliveError

    with pytest.raises(GoliveError) as caught:
        daemon.start_detached(tmp_path, [], services=["github=no_such_module_xyz:factory"], timeout=30)
    assert "daemon.log" in str(caught.value)
    assert daemon.status(tmp_path) is None
