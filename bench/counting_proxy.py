"""A reverse proxy on loopback that counts S3 requests by operation, in front of any S3 server.

moto is counted inside its own WSGI app (``counting_s3``); a server in another process, such as
SeaweedFS, is counted here, on the way through. Requests and answers pass unchanged (each read
whole: S3's answers to listing and deleting are small), over one keep-alive connection to the
server per client connection.
"""

from __future__ import annotations

import http.client
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from bench.s3_operations import s3_operation
from stand_ins.background_server import BackgroundServer

_HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te"}
_CHUNK = 64 * 1024


class CountingProxy(BackgroundServer):
    def __init__(self) -> None:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Forward)
        server.daemon_threads = True
        server.proxy = self  # type: ignore[attr-defined]
        super().__init__(server, "counting-proxy")
        self.endpoint = "http://{}:{}".format(*self.address)
        self.upstream: tuple[str, int] | None = None
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()

    def forward_to(self, endpoint: str) -> None:
        """Sends what arrives from now on to ``endpoint`` (``http://host:port``)."""
        parts = urlsplit(endpoint)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)

    def take_counts(self) -> dict[str, int]:
        with self.lock:
            counts = dict(self.counts)
            self.counts.clear()
        return counts


class _Forward(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Any

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _relay(self) -> None:
        proxy: CountingProxy = self.server.proxy
        path, _, query = self.path.partition("?")
        with proxy.lock:
            proxy.counts[s3_operation(self.command, path, query)] += 1
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        upstream = self._upstream(proxy)
        try:
            upstream.request(self.command, self.path, body=body, headers=headers)
            answer = upstream.getresponse()
        except (OSError, http.client.HTTPException):
            self._connection = None  # Reconnect on the next request.
            self.send_error(502, "the S3 server did not answer")
            return
        self.send_response_only(answer.status, answer.reason)
        for name, value in answer.getheaders():
            if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length":
                self.send_header(name, value)
        data = answer.read()
        self.send_header("Content-Length", str(len(data)))
        try:
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up waiting (its read timeout): the server's work is done all the same.
            self.close_connection = True

    def _upstream(self, proxy: CountingProxy) -> http.client.HTTPConnection:
        assert proxy.upstream is not None, "forward_to() first"
        connection = getattr(self, "_connection", None)
        if connection is None or (connection.host, connection.port) != proxy.upstream:
            connection = http.client.HTTPConnection(*proxy.upstream, timeout=120)
            self._connection = connection
        return connection

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _relay
