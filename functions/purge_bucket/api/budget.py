"""The time a request has, and what each step of it may take at worst.

API Gateway gives up on a REST integration after 29 s, and a direct invocation's caller usually
waits 60 s (the AWS SDKs' and CLI's read timeout) before it retries, which would start a second
purge. So every request answers by its ``answer_by``, however slow AWS is within the bounds of
each client (``clients.py``): before each step, the request checks that the step's worst case
still leaves the time for what must follow it, and answers without starting the step otherwise.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lambda_shared.invocation import remaining_seconds
from purge_bucket.clients import CONTROL_CALL_SECONDS
from purge_bucket.engine.deletion import REQUEST_SECONDS

#: The answer leaves this long after the request arrived, at the latest: 2 s before API Gateway's
#: 29 s, for the answer's way back.
API_ANSWER_SECONDS = 27.0
#: Below the 60 s the AWS SDKs and CLI wait before they retry.
DIRECT_ANSWER_SECONDS = 50.0
#: Writing the answer and the log line.
ANSWER_SECONDS = 0.5
#: What a purge that runs out of time needs to hand over to a job: its record and lease updated,
#: the execution started, and (if that fails) the record ended; one control call each. A purge
#: that ends in time needs less: its record ended and its lease let go, in one call.
HAND_OVER_SECONDS = 3 * CONTROL_CALL_SECONDS + ANSWER_SECONDS
#: The bucket check (one HeadBucket) and the claim of its lease (one control call).
START_SECONDS = REQUEST_SECONDS + CONTROL_CALL_SECONDS


@dataclass
class Budget:
    """Monotonic times: when the request arrived and when its answer must leave."""

    started: float
    answer_by: float
    clock: Callable[[], float] = time.monotonic

    @classmethod
    def for_request(cls, context: Any, *, through_api: bool, started: float | None = None) -> Budget:
        started = time.monotonic() if started is None else started
        limit = API_ANSWER_SECONDS if through_api else DIRECT_ANSWER_SECONDS
        # Lambda's own timeout may come first (a function configured shorter than the limit).
        limit = min(limit, remaining_seconds(context, limit + 1) - 1.0)
        return cls(started, started + limit)

    def left(self) -> float:
        return self.answer_by - self.clock()

    def allows(self, seconds: float) -> bool:
        """Whether ``seconds`` of work, started now, end before the answer must leave."""
        return self.left() >= seconds

    def until(self, reserve: float) -> float:
        """The monotonic time that leaves ``reserve`` seconds before the answer."""
        return self.answer_by - reserve

    def wall_clock(self, monotonic: float) -> float:
        """``monotonic`` as seconds since the epoch (what DynamoDB records)."""
        return time.time() + (monotonic - self.clock())
