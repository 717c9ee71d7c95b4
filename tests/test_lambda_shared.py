import json
import logging

import pytest
from botocore.exceptions import EndpointConnectionError

from aws_faults import fail_requests
from lambda_shared import aws, logs
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
        aws.client("ssm"),
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

    aws.client("ssm").meta.events.register_first("before-send.ssm.GetParameter", refuse)
    with pytest.raises(ParameterUnavailable, match="could not be reached") as caught:
        SecureParameter(parameter_name).value()
    assert caught.value.__cause__ is None
