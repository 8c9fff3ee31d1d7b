"""The caller's address: the socket peer, or X-Forwarded-For when the peer is a trusted proxy.

With trusted proxies configured, the address is the right-most X-Forwarded-For entry that is not
itself a trusted proxy (entries to its left were written by the client and can be forged). Without
any, X-Forwarded-For is ignored: anyone could otherwise pick the address that throttling and a
device's last IP see.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class ClientAddress:
    """Resolves the source address of a request."""

    def __init__(self, trusted_proxies: Iterable[str]) -> None:
        self._trusted: tuple[_Network, ...] = tuple(
            ipaddress.ip_network(net, strict=False) for net in trusted_proxies
        )
        # the same proxies and clients come back request after request: parse each address
        # once; bounded, since the forwarded hops are the client's to choose
        self._kind = functools.lru_cache(maxsize=1024)(self._classify)

    def _classify(self, address: str) -> bool | None:
        """True for a trusted proxy, False for any other address, None for no address at all."""
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return None
        return any(ip in net for net in self._trusted)

    def resolve(self, peer: str, forwarded_for: str | None) -> str:
        if not self._trusted or not forwarded_for or self._kind(peer) is not True:
            return peer
        hops = [hop.strip() for hop in forwarded_for[:2048].split(",")]
        for hop in reversed(hops):
            kind = self._kind(hop)
            if kind is None:
                return peer  # a malformed chain is not believed at all
            if not kind:
                return hop
        return hops[0] if hops else peer
