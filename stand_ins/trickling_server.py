"""A partner that answers one byte at a time, forever, at one stage of the HTTP exchange.

Each read of the client finds a byte waiting, so no per-read timeout ever fires: only a deadline
over the whole exchange ends it. ``stage`` is where the trickle happens:

* ``status``: the status line;
* ``headers``: a header line, after ``HTTP/1.1 200 OK``;
* ``body``: the JSON body, after complete headers;
* ``gzip``: a gzip body whose header carries an endless comment (FCOMMENT), so that it decodes
  to nothing however long it runs.

``connect`` is a listening socket that never accepts, its queue full: connecting hangs.

With ``tls`` (a server-side SSL context) it answers over TLS, as the partner's HTTPS endpoint does.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from typing import Any

STAGES = ("connect", "status", "headers", "body", "gzip")
_BEFORE = {
    "status": b"",
    "headers": b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n",
    "body": b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n[",
    # gzip's magic, deflate, FLG = FCOMMENT, mtime, XFL, OS, then the comment's bytes forever.
    "gzip": b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
    b"Connection: close\r\n\r\n\x1f\x8b\x08\x10\x00\x00\x00\x00\x00\xff",
}
_TRICKLED = {"status": b"H", "headers": b"x", "body": b" ", "gzip": b"c"}


class TricklingServer:
    def __init__(self, stage: str, interval: float = 0.1, tls: ssl.SSLContext | None = None) -> None:
        if stage not in STAGES:
            raise ValueError(f"stage must be one of {STAGES}")
        self.stage = stage
        self.interval = interval
        self.tls = tls
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._stop = threading.Event()
        self._queued: list[socket.socket] = []
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        host, port = self._listener.getsockname()
        return f"{'https' if self.tls else 'http'}://{host}:{port}/api/data"

    def __enter__(self) -> TricklingServer:
        if self.stage == "connect":
            self._listener.listen(0)
            self._fill_the_queue()
        else:
            self._listener.listen(8)
            self._threads.append(threading.Thread(target=self._accept, daemon=True))
            self._threads[-1].start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        self._stop.set()
        for sock in [self._listener, *self._queued]:
            sock.close()
        for thread in self._threads:
            thread.join(timeout=5)

    def _fill_the_queue(self) -> None:
        """Connections until one does not complete: the next connect waits for a free slot."""
        for _ in range(64):
            client = socket.socket()
            client.setblocking(False)
            self._queued.append(client)
            if client.connect_ex(self._listener.getsockname()) != 0:
                return
        raise RuntimeError("the listening queue never filled")  # pragma: no cover - not Linux

    def _accept(self) -> None:
        self._listener.settimeout(0.2)
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except OSError:
                continue
            thread = threading.Thread(target=self._answer, args=(connection,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _answer(self, connection: socket.socket) -> None:
        with contextlib.suppress(OSError):
            if self.tls is not None:
                connection = self.tls.wrap_socket(connection, server_side=True)
        with connection, contextlib.suppress(OSError):
            connection.recv(65536)  # The request.
            connection.sendall(_BEFORE[self.stage])
            while not self._stop.wait(self.interval):
                connection.sendall(_TRICKLED[self.stage])
