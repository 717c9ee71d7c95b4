"""The events API Gateway and function URLs send a function for an HTTP request.

* ``proxy_event``: a REST API proxy integration (payload v1);
* ``http_event``: an HTTP API or a function URL (payload v2).
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from stand_ins.local_account import ACCOUNT


def proxy_event(
    *,
    body: bytes | None,
    method: str = "POST",
    resource: str = "/purge",
    stage: str = "v1",
    headers: Mapping[str, str] | None = None,
    source_ip: str = "203.0.113.10",
    request_id: str | None = None,
    binary: bool | None = None,
) -> dict[str, Any]:
    """A REST proxy v1 event. The body is base64-encoded when it is not UTF-8 or ``binary=True``
    (API Gateway does so for the API's binary media types)."""
    headers = dict(headers or {})
    if body is None:
        encoded, is_base64 = None, False
    else:
        is_base64 = binary if binary is not None else not _is_utf8(body)
        encoded = base64.b64encode(body).decode() if is_base64 else body.decode("utf-8")
    now = datetime.now(UTC)
    request_id = request_id or str(uuid.uuid4())
    return _as_delivered(
        {
            "resource": resource,
            "path": resource,
            "httpMethod": method,
            "headers": headers or None,
            "multiValueHeaders": {k: [v] for k, v in headers.items()} or None,
            "queryStringParameters": None,
            "multiValueQueryStringParameters": None,
            "pathParameters": None,
            "stageVariables": None,
            "requestContext": {
                "resourceId": "abc123",
                "resourcePath": resource,
                "httpMethod": method,
                "extendedRequestId": request_id,
                "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "path": f"/{stage}{resource}",
                "accountId": ACCOUNT,
                "protocol": "HTTP/1.1",
                "stage": stage,
                "domainPrefix": "local",
                "requestTimeEpoch": int(time.time() * 1000),
                "requestId": request_id,
                "identity": {"sourceIp": source_ip, "userAgent": headers.get("User-Agent")},
                "domainName": "localhost",
                "apiId": "local",
            },
            "body": encoded,
            "isBase64Encoded": is_base64,
        }
    )


def http_event(
    *,
    body: bytes | None,
    method: str = "POST",
    path: str = "/purge",
    source_ip: str = "203.0.113.10",
    request_id: str | None = None,
) -> dict[str, Any]:
    """An HTTP API (or function URL) event, payload v2. The body is base64-encoded unless UTF-8."""
    is_base64 = body is not None and not _is_utf8(body)
    encoded = None if body is None else base64.b64encode(body).decode() if is_base64 else body.decode("utf-8")
    now = datetime.now(UTC)
    request_id = request_id or str(uuid.uuid4())
    return _as_delivered(
        {
            "version": "2.0",
            "routeKey": f"{method} {path}",
            "rawPath": path,
            "rawQueryString": "",
            "headers": {"content-type": "application/json"},
            "requestContext": {
                "accountId": ACCOUNT,
                "apiId": "local",
                "domainName": "localhost",
                "domainPrefix": "local",
                "http": {
                    "method": method,
                    "path": path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": source_ip,
                    "userAgent": "test",
                },
                "requestId": request_id,
                "routeKey": f"{method} {path}",
                "stage": "$default",
                "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "timeEpoch": int(time.time() * 1000),
            },
            "body": encoded,
            "isBase64Encoded": is_base64,
        }
    )


def _as_delivered(event: dict[str, Any]) -> dict[str, Any]:
    """The event as the Lambda runtime hands it over: decoded from JSON (no string is shared with
    the code that built it)."""
    return json.loads(json.dumps(event))


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
