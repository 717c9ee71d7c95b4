"""Turns an invocation event into a validated request, or says exactly what is wrong.

Two requests: a purge (``bucket_name``, ``password``, optional ``prefix``) and a job's status
(``job_id``, ``password``), sent to the same route with ``/status`` after it, or, invoking the
function directly, told apart by their fields. Three event shapes carry a request:
* an API Gateway REST proxy event (payload v1): the JSON request is the ``body`` string, maybe
  base64;
* an HTTP API or function URL event (payload v2, ``"version": "2.0"``): the same, with the
  method under ``requestContext.http``;
* a direct invocation (``aws lambda invoke``, the seed's shape): the JSON object is the event.

A body may start with a UTF-8 byte order mark, which is ignored.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from typing import Any

from lambda_shared.s3_names import is_valid_bucket_name
from purge_bucket.api.responses import BadRequest, MethodNotAllowed

#: Characters (code points) of the longest password; terraform/variables.tf allows the same.
MAX_PASSWORD_CHARS = 1024
MAX_PREFIX_BYTES = 1024
MAX_BUCKET_CHARS = 63
#: Admits the longest request however it is JSON-escaped: a character outside the BMP becomes a
#: surrogate pair (12 bytes, "\ud83d\ude00"), a prefix byte at most 6 ("\u0041"); plus room for
#: the field names and whitespace.
MAX_BODY_BYTES = 12 * MAX_PASSWORD_CHARS + 6 * MAX_PREFIX_BYTES + 6 * MAX_BUCKET_CHARS + 1024
#: The longest body string that can hold that many bytes (base64 makes 4 characters of 3 bytes): a
#: longer one is refused before anything is decoded.
MAX_BODY_CHARS = 4 * -(-MAX_BODY_BYTES // 3)
_BOM = b"\xef\xbb\xbf"
FIELDS = ("bucket_name", "password", "prefix")
REQUIRED_FIELDS = ("bucket_name", "password")
STATUS_FIELDS = ("job_id", "password")
#: The status request's route is the purge's with this after it.
STATUS_PATH = "/status"
#: A job id, as ``new_job_id`` makes them: the time it started (UTC) and 64 random bits. It names
#: the job's Step Functions execution (at most 80 letters, digits, hyphens and underscores).
JOB_ID = re.compile(r"[0-9]{8}T[0-9]{6}Z-[0-9a-f]{16}")


@dataclass(frozen=True)
class PurgeRequest:
    bucket: str
    password: str = field(repr=False)
    prefix: str = ""


@dataclass(frozen=True)
class StatusRequest:
    job_id: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class Caller:
    """Who asked, for the log line: API Gateway's request id and source IP when there are any."""

    request_id: str
    source_ip: str | None


def is_proxy_event(event: Any) -> bool:
    """An HTTP request through API Gateway (REST or HTTP API) or a function URL."""
    return isinstance(event, dict) and ("httpMethod" in event or "requestContext" in event)


def _path(event: dict) -> str:
    """The route's path: the resource of a REST event, the raw path of an HTTP API one."""
    path = event.get("rawPath") if event.get("version") == "2.0" else event.get("resource")
    return path if isinstance(path, str) else ""


def is_status_route(event: Any) -> bool:
    return is_proxy_event(event) and _path(event).rstrip("/").endswith(STATUS_PATH)


def status_path(event: Any) -> str | None:
    """The path a caller sends its status requests to, as it sent this request; None when it
    invoked the function directly."""
    if not is_proxy_event(event):
        return None
    if event.get("version") == "2.0":
        path = event.get("rawPath")
    else:
        request_context = event.get("requestContext")
        path = request_context.get("path") if isinstance(request_context, dict) else None
        path = path if isinstance(path, str) and path else event.get("path")
    if not isinstance(path, str) or not path.startswith("/"):
        return None
    path = path.rstrip("/")
    return path if path.endswith(STATUS_PATH) else path + STATUS_PATH


def _method(event: dict) -> Any:
    if event.get("version") == "2.0":
        request_context = event.get("requestContext")
        http = request_context.get("http") if isinstance(request_context, dict) else None
        return http.get("method") if isinstance(http, dict) else None
    return event.get("httpMethod")


def caller_of(event: Any, context: Any) -> Caller:
    lambda_request_id = str(getattr(context, "aws_request_id", "") or "")
    if not is_proxy_event(event):
        return Caller(lambda_request_id, None)
    request_context = event.get("requestContext")
    if not isinstance(request_context, dict):
        return Caller(lambda_request_id, None)
    identity = request_context.get("http" if event.get("version") == "2.0" else "identity")
    source_ip = identity.get("sourceIp") if isinstance(identity, dict) else None
    request_id = request_context.get("requestId")
    return Caller(
        request_id if isinstance(request_id, str) and request_id else lambda_request_id,
        source_ip if isinstance(source_ip, str) else None,
    )


def parse_request(event: Any) -> PurgeRequest | StatusRequest:
    """The validated request in ``event``; raises ``BadRequest`` naming the first problem."""
    if is_proxy_event(event):
        if _method(event) != "POST":
            raise MethodNotAllowed("Only POST is supported")
        payload = _decode_json(_body_bytes(event))
        wants_status = is_status_route(event)
    elif isinstance(event, dict):
        payload = event
        wants_status = "job_id" in event
    else:
        raise BadRequest("The request must be a JSON object")
    return _validate_status(payload) if wants_status else _validate(payload)


def parse_purge_request(event: Any) -> PurgeRequest:
    """The purge request in ``event``; raises ``BadRequest`` for anything else."""
    request = parse_request(event)
    if not isinstance(request, PurgeRequest):
        raise BadRequest("This is a status request, not a purge request")
    return request


def _body_bytes(event: dict) -> bytes:
    body = event.get("body")
    if body is None:
        raise BadRequest("The request body is empty: send a JSON object")
    if not isinstance(body, str):
        raise BadRequest("The request body must be a string")
    if not body:
        raise BadRequest("The request body is empty: send a JSON object")
    if len(body) > MAX_BODY_CHARS:
        raise BadRequest(f"The request body is larger than {MAX_BODY_BYTES} bytes")
    if event.get("isBase64Encoded") is True:
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise BadRequest("The request body is not valid base64") from None
    else:
        raw = body.encode("utf-8", errors="surrogatepass")
    if len(raw) > MAX_BODY_BYTES:
        raise BadRequest(f"The request body is larger than {MAX_BODY_BYTES} bytes")
    return raw.removeprefix(_BOM)


def _decode_json(raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("The request body is not UTF-8 text") from None
    try:
        return json.loads(text, object_pairs_hook=_reject_duplicate_keys, parse_constant=_reject_constant)
    except BadRequest:
        raise
    except (ValueError, RecursionError):
        raise BadRequest("The request body is not valid JSON") from None


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise BadRequest(f"Field {_shown(key)} appears more than once")
        result[key] = value
    return result


def _reject_constant(name: str) -> None:
    raise BadRequest(f"The request body is not valid JSON ({name} is not allowed)")


def _check_fields(payload: Any, allowed: tuple[str, ...], required: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise BadRequest("The request must be a JSON object")
    unknown = [key for key in payload if key not in allowed]
    if unknown:
        names = ", ".join(_shown(key) for key in sorted(map(str, unknown))[:5])
        raise BadRequest(f"Unknown field(s): {names}. Allowed: {', '.join(allowed)}")
    missing = [name for name in required if name not in payload]
    if missing:
        raise BadRequest(f"Missing field(s): {', '.join(missing)}")
    return payload


def _password(payload: dict[str, Any]) -> str:
    password = payload["password"]
    if not isinstance(password, str) or not password:
        raise BadRequest("password must be a non-empty string")
    if len(password) > MAX_PASSWORD_CHARS:
        raise BadRequest(f"password is longer than {MAX_PASSWORD_CHARS} characters")
    return password


def _validate_status(payload: Any) -> StatusRequest:
    payload = _check_fields(payload, STATUS_FIELDS, STATUS_FIELDS)
    job_id = payload["job_id"]
    if not isinstance(job_id, str) or JOB_ID.fullmatch(job_id) is None:
        raise BadRequest("job_id is not a job id: send the job_id a 202 answer gave")
    return StatusRequest(job_id=job_id, password=_password(payload))


def _validate(payload: Any) -> PurgeRequest:
    payload = _check_fields(payload, FIELDS, REQUIRED_FIELDS)

    bucket = payload["bucket_name"]
    if not isinstance(bucket, str):
        raise BadRequest("bucket_name must be a string")
    if not is_valid_bucket_name(bucket):
        raise BadRequest("bucket_name is not a valid S3 bucket name")

    password = _password(payload)

    prefix = payload.get("prefix", "")
    if "prefix" in payload and (not isinstance(prefix, str) or not prefix):
        raise BadRequest("prefix must be a non-empty string when given")
    try:
        prefix_bytes = len(prefix.encode("utf-8"))
    except UnicodeEncodeError:
        raise BadRequest("prefix must be valid Unicode text") from None
    if prefix_bytes > MAX_PREFIX_BYTES:
        raise BadRequest(f"prefix is longer than {MAX_PREFIX_BYTES} bytes")

    return PurgeRequest(bucket=bucket, password=password, prefix=prefix)


def _shown(text: str, limit: int = 40) -> str:
    """A client-sent name, quoted and shortened, safe to echo in an error message."""
    return json.dumps(text[:limit] + ("…" if len(text) > limit else ""), ensure_ascii=True)
