"""Running the app under uvicorn, as ``salesrefund serve`` does.

This is ``uvicorn.run`` with one change. With ``--workers N > 1`` uvicorn binds the listening
socket itself with ``proto=0``; the accepted sockets inherit it, and asyncio only turns
``TCP_NODELAY`` on for sockets that say ``IPPROTO_TCP``. Nagle's algorithm then holds back every
keep-alive response written in two parts (headers, then body) until the client's delayed ACK:
about 40 ms per request on Linux (Kludex/uvicorn#3149). ``TcpConfig`` marks the socket as TCP,
so every worker answers at once, as a single worker already does. Measured in bench/README.md.
"""

from __future__ import annotations

import socket
import sys

import uvicorn
from uvicorn.supervisors import Multiprocess

APP = "salesrefund.bootstrap:app_from_environment"
STARTUP_FAILURE = 3


class TcpConfig(uvicorn.Config):
    def bind_socket(self) -> socket.socket:
        sock = super().bind_socket()
        if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.proto == 0:
            sock = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
            sock.set_inheritable(True)
        return sock


def run(*, host: str, port: int, workers: int = 1, access_log: bool = True, log_level: str = "info") -> None:
    """Serve ``APP`` (built by every worker from the environment) until interrupted."""
    from .metrics import prepare_multiprocess_dir
    prepare_multiprocess_dir(workers)
    config = TcpConfig(APP, factory=True, host=host, port=port, workers=workers, log_level=log_level,
                       access_log=access_log, timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    try:
        if workers > 1:
            Multiprocess(config, sockets=[config.bind_socket()]).run()
        else:
            server.run()
    except KeyboardInterrupt:
        pass
    if workers == 1 and not server.started:
        sys.exit(STARTUP_FAILURE)
