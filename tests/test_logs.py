"""Structured logging and secret redaction (lambda_shared/logs.py).

These need no AWS stand-in: `make mutation` runs them without the conftest.
"""

import io
import json
import logging
import urllib.parse

import pytest

from lambda_shared import logs


def read_lines(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_log_lines_are_json_with_extras(capsys):
    logger = logs.get_logger("test_service")
    logger.info("hello %s", "world", extra={"bucket": "b", "count": 3})
    (line,) = read_lines(capsys)
    assert line["message"] == "hello world"
    assert line["level"] == "INFO"
    assert line["service"] == "test_service"
    assert (line["bucket"], line["count"]) == ("b", 3)
    assert line["timestamp"].endswith("+00:00")


def test_log_lines_keep_non_ascii_text_as_is(capsys):
    logs.get_logger("test_utf8").info("São Paulo")
    assert "São Paulo" in capsys.readouterr().out


def test_a_line_has_only_its_own_fields_even_after_another_handler_formatted_it(capsys):
    logger = logs.get_logger("test_fields")
    other = logging.StreamHandler(io.StringIO())
    other.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    logger.handlers.insert(0, other)  # Formats first: sets record.message and record.asctime.
    try:
        logger.info("hello", extra={"bucket": "b"})
    finally:
        logger.removeHandler(other)
    (line,) = read_lines(capsys)
    assert set(line) == {"timestamp", "level", "service", "message", "bucket"}


def test_lines_go_to_the_stdout_of_the_moment(monkeypatch):
    logger = logs.get_logger("test_stdout")
    later = io.StringIO()
    monkeypatch.setattr("sys.stdout", later)
    logger.info("now")
    assert json.loads(later.getvalue())["message"] == "now"


def test_get_logger_adds_one_handler_and_does_not_propagate():
    first = logs.get_logger("test_once")
    second = logs.get_logger("test_once")
    assert first is second
    assert len(first.handlers) == 1
    assert first.propagate is False


def test_log_level_comes_from_the_environment(monkeypatch, capsys):
    monkeypatch.setenv("LOG_LEVEL", "warning")
    logger = logs.get_logger("test_level")
    logger.info("hidden")
    logger.warning("shown")
    assert [line["message"] for line in read_lines(capsys)] == ["shown"]
    monkeypatch.setenv("LOG_LEVEL", "chatty")
    assert logs.get_logger("test_level").level == logging.INFO


def test_registered_secrets_are_redacted_everywhere(capsys):
    secret = 'tok"en-é-123'
    logs.register_secret(secret)
    logger = logs.get_logger("test_redact")
    try:
        raise RuntimeError(f"failed with {secret}")
    except RuntimeError:
        logger.exception("url https://x/?code=%s", secret, extra={"detail": secret})
    raw = capsys.readouterr().out
    assert "tok" not in raw
    line = json.loads(raw)
    assert line["message"] == "url https://x/?code=***"
    assert line["detail"] == "***"
    assert "failed with ***" in line["exception"]


SECRET = 'pass "word" /+= é\\ ünï 🔑 long enough'


@pytest.fixture
def root_output():
    """What the Lambda runtime's handler on the root logger would print, at DEBUG."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(previous)


@pytest.mark.parametrize(
    "form",
    [
        SECRET,
        json.dumps(SECRET)[1:-1],
        json.dumps(SECRET, ensure_ascii=False)[1:-1],
        urllib.parse.quote(SECRET, safe=""),
        urllib.parse.quote_plus(SECRET),
        repr(SECRET.encode())[2:-1],
        repr(json.dumps(SECRET, ensure_ascii=False)[1:-1].encode())[2:-1],
    ],
    ids=["raw", "json-ascii", "json", "percent", "form", "bytes-repr", "json-bytes-repr"],
)
def test_any_logger_at_any_level_is_redacted_in_every_encoding(root_output, form):
    logs.register_secret(SECRET)
    library = logging.getLogger("some.library")
    library.setLevel(logging.DEBUG)
    library.debug("response body: %s", form)
    try:
        raise ValueError(f"bad value {form}")
    except ValueError:
        library.exception("failed")
    text = root_output.getvalue()
    assert text.startswith("response body: ***\n")
    assert "ValueError: bad value ***\n" in text
    for encoded in logs.encoded_forms(SECRET):
        assert encoded not in text


def test_the_libraries_that_log_bodies_are_kept_at_warning(root_output):
    logging.getLogger("botocore").setLevel(logging.DEBUG)
    logs.get_logger("test_quiet")
    for name in logs.QUIET_LIBRARIES:
        assert logging.getLogger(name).getEffectiveLevel() >= logging.WARNING
    logging.getLogger("botocore.parsers").debug("Response body: secret stuff")
    assert root_output.getvalue() == ""


def test_botocore_bodies_are_withheld_before_any_secret_is_known(root_output):
    parsers = logging.getLogger("botocore.parsers")
    parsers.setLevel(logging.DEBUG)
    try:
        parsers.debug("Response body:\n%r", b'{"Parameter": {"Value": "not-registered-yet"}}')
        logging.getLogger("botocore.endpoint").warning("Response body: kept at WARNING")
    finally:
        parsers.setLevel(logging.NOTSET)
    text = root_output.getvalue()
    assert f"Response body: {logs.WITHHELD}" in text
    assert "not-registered-yet" not in text


@pytest.fixture
def no_secrets(monkeypatch):
    """The process as it starts: no secret registered yet."""
    monkeypatch.setattr(logs._redaction, "forms", ())


def test_an_exception_is_logged_with_its_traceback_before_any_secret_is_known(no_secrets, capsys):
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logs.get_logger("test_traceback").exception("failed")
    (line,) = read_lines(capsys)
    assert "RuntimeError: boom" in line["exception"]


@pytest.mark.parametrize("level", [logging.WARNING, logging.ERROR])
def test_botocore_messages_at_warning_and_above_are_kept(root_output, level):
    logs.register_secret(SECRET)
    logging.getLogger("botocore.endpoint").log(level, "Response body: kept")
    assert root_output.getvalue() == "Response body: kept\n"


def test_a_library_set_above_warning_stays_there():
    library = logging.getLogger("urllib3")
    library.setLevel(logging.ERROR)
    try:
        logs.get_logger("test_levels")
        assert library.level == logging.ERROR
    finally:
        library.setLevel(logging.NOTSET)


def test_a_malformed_record_is_left_for_logging_to_report():
    logs.register_secret(SECRET)
    logger = logging.getLogger("some.library")
    record = logger.makeRecord(logger.name, logging.WARNING, "f.py", 1, "%s and %s", ("one",), None)
    assert (record.msg, record.args) == ("%s and %s", ("one",))


@pytest.mark.parametrize("secret", ["!abcde", '"q1234', "#tag12"])
def test_a_secret_sorting_before_the_mask_is_redacted_too(root_output, secret):
    # "***" sorts after these: a comparison other than "changed?" would keep the original message.
    logs.register_secret(secret)
    logging.getLogger("some.library").warning("token %s", secret)
    assert root_output.getvalue() == "token ***\n"


def test_a_form_that_holds_another_is_redacted_whole(root_output):
    # The JSON form \"quoted-start holds the raw form "quoted-start: the longer is replaced first,
    # or a backslash would be left before the mask.
    secret = '"quoted-start'
    logs.register_secret(secret)
    logging.getLogger("some.library").warning("body %s", json.dumps(secret)[1:-1])
    assert root_output.getvalue() == "body ***\n"


def test_secrets_of_the_minimum_length_are_registered_and_shorter_ones_not(root_output):
    logs.register_secret("aaaaa!")  # six characters: the minimum
    logs.register_secret("zyxw5")  # one short
    logging.getLogger("some.library").warning("aaaaa! zyxw5")
    assert root_output.getvalue() == "*** zyxw5\n"


def test_a_secret_with_a_lone_surrogate_can_be_registered():
    logs.register_secret("lone \ud800 surrogate in it")
    assert logs.redact("x lone \ud800 surrogate in it y") == "x *** y"


def test_short_secrets_are_not_registered():
    logs.register_secret("  ab  ")
    logs.register_secret(None)
    assert logs.redact("ab cd  ab  ") == "ab cd  ab  "
