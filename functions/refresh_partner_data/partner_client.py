"""The partner's HTTP API: one GET per dataset and day, its JSON array streamed row by row.

The body is never held in memory: urllib3 hands it over in chunks and ijson parses them as they
come. Errors say whether they are worth retrying, and never carry the token, the URL or any of the
partner's bytes: they name the problem and where in the body it was.

The token goes in the ``x-functions-key`` header, which Azure Functions accepts in place of the
``code`` query parameter, so it is in no URL that a library might log; ``token_in="query"`` sends
``code`` instead, for a partner behind a proxy that only passes the query.

Partner data may be hostile: every read is checked (body_checks.py) before ijson's C backend
sees it, and what is refused fails that export, not the process.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import ijson
import urllib3
from urllib3.exceptions import DecodeError, HTTPError, ProtocolError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from lambda_shared.logs import REDACTED
from refresh_partner_data.body_checks import BodyChecks, RefusedBytes

USER_AGENT = "partner-data-pipeline/refresh"
READ_CHUNK_BYTES = 64 * 1024
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


class PartnerApi:
    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        token_in: str = "header",  # noqa: S107 - where the token goes
        http: urllib3.PoolManager | None = None,
        timeout: urllib3.Timeout | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if token_in not in {"header", "query"}:
            raise ValueError(f"token_in must be header or query, not {token_in!r}")
        self.base_url = base_url
        self._token = token
        self._token_in = token_in
        self._http = http or urllib3.PoolManager(num_pools=4, maxsize=8)
        self._timeout = timeout or urllib3.Timeout(connect=10.0, read=60.0)
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
    def rows(self, dataset: str, day: date, *, deadline: float = float("inf")) -> Iterator[Iterator[Any]]:
        """Opens the request; yields an iterator over the rows of the JSON array it returns.

        The whole response must arrive before ``deadline`` (clock time), not only each read.
        """
        try:
            response = self._http.request(
                "GET",
                self.url(dataset, day),
                headers=self.headers(),
                preload_content=False,
                redirect=False,
                retries=False,
                timeout=self._timeout,
            )
        except HTTPError as error:
            raise PartnerApiError(f"request failed ({type(error).__name__})", retryable=True) from None
        try:
            _check_status(response)
            yield _array_items(_Body(response, deadline, self._clock))
        finally:
            response.close()
            response.release_conn()


def _check_status(response: urllib3.BaseHTTPResponse) -> None:
    status = response.status
    if 200 <= status < 300:
        return
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
    except (ProtocolError, Urllib3Timeout, OSError) as error:
        raise PartnerApiError(
            f"the connection broke while reading the response ({type(error).__name__})", retryable=True
        ) from None
    except DecodeError:
        raise PartnerApiError("the response's compressed body is corrupt", retryable=False) from None
    except ijson.JSONError:
        raise PartnerApiError(
            f"the response is not complete JSON (near byte {body.position:,})", retryable=False
        ) from None
    except UnicodeDecodeError:
        raise PartnerApiError(
            f"the response holds a string that is not valid Unicode (near byte {body.position:,})",
            retryable=False,
        ) from None
    except (ValueError, RecursionError, MemoryError) as error:
        raise PartnerApiError(
            f"the response could not be read ({type(error).__name__} near byte {body.position:,})",
            retryable=False,
        ) from None


class _Body:
    """The response as a file ijson can read, in bounded chunks, checked as it comes.

    It can look at the first byte, counts the bytes read (for error positions), stops at the
    deadline, and refuses what ijson's C backend would mishandle (body_checks.py).
    """

    def __init__(
        self, response: urllib3.BaseHTTPResponse, deadline: float, clock: Callable[[], float]
    ) -> None:
        self._response = response
        # read() fills its whole size, so a body trickled a few bytes at a time would keep it (and
        # the deadline check) waiting; read1() returns what one read of the socket brings
        # (urllib3 2; where it is missing, the deadline is checked per 64 KiB).
        self._read = getattr(response, "read1", response.read)
        self._deadline = deadline
        self._clock = clock
        self._pending = b""
        self._checks = BodyChecks()
        self.position = 0

    def first_byte(self) -> bytes:
        """The first byte that is not JSON whitespace (b"" for an empty body), left unread."""
        while True:
            chunk = self._next_chunk(READ_CHUNK_BYTES)
            if not chunk:
                return b""
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

    def _next_chunk(self, limit: int) -> bytes:
        if self._clock() >= self._deadline:
            raise PartnerApiError(
                f"the response did not arrive in time ({self.position:,} bytes by the deadline)",
                retryable=False,
            )
        chunk = self._read(limit)
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
