"""The test proxy itself: a dead upstream reaches the station as a reset at once."""

from __future__ import annotations

import socket
import threading

import pytest

from tests.replication.flaky_proxy import FlakyProxy


def test_an_upstream_that_dies_mid_request_resets_the_station_at_once() -> None:
    """The station waits for an answer while the proxy's other pump sits in recv() on its
    socket: the reset must still reach it (it once hung until the client's read timeout)."""
    upstream = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    request_in = threading.Event()

    def serve() -> None:
        conn, _ = upstream.accept()
        accepted.append(conn)
        conn.recv(100)
        request_in.set()

    threading.Thread(target=serve, daemon=True).start()
    with FlakyProxy(upstream.getsockname()[1]) as proxy:
        station = socket.create_connection(("127.0.0.1", proxy.port))
        station.sendall(b"POST /api/v1/stations/ams-1/dock-1/events HTTP/1.1\r\n\r\n")
        assert request_in.wait(10)
        accepted[0].close()  # the upstream dies before it answers
        upstream.close()
        station.settimeout(10)  # a failure, not a hang, if the reset never comes
        with pytest.raises(ConnectionResetError):
            station.recv(10)
        station.close()
