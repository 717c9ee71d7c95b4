import pytest
from botocore.exceptions import EndpointConnectionError

from aws_faults import fail_requests
from lambda_shared import aws, logs, parameters
from lambda_shared.parameters import ParameterNotFound, ParameterUnavailable, SecureParameter


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
