"""A local stand-in for the API Gateway stage: real HTTP in, REST proxy v1 events to the handler.

``POST /<stage>/<path>`` and ``POST /<stage>/<path>/status`` (the two routes terraform/modules/
purge_api deploys) become proxy events (resource, headers, source IP, request id, body, base64
flag) for the function, and the function's ``{statusCode, headers, body}`` the HTTP response.
Anything else, any other method included, gets what API Gateway answers for an unmapped route
(403 "Missing Authentication Token"); a function error gets API Gateway's 502.
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from stand_ins.api_gateway_events import proxy_event
from stand_ins.background_server import BackgroundServer

#: API Gateway's payload limit.
MAX_BODY_BYTES = 10 * 1024 * 1024

Invoke = Callable[[dict[str, Any]], dict[str, Any]]


class LocalApiGateway(BackgroundServer):
    """Serves one POST route on a loopback port, in a background thread."""

    def __init__(
        self, invoke: Invoke, *, stage: str = "v1", path: str = "purge", host: str = "127.0.0.1"
    ) -> None:
        self.stage, self.path = stage, path
        self._invoke = invoke
        self._lock = threading.Lock()  # One function process handles one event at a time.
        server = _Server((host, 0), _Handler)
        server.gateway = self
        super().__init__(server, "local-apigw")

    @property
    def stage_url(self) -> str:
        """The stage's URL: the base of every route (the OpenAPI document's server)."""
        host, port = self.address
        return f"http://{host}:{port}/{self.stage}"

    @property
    def url(self) -> str:
        return f"{self.stage_url}/{self.path}"

    @property
    def status_url(self) -> str:
        return f"{self.url}/status"

    def resource(self, request_path: str) -> str | None:
        """The API's resource a request path reaches, or None."""
        for resource in (f"/{self.path}", f"/{self.path}/status"):
            if request_path == f"/{self.stage}{resource}":
                return resource
        return None

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            return self._invoke(event)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    gateway: LocalApiGateway


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        """``do_<METHOD>`` for every method: API Gateway answers any method, the ones the API
        does not define with its 403."""
        if name.startswith("do_") and name[3:].isupper():
            return lambda: self._route(name[3:])
        raise AttributeError(name)

    def _route(self, method: str) -> None:
        gateway = self.server.gateway
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self._reply(413, {"Content-Type": "application/json"}, b'{"message":"Request Too Long"}')
            return
        body = self.rfile.read(length) if length else None
        resource = gateway.resource(self.path.split("?", 1)[0])
        if resource is None or method != "POST":
            body = b"" if method == "HEAD" else b'{"message":"Missing Authentication Token"}'
            self._reply(403, {"Content-Type": "application/json"}, body)
            return
        request_id = str(uuid.uuid4())
        event = proxy_event(
            body=body,
            method=method,
            resource=resource,
            stage=gateway.stage,
            headers=dict(self.headers.items()),
            source_ip=self.client_address[0],
            request_id=request_id,
        )
        reply = gateway.invoke(event)
        if not reply.get("ok"):
            self._reply(
                502, {"Content-Type": "application/json"}, b'{"message": "Internal server error"}', request_id
            )
            return
        result = reply["result"]
        payload = result.get("body") or ""
        data = base64.b64decode(payload) if result.get("isBase64Encoded") else payload.encode("utf-8")
        self._reply(int(result.get("statusCode", 200)), result.get("headers") or {}, data, request_id)

    def _reply(
        self, status: int, headers: dict[str, str], data: bytes, request_id: str | None = None
    ) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if request_id:
            self.send_header("x-amzn-RequestId", request_id)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def describe(response_body: bytes) -> str:
    """A response body as one short line, for printing."""
    try:
        return json.dumps(json.loads(response_body), ensure_ascii=False)
    except ValueError:
        return response_body[:200].decode("utf-8", "replace")
