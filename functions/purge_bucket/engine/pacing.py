"""Holds one prefix's deletes near the rate S3 accepts, learnt from S3's answers.

S3 accepts "at least 3,500 PUT/COPY/POST/DELETE requests per second per partitioned prefix", each
key of a DeleteObjects counted (Amazon S3 User Guide, "Best practices design patterns: optimizing
Amazon S3 performance"), and answers ``503 SlowDown`` above it. Sending as fast as the workers
allow spends the purge's time on refused requests and backoff; sending at a fixed rate leaves a
faster server idle. So each prefix gets a ``Pacer``, additive increase and multiplicative
decrease as TCP does:

* deletes are booked into evenly spaced slots at the current rate (no bursts); a cut voids the
  slots booked before it, which are booked again at the new rate;
* deletes go in chunks of a twentieth of a second's rate (``CHUNKS_PER_SECOND``), so that no
  single request is a burst that overshoots the limit on its own;
* every accepted key raises the rate a little (``PROBE_PER_KEY``: 5% a second at any rate);
* a throttle (``SlowDown``, a 503, a timeout) or an answer slower than ``SLOW_ANSWER_SECONDS``
  cuts it to ``CUT`` of the lower of the current rate and what S3 accepted over the last second,
  and never by more than half. Only requests sent since the last cut count (the ones sent
  before tell of the old rate), and cuts are at least ``CUT_INTERVAL_SECONDS`` apart.

An overloaded server answers slowly before it refuses: the slow-answer rule is what keeps the
deletes in flight below what the server can answer within the read timeout.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

#: S3's documented rate per partitioned prefix: where every prefix starts.
INITIAL_RATE = 3500.0
MIN_RATE = 100.0
#: Each accepted key adds this much to the rate (per second), i.e. the rate grows 5% a second.
PROBE_PER_KEY = 0.05
CUT = 0.95
#: However little was accepted in the last second (an outage), one cut at most halves the rate.
DEEPEST_CUT = 0.5
#: The least time between two cuts.
CUT_INTERVAL_SECONDS = 0.25
#: The window over which the accepted rate is measured.
WINDOW_SECONDS = 1.0
#: The shortest span of answers the accepted rate is measured over.
MIN_SPAN_SECONDS = 0.25
#: A chunk is this fraction of a second's rate.
CHUNKS_PER_SECOND = 20
MAX_CHUNK = 1000


class Pacer:
    def __init__(self, clock: Callable[[], float], slow_answer_seconds: float) -> None:
        self._clock = clock
        self.slow_answer_seconds = slow_answer_seconds
        self._lock = threading.Lock()
        self.rate = INITIAL_RATE
        self._next_slot = float("-inf")
        self._last_cut = float("-inf")
        #: How many times the rate was cut.
        self.cuts = 0
        self._accepted: deque[tuple[float, int]] = deque()
        self._accepted_keys = 0
        self._first_accepted: float | None = None

    @property
    def throttled(self) -> bool:
        """S3 has pushed back on this prefix (the first overload always cuts)."""
        return self.cuts > 0

    def chunk_size(self) -> int:
        """How many keys one DeleteObjects may carry now."""
        return max(1, min(MAX_CHUNK, int(self.rate / CHUNKS_PER_SECOND)))

    def book(self, keys: int) -> tuple[float, int]:
        """Books the next slot for ``keys`` deletes: the seconds until it starts, and a ticket for
        ``still_valid``."""
        with self._lock:
            now = self._clock()
            start = max(now, self._next_slot)
            self._next_slot = start + keys / self.rate
            return start - now, self.cuts

    def still_valid(self, ticket: int) -> bool:
        """False when the rate was cut after the slot was booked: it was booked at a rate S3
        refuses, and a new one must be booked."""
        return ticket == self.cuts

    def answered(self, keys: int, seconds: float, ticket: int) -> None:
        """S3 accepted ``keys`` deletes (sent on ``ticket``), answering in ``seconds``."""
        if seconds > self.slow_answer_seconds:
            self.overloaded(ticket)
            return
        with self._lock:
            now = self._clock()
            if self._first_accepted is None:
                self._first_accepted = now
            self._forget_before(now - WINDOW_SECONDS)
            self._accepted.append((now, keys))
            self._accepted_keys += keys
            self.rate += keys * PROBE_PER_KEY

    def overloaded(self, ticket: int) -> None:
        """S3 throttled a request sent on ``ticket`` (or one key of it), or answered too slowly.

        A request sent before the last cut tells of the rate before it, already cut for: ignored.
        """
        with self._lock:
            now = self._clock()
            if ticket != self.cuts or now - self._last_cut < CUT_INTERVAL_SECONDS:
                return
            self._last_cut = now
            self._forget_before(now - WINDOW_SECONDS)
            span = (
                min(WINDOW_SECONDS, now - self._first_accepted) if self._first_accepted is not None else 0.0
            )
            # What S3 accepted just before refusing is the best measure of its limit; the rate
            # itself is not when the deletes were slower than it (the server, or the listing).
            reference = min(self.rate, self._accepted_keys / span) if span >= MIN_SPAN_SECONDS else self.rate
            self.rate = max(MIN_RATE, DEEPEST_CUT * self.rate, CUT * reference)
            self.cuts += 1
            self._next_slot = now  # Slots booked at the old rate are booked again, from now.

    def _forget_before(self, moment: float) -> None:
        """Drops the answers at or before ``moment`` from the accepted window (under the lock)."""
        while self._accepted and self._accepted[0][0] <= moment:
            self._accepted_keys -= self._accepted.popleft()[1]
