"""Structured logging: one JSON object per line on stdout, with secrets redacted.

Usage::

    logger = get_logger("purge_bucket")
    logger.info("purge finished", extra={"bucket": "b", "deleted_versions": 3})

Fields passed in ``extra`` become top-level keys of the JSON line. Any value registered with
``register_secret`` is replaced by ``***`` wherever it appears in a line, including tracebacks.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from datetime import UTC, datetime

REDACTED = "***"
#: Shorter values are not redacted: replacing every "ab" in a line would garble it. Secrets this
#: short are rejected where they are configured (the Terraform variables' validation).
MIN_SECRET_LENGTH = 6

_STANDARD_RECORD_FIELDS = frozenset(
    vars(logging.LogRecord("", logging.INFO, "", 0, "", None, None)).keys()
) | {"message", "asctime", "taskName"}

_secrets: set[str] = set()
_secrets_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Make every later log line replace ``value`` with ``***``."""
    if value and len(value.strip()) >= MIN_SECRET_LENGTH:
        with _secrets_lock:
            _secrets.add(value)


def redact(text: str) -> str:
    """Replace every registered secret in ``text``, raw or JSON-escaped, with ``***``."""
    with _secrets_lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        text = text.replace(secret, REDACTED)
        escaped = json.dumps(secret, ensure_ascii=False)[1:-1]
        if escaped != secret:
            text = text.replace(escaped, REDACTED)
    return text


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line: timestamp, level, service, message, then the extras."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self.service,
            "message": record.getMessage(),
        }
        entry.update(
            (key, value) for key, value in vars(record).items() if key not in _STANDARD_RECORD_FIELDS
        )
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return redact(json.dumps(entry, default=str, ensure_ascii=False))


class _StdoutHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stdout`` is at the time of the call (so captured output works)."""

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    @property
    def stream(self):  # type: ignore[override]
        return sys.stdout

    @stream.setter
    def stream(self, _value) -> None:
        pass


def get_logger(service: str) -> logging.Logger:
    """The service's logger, writing JSON lines to stdout at ``LOG_LEVEL`` (default INFO).

    It does not propagate to the root logger, so the Lambda runtime's own text handler does not
    print each line a second time.
    """
    logger = logging.getLogger(service)
    if not any(isinstance(h.formatter, JsonFormatter) for h in logger.handlers):
        handler = _StdoutHandler()
        handler.setFormatter(JsonFormatter(service))
        logger.addHandler(handler)
        logger.propagate = False
    level = logging.getLevelName(os.environ.get("LOG_LEVEL", "INFO").upper())
    logger.setLevel(level if isinstance(level, int) else logging.INFO)
    return logger
