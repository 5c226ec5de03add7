"""Where a notification may be sent: the address a sink's URL reaches, judged when the connection is made.

A webhook URL that points at a cloud's metadata service (169.254.169.254) or any link-local address would
hand whoever wrote the URL a way to make golive post from inside the network, so those are never sent to.
Private addresses (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7) are refused too unless
``GOLIVE_NOTIFY_ALLOW`` lists their networks (``10.1.0.0/16,192.168.4.7``). Loopback is allowed: a sink on
golive's own machine (a local relay, a test's receiver) is the operator's. The check is made on the
address the socket actually connected to, so a name that resolves differently later cannot slip past it.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass

from golive.errors import ConfigError

ALLOW_ENV = "GOLIVE_NOTIFY_ALLOW"
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT: private in all but name

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class DestinationRefused(Exception):
    """The sink's URL reaches an address golive does not post to (the message says which kind)."""


@dataclass(frozen=True)
class Destinations:
    allowed: tuple[Network, ...] = ()

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> Destinations:
        nets: list[Network] = []
        for part in environ.get(ALLOW_ENV, "").split(","):
            if part.strip():
                try:
                    nets.append(ipaddress.ip_network(part.strip(), strict=False))
                except ValueError:
                    raise ConfigError(f"{ALLOW_ENV}: '{part.strip()}' is not an address or network") from None
        return cls(tuple(nets))

    def check(self, host: str) -> None:
        """Nothing when ``host`` (an IP address) may be posted to, else ``DestinationRefused``; ``ValueError``
        when ``host`` is not an address."""
        address: Address = ipaddress.ip_address(host.split("%", 1)[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if address.is_loopback:
            return
        if address.is_link_local:
            raise DestinationRefused("its address is link-local (where cloud metadata services answer): never sent to")
        if address.is_unspecified or address.is_multicast or address.is_reserved:
            raise DestinationRefused("its address is not a host's (unspecified, multicast or reserved)")
        if address.is_private or address in _SHARED:
            if any(address in net for net in self.allowed):
                return
            raise DestinationRefused(f"its address is private: allow its network in {ALLOW_ENV} to send there")
