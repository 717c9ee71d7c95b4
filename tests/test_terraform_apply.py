"""A real `terraform apply` and `destroy` of the module's examples against a local AWS endpoint
(moto's server), as a user applies them.

What exists afterwards is read back through boto3, not from Terraform. Two stacks are deployed at
once, with the same name prefix: examples/minimal (the defaults) in us-east-1 and examples/complete
(every option) in sa-east-1, which also shows that nothing global (IAM) collides between regions of
one account.

The moto gaps this needs are worked around in stand_ins/moto_fixes.py (each named there) and
stand_ins/aws_endpoint.py (AWS managed IAM policies loaded).
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate

import provider_calls
from purge_api_document import document, operations
from refresh_partner_data import config as refresh_config
from stand_ins.aws_endpoint import LocalAws
from stand_ins.local_account import ACCOUNT
from stand_ins.local_terraform import LocalTerraform
from stand_ins.state_machine_definition import definition
from test_purge_job import asl_validator

TERRAFORM = Path(__file__).resolve().parents[1] / "terraform"
DEPLOYER_POLICY = TERRAFORM / "deployer-policy.json"
PASSWORD = "terraform-apply-test-purge-password"
TOKEN = "terraform-apply-test-partner-token"
PREFIX = "partner-data"
PARTNER_URL = "https://partner.example.com/api/InteliFunctionGetData"
#: examples/complete's refresh_memory_mb.
COMPLETE_REFRESH_MEMORY_MB = 1024
#: What examples/complete tags every resource with, and what the module adds.
TAGS = {
    "Team": "data-platform",
    "CostCenter": "partner-data",
    "Project": "partner-data-pipeline",
    "ManagedBy": "terraform",
}


@pytest.fixture(scope="module")
def endpoint() -> Any:
    with LocalAws() as aws:
        aws.reset()
        yield aws


def clients(aws: LocalAws, region: str) -> Any:
    return functools.partial(aws.client, region=region)


def manifest(dist: Path) -> dict[str, Any]:
    return json.loads((dist / "manifest.json").read_text())


FUNCTIONS = (
    ("refresh", "refresh_partner_data", "handler.lambda_handler"),
    ("purge", "purge_bucket", "handler.lambda_handler"),
    ("purge_worker", "purge_bucket", "purge_bucket.worker.lambda_handler"),
)


def check_functions(client: Any, outputs: dict[str, Any], dist: Path, environments: dict[str, dict]) -> None:
    for name, zip_name, handler in FUNCTIONS:
        function = client("lambda").get_function(FunctionName=outputs[f"{name}_function_name"])
        config = function["Configuration"]
        assert config["Runtime"] == "python3.13"
        assert config["Handler"] == handler
        assert config["Architectures"] == ["arm64"]
        assert config["CodeSha256"] == manifest(dist)["functions"][zip_name]["sha256_base64"]
        assert config["Environment"]["Variables"] == environments[name]
        assert config["LoggingConfig"]["LogGroup"] == f"/aws/lambda/{outputs[f'{name}_function_name']}"


def check_schedule(client: Any, outputs: dict[str, Any], *, timezone: str, state: str) -> None:
    schedule = client("scheduler").get_schedule(Name=outputs["refresh_schedule_name"])
    assert schedule["ScheduleExpression"] == "cron(0 0 * * ? *)"
    assert schedule["ScheduleExpressionTimezone"] == timezone
    assert schedule["State"] == state
    assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
    target = schedule["Target"]
    assert target["Arn"] == outputs["refresh_function_arn"]
    # Verbatim: the scheduler fills the placeholder only as written (not JSON-escaped as \u003c...).
    assert target["Input"] == '{"scheduled_time": "<aws.scheduler.scheduled-time>"}'
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 5, "MaximumEventAgeInSeconds": 21600}
    assert target["DeadLetterConfig"] == {"Arn": outputs["refresh_dead_letter_queue_arn"]}


def check_api(client: Any, outputs: dict[str, Any], *, api_key_required: bool = False) -> dict[str, Any]:
    """The deployed API is the one docs/partner-api/openapi.yaml describes: the same paths and
    methods, nothing else, each a proxy to the purge function; and its API key is one the
    document's security allows."""
    api = client("apigateway")
    api_id = outputs["purge_rest_api_id"]
    routes = {r["path"]: r for r in api.get_resources(restApiId=api_id)["items"] if r["path"] != "/"}
    assert {path: set(route["resourceMethods"]) for path, route in routes.items()} == operations()
    for path, route in routes.items():
        for method in operations()[path]:
            deployed = api.get_method(restApiId=api_id, resourceId=route["id"], httpMethod=method)
            assert deployed["apiKeyRequired"] is api_key_required
            assert deployed["authorizationType"] == "NONE"
            integration = deployed["methodIntegration"]
            assert integration["type"] == "AWS_PROXY"
            assert integration["httpMethod"] == "POST"
            assert integration["timeoutInMillis"] == 29000
            assert outputs["purge_function_arn"] in integration["uri"]
    security = document()["security"]
    assert ({"api_key": []} if api_key_required else {}) in security
    # The stack's own copy of the document, for partners: its URL, its API key setting.
    stack_document = json.loads(outputs["purge_api_document"])
    validate(stack_document)
    assert stack_document == {
        **document(),
        "servers": [
            {"url": outputs["purge_endpoint_url"].removesuffix("/purge"), "description": "The stack's stage."}
        ],
        "security": [{"api_key": []} if api_key_required else {}],
    }
    assert document()["components"]["securitySchemes"]["api_key"] == {
        **document()["components"]["securitySchemes"]["api_key"],
        "type": "apiKey",
        "in": "header",
        "name": "x-api-key",
    }
    stage = api.get_stage(restApiId=api_id, stageName="v1")
    assert stage["deploymentId"]
    assert "$input" not in stage["accessLogSettings"]["format"]
    permission = json.loads(
        client("lambda").get_policy(FunctionName=outputs["purge_function_name"])["Policy"]
    )
    source_arns = sorted(s["Condition"]["ArnLike"]["AWS:SourceArn"] for s in permission["Statement"])
    assert [arn.split(":")[-1] for arn in source_arns] == sorted(
        f"{api_id}/v1/{method}{path}" for path, methods in operations().items() for method in methods
    )
    return {"api_id": api_id, "resource_id": routes["/purge"]["id"], "deployment_id": stage["deploymentId"]}


def check_purge_job(
    client: Any, outputs: dict[str, Any], *, max_concurrency: int = 8, timeout_hours: int = 72
) -> None:
    """The state machine runs the definition file, filled in as the local stack fills it in, and
    invokes the worker; asl-validator accepts it as deployed."""
    machine = client("stepfunctions").describe_state_machine(
        stateMachineArn=outputs["purge_job_state_machine_arn"]
    )
    assert machine["type"] == "STANDARD"
    worker_arn = client("lambda").get_function(FunctionName=outputs["purge_worker_function_name"])[
        "Configuration"
    ]["FunctionArn"]
    deployed = json.loads(machine["definition"])
    assert deployed == definition(worker_arn, max_concurrency=max_concurrency, timeout_hours=timeout_hours)
    assert machine["loggingConfiguration"]["level"] == "ERROR"
    validated = subprocess.run(
        [str(asl_validator()), "--json-definition", machine["definition"]],
        capture_output=True,
        text=True,
        check=False,
    )
    assert validated.returncode == 0, validated.stdout + validated.stderr
    table = client("dynamodb").describe_table(TableName=outputs["purge_jobs_table_name"])["Table"]
    assert table["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    ttl = client("dynamodb").describe_time_to_live(TableName=outputs["purge_jobs_table_name"])
    assert ttl["TimeToLiveDescription"]["AttributeName"] == "delete_after"
    alarms = client("cloudwatch").describe_alarms(AlarmNamePrefix="partner-data-purge-job-")["MetricAlarms"]
    assert sorted((a["Namespace"], a["MetricName"]) for a in alarms) == [
        ("AWS/States", "ExecutionsFailed"),
        ("AWS/States", "ExecutionsTimedOut"),
    ]
    assert all(
        a["Dimensions"] == [{"Name": "StateMachineArn", "Value": machine["stateMachineArn"]}] for a in alarms
    )


#: The alarms on a day that did not land, with the examples' three datasets and no volume floor.
MONITORING_ALARMS = [
    f"{PREFIX}-refresh-failure-queue",
    f"{PREFIX}-refresh-destination-failures",
    f"{PREFIX}-schedule-dropped",
    f"{PREFIX}-schedule-dead-letter-failures",
    *(f"{PREFIX}-refresh-{dataset}-freshness" for dataset in ("category", "establishment", "sale")),
]


def check_monitoring(client: Any, outputs: dict[str, Any]) -> None:
    """The alarms of issue 25 are there as planned, and the dashboard reads the functions' metrics."""
    alarms = {a["AlarmName"]: a for a in client("cloudwatch").describe_alarms()["MetricAlarms"]}
    assert set(MONITORING_ALARMS) <= set(alarms)
    assert set(outputs["alarm_names"]) == set(alarms)
    queue = alarms[f"{PREFIX}-refresh-failure-queue"]
    assert (queue["Namespace"], queue["MetricName"], queue["Dimensions"]) == (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        [{"Name": "QueueName", "Value": f"{PREFIX}-refresh-failures"}],
    )
    fresh = alarms[f"{PREFIX}-refresh-sale-freshness"]
    assert (fresh["Namespace"], fresh["MetricName"], fresh["TreatMissingData"]) == (
        PREFIX,
        "ExportsWritten",
        "breaching",
    )
    assert (fresh["Period"], fresh["EvaluationPeriods"], fresh["DatapointsToAlarm"]) == (3600, 24, 24)
    assert fresh["Dimensions"] == [{"Name": "Dataset", "Value": "sale"}]
    body = json.loads(
        client("cloudwatch").get_dashboard(DashboardName=outputs["dashboard_name"])["DashboardBody"]
    )
    assert [widget["type"] for widget in body["widgets"]][-1] == "alarm"
    assert set(body["widgets"][-1]["properties"]["alarms"]) == {a["AlarmArn"] for a in alarms.values()}


def check_bucket(client: Any, bucket: str) -> None:
    s3 = client("s3")
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    (rule,) = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert block == dict.fromkeys(
        ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True
    )
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["DenyInsecureTransport"]


def what_is_left(client: Any, region: str) -> list[str]:
    """Every resource of the stack in ``region`` (and its IAM roles) still on the endpoint."""
    left = [f"function {f['FunctionName']}" for f in client("lambda").list_functions()["Functions"]]
    buckets = client("s3").list_buckets()["Buckets"]  # Global: each stack's bucket name ends with its region.
    left += [
        f"bucket {b['Name']}" for b in buckets if b["Name"].startswith(PREFIX) and b["Name"].endswith(region)
    ]
    left += [
        f"parameter {p['Name']}"
        for p in client("ssm").describe_parameters()["Parameters"]
        if p["Name"].startswith(f"/{PREFIX}/")
    ]
    left += [f"queue {url}" for url in client("sqs").list_queues().get("QueueUrls", [])]
    left += [f"schedule {s['Name']}" for s in client("scheduler").list_schedules()["Schedules"]]
    left += [f"API {a['name']}" for a in client("apigateway").get_rest_apis()["items"]]
    left += [f"log group {g['logGroupName']}" for g in client("logs").describe_log_groups()["logGroups"]]
    left += [f"alarm {a['AlarmName']}" for a in client("cloudwatch").describe_alarms()["MetricAlarms"]]
    left += [
        f"state machine {m['name']}" for m in client("stepfunctions").list_state_machines()["stateMachines"]
    ]
    left += [f"table {name}" for name in client("dynamodb").list_tables()["TableNames"]]
    left += [f"topic {t['TopicArn']}" for t in client("sns").list_topics()["Topics"]]
    left += [
        f"role {r['RoleName']}" for r in client("iam").list_roles()["Roles"] if r["RoleName"].endswith(region)
    ]
    return left


def defaults_scenario(aws: LocalAws, work: Path, dist: Path, both_applied: threading.Barrier) -> None:
    region = "us-east-1"
    client = clients(aws, region)
    terraform = LocalTerraform(
        aws.endpoint,
        work,
        example="minimal",
        secrets={"purge_password": PASSWORD, "partner_api_token": TOKEN},
        provider_log=work / "provider.log",
    )
    terraform.init()
    variables: dict[str, Any] = {"region": region, "partner_api_url": PARTNER_URL, "dist_dir": str(dist)}
    outputs = terraform.apply(variables)
    both_applied.wait()

    bucket = f"{PREFIX}-{ACCOUNT}-{region}"
    assert outputs["data_bucket_name"] == bucket
    check_functions(
        client,
        outputs,
        dist,
        {
            "refresh": {
                "PARTNER_API_URL": PARTNER_URL,
                "PARTNER_API_TOKEN_PARAMETER": f"/{PREFIX}/partner-api-token",
                "PARTNER_API_TOKEN_IN": "header",
                "DATA_BUCKET": bucket,
                "DATASETS": "category,establishment,sale",
                "TIMEZONE": "America/Sao_Paulo",
                # The function's own defaults at the example's memory and /tmp (512 MB each).
                "MAX_FIELD_BYTES": str(refresh_config.max_field_bytes_for(512)),
                "MAX_BODY_BYTES": str(refresh_config.max_body_bytes_for(512)),
                "METRICS_NAMESPACE": PREFIX,
            },
            "purge": {
                "PASSWORD_PARAMETER": f"/{PREFIX}/purge-password",
                "ALLOWED_BUCKETS": bucket,
                "JOBS_TABLE": f"{PREFIX}-purge-jobs",
                "JOB_STATE_MACHINE_ARN": outputs["purge_job_state_machine_arn"],
                "JOB_RETENTION_DAYS": "30",
                "METRICS_NAMESPACE": PREFIX,
            },
            "purge_worker": {
                "ALLOWED_BUCKETS": bucket,
                "JOBS_TABLE": f"{PREFIX}-purge-jobs",
                "JOB_RETENTION_DAYS": "30",
                "METRICS_NAMESPACE": PREFIX,
            },
        },
    )
    check_purge_job(client, outputs)
    check_monitoring(client, outputs)
    assert outputs["purge_status_url"] == outputs["purge_endpoint_url"] + "/status"
    for name in ("refresh", "purge"):
        assert "Concurrency" not in client("lambda").get_function(
            FunctionName=outputs[f"{name}_function_name"]
        )
    refresh = client("lambda").get_function_configuration(FunctionName=outputs["refresh_function_name"])
    assert refresh["EphemeralStorage"] == {"Size": 512}
    check_schedule(client, outputs, timezone="America/Sao_Paulo", state="ENABLED")
    api = check_api(client, outputs)
    log_groups = {g["logGroupName"]: g for g in client("logs").describe_log_groups()["logGroups"]}
    assert log_groups[f"API-Gateway-Execution-Logs_{api['api_id']}/v1"]["retentionInDays"] == 365
    assert client("apigateway").get_account().get("cloudwatchRoleArn") is None  # Not this stack's to set.
    check_bucket(client, bucket)
    ssm = client("ssm")
    for name, value in (
        (outputs["purge_password_parameter_name"], PASSWORD),
        (outputs["partner_api_token_parameter_name"], TOKEN),
    ):
        parameter = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]
        assert (parameter["Type"], parameter["Value"]) == ("SecureString", value)
    assert PASSWORD not in terraform.state_text()
    assert TOKEN not in terraform.state_text()
    # The same prefix in two regions: IAM is global, so the roles must carry the region.
    roles = {r["RoleName"] for r in client("iam").list_roles()["Roles"]}
    assert {f"{PREFIX}-refresh-us-east-1", f"{PREFIX}-refresh-sa-east-1"} <= roles

    # Nothing drifts: a second plan has nothing to do (the deployment is not replaced again).
    code, plan = terraform.plan_exit_code(variables)
    assert code == 0, plan

    # Protected by default: a destroy reaches the guard first and stops there.
    client("s3").put_object(Bucket=bucket, Key="sale/2026-11-20.csv", Body=b"id\r\n1\r\n")
    refused = terraform.destroy(variables, "module.partner_data.module.data_bucket", check=False)
    assert refused.returncode != 0
    message = " ".join((refused.stdout + refused.stderr).split())
    assert f"The data bucket {bucket} is protected by data_bucket_deletion_protection" in message
    assert "set data_bucket_deletion_protection to false, apply, then destroy" in message
    check_bucket(client, bucket)
    assert client("s3").list_object_versions(Bucket=bucket)["Versions"]

    # A key added to the running stack: the SecureStrings are written again under it (the
    # provider sent an empty value, which SSM refused, unless their versions were bumped too).
    key_arn = client("kms").create_key(Description="added later")["KeyMetadata"]["Arn"]
    variables = {**variables, "kms_key_arn": key_arn}
    terraform.apply(variables)
    for name, value in (
        (outputs["purge_password_parameter_name"], PASSWORD),
        (outputs["partner_api_token_parameter_name"], TOKEN),
    ):
        parameter = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]
        assert (
            parameter["Value"],
            ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [name]}])["Parameters"][0][
                "KeyId"
            ],
        ) == (value, key_arn)

    # Unprotected (an apply first), the destroy removes everything, the data included.
    unprotected = {**variables, "data_bucket_deletion_protection": False}
    terraform.apply(unprotected)
    terraform.destroy(unprotected)
    assert what_is_left(client, region) == []


def access_log_bucket(client: Any, region: str) -> str:
    """An existing bucket for the data bucket's access logs, with AWS's policy for the logging service."""
    name = f"{PREFIX}-access-logs-{region}"
    client("s3").create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "S3ServerAccessLogs",
                "Effect": "Allow",
                "Principal": {"Service": "logging.s3.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": f"arn:aws:s3:::{name}/*",
                "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
            }
        ],
    }
    client("s3").put_bucket_policy(Bucket=name, Policy=json.dumps(policy))
    return name


def options_scenario(aws: LocalAws, work: Path, dist: Path, both_applied: threading.Barrier) -> None:
    region = "sa-east-1"
    client = clients(aws, region)
    log_bucket = access_log_bucket(client, region)
    terraform = LocalTerraform(
        aws.endpoint,
        work,
        example="complete",
        secrets={"purge_password": PASSWORD, "partner_api_token": TOKEN},
        provider_log=work / "provider.log",
    )
    terraform.init()
    variables: dict[str, Any] = {
        "region": region,
        "partner_api_url": PARTNER_URL,
        "dist_dir": str(dist),
        "data_access_log_bucket": log_bucket,
        "extra_purgeable_buckets": ["partner-data-archive-example"],
        "refresh_schedule_enabled": False,
        "data_bucket_deletion_protection": False,
        "purge_allowed_source_cidrs": ["203.0.113.0/24"],
    }
    try:
        outputs = terraform.apply(variables)
    finally:
        both_applied.wait()
    key_arn = outputs["kms_key_arn"]

    bucket = f"{PREFIX}-{ACCOUNT}-{region}"
    check_functions(
        client,
        outputs,
        dist,
        {
            "refresh": {
                "PARTNER_API_URL": PARTNER_URL,
                "PARTNER_API_TOKEN_PARAMETER": f"/{PREFIX}/partner-api-token",
                "PARTNER_API_TOKEN_IN": "query",
                "DATA_BUCKET": bucket,
                "DATASETS": "category,establishment,sale",
                "TIMEZONE": "America/Sao_Paulo",
                "MAX_FIELD_BYTES": str(refresh_config.max_field_bytes_for(COMPLETE_REFRESH_MEMORY_MB)),
                "MAX_BODY_BYTES": str(refresh_config.max_body_bytes_for(2048)),
                "METRICS_NAMESPACE": PREFIX,
            },
            "purge": {
                "PASSWORD_PARAMETER": f"/{PREFIX}/purge-password",
                "ALLOWED_BUCKETS": f"{bucket},partner-data-archive-example",
                "JOBS_TABLE": f"{PREFIX}-purge-jobs",
                "JOB_STATE_MACHINE_ARN": outputs["purge_job_state_machine_arn"],
                "JOB_RETENTION_DAYS": "7",
                "METRICS_NAMESPACE": PREFIX,
            },
            "purge_worker": {
                "ALLOWED_BUCKETS": f"{bucket},partner-data-archive-example",
                "JOBS_TABLE": f"{PREFIX}-purge-jobs",
                "JOB_RETENTION_DAYS": "7",
                "METRICS_NAMESPACE": PREFIX,
            },
        },
    )
    check_purge_job(client, outputs, max_concurrency=3, timeout_hours=24)
    table = client("dynamodb").describe_table(TableName=outputs["purge_jobs_table_name"])["Table"]
    assert table["SSEDescription"]["KMSMasterKeyArn"] == key_arn
    refresh = client("lambda").get_function_configuration(FunctionName=outputs["refresh_function_name"])
    assert refresh["EphemeralStorage"] == {"Size": 2048}
    for name, reserved in (("refresh", 1), ("purge", 2)):  # The worker's concurrency is the Map's.
        function = client("lambda").get_function(FunctionName=outputs[f"{name}_function_name"])
        assert function["Concurrency"]["ReservedConcurrentExecutions"] == reserved
        assert function["Configuration"]["KMSKeyArn"] == key_arn
    check_schedule(client, outputs, timezone="America/Sao_Paulo", state="DISABLED")
    assert client("scheduler").get_schedule(Name=outputs["refresh_schedule_name"])["KmsKeyArn"] == key_arn
    api = check_api(client, outputs, api_key_required=True)
    gateway = client("apigateway")
    (plan,) = gateway.get_usage_plans()["items"]
    assert plan["apiStages"] == [{"apiId": api["api_id"], "stage": "v1"}]
    assert gateway.get_api_key(apiKey=outputs["purge_api_key_id"])["enabled"]
    policy = json.loads(gateway.get_rest_api(restApiId=api["api_id"])["policy"].replace('\\"', '"'))
    assert policy["Statement"][1]["Condition"] == {"NotIpAddress": {"aws:SourceIp": ["203.0.113.0/24"]}}
    account_role = gateway.get_account()["cloudwatchRoleArn"]
    assert account_role.endswith(f":role/{PREFIX}-apigateway-logs-{region}")

    check_bucket(client, bucket)
    s3 = client("s3")
    (rule,) = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] == key_arn
    rules = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]}
    assert rules["retention-safety-net"]["Expiration"]["Days"] == 400
    parameters = client("ssm").describe_parameters()["Parameters"]
    assert sorted((p["Name"], p["KeyId"]) for p in parameters) == [
        (f"/{PREFIX}/partner-api-token", key_arn),
        (f"/{PREFIX}/purge-password", key_arn),
    ]
    assert s3.get_bucket_logging(Bucket=bucket)["LoggingEnabled"]["TargetBucket"] == log_bucket
    # The caller's tags, and the module's own, on what takes tags (no provider default_tags here).
    function_arn = outputs["refresh_function_arn"]
    assert client("lambda").list_tags(Resource=function_arn)["Tags"] == TAGS
    assert {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=bucket)["TagSet"]} == TAGS
    queue = client("sqs").get_queue_attributes(
        QueueUrl=outputs["refresh_dead_letter_queue_url"], AttributeNames=["All"]
    )
    assert queue["Attributes"]["KmsMasterKeyId"] == key_arn
    for group in client("logs").describe_log_groups()["logGroups"]:
        assert (group["logGroupName"], group.get("kmsKeyId"), group["retentionInDays"]) == (
            group["logGroupName"],
            key_arn,
            731,
        )
    alarms = client("cloudwatch").describe_alarms()["MetricAlarms"]
    assert sorted(a["AlarmName"] for a in alarms) == sorted(
        [
            f"{PREFIX}-purge-errors",
            f"{PREFIX}-purge-job-failed",
            f"{PREFIX}-purge-job-timed-out",
            f"{PREFIX}-purge-worker-errors",
            f"{PREFIX}-refresh-errors",
            *MONITORING_ALARMS,
            f"{PREFIX}-refresh-sale-volume",
        ]
    )
    check_monitoring(client, outputs)
    (volume,) = [a for a in alarms if a["AlarmName"].endswith("-volume")]
    assert (volume["MetricName"], volume["Threshold"], volume["Statistic"]) == ("ExportRows", 100, "Minimum")
    assert all(a["AlarmActions"] == [outputs["alarm_topic_arn"]] for a in alarms)
    assert PASSWORD not in terraform.state_text()

    # A changed allowlist reaches the stage: the provider replaces the deployment.
    terraform.apply({**variables, "purge_allowed_source_cidrs": ["198.51.100.0/24"]})
    redeployed = gateway.get_stage(restApiId=api["api_id"], stageName="v1")["deploymentId"]
    assert redeployed != api["deployment_id"]
    policy = json.loads(gateway.get_rest_api(restApiId=api["api_id"])["policy"].replace('\\"', '"'))
    assert policy["Statement"][1]["Condition"] == {"NotIpAddress": {"aws:SourceIp": ["198.51.100.0/24"]}}

    # Removing the allowlist reaches the stage: the policy changes before the deployment that
    # snapshots it is made (a policy deleted after the stage switched left the old one served).
    terraform.apply({**variables, "purge_allowed_source_cidrs": []})
    log = terraform.last_apply_log
    policy_changed = log.index("aws_api_gateway_rest_api_policy.this: Modifications complete")
    assert policy_changed < log.index("aws_api_gateway_deployment.this: Creation complete")
    policy = json.loads(gateway.get_rest_api(restApiId=api["api_id"])["policy"].replace('\\"', '"'))
    assert [s["Effect"] for s in policy["Statement"]] == ["Allow"]
    assert gateway.get_stage(restApiId=api["api_id"], stageName="v1")["deploymentId"] != redeployed
    code, plan = terraform.plan_exit_code({**variables, "purge_allowed_source_cidrs": []})
    assert code == 0, plan

    terraform.destroy({**variables, "purge_allowed_source_cidrs": []})
    # The test's own, made before the apply; moto delivered access logs to it.
    for item in client("s3").list_objects_v2(Bucket=log_bucket).get("Contents", []):
        client("s3").delete_object(Bucket=log_bucket, Key=item["Key"])
    client("s3").delete_bucket(Bucket=log_bucket)
    assert what_is_left(client, region) == []


@pytest.mark.slow(seconds=220)
def test_apply_check_and_destroy_the_defaults_and_every_option(terraform_installed, endpoint, dist, tmp_path):
    both_applied = threading.Barrier(2, timeout=600)
    with ThreadPoolExecutor(max_workers=2) as pool:
        scenarios = [
            pool.submit(defaults_scenario, endpoint, tmp_path / "defaults", dist, both_applied),
            pool.submit(options_scenario, endpoint, tmp_path / "options", dist, both_applied),
        ]
        for scenario in scenarios:
            scenario.result()

    # What the provider asked of AWS for the module's resources, in both applies, re-plans and
    # destroys, is what the documented deployer policy grants.
    log = "".join((tmp_path / name / "provider.log").read_text() for name in ("defaults", "options"))
    needed = provider_calls.needed_actions(log, module_resource_types())
    assert {
        "lambda:CreateFunction",
        "ssm:PutParameter",
        "states:CreateStateMachine",
        "s3:DeleteBucket",
    } <= needed
    assert provider_calls.not_granted(needed, json.loads(DEPLOYER_POLICY.read_text())) == set()


def module_resource_types() -> set[str]:
    """The resource and data source types of the module and its child modules (not the examples')."""
    text = "\n".join(
        path.read_text() for path in [*TERRAFORM.glob("*.tf"), *TERRAFORM.glob("modules/*/*.tf")]
    )
    return set(re.findall(r'(?m)^(?:resource|data) "(aws_\w+)"', text))


@pytest.mark.slow(seconds=15)
def test_a_zip_built_for_another_architecture_is_refused_with_the_fix(
    terraform_installed, endpoint, dist, tmp_path
):
    other = tmp_path / "dist"
    shutil.copytree(dist, other)
    (other / "manifest.json").write_text(json.dumps({**manifest(dist), "architecture": "x86_64"}))
    terraform = LocalTerraform(
        endpoint.endpoint, tmp_path, secrets={"purge_password": PASSWORD, "partner_api_token": TOKEN}
    )
    terraform.init()
    code, output = terraform.plan_exit_code(
        {"region": "eu-west-1", "partner_api_url": PARTNER_URL, "dist_dir": str(other)}
    )
    assert code == 1
    assert (
        "The zip was built for x86_64 but the function is arm64: run `make package ARCH=arm64`."
        in " ".join(output.split())
    )


#: The top-level addresses of the module's resources, as a stack that applied terraform/ itself has
#: them in its state (the upgrade note in docs/deploy-and-operate.md lists the same).
TOP_LEVEL_ADDRESSES = (
    "module.data_bucket",
    "module.purge_password",
    "module.partner_api_token",
    "module.refresh_function",
    "module.refresh_schedule",
    "module.purge_function",
    "module.purge_worker",
    "module.purge_job",
    "module.api_gateway_cloudwatch_role",
    "module.purge_api",
    "module.monitoring",
    "aws_sqs_queue.refresh_failures",
)


@pytest.mark.slow(seconds=120)
def test_a_stack_that_applied_terraform_itself_moves_under_a_module_call_replacing_nothing(
    terraform_installed, endpoint, dist, tmp_path
):
    """Before terraform/ became a module, users applied it as their root, its provider inside it.
    The upgrade note in docs/deploy-and-operate.md: moved blocks in a new root that calls the
    module, over the same state, and the plan creates and destroys nothing."""
    module = tmp_path / "module"
    shutil.copytree(
        TERRAFORM, module, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*", "tests", "examples")
    )
    old = tmp_path / "old"
    shutil.copytree(module, old)
    (old / "providers.tf").write_text('provider "aws" {\n  region = var.region\n}\n')
    secrets = {"purge_password": PASSWORD, "partner_api_token": TOKEN}
    variables = {"region": "eu-west-1", "partner_api_url": PARTNER_URL, "dist_dir": str(dist)}
    before = LocalTerraform.in_directory(endpoint.endpoint, old, secrets=secrets)
    before.init()
    before.apply(variables)

    new = tmp_path / "new"
    new.mkdir()
    moves = "".join(
        f"\nmoved {{\n  from = {address}\n  to   = module.partner_data.{address}\n}}\n"
        for address in TOP_LEVEL_ADDRESSES
    )
    (new / "main.tf").write_text(
        """provider "aws" {
  region = var.region
}

variable "region" {
  type = string
}

variable "partner_api_url" {
  type = string
}

variable "dist_dir" {
  type = string
}

variable "purge_password" {
  type      = string
  sensitive = true
  ephemeral = true
}

variable "partner_api_token" {
  type      = string
  sensitive = true
  ephemeral = true
}

module "partner_data" {
  source = "../module"

  region            = var.region
  partner_api_url   = var.partner_api_url
  dist_dir          = var.dist_dir
  purge_password    = var.purge_password
  partner_api_token = var.partner_api_token
}
"""
        + moves
    )
    shutil.copy(old / "terraform.tfstate", new / "terraform.tfstate")
    after = LocalTerraform.in_directory(endpoint.endpoint, new, secrets=secrets)
    after.init()
    plan = after.plan_json(variables)

    changes = plan["resource_changes"]
    applied = sum(
        len(resource["instances"])
        for resource in json.loads(before.state_text())["resources"]
        if resource["mode"] == "managed"
    )
    moved = [change for change in changes if change.get("previous_address") and change["mode"] == "managed"]
    assert len(moved) == applied > 40, "every resource the old stack applied is found under the module call"
    recreated = {
        change["address"]: change["change"]["actions"]
        for change in changes
        if {"create", "delete"} & set(change["change"]["actions"])
    }
    assert recreated == {}
