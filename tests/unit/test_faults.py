"""The fault grammar: what parses, into what, and how bad input is named."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from golive.errors import UsageError
from golive.sandbox.faults import PlanNames, Window, aws_down_at, check_faults, parse_fault

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def test_a_latency_factor_multiplies_the_durations_of_the_canary() -> None:
    fault = parse_fault("order_lambda:latency=3x@deploy")
    assert (fault.kind, fault.scale, fault.value, fault.versions) == ("latency", 3.0, 0.0, "canary")
    assert parse_fault("order_lambda:latency=1.3x,version=all").scale == pytest.approx(1.3)


@pytest.mark.parametrize(
    ("text", "kind", "target", "value"),
    [
        ("product_lambda:error_rate=8%", "error_rate", "product_lambda", 0.08),
        ("product_lambda:error_rate=0.25", "error_rate", "product_lambda", 0.25),
        ("apis:latency=6s", "latency", "apis", 6.0),
        ("order_lambda:latency=600ms", "latency", "order_lambda", 0.6),
        ("campaigns_lambda:throttles=5", "throttles", "campaigns_lambda", 5.0),
        ("aws_down", "aws_down", None, 0.0),
        ("api_down", "api_down", None, 0.0),
    ],
)
def test_effects_parse(text: str, kind: str, target: str | None, value: float) -> None:
    fault = parse_fault(text)
    assert (fault.kind, fault.target, fault.window) == (kind, target, None)
    assert fault.value == pytest.approx(value)


def test_incident_names_its_group_and_severity() -> None:
    fault = parse_fault("incident=P0@apis")
    assert (fault.kind, fault.severity, fault.target, fault.window) == ("incident", "P0", "apis", Window("apis"))
    later = parse_fault("incident=P1@apis+2m")
    assert (later.target, later.window) == ("apis", Window("apis", timedelta(minutes=2)))


@pytest.mark.parametrize(
    ("text", "window"),
    [
        ("f:error_rate=8%@30h..31h", Window("run", timedelta(hours=30), timedelta(hours=31))),
        ("f:error_rate=8%@deploy", Window("deploy", timedelta(0), None)),
        ("f:latency=6s@deploy+3m..+6m", Window("deploy", timedelta(minutes=3), timedelta(minutes=6))),
        ("aws_down@deploy+3m..+6m", Window("deploy", timedelta(minutes=3), timedelta(minutes=6))),
        ("aws_down@90s..", Window("run", timedelta(seconds=90), None)),
        ("f:throttles=2@batch_3..+10m", Window("batch_3", timedelta(0), timedelta(minutes=10))),
    ],
)
def test_windows_parse(text: str, window: Window) -> None:
    assert parse_fault(text).window == window


@pytest.mark.parametrize(
    ("text", "bad_part"),
    [
        ("product_lambda:error_rate=8", "8"),
        ("product_lambda:error_rate=120%", "120%"),
        ("product_lambda:error_rate=lots", "lots"),
        ("product_lambda:latency=6 sec", "6 sec"),
        ("product_lambda:slowness=6s", "slowness"),
        ("product_lambda:throttles=-1", "-1"),
        ("product_lambda:latency=fastx", "fastx"),
        ("product_lambda:latency=0x", "0x"),
        ("product_lambda:throttles=", "throttles="),
        ("product_lambda", "product_lambda"),
        ("bad name:latency=1s", "bad name"),
        ("f:latency=1s@", "@"),
        ("f:latency=1s@31h..30h", "31h..30h"),
        ("f:latency=1s@deploy+soon", "soon"),
        ("aws_down@30x", "30x"),
        ("incident=P9@apis", "P9"),
        ("incident=P0", ""),
    ],
)
def test_bad_faults_name_the_bad_part(text: str, bad_part: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_fault(text)
    message = str(caught.value)
    assert f"'{bad_part}'" in message
    assert text in message
    assert "\n" not in message


def test_error_rate_above_fraction_range_is_rejected() -> None:
    with pytest.raises(UsageError):
        parse_fault("f:error_rate=1.5")


def test_resolve_uses_the_anchor_and_the_project_mapping() -> None:
    fault = parse_fault("apis:error_rate=8%@deploy+3m..+6m")
    deploy = T0 + timedelta(hours=4)
    resolved = fault.resolve({"run": T0, "deploy": deploy}, {"apis": ["product_lambda", "order_lambda"]})
    assert resolved is not None
    assert resolved.functions == ("product_lambda", "order_lambda")
    assert (resolved.start, resolved.end) == (deploy + timedelta(minutes=3), deploy + timedelta(minutes=6))
    assert not resolved.active(deploy + timedelta(minutes=2, seconds=59))
    assert resolved.active(deploy + timedelta(minutes=3))
    assert not resolved.active(deploy + timedelta(minutes=6))


def test_unknown_anchor_is_not_scheduled_yet_and_a_function_target_stays_itself() -> None:
    fault = parse_fault("product_lambda:latency=6s@deploy")
    assert fault.resolve({"run": T0}) is None
    resolved = fault.resolve({"run": T0, "deploy": T0}, {"apis": ["x"]})
    assert resolved is not None and resolved.functions == ("product_lambda",)
    assert resolved.end is None and resolved.active(T0 + timedelta(days=3))


def test_aws_down_window() -> None:
    faults = [f for f in (parse_fault("aws_down@1h..2h").resolve({"run": T0}),) if f is not None]
    assert not aws_down_at(faults, T0 + timedelta(minutes=59))
    assert aws_down_at(faults, T0 + timedelta(hours=1, minutes=30))
    assert not aws_down_at(faults, T0 + timedelta(hours=2))


@pytest.mark.parametrize(
    ("text", "versions"),
    [
        ("f:error_rate=8%@deploy", "canary"),
        ("f:error_rate=8%@apis+5m..", "canary"),
        ("f:error_rate=8%@30h..31h", "all"),
        ("f:error_rate=8%", "all"),
        ("f:error_rate=8%,version=all@deploy", "all"),
        ("f:latency=6s,version=stable@apis", "stable"),
        ("f:throttles=3,version=canary@2h..", "canary"),
    ],
)
def test_the_versions_a_fault_hurts_follow_its_anchor_unless_named(text: str, versions: str) -> None:
    assert parse_fault(text).versions == versions


@pytest.mark.parametrize(("text", "bad_part"), [("f:error_rate=8%,version=new@deploy", "version=new"),
                                                ("f:error_rate=8%,weight=all", "weight=all"),
                                                ("incident=P4@apis", "P4")])
def test_bad_version_scopes_and_severities_are_named(text: str, bad_part: str) -> None:
    with pytest.raises(UsageError, match=re.escape(f"'{bad_part}'")):
        parse_fault(text)


NAMES = PlanNames(projects=frozenset({"order", "product"}), functions=frozenset({"order_lambda", "product_lambda"}),
                  anchors=frozenset({"deploy", "soak", "apis", "internal"}))


@pytest.mark.parametrize(
    ("text", "unknown"),
    [
        ("ordr_lambda:error_rate=8%@deploy", "unknown target 'ordr_lambda'"),
        ("order_lambda:error_rate=8%@apii", "unknown anchor '@apii'"),
        ("aws_down@deploi+3m..+6m", "unknown anchor '@deploi'"),
        ("incident=P0@nosuchbatch", "unknown group 'nosuchbatch'"),
    ],
)
def test_faults_naming_what_the_plan_lacks_are_refused(text: str, unknown: str) -> None:
    with pytest.raises(UsageError) as caught:
        check_faults([parse_fault(text)], NAMES)
    assert unknown in str(caught.value) and text in str(caught.value)


def test_faults_naming_what_the_plan_has_pass() -> None:
    faults = [parse_fault(t) for t in ("order:error_rate=8%@deploy", "product_lambda:latency=6s@apis+5m..",
                                       "incident=P1@internal+2m", "incident=P2@run+2h", "aws_down@30h..31h",
                                       "api_down")]
    check_faults(faults, NAMES)
