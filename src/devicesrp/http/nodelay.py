"""uvicorn's HTTP/1.1 protocol with Nagle's algorithm off on every connection.

With ``--workers`` above 1 uvicorn binds the listening socket itself with protocol number 0, and
asyncio only sets TCP_NODELAY on sockets whose protocol reads as TCP. A response goes out as two
writes (head, then body), so without it the body waits for the client's delayed ACK: about 40 ms
on every keep-alive request. Setting the option per connection works however the socket was made.
"""

from __future__ import annotations

import asyncio
import socket

from uvicorn.protocols.http.h11_impl import H11Protocol


class NoDelayH11Protocol(H11Protocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass  # the peer is already gone: the protocol will see the connection close
        super().connection_made(transport)
