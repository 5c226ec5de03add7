"""Where a notification may go: never link-local or metadata, private only when allowed, loopback always."""

from __future__ import annotations

import pytest

from golive.errors import ConfigError
from golive.notify.destinations import DestinationRefused, Destinations


@pytest.mark.parametrize("host", ["169.254.169.254", "fe80::1", "::ffff:169.254.169.254", "0.0.0.0", "224.0.0.1"])
def test_never(host: str) -> None:
    allowing_everything = Destinations.from_environment({"GOLIVE_NOTIFY_ALLOW": "0.0.0.0/0,::/0"})
    with pytest.raises(DestinationRefused):
        allowing_everything.check(host)


@pytest.mark.parametrize("host", ["10.1.2.3", "192.168.4.7", "172.16.0.1", "100.64.0.1", "fd00:ec2::254"])
def test_private_only_when_its_network_is_allowed(host: str) -> None:
    with pytest.raises(DestinationRefused, match="GOLIVE_NOTIFY_ALLOW"):
        Destinations().check(host)
    Destinations.from_environment({"GOLIVE_NOTIFY_ALLOW": f"{host}, 8.8.8.8"}).check(host)


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "8.8.8.8", "2001:4860:4860::8888"])
def test_loopback_and_public_addresses_are_sent_to(host: str) -> None:
    Destinations().check(host)


def test_a_bad_allow_list_is_one_line() -> None:
    with pytest.raises(ConfigError, match="GOLIVE_NOTIFY_ALLOW: 'ten' is not an address or network"):
        Destinations.from_environment({"GOLIVE_NOTIFY_ALLOW": "ten"})
