#!/usr/bin/env python3
"""A local stand-in for the partner API: a real HTTP server with switchable failures.

    GET /api/InteliFunctionGetData?table=<category|establishment|sale>&saleDate=YYYY-MM-DD
    with the token in the x-functions-key header, or as &code=<token> (Azure Functions takes both)

answers with one JSON array, streamed with chunked transfer encoding, gzip-compressed when the
client accepts it and ``gzip`` is on. It checks the token when one is set (401 otherwise), and can
be told to fail: the first N requests with 503 (or 429 with ``Retry-After``), every request with a
status, slow answers, a body trickled out slowly, a body cut short, a dropped connection, a JSON
object instead of an array, a redirect elsewhere, a malformed header line. It records every
request (and how many were in flight at once). Tests, the demo and the benchmarks all use it.

Run it by hand:  python -m stand_ins.partner_api_simulator --port 8080 --token s3cret --establishments 1000000
"""

from __future__ import annotations

import argparse
import hmac
import json
import re
import sys
import threading
import time
import zlib
from dataclasses import dataclass, field, replace
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from stand_ins.background_server import BackgroundServer
from stand_ins.synthetic_partner_data import TABLES, Volume, rows_json

PATH = "/api/InteliFunctionGetData"
TRAP_PATH = "/somewhere-else"
TOKEN_HEADER = "x-functions-key"  # noqa: S105 - a header name
CHUNK_BYTES = 64 * 1024
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass
class Faults:
    """How one table misbehaves. Counters are per table."""

    fail_first: int = 0
    fail_status: int = 503
    retry_after: str | None = None
    always_status: int | None = None
    delay_seconds: float = 0.0
    truncate: bool = False
    drop_connection_first: int = 0
    non_array: bool = False
    #: Answer 302 with a Location on this server (a trap that records whoever follows it).
    redirect: bool = False
    #: Add a header line IIS writes ("Name : value"), which urllib3 cannot parse and warns about.
    malformed_header: bool = False
    #: Send the body in pieces this many seconds apart.
    trickle_seconds: float = 0.0
    #: Claim gzip and send bytes that are not.
    corrupt_gzip: bool = False


@dataclass
class Request:
    table: str | None
    sale_date: str | None
    authorized: bool
    status: int
    path: str = ""
    query: str = ""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class SimulatorState:
    token: str | None
    volume: Volume
    faults: dict[str, Faults] = field(default_factory=dict)
    #: Exact bodies to serve instead of the generated data, by table.
    payloads: dict[str, bytes] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    #: Compress bodies for clients that accept gzip.
    gzip: bool = False
    in_flight: int = 0
    most_in_flight: int = 0
    _seen: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def entered(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)

    def left(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def next_attempt(self, table: str) -> int:
        with self._lock:
            self._seen[table] = self._seen.get(table, 0) + 1
            return self._seen[table]

    def record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # The request line holds the token; keep it out of the terminal.

    def do_GET(self) -> None:
        state = self.server.state
        state.entered()
        try:
            self._get(state)
        finally:
            state.left()

    def _get(self, state: SimulatorState) -> None:
        url = urlsplit(self.path)
        params = {name: values[-1] for name, values in parse_qs(url.query).items()}
        table, sale_date = params.get("table"), params.get("saleDate")
        given = self.headers.get(TOKEN_HEADER) or params.get("code", "")
        authorized = state.token is None or hmac.compare_digest(given.encode(), state.token.encode())
        self._request = Request(
            table,
            sale_date,
            authorized,
            0,
            url.path,
            url.query,
            {k.lower(): v for k, v in self.headers.items()},
        )
        refusal = _refusal(state, url.path, table, sale_date, authorized)
        if refusal:
            self._json_error(*refusal)
        else:
            self._respond(state, str(table), sale_date)

    def send_response(self, code: int, message: str | None = None) -> None:
        # Recorded before the client can see the answer, so tests never race the record.
        self.server.state.record(replace(self._request, status=code))
        super().send_response(code, message)

    def _respond(self, state: SimulatorState, table: str, sale_date: str | None) -> None:
        faults = state.faults.get(table, Faults())
        attempt = state.next_attempt(table)
        if faults.delay_seconds:
            time.sleep(faults.delay_seconds)
        if faults.always_status or attempt <= faults.fail_first:
            status = faults.always_status or faults.fail_status
            headers = {"Retry-After": faults.retry_after} if faults.retry_after else {}
            self._json_error(status, "simulated failure", headers)
        elif faults.non_array:
            self._send_json(200, b'{"message": "not what you expected"}')
        elif faults.redirect:
            self._send_json(302, b'{"error": "moved"}', {"Location": f"{TRAP_PATH}?table={table}"})
        else:
            gzipped = state.gzip and "gzip" in self.headers.get("Accept-Encoding", "")
            self._stream(
                self._pieces(state, table, sale_date),
                truncate=faults.truncate,
                drop=attempt <= faults.drop_connection_first,
                gzipped=gzipped,
                malformed_header=faults.malformed_header,
                trickle_seconds=faults.trickle_seconds,
                corrupt_gzip=faults.corrupt_gzip,
            )

    @staticmethod
    def _pieces(state: SimulatorState, table: str, sale_date: str | None) -> Any:
        body = state.payloads.get(table)
        if body is not None:
            return iter([body])
        day = date.fromisoformat(sale_date) if sale_date else date.today()
        return _array_pieces(rows_json(table, day, state.volume))

    def _stream(
        self,
        pieces: Any,
        *,
        truncate: bool,
        drop: bool,
        gzipped: bool = False,
        malformed_header: bool = False,
        trickle_seconds: float = 0.0,
        corrupt_gzip: bool = False,
    ) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        if gzipped or corrupt_gzip:
            self.send_header("Content-Encoding", "gzip")
            pieces = iter([b"\x1f\x8b\x08 this is not deflate data"]) if corrupt_gzip else _gzipped(pieces)
        if malformed_header:
            self._headers_buffer.append(b"X-AspNet-Version : 4.0.30319\r\n")  # type: ignore[attr-defined]
        self.end_headers()
        if trickle_seconds:
            pieces = _trickled(pieces, trickle_seconds)
        for whole in pieces if trickle_seconds else _chunks(pieces):
            chunk = whole[: max(1, len(whole) // 2)] if truncate or drop else whole
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            if drop:
                self.close_connection = True
                return  # No terminating chunk: the client sees the connection break.
            if truncate:
                break
        self.wfile.write(b"0\r\n\r\n")

    def _json_error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        self._send_json(status, json.dumps({"error": message}).encode(), headers)

    def _send_json(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


def _refusal(
    state: SimulatorState, path: str, table: str | None, sale_date: str | None, authorized: bool
) -> tuple[int, str] | None:
    """The status and message the real API would refuse this request with, if any."""
    if path != PATH:
        return 404, "not found"  # The redirect's trap too: it records who followed it.
    if not authorized:
        return 401, "missing or invalid code"
    if not table:
        return 400, "table is required"
    if table not in TABLES and table not in state.payloads:
        return 400, f"unknown table {table}"
    if sale_date is not None and not _valid_date(sale_date):
        return 400, "saleDate must be YYYY-MM-DD"
    return None


def _valid_date(text: str) -> bool:
    if not _DATE.fullmatch(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _gzipped(pieces: Any) -> Any:
    compressor = zlib.compressobj(wbits=31)  # 31: the gzip format.
    for piece in pieces:
        yield compressor.compress(piece)
    yield compressor.flush()


def _trickled(pieces: Any, seconds: float) -> Any:
    """The body 16 bytes at a time, ``seconds`` apart."""
    for piece in pieces:
        for start in range(0, len(piece), 16):
            yield piece[start : start + 16]
            time.sleep(seconds)


def _array_pieces(rows: Any) -> Any:
    yield b"["
    first = True
    for row in rows:
        yield row.encode() if first else b"," + row.encode()
        first = False
    yield b"]"


def _chunks(pieces: Any) -> Any:
    buffer: list[bytes] = []
    size = 0
    for piece in pieces:
        buffer.append(piece)
        size += len(piece)
        if size >= CHUNK_BYTES:
            yield b"".join(buffer)
            buffer, size = [], 0
    if buffer:
        yield b"".join(buffer)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: SimulatorState

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # A client that gave up is normal.
            super().handle_error(request, client_address)


class PartnerApiSimulator(BackgroundServer):
    """The simulator on a loopback port, in a background thread. Use as a context manager."""

    def __init__(
        self,
        *,
        token: str | None = None,
        volume: Volume | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.state = SimulatorState(token=token, volume=volume or Volume())
        server = _Server((host, port), _Handler)
        server.state = self.state
        super().__init__(server, "partner-api")

    @property
    def url(self) -> str:
        host, port = self.address
        return f"http://{host}:{port}{PATH}"

    @property
    def faults(self) -> dict[str, Faults]:
        return self.state.faults

    @property
    def requests(self) -> list[Request]:
        return self.state.requests


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    parser.add_argument("--token", help="require this token (x-functions-key header or `code` parameter)")
    parser.add_argument("--establishments", type=int, default=Volume.establishments)
    parser.add_argument("--sales-per-day", type=int, default=Volume.sales_per_day)
    parser.add_argument("--fail-first", type=int, default=0, help="fail the first N requests per table")
    parser.add_argument("--fail-status", type=int, default=503)
    parser.add_argument("--retry-after", help="Retry-After header on those failures")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before every answer")
    args = parser.parse_args(argv)

    simulator = PartnerApiSimulator(
        token=args.token,
        volume=Volume(args.establishments, args.sales_per_day),
        host=args.host,
        port=args.port,
    )
    faults = Faults(args.fail_first, args.fail_status, args.retry_after, delay_seconds=args.delay)
    simulator.faults.update(dict.fromkeys(TABLES, faults))
    print(f"partner API simulator listening on {simulator.url}", flush=True)
    simulator.serve_until_interrupted()


if __name__ == "__main__":
    main()
