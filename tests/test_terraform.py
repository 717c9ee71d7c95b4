"""The Terraform and the code agree: names, permissions, handlers, packages, schedule, docs.

Everything here reads the HCL itself (python-hcl2); nothing is copied from it into the test.
"""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import hcl2
import pytest

from aws_faults import fail_requests, s3_error_xml
from lambda_shared import aws
from lambda_shared.s3_names import is_valid_bucket_name
from purge_bucket import config as purge_config
from purge_bucket import handler as purge_handler
from purge_bucket.api import request as purge_request
from purge_bucket.engine import deletion
from refresh_partner_data import config as refresh_config
from refresh_partner_data import handler as refresh_handler
from refresh_partner_data import s3_upload
from refresh_partner_data.partner_client import RetryPolicy
from scripts import package, terraform_docs
from scripts.terraform_docs import unquote
from stand_ins.api_gateway_events import proxy_event
from stand_ins.local_terraform import terraform_console
from stand_ins.partner_api_simulator import PartnerApiSimulator
from stand_ins.synthetic_partner_data import Volume
from support import lambda_context, put_versions

ROOT = Path(__file__).resolve().parents[1]
TERRAFORM = ROOT / "terraform"
MODULE_DIRS = terraform_docs.module_dirs(TERRAFORM)


def load(path: Path) -> dict:
    with open(path) as source:
        return hcl2.load(source)


def blocks(module_dir: Path, kind: str) -> dict[str, dict]:
    return dict(terraform_docs.blocks(module_dir, kind))


def root_locals() -> dict:
    merged = {}
    for block in load(TERRAFORM / "main.tf")["locals"]:
        merged.update(block)
    return merged


ROOT_MODULES = blocks(TERRAFORM, "module")
ROOT_VARIABLES = blocks(TERRAFORM, "variable")


# Documentation and style ------------------------------------------------------------------------


@pytest.mark.parametrize("module_dir", MODULE_DIRS, ids=lambda p: p.name)
def test_readme_tables_match_the_code(module_dir):
    assert terraform_docs.render(module_dir) in (module_dir / "README.md").read_text(), (
        "stale inputs/outputs tables: run `make tf-docs`"
    )


@pytest.mark.parametrize("module_dir", MODULE_DIRS, ids=lambda p: p.name)
def test_standard_module_structure_and_documented_interface(module_dir):
    for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"):
        assert (module_dir / name).is_file(), f"{module_dir.name} lacks {name}"
    for name, body in blocks(module_dir, "variable").items():
        assert body.get("type"), f"variable {name} has no type"
        assert unquote(body.get("description", "")), f"variable {name} has no description"
    for name, body in blocks(module_dir, "output").items():
        assert unquote(body.get("description", "")), f"output {name} has no description"
    (terraform,) = load(module_dir / "versions.tf")["terraform"]
    assert unquote(terraform["required_version"]) == ">= 1.11"
    (providers,) = terraform["required_providers"]
    assert unquote(providers["aws"]["source"]) == "hashicorp/aws"
    # A module states a minimum only; the examples, roots, pin what was tested: 5.100+ (validated,
    # tested and applied here) and 6.x.
    expected = ">= 5.100, < 7.0" if module_dir.parent.name == "examples" else ">= 5.100"
    assert unquote(providers["aws"]["version"]) == expected
    assert sorted((module_dir / "tests").glob("*.tftest.hcl")), f"{module_dir.name} has no terraform test"


def test_only_the_examples_configure_a_provider_or_a_backend():
    """A module with a provider block cannot be called with count, for_each or depends_on, and
    ignores the caller's provider (HashiCorp's module guidance): the roots that call it configure it."""
    for module_dir in MODULE_DIRS:
        text = "\n".join(path.read_text() for path in module_dir.glob("*.tf"))
        providers = re.findall(r'(?m)^provider "aws"', text)
        backends = re.findall(r'(?m)^\s*backend "', text)
        if module_dir.parent.name == "examples":
            assert len(providers) == 1, module_dir
            assert re.search(r'(?m)^\s*# backend "s3"', text), f"{module_dir.name}: a commented backend"
        else:
            assert not providers, module_dir
        assert not backends, module_dir


def test_the_purge_api_document_output_is_null_where_the_module_was_copied_without_docs(
    terraform_installed, tmp_path
):
    """terraform/ copied on its own (not the repository, as a git source downloads it): the
    document's output is null, and nothing fails to plan for want of the file."""
    copy = tmp_path / "terraform"
    shutil.copytree(TERRAFORM, copy, ignore=shutil.ignore_patterns(".terraform", ".terraform.lock.hcl"))
    variables = {
        "region": "sa-east-1",
        "partner_api_url": "https://partner.example.com/api/InteliFunctionGetData",
        "purge_password": "correct-horse-battery-staple",
        "partner_api_token": "partner-token",
        "dist_dir": "tests/fixtures/dist",
    }
    assert terraform_console(copy, "local.purge_api_document == null", variables) == "true"
    (tmp_path / "docs" / "partner-api").mkdir(parents=True)
    shutil.copy2(ROOT / "docs" / "partner-api" / "openapi.yaml", tmp_path / "docs" / "partner-api")
    title = terraform_console(copy, "local.purge_api_document_source.info.title", variables)
    assert title == '"Partner data purge API"'


def test_docs_check_finds_a_stale_table(tmp_path, monkeypatch):
    copy = tmp_path / "terraform"
    shutil.copytree(TERRAFORM, copy, ignore=shutil.ignore_patterns(".terraform"))
    readme = copy / "modules" / "data_bucket" / "README.md"
    readme.write_text(readme.read_text().replace("| `bucket_name` |", "| `bucket` |"))
    monkeypatch.setattr(terraform_docs, "TERRAFORM", copy)
    monkeypatch.setattr(terraform_docs, "ROOT", tmp_path)
    assert terraform_docs.main(["--check"]) == 1
    assert terraform_docs.main([]) == 0
    assert terraform_docs.main(["--check"]) == 0
    assert "| `bucket_name` |" in readme.read_text()


def test_every_regex_pattern_compiles(terraform_installed):
    """can(regex(...)) turns a pattern RE2 cannot compile into "no match": every input refused."""
    patterns = sorted(
        {
            match
            for module_dir in MODULE_DIRS
            for path in module_dir.glob("*.tf")
            for match in re.findall(r'regex\("((?:[^"\\]|\\.)*)"', path.read_text())
        }
    )
    assert len(patterns) > 10
    # Piped input is read as one expression: all the patterns at once; one bad pattern fails it.
    expression = "jsonencode([" + ", ".join(f'length(regexall("{p}", ""))' for p in patterns) + "])"
    console = subprocess.run(
        ["terraform", "console"],
        input=expression,
        capture_output=True,
        text=True,
        cwd=TERRAFORM / "modules" / "secure_parameter",
        env={**os.environ, "TF_CLI_CONFIG_FILE": os.devnull},
        check=False,
    )
    assert console.returncode == 0, console.stdout + console.stderr
    assert json.loads(json.loads(console.stdout)) == [0] * len(patterns)


# Wiring: names, handlers, packages, schedule ---------------------------------------------------


def test_refresh_environment_names_are_what_the_handler_reads():
    assert set(root_locals()["refresh_environment"]) == set(refresh_config.ENVIRONMENT_VARIABLES)
    assert (
        unquote(ROOT_MODULES["refresh_function"]["environment_variables"]) == "${local.refresh_environment}"
    )


def test_purge_environment_names_are_what_the_handler_reads():
    assert set(root_locals()["purge_environment"]) == set(purge_config.ENVIRONMENT_VARIABLES)
    assert unquote(ROOT_MODULES["purge_function"]["environment_variables"]) == "${local.purge_environment}"


def test_worker_environment_names_are_what_the_worker_reads():
    assert set(root_locals()["purge_worker_environment"]) == set(purge_config.WORKER_ENVIRONMENT_VARIABLES)
    assert (
        unquote(ROOT_MODULES["purge_worker"]["environment_variables"]) == "${local.purge_worker_environment}"
    )
    # The local stack's own setting is not one Terraform sets.
    assert purge_config.INLINE_SECONDS not in root_locals()["purge_environment"]


def test_the_worker_is_the_purge_zip_with_the_workers_handler():
    worker = ROOT_MODULES["purge_worker"]
    assert unquote(worker["zip_path"]) == unquote(ROOT_MODULES["purge_function"]["zip_path"])
    module_name, _, function_name = unquote(worker["handler"]).rpartition(".")
    assert module_name == "purge_bucket.worker"
    assert callable(getattr(__import__(module_name, fromlist=[function_name]), function_name))


def test_the_job_table_retention_is_at_least_what_the_functions_promise():
    (validation,) = ROOT_VARIABLES["purge_job_retention_days"]["validation"]
    assert f">= {purge_config.MIN_RETENTION_DAYS}" in unquote(validation["condition"])
    assert ROOT_VARIABLES["purge_job_retention_days"]["default"] == purge_config.DEFAULT_RETENTION_DAYS


def test_functions_deploy_the_zips_make_package_builds_with_its_handler_and_runtime():
    lambda_variables = blocks(TERRAFORM / "modules" / "lambda_function", "variable")
    handler = unquote(lambda_variables["handler"]["default"])
    module_name, _, function_name = handler.rpartition(".")
    assert module_name + ".py" == "handler.py"
    assert f"import {function_name}" in package.ENTRY_POINT
    assert unquote(lambda_variables["runtime"]["default"]) == package.RUNTIME
    assert unquote(lambda_variables["architecture"]["default"]) == "arm64"
    assert unquote(ROOT_VARIABLES["lambda_architecture"]["default"]) == "arm64"
    zips = {
        name: unquote(body["zip_path"])
        for name, body in ROOT_MODULES.items()
        if unquote(body["source"]) == "./modules/lambda_function"
    }
    assert sorted({Path(path).name for path in zips.values()}) == sorted(
        f"{f}.zip" for f in package.FUNCTIONS
    )
    assert all(path.startswith("${local.dist_dir}/") for path in zips.values())
    # Reserving concurrency fails in accounts with a low limit: nothing is reserved unless asked.
    assert ROOT_VARIABLES["refresh_reserved_concurrency"]["default"] is None
    assert ROOT_VARIABLES["purge_reserved_concurrency"]["default"] is None


def test_the_schedule_runs_daily_at_midnight_in_sao_paulo():
    assert unquote(ROOT_VARIABLES["refresh_schedule_expression"]["default"]) == "cron(0 0 * * ? *)"
    assert unquote(ROOT_VARIABLES["timezone"]["default"]) == refresh_config.DEFAULT_TIMEZONE
    schedule_variables = blocks(TERRAFORM / "modules" / "lambda_schedule", "variable")
    assert unquote(schedule_variables["schedule_expression"]["default"]) == "cron(0 0 * * ? *)"
    assert unquote(schedule_variables["schedule_timezone"]["default"]) == "America/Sao_Paulo"
    assert unquote(schedule_variables["input"]["default"]) == "{}"
    (schedule,) = [
        body
        for block in load(TERRAFORM / "modules" / "lambda_schedule" / "main.tf")["resource"]
        for rtype, named in block.items()
        if unquote(rtype) == "aws_scheduler_schedule"
        for body in named.values()
    ]
    assert unquote(schedule["flexible_time_window"][0]["mode"]) == "OFF"


def test_terraform_accepts_exactly_the_passwords_the_endpoint_accepts():
    (validation,) = ROOT_VARIABLES["purge_password"]["validation"]
    condition = unquote(validation["condition"])
    assert re.findall(r"<= (\d+)", condition) == [str(purge_request.MAX_PASSWORD_CHARS)]
    # Counted as the endpoint counts (code points), not with length() (grapheme clusters).
    assert 'length(regexall("(?s).", var.purge_password))' in condition


BUCKET_NAMES = [
    "partner-data",
    "partner-data-archive",
    "my.bucket.name",
    "abc",
    "a" * 63,
    "a" * 64,
    "ab",
    "Partner-Data",
    "partner_data",
    "-partner",
    "partner-",
    "a..b",
    "192.168.1.10",
    "192.168.1",
    "xn--partner",
    "sthree-partner",
    "amzn-s3-demo-bucket",
    "partner-s3alias",
    "partner--ol-s3",
    "partner.mrap",
    "partner--x-s3",
    "partner--table-s3",
    "partner-xn--",
    "s3alias-partner",
    "partner*",
]


@pytest.mark.parametrize(
    ("variable", "placeholder"),
    [
        ("extra_purgeable_buckets", "var.extra_purgeable_buckets"),
        ("data_access_log_bucket", "compact([var.data_access_log_bucket])"),
    ],
)
def test_terraform_accepts_exactly_the_bucket_names_the_function_accepts(
    terraform_installed, tmp_path, variable, placeholder
):
    """Each variable's own validation, evaluated by Terraform name by name, against
    lambda_shared/s3_names.py: a name granted in IAM that the function refuses is never purged."""
    (validation,) = ROOT_VARIABLES[variable]["validation"]
    condition = unquote(validation["condition"]).removeprefix("${").removesuffix("}")
    assert condition.startswith("alltrue(")
    assert placeholder in condition
    per_name = (
        condition.removeprefix("alltrue(").removesuffix(")").replace(placeholder, json.dumps(BUCKET_NAMES))
    )
    result = subprocess.run(
        ["terraform", f"-chdir={tmp_path}", "console"],
        input=f"jsonencode({per_name})\n",
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CLI_CONFIG_FILE": os.devnull},
        check=True,
    )
    accepted = json.loads(json.loads(result.stdout))
    assert dict(zip(BUCKET_NAMES, accepted, strict=True)) == {
        name: is_valid_bucket_name(name) for name in BUCKET_NAMES
    }


def test_the_datasets_default_is_the_handlers_default():
    assert [unquote(d) for d in ROOT_VARIABLES["datasets"]["default"]] == list(
        refresh_config.DEFAULT_DATASETS
    )


# Least privilege: the roles allow exactly what the handlers call --------------------------------

#: IAM actions each AWS operation needs. An operation missing here fails the test on purpose.
OPERATION_ACTIONS = {
    ("s3", "HeadBucket"): {"s3:ListBucket"},
    ("s3", "ListObjectVersions"): {"s3:ListBucketVersions"},
    ("s3", "ListMultipartUploads"): {"s3:ListBucketMultipartUploads"},
    ("s3", "DeleteObjects"): {"s3:DeleteObject", "s3:DeleteObjectVersion"},
    ("s3", "DeleteObject"): {"s3:DeleteObject", "s3:DeleteObjectVersion"},
    ("s3", "AbortMultipartUpload"): {"s3:AbortMultipartUpload"},
    ("s3", "PutObject"): {"s3:PutObject"},
    ("s3", "HeadObject"): {"s3:GetObject"},
    ("s3", "CreateMultipartUpload"): {"s3:PutObject"},
    ("s3", "UploadPart"): {"s3:PutObject"},
    ("s3", "CompleteMultipartUpload"): {"s3:PutObject"},
    ("ssm", "GetParameter"): {"ssm:GetParameter"},
    ("dynamodb", "GetItem"): {"dynamodb:GetItem"},
    ("dynamodb", "UpdateItem"): {"dynamodb:UpdateItem"},
    ("stepfunctions", "StartExecution"): {"states:StartExecution"},
    ("stepfunctions", "DescribeExecution"): {"states:DescribeExecution"},
}
#: TransactWriteItems needs the action of each item it writes (DynamoDB's documentation): the
#: handlers' transactions put, update and delete items.
TRANSACTION_ITEM_ACTIONS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
}


def granted_actions(function_module: str) -> set[str]:
    """Actions the role grants for the handler's own calls (not logs, KMS or destinations, which
    the Lambda service itself uses)."""
    module = ROOT_MODULES[function_module]
    local_name = unquote(module["policy_statements"]).removeprefix("${local.").removesuffix("}")
    expression = root_locals()[local_name]
    actions = {
        action
        for listing in re.findall(r"actions\s*=\s*\[([^\]]*)\]", expression)
        for action in re.findall(r'"([^"]+)"', listing)
    }
    # Statements shared between roles are locals of their own (lists), named in the expression.
    for shared in re.findall(r"local\.(\w+_statements)", expression):
        value = root_locals()[shared]
        if isinstance(value, list):
            actions.update(unquote(action) for statement in value for action in statement["actions"])
    return {action for action in actions if not action.startswith("kms:")}


@pytest.fixture
def recorded_calls(monkeypatch):
    """Every AWS operation the handlers' clients perform, as (service, operation)."""
    calls: set[tuple[str, str]] = set()
    make_client = aws.client

    def record(service, model, params, **_):
        if model.name == "TransactWriteItems":
            calls.update(
                ("dynamodb", f"transaction {kind}") for item in params["TransactItems"] for kind in item
            )
        else:
            calls.add((service, model.name))

    def recording_client(service, **config):
        client = make_client(service, **config)
        client.meta.events.register(
            "before-parameter-build",
            lambda model, params, **kwargs: record(service, model, params, **kwargs),
            unique_id="record-calls",
        )
        return client

    recording_client.cache_clear = make_client.cache_clear
    monkeypatch.setattr(aws, "client", recording_client)
    return calls


def needed_actions(calls: set[tuple[str, str]]) -> set[str]:
    items = {call for call in calls if call[1].startswith("transaction ")}
    unknown = calls - items - OPERATION_ACTIONS.keys()
    assert not unknown, f"map these operations to IAM actions: {sorted(unknown)}"
    return set().union(
        *(OPERATION_ACTIONS[call] for call in calls - items),
        {TRANSACTION_ITEM_ACTIONS[kind.removeprefix("transaction ")] for _, kind in items},
    )


def test_purge_role_allows_exactly_what_the_purge_handler_calls(
    s3, ssm, purge_jobs, monkeypatch, recorded_calls
):
    bucket, parameter = "partner-data-iam", "/partner-data/purge-password"
    ssm.put_parameter(Name=parameter, Value="a long enough password", Type="SecureString")
    monkeypatch.setenv("PASSWORD_PARAMETER", parameter)
    monkeypatch.setenv("ALLOWED_BUCKETS", bucket)
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    put_versions(bucket, ["a", "b"], versions=2)
    s3.delete_object(Bucket=bucket, Key="a")
    s3.create_multipart_upload(Bucket=bucket, Key="c")
    body = json.dumps({"bucket_name": bucket, "password": "a long enough password"}).encode()

    # Every path: a whole purge inline, one handed over to a job, and that job's status.
    assert purge_handler.lambda_handler(proxy_event(body=body), lambda_context("p"))["statusCode"] == 200
    put_versions(bucket, ["d"])
    monkeypatch.setenv("PURGE_INLINE_SECONDS", "0")
    started = purge_handler.lambda_handler(proxy_event(body=body), lambda_context("p"))
    assert started["statusCode"] == 202
    job_id = json.loads(started["body"])["job_id"]
    status = json.dumps({"job_id": job_id, "password": "a long enough password"}).encode()
    asked = purge_handler.lambda_handler(
        proxy_event(body=status, resource="/purge/status"), lambda_context("p")
    )
    assert json.loads(asked["body"])["state"] == "running"

    assert needed_actions(recorded_calls) == granted_actions("purge_function")


def test_worker_role_allows_exactly_what_the_worker_calls(s3, purge_jobs, monkeypatch, recorded_calls):
    from purge_bucket import worker
    from purge_bucket.job import lifecycle

    bucket = "partner-data-iam"
    monkeypatch.setenv("ALLOWED_BUCKETS", bucket)
    s3.create_bucket(Bucket=bucket)
    put_versions(bucket, ["sale/a", "sale/b", "category/c"])
    s3.create_multipart_upload(Bucket=bucket, Key="sale/d")
    job_id = lifecycle.new_job_id()
    table = purge_jobs.table()
    table.claim(job_id, bucket, "", lease_seconds=90, answer_by=0)
    table.hand_over(job_id, bucket, deletion.PurgeCounts(), lease_seconds=1800)
    recorded_calls.clear()

    # Every task: the plan, a lane, the sweep that ends the job, and the failure of another job.
    context = lambda_context("w")
    lanes = worker.lambda_handler({"action": "plan", "job_id": job_id}, context)["lanes"]
    worker.lambda_handler(
        {"action": "purge", "job_id": job_id, "lane": lanes[0], "runs": 0, "final": False}, context
    )
    worker.lambda_handler(
        {"action": "purge", "job_id": job_id, "lane": "", "runs": 0, "final": True}, context
    )
    other = lifecycle.new_job_id()
    table.claim(other, bucket, "", lease_seconds=90, answer_by=0)
    table.hand_over(other, bucket, deletion.PurgeCounts(), lease_seconds=1800)
    error = {"Error": "States.Timeout", "Cause": ""}
    worker.lambda_handler({"action": "fail", "job_id": other, "error": error, "lanes_may_run": True}, context)

    assert needed_actions(recorded_calls) == granted_actions("purge_worker")


def test_refresh_role_allows_exactly_what_the_refresh_handler_calls(s3, ssm, monkeypatch, recorded_calls):
    bucket, parameter = "partner-data-iam", "/partner-data/partner-api-token"
    ssm.put_parameter(Name=parameter, Value="token-for-iam-test", Type="SecureString")
    s3.create_bucket(Bucket=bucket)
    five_mib = 5 * 1024 * 1024
    monkeypatch.setattr(
        s3_upload,
        "TRANSFER_CONFIG",
        s3_upload.TransferConfig(multipart_threshold=five_mib, multipart_chunksize=five_mib),
    )
    monkeypatch.setattr(refresh_handler, "RETRY_POLICY", RetryPolicy(attempts=1))
    with PartnerApiSimulator(token="token-for-iam-test", volume=Volume(establishments=250_000)) as simulator:
        monkeypatch.setenv("PARTNER_API_URL", simulator.url)
        monkeypatch.setenv("PARTNER_API_TOKEN_PARAMETER", parameter)
        monkeypatch.setenv("DATA_BUCKET", bucket)
        # A small file (one PutObject) and a large one (a multipart upload)...
        refresh_handler.lambda_handler({"date": "2026-11-01"}, lambda_context("r"))
        # ...and a multipart upload that fails and is aborted.
        s3_client = aws.client("s3", **refresh_handler.S3_CLIENT)  # the handler's own client
        fail_requests(s3_client, "s3.UploadPart", status=403, body=s3_error_xml("AccessDenied"), times=1)
        with pytest.raises(refresh_handler.RefreshFailed):
            refresh_handler.lambda_handler(
                {"date": "2026-11-02", "datasets": ["establishment"]}, lambda_context("r")
            )

    assert ("s3", "AbortMultipartUpload") in recorded_calls
    assert needed_actions(recorded_calls) == granted_actions("refresh_function")


def test_the_refresh_role_may_write_only_under_the_dataset_prefixes():
    found = root_locals()
    assert (
        found["export_object_arns"]
        == '${[for dataset in var.datasets : "${module.data_bucket.bucket_arn}/${dataset}/*"]}'
    )
    # Both S3 statements (write, and read a file's metadata) name those objects, and only them.
    assert found["refresh_statements"].count("resources = local.export_object_arns") == 2
    assert found["refresh_statements"].count('"s3:') == 3


def test_no_policy_grants_every_resource():
    for module_dir in MODULE_DIRS:
        for path in module_dir.glob("*.tf"):
            # In a key policy, "*" is the key itself (AWS's own form); IAM policies are the point.
            text = re.sub(r'(?ms)^resource "aws_kms_key" .*?^\}$', "", path.read_text())
            assert not re.search(r'Resource\s*=\s*"\*"', text), path
            assert not re.search(r'resources\s*=\s*\["\*"\]', text), path
