"""A canary's alarm triggers against plain moto (its own server, not the sandbox's): one read of the alarms in
ALARM decides both ``alarm NAME`` and ``alarms: new``. (moto has no composite alarms: ``PutCompositeAlarm`` is
not implemented there.)"""

from __future__ import annotations

from golive.providers.aws import Aws, AwsTarget
from golive.steps.canary_signals import alarm_trigger

REGION = "eu-west-1"


def test_named_and_new_alarm_triggers_from_one_read(moto_reset: str) -> None:
    aws = Aws(AwsTarget(region=REGION, static_keys=("AKIAIOSFODNN7EXAMPLE", "x" * 40), endpoint_url=moto_reset))
    cw = aws.client("cloudwatch")
    for name in ("bbws-data-corruption", "bbws-order-dlq", "bbws-legacy-queue", "bbws-checkout"):
        cw.put_metric_alarm(AlarmName=name, MetricName="Errors", Namespace="AWS/Lambda", Statistic="Sum",
                            Period=60, EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanThreshold")
    calls: list[str] = []
    cw.meta.events.register("before-call.cloudwatch.*", lambda model, **_: calls.append(model.name))

    def state(name: str, value: str) -> None:
        cw.set_alarm_state(AlarmName=name, StateValue=value, StateReason="test")

    triggers: list[dict[str, object]] = [{"alarm": "bbws-data-corruption"}, {"alarms": "new", "allow": ["bbws-order-*"]}]

    def trigger() -> str | None:
        calls.clear()
        why = alarm_trigger(lambda: aws, triggers, ["bbws-legacy-queue"])
        assert calls == ["DescribeAlarms"], calls
        return why

    assert trigger() is None
    state("bbws-legacy-queue", "ALARM")  # firing at the start: not new
    state("bbws-order-dlq", "ALARM")  # allow-listed
    assert trigger() is None
    state("bbws-checkout", "ALARM")  # new since the start
    assert trigger() == "new alarm in ALARM since the start: bbws-checkout"
    state("bbws-data-corruption", "ALARM")
    assert trigger() == "alarm bbws-data-corruption in ALARM"
    triggers[:] = [{"alarm": "bbws-data-corruption"}]
    state("bbws-data-corruption", "OK")
    assert trigger() is None  # without `alarms: new`, the new alarm is nobody's trigger
