"""Credentials the AWS way, against a real moto server: the standard chain when the plan's profile is missing here,
``--profile`` / ``AWS_PROFILE`` / ``--region`` over the plan, and an assumed role that refreshes before it expires."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from golive.checks import identity
from golive.checks.base import CheckContext, Status
from golive.errors import ConfigError
from golive.plan.model import Environment
from golive.providers.aws import Aws, AwsTarget
from golive.providers.github import api_base_from_env
from golive.sandbox.accounts import mint_credentials, sandbox_role_arn
from golive.workspace import aws_target, session_name

REGION = "af-south-1"
PLAN_ACCOUNT = "093646564004"
ENV = Environment(account=PLAN_ACCOUNT, region=REGION, profile="Tebogo-prod")


def run_account_check(aws: Aws) -> identity.CheckResult:
    params = identity.AwsAccountParams.model_validate({})
    return identity.run(CheckContext(env="prod", aws=aws, variables={"account": PLAN_ACCOUNT}), params)


def test_environment_keys_answer_when_the_plans_profile_is_not_configured(
    moto_reset: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = mint_credentials(moto_reset, PLAN_ACCOUNT, REGION)  # a user of the plan's account, as the sandbox mints
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", keys.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", keys.secret_access_key)  # the config file does not exist (conftest)
    aws = Aws(AwsTarget(region=REGION, profile="Tebogo-prod", endpoint_url=moto_reset))
    result = run_account_check(aws)
    assert result.status is Status.PASS, result.summary
    assert result.summary == f"credentials are for {PLAN_ACCOUNT} (from env (profile 'Tebogo-prod' is not configured here))"
    assert result.evidence[0].answered["credentials"].startswith("env ")
    assert keys.secret_access_key not in str(result.to_dict())


def test_a_configured_profile_is_used_and_named(moto_reset: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    keys = mint_credentials(moto_reset, PLAN_ACCOUNT, REGION)
    config = tmp_path / "config"
    config.write_text(f"[profile Tebogo-prod]\naws_access_key_id = {keys.access_key_id}\n"
                      f"aws_secret_access_key = {keys.secret_access_key}\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    aws = Aws(AwsTarget(region=REGION, profile="Tebogo-prod", endpoint_url=moto_reset))
    result = run_account_check(aws)
    assert result.status is Status.PASS
    assert result.summary == f"credentials are for {PLAN_ACCOUNT} (profile Tebogo-prod)"
    assert result.evidence[0].answered["credentials"] == "config-file"


def test_no_profile_and_no_credentials_anywhere_is_one_clear_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # this machine is no EC2 instance: do not wait for IMDS
    aws = Aws(AwsTarget(region=REGION, profile="Tebogo-prod", endpoint_url="http://127.0.0.1:9"))
    with pytest.raises(ConfigError, match="profile 'Tebogo-prod' is not configured on this machine and no other AWS"):
        aws.client("sts")


def test_profile_and_region_overrides_are_laid_over_the_plan_and_recorded() -> None:
    plain = aws_target(ENV, "r1", "prod", environ={})
    assert (plain.profile, plain.region, plain.overridden) == ("Tebogo-prod", REGION, ())
    from_env = aws_target(ENV, "r1", "prod", environ={"AWS_PROFILE": "ci"})
    assert (from_env.profile, from_env.overridden) == ("ci", ("profile ci from AWS_PROFILE",))
    flags = aws_target(ENV, "r1", "prod", profile="ops", region="eu-west-1", environ={"AWS_PROFILE": "ci"})
    assert (flags.profile, flags.region) == ("ops", "eu-west-1")
    assert flags.overridden == ("profile ops from --profile", "region eu-west-1 from --region")
    assert aws_target(ENV, "r1", "prod", region="eu-west-1", dr_region="eu-west-2").region == "eu-west-2"


def test_an_explicitly_asked_profile_that_is_missing_is_an_error_not_a_fallback(moto_reset: str) -> None:
    target = aws_target(ENV, "r1", "prod", profile="nosuch", environ={})
    with pytest.raises(ConfigError, match="AWS profile nosuch from --profile is not configured on this machine"):
        Aws(target).client("sts")


def test_session_names_fit_sts() -> None:
    assert session_name("2026-12 release #4", "prod") == "golive-2026-12-release--4-prod"
    assert len(session_name("x" * 100, "prod")) == 64


def test_an_assumed_role_refreshes_before_it_expires(moto_reset: str) -> None:
    clock = [datetime.now(UTC)]
    target = AwsTarget(region=REGION, endpoint_url=moto_reset, role_arn=sandbox_role_arn(PLAN_ACCOUNT),
                       session_name=session_name("r1", "prod"), external_id="bbws-ext", duration=3600)
    aws = Aws(target, now=lambda: clock[0])
    sts = aws.client("sts")
    arn = sts.get_caller_identity()["Arn"]
    assert arn == f"arn:aws:sts::{PLAN_ACCOUNT}:assumed-role/golive-sandbox/golive-r1-prod"
    creds = aws.credentials()
    assert creds is not None
    first = creds.get_frozen_credentials().access_key
    expiry = creds._expiry_time  # type: ignore[attr-defined]
    assert timedelta(minutes=59) < expiry - clock[0] <= timedelta(hours=1, seconds=5)
    clock[0] += timedelta(minutes=30)
    assert creds.get_frozen_credentials().access_key == first  # far from expiry: no new session
    clock[0] += timedelta(minutes=20)  # 10 minutes left: inside botocore's refresh window
    second = creds.get_frozen_credentials().access_key
    assert second != first
    assert sts.get_caller_identity()["Account"] == PLAN_ACCOUNT  # the client signs with the new session
    assert aws.credential_source().startswith(f"assume-role {sandbox_role_arn(PLAN_ACCOUNT)} as golive-r1-prod, from ")


def test_github_base_url_from_actions_and_gh_settings() -> None:
    assert api_base_from_env({"GITHUB_API_URL": "https://ghe.corp/api/v3/"}) == "https://ghe.corp/api/v3"
    assert api_base_from_env({"GH_HOST": "ghe.corp"}) == "https://ghe.corp/api/v3"
    assert api_base_from_env({"GH_HOST": "github.com"}) == "https://api.github.com"
    both = {"GOLIVE_GITHUB_API": "http://127.0.0.1:9/", "GITHUB_API_URL": "https://api.github.com", "GH_HOST": "ghe.corp"}
    assert api_base_from_env(both) == "http://127.0.0.1:9"
    assert api_base_from_env({"GITHUB_API_URL": "https://api.github.com", "GH_HOST": "ghe.corp"}) == "https://api.github.com"


def test_global_profile_and_region_stand_anywhere_but_rollback_keeps_its_own_region() -> None:
    from golive.cli.main import hoist_globals

    assert hoist_globals(["preflight", "--env", "prod", "--region", "eu-west-1", "--profile=ci"]) == [
        "--region", "eu-west-1", "--profile=ci", "preflight", "--env", "prod"]
    assert hoist_globals(["rollback", "order_lambda", "--env", "prod", "--region", "eu-west-1"]) == [
        "rollback", "order_lambda", "--env", "prod", "--region", "eu-west-1"]


def test_sessions_share_service_models_but_never_credentials(moto_reset: str) -> None:
    """Every session reads models through one loader; each still answers as its own account and region, and the
    loader's search path stays as it was however many sessions are made."""
    other = "210987654321"
    keys = {account: mint_credentials(moto_reset, account, region)
            for account, region in ((PLAN_ACCOUNT, REGION), (other, "eu-west-1"))}
    made = []
    for account, region in ((PLAN_ACCOUNT, REGION), (other, "eu-west-1")) * 10:
        pair = (keys[account].access_key_id, keys[account].secret_access_key)
        made.append((account, region, Aws(AwsTarget(region=region, static_keys=pair, endpoint_url=moto_reset))))
    first = made[0][2].client("sts")._loader  # type: ignore[attr-defined]
    paths = list(first.search_paths)
    for account, region, aws in made:
        assert aws.client("sts").get_caller_identity()["Account"] == account
        assert aws.client("lambda").meta.region_name == region
        assert aws.client("lambda")._loader is first  # type: ignore[attr-defined]
    assert first.search_paths == paths and len(set(paths)) == len(paths)
