"""The address a request comes from, as rate limits and logs must see it.

``X-Forwarded-For`` is written by whoever sent the request, so only the hops added by our
own proxies can be believed: walking the header from the right, each address appended by a
trusted proxy is skipped, and the first one that is not ours is the client. With no proxy
configured the header is ignored and the peer address is the client, which is the only
answer an attacker cannot choose.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

UNKNOWN = "0.0.0.0"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(specs: Iterable[str]) -> list[Network]:
    """``10.0.0.1`` or ``10.0.0.0/8`` items; a bad item raises ValueError naming it."""
    networks = []
    for spec in specs:
        try:
            networks.append(ipaddress.ip_network(spec.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{spec!r} is not an IP address or network") from None
    return networks


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


class ClientAddress:
    """Finds the client of a request given the proxies this deployment runs."""

    def __init__(self, trusted: Iterable[str]) -> None:
        self.trusted = parse_networks(trusted)

    def _is_trusted(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return any(address in network for network in self.trusted)

    def of(self, peer: str | None, forwarded_for: str) -> str:
        """The right-most address not added by a trusted proxy; the peer when the peer is
        not a trusted proxy itself. A hop that is not an address ends the walk there."""
        current = _address(peer or "")
        if current is None:
            return UNKNOWN
        if not self.trusted or not forwarded_for:
            return str(current)
        hops = forwarded_for.split(",")
        while self._is_trusted(current) and hops:
            previous = _address(hops.pop())
            if previous is None:
                break
            current = previous
        return str(current)
