"""The page's limits on a clock the test moves: login waits that double, sessions that end, stream slots."""

from __future__ import annotations

import pytest

from golive.serve.auth import Sessions, User
from golive.serve.limits import Limits, LoginThrottle, StreamSlots, TooManyStreams


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_failed_logins_past_the_allowance_wait_twice_as_long_each_time() -> None:
    clock = Clock()
    throttle = LoginThrottle(Limits(user_free_failures=2, address_free_failures=100, backoff_first=5), clock)
    waits = []
    for _ in range(5):
        wait = throttle.begin("tom", "1.2.3.4")
        waits.append(wait)
        if wait:
            clock.now += wait
            assert throttle.begin("tom", "1.2.3.4") == 0
        throttle.failed("tom", "1.2.3.4")
    assert waits == [0, 0, 5, 10, 20]
    assert throttle.begin("dana", "1.2.3.4") == 0, "another name is not slowed by tom's guesser"
    clock.now += 40
    throttle.succeeded("tom", "1.2.3.4")
    assert throttle.begin("tom", "1.2.3.4") == 0


def test_an_address_guessing_many_names_waits_too() -> None:
    clock = Clock()
    throttle = LoginThrottle(Limits(user_free_failures=100, address_free_failures=3), clock)
    for name in ("a", "b", "c"):
        assert throttle.begin(name, "6.6.6.6") == 0
        throttle.failed(name, "6.6.6.6")
    assert throttle.begin("d", "6.6.6.6") == 5
    assert throttle.begin("d", "7.7.7.7") == 0


def test_a_session_ends_when_idle_too_long_or_too_old() -> None:
    clock = Clock()
    sessions = Sessions(idle=60, absolute=300, most=2, clock=clock)
    user = User("dana", frozenset())
    busy, idle = sessions.open(user), sessions.open(user)
    for _ in range(5):
        clock.now += 50
        assert sessions.get(busy.id) == busy
    assert sessions.get(idle.id) is None, "idle for 250 s"
    clock.now += 51
    assert sessions.get(busy.id) is None, "301 s old, however busy"
    first, second, third = sessions.open(user), sessions.open(user), sessions.open(user)
    assert sessions.get(first.id) is None and sessions.get(second.id) == second and sessions.get(third.id) == third


def test_stream_slots_per_user_and_in_all() -> None:
    slots = StreamSlots(Limits(streams_per_user=2, streams_total=3))
    slots.take("dana")
    slots.take("dana")
    with pytest.raises(TooManyStreams, match="dana already holds 2 live streams"):
        slots.take("dana")
    slots.take("tom")
    with pytest.raises(TooManyStreams, match="already holds 3 live streams, its limit"):
        slots.take("ann")
    slots.give_back("dana")
    slots.take("ann")
