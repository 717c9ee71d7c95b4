"""Injects S3/SSM failures at the HTTP boundary of a real boto3 client.

A handler registered first on ``before-send`` answers instead of the server, so botocore parses
the fake response and applies its retry rules exactly as it would for a real one.
"""

from __future__ import annotations

from collections.abc import Callable

from botocore.awsrequest import AWSResponse


class _RawBody:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_kwargs):
        yield self._body

    def read(self, *_args) -> bytes:
        return self._body


def s3_error_xml(code: str, message: str = "injected") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
        f"<Message>{message}</Message><RequestId>TEST</RequestId></Error>"
    ).encode()


def fail_requests(
    client,
    event: str,
    *,
    status: int,
    body: bytes,
    times: int | None = None,
    skip: int = 0,
    headers: dict[str, str] | None = None,
) -> Callable[[], int]:
    """After letting ``skip`` through, the next ``times`` requests for ``event`` (e.g.
    ``"s3.DeleteObjects"``) get this response (every one when ``times`` is None).
    Returns a function giving how many were failed."""
    failed = 0
    seen = 0

    def answer(request, **_kwargs):
        nonlocal failed, seen
        seen += 1
        if seen <= skip or (times is not None and failed >= times):
            return None
        failed += 1
        return AWSResponse(
            request.url, status, headers or {"Content-Type": "application/xml"}, _RawBody(body)
        )

    client.meta.events.register_first(f"before-send.{event}", answer)
    return lambda: failed
