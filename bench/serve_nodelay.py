"""``python -m bench.serve_nodelay <uvicorn args>``: uvicorn exactly as ``salesrefund serve`` runs it,
with one change, for the ``--server nodelay`` comparison: the listening socket that uvicorn's
multi-worker supervisor binds (``Config.bind_socket``) is marked ``IPPROTO_TCP``.

Why: uvicorn binds it with ``proto=0``; accepted sockets inherit that, and asyncio only turns on
``TCP_NODELAY`` for sockets that say ``IPPROTO_TCP``. So with ``--workers N > 1`` Nagle's algorithm
stays on and every keep-alive response written in two parts (headers, body) waits for the client's
delayed ACK: about 40 ms per request on Linux (Kludex/uvicorn#3149, open at the time of writing).
With one worker uvicorn lets asyncio bind the socket and the problem does not arise.
"""

from __future__ import annotations

import socket

import uvicorn.config

_bind_socket = uvicorn.config.Config.bind_socket


def _bind_socket_tcp(self) -> socket.socket:
    sock = _bind_socket(self)
    if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.proto == 0:
        sock = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
        sock.set_inheritable(True)
    return sock


uvicorn.config.Config.bind_socket = _bind_socket_tcp

if __name__ == "__main__":
    from uvicorn.main import main

    main()
