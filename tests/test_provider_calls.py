"""The reading of the provider's debug log that checks the deployer policy (tests/provider_calls.py)."""

import pytest

import provider_calls
from provider_calls import Call, action, calls, needed_actions, not_granted

JSON_ANSWER = (
    '2026-12-07T07:11:43.400Z [DEBUG] provider.terraform-provider-aws: {"@message":"HTTP Response Received",'
    '"rpc.service":"CloudWatch Logs","rpc.method":"CreateLogGroup",'
    '"tf_resource_type":"aws_cloudwatch_log_group"}'
)
TEXT_ANSWER = (
    "2026-12-07T07:11:44.000Z [DEBUG] provider: HTTP Response Received: rpc.service=SSM"
    " rpc.method=PutParameter tf_resource_type=aws_ssm_parameter http.status_code=200"
)
REQUEST = (
    '2026-12-07T07:11:45.000Z [DEBUG] provider: {"@message":"HTTP Request Sent","http.method":"POST",'
    '"http.request.body":"UEsDBBQ...'
)
DATA_SOURCE = (
    "2026-12-07T07:11:46.000Z [DEBUG] provider: HTTP Response Received: rpc.service=STS"
    " rpc.method=GetCallerIdentity tf_data_source_type=aws_caller_identity"
)


def test_answers_in_either_format_name_their_operation_and_what_they_were_for():
    log = "\n".join([JSON_ANSWER, REQUEST, "  a continued line of a body", TEXT_ANSWER, DATA_SOURCE])
    assert calls(log) == {
        Call("CloudWatch Logs", "CreateLogGroup", "aws_cloudwatch_log_group"),
        Call("SSM", "PutParameter", "aws_ssm_parameter"),
        Call("STS", "GetCallerIdentity", "aws_caller_identity"),
    }


def test_an_answer_without_its_operation_is_an_error_not_a_silent_gap():
    with pytest.raises(ValueError, match="without its operation"):
        calls("2026-12-07T07:11:46.000Z [DEBUG] provider: HTTP Response Received: rpc.service=SSM")


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (Call("SSM", "PutParameter", ""), "ssm:PutParameter"),
        (Call("SFN", "CreateStateMachine", ""), "states:CreateStateMachine"),
        (Call("CloudWatch Logs", "AssociateKmsKey", ""), "logs:AssociateKmsKey"),
        (Call("S3", "HeadBucket", ""), "s3:ListBucket"),
        (Call("S3", "GetBucketEncryption", ""), "s3:GetEncryptionConfiguration"),
        (Call("S3", "PutBucketVersioning", ""), "s3:PutBucketVersioning"),
        (Call("API Gateway", "GetRestApi", ""), "apigateway:GET"),
        (Call("API Gateway", "CreateDeployment", ""), "apigateway:POST"),
        (Call("API Gateway", "PutIntegration", ""), "apigateway:PUT"),
        (Call("API Gateway", "UpdateStage", ""), "apigateway:PATCH"),
        (Call("API Gateway", "DeleteRestApiPolicy", ""), "apigateway:DELETE"),
        (Call("API Gateway", "UntagResource", ""), "apigateway:DELETE"),
    ],
)
def test_operations_map_to_their_iam_actions(call, expected):
    assert action(call) == expected


def test_an_api_gateway_operation_of_unknown_verb_is_an_error():
    with pytest.raises(ValueError, match="no HTTP verb"):
        action(Call("API Gateway", "FlushStageCache", ""))


def test_only_the_given_resource_types_count_and_the_providers_own_calls_need_no_grant():
    log = "\n".join([JSON_ANSWER, TEXT_ANSWER, DATA_SOURCE])
    assert needed_actions(log, {"aws_ssm_parameter", "aws_caller_identity"}) == {"ssm:PutParameter"}
    assert ("STS", "GetCallerIdentity") in provider_calls.UNGRANTED


def test_a_policy_grants_by_wildcard_and_case_insensitively_and_only_by_allow():
    policy = {
        "Statement": [
            {"Effect": "Allow", "Action": ["ssm:put*", "logs:CreateLogGroup"], "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:*", "Resource": "*"},
            {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"},
        ]
    }
    assert not_granted({"ssm:PutParameter", "logs:CreateLogGroup", "kms:Decrypt"}, policy) == set()
    assert not_granted({"s3:CreateBucket", "logs:DeleteLogGroup"}, policy) == {
        "s3:CreateBucket",
        "logs:DeleteLogGroup",
    }
