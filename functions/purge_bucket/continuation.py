"""Finishing a purge in the background when it does not fit in the API's time budget.

The function invokes itself asynchronously with a *continuation* event, one hop at a time. The
event carries no password. It is signed (HMAC-SHA256) with a random 256-bit key that exists only
while the purge runs: an SSM SecureString per purge, named after its request id, written with a
fresh key before each hop is scheduled and deleted when the purge ends. So:

* only this function can mint a continuation, and permission to invoke the function is not
  permission to purge;
* a captured continuation is useless once its purge has ended (its key is gone), and an earlier
  hop's event once the next hop was scheduled (the key was replaced);
* a captured event tells nothing about the password: the key is random, not derived from it.

A continuation also expires after an hour and counts its hops.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from lambda_shared.aws import error_code
from lambda_shared.s3_names import is_valid_bucket_name
from purge_bucket.deletion import PurgeCounts
from purge_bucket.request import MAX_PREFIX_BYTES

EVENT_KEY = "purge_continuation"
MAX_AGE_SECONDS = 3600
MAX_HOPS = 50
_SIGNATURE = re.compile(r"[0-9a-f]{64}")
#: A request id becomes part of an SSM parameter name.
_REQUEST_ID = re.compile(r"[A-Za-z0-9_.-]{1,128}")


class InvalidContinuation(Exception):
    """The event is not a continuation of a purge that is still running, or it is too old."""


class SessionError(Exception):
    """The signing key could not be read, written or deleted (SSM refused or was unreachable)."""


class SessionKeys:
    """Each running purge's current signing key: an SSM SecureString under ``path``."""

    def __init__(self, ssm: Any, path: str, kms_key_id: str | None = None) -> None:
        self.ssm = ssm
        self.path = path.rstrip("/")
        self.kms_key_id = kms_key_id

    def _name(self, request_id: str) -> str:
        if not _REQUEST_ID.fullmatch(request_id):
            raise InvalidContinuation("malformed continuation: bad request id")
        return f"{self.path}/{request_id}"

    def new(self, request_id: str) -> bytes:
        """A fresh key for the next hop of ``request_id``'s purge, replacing any earlier one."""
        key = secrets.token_bytes(32)
        params: dict[str, Any] = {
            "Name": self._name(request_id),
            "Value": base64.b64encode(key).decode(),
            "Type": "SecureString",
            "Overwrite": True,
        }
        if self.kms_key_id:
            params["KeyId"] = self.kms_key_id
        self._call(self.ssm.put_parameter, **params)
        return key

    def current(self, request_id: str) -> bytes | None:
        """The key of ``request_id``'s running purge; None when it has ended (or never ran)."""
        try:
            response = self.ssm.get_parameter(Name=self._name(request_id), WithDecryption=True)
        except ClientError as error:
            if error_code(error) == "ParameterNotFound":
                return None
            raise SessionError(f"SSM refused to read the purge's key: {error_code(error)}") from None
        except BotoCoreError as error:
            raise SessionError(f"SSM could not be reached: {error_code(error)}") from None
        try:
            return base64.b64decode(response["Parameter"]["Value"], validate=True)
        except (binascii.Error, ValueError, KeyError):
            return None

    def end(self, request_id: str) -> None:
        """Makes every continuation of ``request_id``'s purge useless."""
        try:
            self.ssm.delete_parameter(Name=self._name(request_id))
        except ClientError as error:
            if error_code(error) != "ParameterNotFound":
                raise SessionError(f"SSM refused to delete the purge's key: {error_code(error)}") from None
        except BotoCoreError as error:
            raise SessionError(f"SSM could not be reached: {error_code(error)}") from None

    @staticmethod
    def _call(operation: Any, **params: Any) -> None:
        try:
            operation(**params)
        except (ClientError, BotoCoreError) as error:
            raise SessionError(f"SSM refused to store the purge's key: {error_code(error)}") from None


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

    def to_event(self, key: bytes) -> dict[str, Any]:
        claims = self._claims()
        return {EVENT_KEY: {**claims, "signature": sign(_canonical(claims), key)}}

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
    def from_event(cls, event: dict[str, Any], keys: SessionKeys, now: float) -> Continuation:
        """The continuation in ``event``, if it is the current hop of a purge still running."""
        data = event.get(EVENT_KEY)
        if not isinstance(data, dict) or set(event) != {EVENT_KEY}:
            raise InvalidContinuation("malformed continuation event")
        signature = data.get("signature")
        claims = {key: value for key, value in data.items() if key != "signature"}
        if not isinstance(signature, str) or not _SIGNATURE.fullmatch(signature):
            raise InvalidContinuation("continuation has no valid signature")
        request_id = claims.get("request_id")
        if not isinstance(request_id, str):
            raise InvalidContinuation("malformed continuation: no request id")
        key = keys.current(request_id)
        if key is None:
            raise InvalidContinuation("no purge is running under this continuation's request id")
        if not hmac.compare_digest(sign(_canonical(claims), key), signature):
            raise InvalidContinuation("continuation signature does not match")
        try:
            continuation = cls(
                bucket=_typed(claims, "bucket_name", str),
                prefix=_typed(claims, "prefix", str),
                request_id=request_id,
                hop=_typed(claims, "hop", int),
                issued_at=_typed(claims, "issued_at", int),
                deleted_so_far=PurgeCounts.from_dict(_typed(claims, "deleted_so_far", dict)),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise InvalidContinuation(f"malformed continuation: {error}") from None
        if (
            not is_valid_bucket_name(continuation.bucket)
            or len(continuation.prefix.encode("utf-8", errors="surrogatepass")) > MAX_PREFIX_BYTES
        ):
            raise InvalidContinuation("malformed continuation: bad bucket or prefix")
        if not 0 <= now - continuation.issued_at <= MAX_AGE_SECONDS:
            raise InvalidContinuation("continuation has expired")
        if not 1 <= continuation.hop <= MAX_HOPS:
            raise InvalidContinuation(f"continuation went past {MAX_HOPS} hops")
        return continuation


def sign(message: bytes, key: bytes) -> str:
    """HMAC-SHA256 of ``message``, hex encoded."""
    return hmac.new(key, message, hashlib.sha256).hexdigest()


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
