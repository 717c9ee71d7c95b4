"""Structured logging: one JSON object per line on stdout, with secrets redacted everywhere.

Usage::

    logger = get_logger("purge_bucket")
    logger.info("purge finished", extra={"bucket": "b", "deleted_versions": 3})

Fields passed in ``extra`` become top-level keys of the JSON line. Any value registered with
``register_secret`` is replaced by ``***`` wherever it appears, in any of the encodings a library
might print it in (JSON-escaped, percent-encoded, a ``repr`` of its UTF-8 bytes), in every log
record of the process, whichever logger made it and at whatever level: the records themselves are
redacted when they are created, so the Lambda runtime's handler on the root logger, which prints
botocore's and urllib3's messages, never sees a secret either.

A secret is only known once read, and botocore logs the answer that carries it (at DEBUG) before
it is: so the messages in which botocore prints request parameters and response bodies are
withheld below WARNING, whatever their content, and the libraries that log at DEBUG (botocore,
urllib3, s3transfer) are kept at WARNING besides.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from datetime import UTC, datetime
from urllib.parse import quote, quote_plus

REDACTED = "***"
#: Shorter values are not redacted: replacing every "ab" in a line would garble it. Secrets this
#: short are rejected where they are configured (the Terraform variables' validation).
MIN_SECRET_LENGTH = 6
#: Libraries whose DEBUG messages carry request and response bodies, headers or URLs.
QUIET_LIBRARIES = ("botocore", "boto3", "s3transfer", "urllib3")
#: Where botocore prints request parameters and response bodies ("Response body:\n%r").
BODY_LOGGERS = frozenset({"botocore.endpoint", "botocore.parsers"})
WITHHELD = "(withheld: it may hold secrets)"

#: taskName is a field from Python 3.12 on; message and asctime are set by formatting.
_STANDARD_RECORD_FIELDS = frozenset(vars(logging.makeLogRecord({}))).union({"message", "asctime", "taskName"})


class _Redaction:
    """The process's registered secrets, and the record factory the redacting one wraps."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        #: Every encoded form of every registered secret, longest first.
        self.forms: tuple[str, ...] = ()
        self.base_factory = logging.getLogRecordFactory()


_redaction = _Redaction()


def encoded_forms(secret: str) -> set[str]:
    """``secret`` as it may appear in a log line: as is, JSON-escaped (ASCII or not),
    percent-encoded (path or form style), and each of those inside a ``repr`` of UTF-8 bytes."""
    texts = {
        secret,
        json.dumps(secret, ensure_ascii=False)[1:-1],
        json.dumps(secret, ensure_ascii=True)[1:-1],
        quote(secret, safe="", errors="surrogatepass"),
        quote_plus(secret, safe="", errors="surrogatepass"),
        quote(secret, safe="/", errors="surrogatepass"),
    }
    forms = set(texts)
    for text in texts:
        raw = text.encode("utf-8", errors="surrogatepass")
        forms.add(repr(raw)[2:-1])
    return {form for form in forms if len(form) >= MIN_SECRET_LENGTH}


def register_secret(value: str | None) -> None:
    """Make every later log record of the process replace ``value`` with ``***``."""
    if not value or len(value.strip()) < MIN_SECRET_LENGTH:
        return
    with _redaction.lock:
        forms = set(_redaction.forms) | encoded_forms(value)
        _redaction.forms = tuple(sorted(forms, key=len, reverse=True))
    _install()


def redact(text: str) -> str:
    """Replace every registered secret in ``text``, in any of its encoded forms, with ``***``."""
    for form in _redaction.forms:
        if form in text:
            text = text.replace(form, REDACTED)
    return text


_formatter = logging.Formatter()


def _redacting_record_factory(*args, **kwargs) -> logging.LogRecord:
    record = _redaction.base_factory(*args, **kwargs)
    if record.name in BODY_LOGGERS and record.levelno < logging.WARNING:
        # What precedes the first colon says what it was ("Response body", "Making request for
        # OperationModel(name=GetParameter) with params"); what follows is not kept.
        record.msg, record.args = f"{str(record.msg).partition(':')[0]}: {WITHHELD}", None
    if not _redaction.forms:
        return record
    try:
        message = record.getMessage()
    except Exception:  # A malformed record: logging reports it when it formats it.
        return record
    redacted = redact(message)
    if redacted != message:
        record.msg, record.args = redacted, None
    if record.exc_info:
        # Formatted now, so no handler ever formats the original (its text may hold a secret).
        record.exc_text = redact(_formatter.formatException(record.exc_info))
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


def _install() -> None:
    current = logging.getLogRecordFactory()
    if current is not _redacting_record_factory:
        _redaction.base_factory = current  # Wrapped, whoever set it (the Lambda runtime may have).
        logging.setLogRecordFactory(_redacting_record_factory)
    for name in QUIET_LIBRARIES:
        library = logging.getLogger(name)
        if library.getEffectiveLevel() < logging.WARNING:
            library.setLevel(logging.WARNING)


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
            entry["exception"] = record.exc_text or self.formatException(record.exc_info)
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
    _install()
    logger = logging.getLogger(service)
    if not any(isinstance(h.formatter, JsonFormatter) for h in logger.handlers):
        handler = _StdoutHandler()
        handler.setFormatter(JsonFormatter(service))
        logger.addHandler(handler)
        logger.propagate = False
    level = logging.getLevelName(os.environ.get("LOG_LEVEL", "INFO").upper())
    logger.setLevel(level if isinstance(level, int) else logging.INFO)
    return logger
