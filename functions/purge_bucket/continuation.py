"""Finishing a purge in the background when it does not fit in the API's time budget.

The function invokes itself asynchronously with a *continuation* event. The event carries no
password: it is signed with an HMAC keyed by the stored password, expires, and counts its hops, so
only this function can mint one, and someone allowed to invoke the function directly cannot use
it to skip the password check.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from lambda_shared.s3_names import is_valid_bucket_name
from purge_bucket.auth import sign, signature_matches
from purge_bucket.deletion import PurgeCounts
from purge_bucket.request import MAX_PREFIX_BYTES

EVENT_KEY = "purge_continuation"
MAX_AGE_SECONDS = 3600
MAX_HOPS = 50
_SIGNATURE = re.compile(r"[0-9a-f]{64}")


class InvalidContinuation(Exception):
    """The event is not a continuation this function issued, or it is too old."""


@dataclass(frozen=True)
class Continuation:
    bucket: str
    prefix: str
    request_id: str
    hop: int
    issued_at: int
    deleted_so_far: PurgeCounts

    def _claims(self) -> dict[str, Any]:
        return {
            "bucket_name": self.bucket,
            "prefix": self.prefix,
            "request_id": self.request_id,
            "hop": self.hop,
            "issued_at": self.issued_at,
            "deleted_so_far": self.deleted_so_far.as_dict(),
        }

    def to_event(self, stored_password: str) -> dict[str, Any]:
        claims = self._claims()
        return {EVENT_KEY: {**claims, "signature": sign(_canonical(claims), stored_password)}}

    def next(self, deleted_now: PurgeCounts, now: float) -> Continuation:
        return Continuation(
            self.bucket,
            self.prefix,
            self.request_id,
            self.hop + 1,
            int(now),
            self.deleted_so_far + deleted_now,
        )

    @classmethod
    def from_event(cls, event: dict[str, Any], stored_password: str, now: float) -> Continuation:
        data = event.get(EVENT_KEY)
        if not isinstance(data, dict) or set(event) != {EVENT_KEY}:
            raise InvalidContinuation("malformed continuation event")
        signature = data.get("signature")
        claims = {key: value for key, value in data.items() if key != "signature"}
        if not isinstance(signature, str) or not _SIGNATURE.fullmatch(signature):
            raise InvalidContinuation("continuation has no valid signature")
        if not signature_matches(_canonical(claims), signature, stored_password):
            raise InvalidContinuation("continuation signature does not match")
        try:
            continuation = cls(
                bucket=_typed(claims, "bucket_name", str),
                prefix=_typed(claims, "prefix", str),
                request_id=_typed(claims, "request_id", str),
                hop=_typed(claims, "hop", int),
                issued_at=_typed(claims, "issued_at", int),
                deleted_so_far=PurgeCounts.from_dict(_typed(claims, "deleted_so_far", dict)),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise InvalidContinuation(f"malformed continuation: {error}") from None
        if (
            not is_valid_bucket_name(continuation.bucket)
            or len(continuation.prefix.encode()) > MAX_PREFIX_BYTES
        ):
            raise InvalidContinuation("malformed continuation: bad bucket or prefix")
        if not 0 <= now - continuation.issued_at <= MAX_AGE_SECONDS:
            raise InvalidContinuation("continuation has expired")
        if not 1 <= continuation.hop <= MAX_HOPS:
            raise InvalidContinuation(f"continuation went past {MAX_HOPS} hops")
        return continuation


def is_continuation_event(event: Any) -> bool:
    return isinstance(event, dict) and EVENT_KEY in event


def schedule(lambda_client: Any, function_arn: str, event: dict[str, Any]) -> None:
    """Invokes the function asynchronously with ``event``; raises botocore errors."""
    lambda_client.invoke(
        FunctionName=function_arn,
        InvocationType="Event",
        Payload=json.dumps(event).encode("utf-8"),
    )


def _canonical(claims: dict[str, Any]) -> bytes:
    return json.dumps(claims, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _typed(claims: dict[str, Any], name: str, kind: type) -> Any:
    value = claims[name]
    if type(value) is not kind:
        raise TypeError(f"{name} must be {kind.__name__}")
    return value
