"""What the endpoint answers: always a JSON object with a ``message``.

``Answer`` is one answer, with the ``outcome`` its log line names. A request refused before
anything was deleted raises one of the ``Refusal`` family, each with its status.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, ClassVar

HEADERS = {
    "Content-Type": "application/json",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}


def json_response(status: int, message: str, **fields: Any) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": dict(HEADERS),
        "body": json.dumps({"message": message, **fields}, ensure_ascii=False),
    }


@dataclass
class Answer:
    status: HTTPStatus
    outcome: str
    message: str
    fields: dict[str, Any] = field(default_factory=dict)

    def response(self) -> dict[str, Any]:
        return json_response(self.status, self.message, **self.fields)


class Refusal(Exception):
    """The request is answered with ``status`` and nothing is deleted."""

    status: ClassVar[HTTPStatus] = HTTPStatus.INTERNAL_SERVER_ERROR
    outcome: ClassVar[str] = "refused"

    def __init__(self, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields

    def answer(self) -> Answer:
        return Answer(self.status, self.outcome, self.message, self.fields)


class BadRequest(Refusal):
    status = HTTPStatus.BAD_REQUEST
    outcome = "bad_request"


class MethodNotAllowed(BadRequest):
    status = HTTPStatus.METHOD_NOT_ALLOWED


class Unauthorized(Refusal):
    """The same answer whatever was asked: it tells nothing about buckets or jobs."""

    status = HTTPStatus.UNAUTHORIZED
    outcome = "unauthorized"

    def __init__(self) -> None:
        super().__init__("Unauthorized")


class Forbidden(Refusal):
    status = HTTPStatus.FORBIDDEN
    outcome = "forbidden"


class NotFound(Refusal):
    status = HTTPStatus.NOT_FOUND
    outcome = "not_found"


class Conflict(Refusal):
    status = HTTPStatus.CONFLICT
    outcome = "busy"


class Unavailable(Refusal):
    """Something the request depends on (SSM, DynamoDB, AWS's time) failed before anything was
    deleted: the caller may try again."""

    status = HTTPStatus.SERVICE_UNAVAILABLE
    outcome = "unavailable"


class Failed(Refusal):
    status = HTTPStatus.INTERNAL_SERVER_ERROR
    outcome = "failed"
