"""``salesrefund serve --workers N``: the accepted connections have TCP_NODELAY (issue 5).

uvicorn binds the multi-worker listening socket with ``proto=0`` and asyncio then leaves Nagle's
algorithm on, which stalls each keep-alive response ~40 ms (see salesrefund.http.serving). The
check is on a real connection accepted by asyncio from the socket each config binds; uvicorn's
own config is the control that shows the check can fail."""

from __future__ import annotations

import asyncio
import socket

import pytest
import uvicorn

from salesrefund.http.serving import APP, TcpConfig


def nodelay_of_an_accepted_connection(config_class) -> int:
    config = config_class(APP, factory=True, host="127.0.0.1", port=0, workers=2)
    listening = config.bind_socket()

    async def accept_one() -> int:
        accepted: asyncio.Future = asyncio.get_running_loop().create_future()

        class Probe(asyncio.Protocol):
            def connection_made(self, transport):
                sock = transport.get_extra_info("socket")
                accepted.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                transport.close()

        server = await asyncio.get_running_loop().create_server(Probe, sock=listening)
        _, writer = await asyncio.open_connection(*listening.getsockname()[:2])
        try:
            return await asyncio.wait_for(accepted, 5)
        finally:
            writer.close()
            server.close()

    try:
        return asyncio.run(accept_one())
    finally:
        listening.close()


def test_serve_with_workers_accepts_connections_with_tcp_nodelay():
    assert nodelay_of_an_accepted_connection(TcpConfig) == 1


def test_control_uvicorn_as_is_leaves_nagle_on_with_workers():
    if nodelay_of_an_accepted_connection(uvicorn.Config) != 0:
        pytest.skip("this uvicorn already binds its multi-worker socket as TCP (Kludex/uvicorn#3149 fixed)")
