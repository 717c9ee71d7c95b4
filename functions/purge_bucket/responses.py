"""API Gateway proxy responses: always a JSON object with a ``message``."""

from __future__ import annotations

import json
from typing import Any

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
