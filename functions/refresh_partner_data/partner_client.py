"""The partner's HTTP API: one GET per dataset and day, its JSON array streamed row by row.

The body is never held in memory: urllib3 hands it over in chunks and ijson parses them as they
come. Errors say whether they are worth retrying, and never carry the token, the URL or any of the
partner's bytes: they name the problem and where in the body it was.

The token goes in the ``x-functions-key`` header, which Azure Functions accepts in place of the
``code`` query parameter, so it is in no URL that a library might log; ``token_in="query"`` sends
``code`` instead, for a partner behind a proxy that only passes the query.

Partner data may be hostile: every read is checked (body_checks.py) before ijson's C backend
sees it, and what is refused fails that export, not the process.

Every byte is under the deadline, not only each read: connecting (its timeout is cut to the time
left), the status line and headers, the body and its decompression. A watchdog timer shuts the
request's socket down at the deadline, so a partner that trickles a header line, or gzip that
decodes to nothing, cannot hold a thread past it; the error says what was still under way.
"""

from __future__ import annotations

import random
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import ijson
import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import DecodeError, HTTPError, ProtocolError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from lambda_shared.logs import REDACTED
from refresh_partner_data.body_checks import BodyChecks, RefusedBytes

USER_AGENT = "partner-data-pipeline/refresh"
READ_CHUNK_BYTES = 64 * 1024
_BYTE_ORDER_MARK = b"\xef\xbb\xbf"
#: How long past the deadline a connect may go on (see rows()).
_CONNECT_SLACK_SECONDS = 0.25
#: A deadline this far off is none (no watchdog thread): a year.
_FOREVER = 365 * 24 * 3600.0
TOKEN_HEADER = "x-functions-key"  # noqa: S105 - a header name
_RETRY_AFTER_SECONDS = re.compile(r"[0-9]{1,9}")


class PartnerApiError(Exception):
    """A failed request. ``retryable`` for connection errors, timeouts, 429 and 5xx."""

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter; a server's ``Retry-After`` wins, up to a bound."""

    attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 30.0
    max_retry_after: float = 120.0

    def delay(self, failed_attempts: int, retry_after: float | None, rng: random.Random) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        ceiling = min(self.max_delay, self.base_delay * 2 ** (failed_attempts - 1))
        return rng.uniform(0, ceiling)


@dataclass(frozen=True)
class BodyLimits:
    """What one response may hold (body_checks.py): its longest value, and its decoded size."""

    max_field_bytes: int = 16 * 1024 * 1024
    max_body_bytes: int = 1024 * 1024 * 1024


class PartnerApi:
    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        token_in: str = "header",  # noqa: S107 - where the token goes
        http: urllib3.PoolManager | None = None,
        timeout: urllib3.Timeout | None = None,
        limits: BodyLimits | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if token_in not in {"header", "query"}:
            raise ValueError(f"token_in must be header or query, not {token_in!r}")
        self.base_url = base_url
        self._token = token
        self._token_in = token_in
        self._http = http or urllib3.PoolManager(num_pools=4, maxsize=8)
        # Its connections tell the request's watchdog which socket to shut (_Watchdog).
        self._http.pool_classes_by_scheme = _WATCHED_POOLS
        self._timeout = timeout or urllib3.Timeout(connect=10.0, read=60.0)
        self.limits = limits or BodyLimits()
        self._clock = clock

    def url(self, dataset: str, day: date, *, redacted: bool = False) -> str:
        params = [("table", dataset), ("saleDate", day.isoformat())]
        if self._token and self._token_in == "query":  # noqa: S105 - a place
            params.append(("code", REDACTED if redacted else self._token))
        parts = urlsplit(self.base_url)
        query = "&".join(filter(None, [parts.query, urlencode(params, safe="*" if redacted else "")]))
        return urlunsplit(parts._replace(query=query))

    def headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json", "Accept-Encoding": "gzip", "User-Agent": USER_AGENT}
        if self._token and self._token_in == "header":  # noqa: S105 - a place
            headers[TOKEN_HEADER] = self._token
        return headers

    @contextmanager
    def rows(self, dataset: str, day: date, *, deadline: float = float("inf")) -> Iterator[Rows]:
        """Opens the request; yields the rows of the JSON array it returns, as an iterator.

        The whole response must arrive before ``deadline`` (clock time): connecting, the status
        line and headers, every byte of the body.
        """
        left = deadline - self._clock()
        if left <= 0:
            raise PartnerApiError("no time left to send the request", retryable=False)
        watchdog = _Watchdog(left)
        timeout = self._timeout
        if timeout.connect_timeout is None or timeout.connect_timeout > left:
            # The watchdog cannot interrupt a connect (there is no socket yet to shut): its own
            # timeout ends it, just past the deadline, so that it is read as the deadline's doing.
            timeout = urllib3.Timeout(connect=left + _CONNECT_SLACK_SECONDS, read=timeout.read_timeout)
        with watchdog:
            try:
                response = self._http.request(
                    "GET",
                    self.url(dataset, day),
                    headers=self.headers(),
                    preload_content=False,
                    redirect=False,
                    retries=False,
                    timeout=timeout,
                )
            except HTTPError as error:
                if self._clock() >= deadline:
                    watchdog.expired = True
                watchdog.raise_if_expired(0)
                message = f"request failed ({type(error).__name__})"
                raise PartnerApiError(message, retryable=True) from None
            try:
                watchdog.raise_if_expired(0)  # Headers cut short by the watchdog look complete.
                watchdog.phase = "reading the body"
                _check_status(response)
                body = _Body(response, deadline, self._clock, BodyChecks(**vars(self.limits)), watchdog)
                yield Rows(body)
            finally:
                watchdog.stop()  # Before the connection goes back to the pool, for another request.
                response.close()
                response.release_conn()


class Rows:
    """The rows of one response, as they are parsed; ``bytes_read()`` tells how far the body is."""

    def __init__(self, body: _Body) -> None:
        self._body = body
        self._items = _array_items(body)

    def __iter__(self) -> Iterator[Any]:
        return self._items

    def bytes_read(self) -> int:
        return self._body.position


class _Watchdog:
    """Shuts the request's socket down at the deadline, whatever it is waiting for.

    The connection registers itself when the request starts (``_watched`` in this thread); one
    still connecting when time is up is refused as soon as it has connected.
    """

    _current = threading.local()

    def __init__(self, seconds: float) -> None:
        self.phase = "connecting"
        self.expired = False
        #: The request's socket: kept here, as http.client drops its own reference to it once a
        #: response says ``Connection: close``, while the body is still to be read from it.
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._done = False
        self._timer = threading.Timer(seconds, self._expire) if seconds < _FOREVER else None
        if self._timer is not None:
            self._timer.daemon = True

    def __enter__(self) -> _Watchdog:
        _Watchdog._current.watchdog = self
        if self._timer is not None:
            self._timer.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        _Watchdog._current.watchdog = None
        self.stop()

    @classmethod
    def of_this_thread(cls) -> _Watchdog | None:
        return getattr(cls._current, "watchdog", None)

    def watch(self, connection: HTTPConnection) -> None:
        """The request starts on ``connection`` (its socket is there if it was kept alive)."""
        self._sock = connection.sock

    def connected(self, sock: socket.socket) -> None:
        """Called once the connection is up: refused if time ran out meanwhile."""
        self._sock = sock
        if self.expired:
            raise Urllib3Timeout("the deadline passed while connecting")
        self.phase = "waiting for the status line and headers"

    def stop(self) -> None:
        with self._lock:
            self._done = True
        if self._timer is not None:
            self._timer.cancel()

    def _expire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.expired = True
            sock = self._sock
            if sock is not None:
                with suppress(OSError):  # Already closed: nothing to wake.
                    sock.shutdown(socket.SHUT_RDWR)

    def raise_if_expired(self, position: int) -> None:
        if self.expired:
            raise PartnerApiError(
                f"the response did not arrive in time: still {self.phase} at the deadline"
                f" ({position:,} bytes of the body by then)",
                retryable=False,
            )


class _WatchedConnection:
    """Mixed into urllib3's connections: each request tells this thread's watchdog its socket."""

    def request(self, *args: Any, **kwargs: Any) -> None:
        watchdog = _Watchdog.of_this_thread()
        if watchdog is not None:
            watchdog.watch(self)  # type: ignore[arg-type]
        super().request(*args, **kwargs)  # type: ignore[misc]

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        watchdog = _Watchdog.of_this_thread()
        if watchdog is not None:
            watchdog.connected(self.sock)  # type: ignore[attr-defined]


class _HTTPConnection(_WatchedConnection, HTTPConnection):
    pass


class _HTTPSConnection(_WatchedConnection, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


_WATCHED_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


def _check_status(response: urllib3.BaseHTTPResponse) -> None:
    status = response.status
    if status == 200:
        return
    if 200 < status < 300:
        raise PartnerApiError(
            f"HTTP {status} from the partner API: only 200 carries a whole day's data", retryable=False
        )
    retryable = status == 429 or status >= 500
    retry_after = parse_retry_after(response.headers.get("Retry-After")) if retryable else None
    message = f"HTTP {status} from the partner API"
    if 300 <= status < 400:
        message += ": a redirect, not followed (it would carry the token elsewhere)"
    raise PartnerApiError(message, retryable=retryable, retry_after=retry_after)


def _array_items(body: _Body) -> Iterator[Any]:
    try:
        first = body.first_byte()
        if first != b"[":
            if not first:
                raise PartnerApiError("the response body is empty", retryable=False)
            what = "a JSON object" if first == b"{" else "not a JSON array"
            raise PartnerApiError(f"the response is {what}, not the array of rows", retryable=False)
        # Given the file itself, ijson's C backend parses and builds the rows with no Python between.
        yield from ijson.items(body, "item", use_float=False)
    except PartnerApiError:
        raise
    except Exception as error:
        body.raise_if_expired()  # A socket shut by the watchdog breaks the read: say why.
        raise _read_error(error, body.position) from None


def _read_error(error: Exception, position: int) -> PartnerApiError:
    if isinstance(error, ProtocolError | Urllib3Timeout | OSError):
        return PartnerApiError(
            f"the connection broke while reading the response ({type(error).__name__})", retryable=True
        )
    if isinstance(error, DecodeError):
        return PartnerApiError("the response's compressed body is corrupt", retryable=False)
    if isinstance(error, ijson.JSONError):
        return PartnerApiError(f"the response is not complete JSON (near byte {position:,})", retryable=False)
    if isinstance(error, UnicodeDecodeError):
        return PartnerApiError(
            f"the response holds a string that is not valid Unicode (near byte {position:,})", retryable=False
        )
    if isinstance(error, ValueError | RecursionError | MemoryError):
        return PartnerApiError(
            f"the response could not be read ({type(error).__name__} near byte {position:,})", retryable=False
        )
    raise error


class _Body:
    """The response as a file ijson can read, in bounded chunks, checked as it comes.

    It can look at the first byte (past a UTF-8 byte order mark), counts the bytes read (for error
    positions and batches), stops at the deadline, and refuses what ijson's C backend would
    mishandle or what would not fit in memory (body_checks.py).
    """

    def __init__(
        self,
        response: urllib3.BaseHTTPResponse,
        deadline: float,
        clock: Callable[[], float],
        checks: BodyChecks | None = None,
        watchdog: _Watchdog | None = None,
    ) -> None:
        self._response = response
        # read() fills its whole size, so a body trickled a few bytes at a time would keep it (and
        # the deadline check) waiting; read1() returns what one read of the socket brings
        # (urllib3 2; where it is missing, the deadline is checked per 64 KiB).
        self._read = getattr(response, "read1", response.read)
        self._deadline = deadline
        self._clock = clock
        self._pending = b""
        self._checks = checks or BodyChecks()
        self._watchdog = watchdog
        self.position = 0

    def first_byte(self) -> bytes:
        """The first byte that is not JSON whitespace (b"" for an empty body), left unread; a
        byte order mark before it is dropped."""
        head = b""
        while True:
            chunk = self._next_chunk(READ_CHUNK_BYTES)
            if not chunk and (not head or len(head) >= len(_BYTE_ORDER_MARK)):
                return b""
            if not head.startswith(_BYTE_ORDER_MARK) and len(head) < len(_BYTE_ORDER_MARK):
                head += chunk
                if _BYTE_ORDER_MARK.startswith(head) and chunk:
                    continue  # Perhaps a byte order mark, split between reads.
                chunk = head.removeprefix(_BYTE_ORDER_MARK)
                head = _BYTE_ORDER_MARK
            stripped = chunk.lstrip(b" \t\r\n")
            if stripped:
                self._pending = stripped
                self.position -= len(stripped)
                return stripped[:1]

    def read(self, size: int = -1) -> bytes:
        if size == 0:  # ijson probes with read(0) to learn whether the source gives bytes.
            return b""
        limit = READ_CHUNK_BYTES if size < 0 else min(size, READ_CHUNK_BYTES)
        if self._pending:
            chunk, self._pending = self._pending[:limit], self._pending[limit:]
            self.position += len(chunk)
            return chunk
        return self._next_chunk(limit)

    def raise_if_expired(self) -> None:
        if self._watchdog is not None:
            self._watchdog.raise_if_expired(self.position)

    def _next_chunk(self, limit: int) -> bytes:
        if self._clock() >= self._deadline:
            raise PartnerApiError(
                f"the response did not arrive in time ({self.position:,} bytes by the deadline)",
                retryable=False,
            )
        chunk = self._read(limit)
        self.raise_if_expired()
        try:
            self._checks.check(chunk, self.position)
        except RefusedBytes as refused:
            raise PartnerApiError(str(refused), retryable=False) from None
        self.position += len(chunk)
        return chunk


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if _RETRY_AFTER_SECONDS.fullmatch(value):  # ASCII digits only: "²".isdigit() is True.
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
