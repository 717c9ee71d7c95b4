import io
import json
import logging
import urllib.parse

import pytest
from botocore.exceptions import EndpointConnectionError

from aws_faults import fail_requests
from lambda_shared import aws, logs, parameters
from lambda_shared.parameters import ParameterNotFound, ParameterUnavailable, SecureParameter


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
    assert "response body: ***" in text
    assert "bad value ***" in text
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


def test_a_secret_with_a_lone_surrogate_can_be_registered():
    logs.register_secret("lone \ud800 surrogate in it")
    assert logs.redact("x lone \ud800 surrogate in it y") == "x *** y"


def test_short_secrets_are_not_registered():
    logs.register_secret("  ab  ")
    logs.register_secret(None)
    assert logs.redact("ab cd  ab  ") == "ab cd  ab  "


@pytest.fixture
def parameter_name(ssm):
    ssm.put_parameter(Name="/test/secret", Value="first-value", Type="SecureString")
    return "/test/secret"


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_secure_parameter_is_decrypted_and_cached_until_the_ttl(ssm, parameter_name):
    clock = FakeClock()
    parameter = SecureParameter(parameter_name, ttl_seconds=60, clock=clock)
    assert parameter.value() == "first-value"
    ssm.put_parameter(Name=parameter_name, Value="second-value", Type="SecureString", Overwrite=True)
    clock.now += 59
    assert parameter.value() == "first-value"
    clock.now += 1
    assert parameter.value() == "second-value"
    assert logs.redact("second-value") == "***"


def test_missing_parameter(moto_aws):
    with pytest.raises(ParameterNotFound, match="does not exist"):
        SecureParameter("/nope").value()


def test_refused_read_is_unavailable_and_not_cached(ssm, parameter_name):
    failed = fail_requests(
        aws.client("ssm", **parameters.SSM_CLIENT),
        "ssm.GetParameter",
        status=400,
        body=b'{"__type": "AccessDeniedException", "message": "no"}',
        headers={"Content-Type": "application/x-amz-json-1.1"},
        times=1,
    )
    parameter = SecureParameter(parameter_name)
    with pytest.raises(ParameterUnavailable, match="AccessDeniedException"):
        parameter.value()
    assert failed() == 1
    assert parameter.value() == "first-value"


def test_unreachable_ssm_is_unavailable(ssm, parameter_name):
    def refuse(request, **_):
        raise EndpointConnectionError(endpoint_url=request.url)

    aws.client("ssm", **parameters.SSM_CLIENT).meta.events.register_first(
        "before-send.ssm.GetParameter", refuse
    )
    with pytest.raises(ParameterUnavailable, match="could not be reached") as caught:
        SecureParameter(parameter_name).value()
    assert caught.value.__cause__ is None
