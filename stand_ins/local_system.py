"""The whole system on this machine: what `make demo`, `make local` and the demo tests run.

* a local AWS endpoint (moto's server);
* the partner API simulator;
* the deployment: where Terraform is installed, the project's own root module applied to the
  local endpoint (``terraform apply``); otherwise the same names created directly with boto3;
* each function in its own Python process, run from what is deployed: the zip the endpoint holds,
  the handler, timeout and environment read back from the deployed function, with only the Lambda
  runtime's packages beside it and ``AWS_ENDPOINT_URL`` pointing at the endpoint;
* the purge job's state machine executed by moto, its Lambda tasks running the deployed worker the
  same way (``lambda_service``);
* a local API Gateway stage in front of the purge function, on the deployed stage and paths.

All on loopback, on free ports. A wrong variable name or a missing wire between the Terraform
modules shows up here as a function that cannot run or a route that does not answer.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from stand_ins.api_gateway import LocalApiGateway
from stand_ins.aws_endpoint import LocalAws
from stand_ins.lambda_host import LambdaProcess, make_runtime_dir, runtime_python
from stand_ins.lambda_service import LocalLambdaService, unpack
from stand_ins.local_account import ACCOUNT, REGION
from stand_ins.local_terraform import LocalTerraform, targets_without, terraform_available
from stand_ins.partner_api_simulator import PartnerApiSimulator
from stand_ins.s3_inventory import bucket_contents
from stand_ins.state_machine_definition import definition
from stand_ins.synthetic_partner_data import TABLES, Volume

NAME_PREFIX = "partner-data"  # terraform/variables.tf: name_prefix
BUCKET = f"{NAME_PREFIX}-{ACCOUNT}-{REGION}"  # terraform/main.tf: local.bucket_name
PASSWORD_PARAMETER = f"/{NAME_PREFIX}/purge-password"  # terraform/main.tf: module.purge_password
TOKEN_PARAMETER = f"/{NAME_PREFIX}/partner-api-token"  # terraform/main.tf: module.partner_api_token
REFRESH_FUNCTION = f"{NAME_PREFIX}-refresh"
PURGE_FUNCTION = f"{NAME_PREFIX}-purge"
PURGE_WORKER = f"{NAME_PREFIX}-purge-worker"  # terraform/main.tf: module.purge_worker
WORKER_HANDLER = "purge_bucket.worker.lambda_handler"
STATE_MACHINE = f"{NAME_PREFIX}-purge-job"  # terraform/main.tf: module.purge_job
JOBS_TABLE = f"{STATE_MACHINE}s"  # terraform/modules/purge_job/main.tf: aws_dynamodb_table.jobs
JOB_RETENTION_DAYS = "30"  # terraform/variables.tf: purge_job_retention_days
STAGE, PURGE_PATH = "v1", "purge"  # terraform/variables.tf: purge_stage_name, purge_path
TIMEZONE = "America/Sao_Paulo"
HANDLER = "handler.lambda_handler"

DEMO_PASSWORD = "local-demo-purge-password"  # noqa: S105 - a throwaway for the local stack
DEMO_TOKEN = "local-demo-partner-token"  # noqa: S105 - a throwaway for the local stack

#: Left out of the demo's apply: the provider waits at least 55 s for lifecycle rules to settle
#: (10 matching reads, 5 s apart), on any endpoint. The guard depends on them. `make test` applies
#: the whole stack.
SLOW_TO_APPLY = (
    "module.data_bucket.aws_s3_bucket_lifecycle_configuration.this",
    "module.data_bucket.terraform_data.deletion_guard",
)


@dataclass(frozen=True)
class DeployedFunction:
    """What the Lambda service would run: the function's zip and configuration."""

    name: str
    handler: str
    timeout_seconds: float
    environment: dict[str, str]
    code: bytes = field(repr=False)


@dataclass(frozen=True)
class Deployment:
    """What is deployed on the local endpoint, however it got there."""

    how: str
    bucket: str
    refresh: DeployedFunction
    purge: DeployedFunction
    stage: str
    path: str
    #: The event the schedule sends, with its context placeholders as deployed.
    schedule_input: str
    state_machine_arn: str
    jobs_table: str


@dataclass
class Started:
    """What one start step brought up, and how to stop it."""

    name: str
    stop: Callable[[], None]


class LocalSystem:
    """Starts everything on ``start()``; ``stop()`` (or leaving the ``with``) stops all of it.

    ``terraform``: deploy with `terraform apply` (True), directly (False), or the former when
    Terraform is installed (None).
    """

    def __init__(
        self,
        dist_dir: Path,
        work_dir: Path,
        *,
        volume: Volume | None = None,
        password: str = DEMO_PASSWORD,
        token: str = DEMO_TOKEN,
        terraform: bool | None = None,
        inline_seconds: float | None = None,
        on_step: Callable[[str], None] = lambda _message: None,
    ) -> None:
        """``inline_seconds``: at most this long purging inline (PURGE_INLINE_SECONDS), so that a
        small local bucket needs a purge job."""
        self.dist_dir = dist_dir
        self.work_dir = work_dir
        self.volume = volume or Volume()
        self.password = password
        self.token = token
        self.use_terraform = terraform_available() if terraform is None else terraform
        self.on_step = on_step
        self.inline_seconds = inline_seconds
        self.aws: LocalAws | None = None
        self.lambda_service: LocalLambdaService | None = None
        self.simulator: PartnerApiSimulator | None = None
        self.deployment: Deployment | None = None
        self.refresh_function: LambdaProcess | None = None
        self.purge_function: LambdaProcess | None = None
        self.gateway: LocalApiGateway | None = None
        self._started: list[Started] = []
        self._logs: list[TextIO] = []

    # Lifecycle ---------------------------------------------------------------------------------

    def start(self) -> LocalSystem:
        try:
            self._start_aws()
            self._start_simulator()
            self.deployment = self._deploy_with_terraform() if self.use_terraform else self._deploy_directly()
            self._start_functions(self.deployment)
            self._start_gateway(self.deployment)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        while self._started:
            started = self._started.pop()
            with contextlib.suppress(Exception):
                started.stop()
        for log in self._logs:
            log.close()
        self._logs.clear()

    def __enter__(self) -> LocalSystem:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def process_ids(self) -> list[int]:
        pids = [p.pid for p in (self.refresh_function, self.purge_function) if p and p.pid]
        return pids + (self.lambda_service.process_ids if self.lambda_service else [])

    @property
    def purge_url(self) -> str:
        assert self.gateway is not None
        return self.gateway.url

    @property
    def stage_url(self) -> str:
        assert self.gateway is not None
        return self.gateway.stage_url

    @property
    def status_url(self) -> str:
        assert self.gateway is not None
        return self.gateway.status_url

    @property
    def bucket(self) -> str:
        assert self.deployment is not None
        return self.deployment.bucket

    @property
    def log_dir(self) -> Path:
        return self.work_dir / "logs"

    def client(self, service: str) -> Any:
        assert self.aws is not None
        return self.aws.client(service)

    @property
    def endpoint(self) -> str:
        return self.aws.endpoint if self.aws else ""

    # Steps -------------------------------------------------------------------------------------

    def _start_aws(self) -> None:
        self.aws = LocalAws().start()
        self._started.append(Started("local AWS", self.aws.stop))
        self.aws.reset()
        self.on_step(f"local AWS (moto) at {self.endpoint}")

    def _start_simulator(self) -> None:
        self.simulator = PartnerApiSimulator(token=self.token, volume=self.volume).start()
        self._started.append(Started("partner API simulator", self.simulator.stop))
        self.on_step(f"partner API simulator at {self.simulator.url}")

    def _deploy_with_terraform(self) -> Deployment:
        assert self.aws is not None
        assert self.simulator is not None
        terraform = LocalTerraform(
            self.aws.endpoint,
            self.work_dir,
            secrets={"purge_password": self.password, "partner_api_token": self.token},
        )
        terraform.init()
        outputs = terraform.apply(
            {
                "region": REGION,
                "partner_api_url": self.simulator.url,
                "dist_dir": str(self.dist_dir.resolve()),
            },
            targets=targets_without(SLOW_TO_APPLY),
        )
        deployment = self._read_back(outputs)
        applied = len(json.loads(terraform.state_text())["resources"])
        self.on_step(
            f"deployed with `terraform apply` of terraform/examples/minimal: {applied} resources, all but"
            " the bucket's lifecycle rules and their destroy guard (the provider waits 55 s for the rules)"
        )
        return deployment

    def _read_back(self, outputs: dict[str, Any]) -> Deployment:
        """The deployment as the endpoint holds it, checking the wires between its parts."""
        assert self.aws is not None
        functions = {
            name: self._deployed_function(outputs[f"{name}_function_name"]) for name in ("refresh", "purge")
        }
        api = self.client("apigateway")
        api_id = outputs["purge_rest_api_id"]
        routes = {
            r["path"]: r
            for r in api.get_resources(restApiId=api_id)["items"]
            if "POST" in r.get("resourceMethods", {})
        }
        (resource,) = [r for path, r in routes.items() if f"{path}/status" in routes]
        for route in routes.values():
            integration = api.get_integration(restApiId=api_id, resourceId=route["id"], httpMethod="POST")
            if integration["type"] != "AWS_PROXY" or outputs["purge_function_arn"] not in integration["uri"]:
                raise RuntimeError(
                    f"POST {route['path']} is not a proxy to the purge function: {integration}"
                )
        state_machine = self.client("stepfunctions").describe_state_machine(
            stateMachineArn=outputs["purge_job_state_machine_arn"]
        )
        worker = self._deployed_function(outputs["purge_worker_function_name"])
        invoked = {
            state["Parameters"]["FunctionName"]
            for state in _task_states(json.loads(state_machine["definition"]))
        }
        if invoked != {
            self.client("lambda").get_function(FunctionName=worker.name)["Configuration"]["FunctionArn"]
        }:
            raise RuntimeError(f"the purge job invokes {sorted(invoked)}, not the worker {worker.name}")
        schedule = self.client("scheduler").get_schedule(Name=outputs["refresh_schedule_name"])
        if schedule["Target"]["Arn"] != outputs["refresh_function_arn"]:
            raise RuntimeError(f"the schedule runs {schedule['Target']['Arn']}, not the refresh function")
        return Deployment(
            how="terraform",
            bucket=outputs["data_bucket_name"],
            refresh=functions["refresh"],
            purge=functions["purge"],
            stage=outputs["purge_stage_name"],
            path=resource["pathPart"],
            schedule_input=schedule["Target"]["Input"],
            state_machine_arn=outputs["purge_job_state_machine_arn"],
            jobs_table=outputs["purge_jobs_table_name"],
        )

    def _deployed_function(self, name: str) -> DeployedFunction:
        assert self.aws is not None
        config = self.client("lambda").get_function_configuration(FunctionName=name)
        code = self.aws.deployed_code(name)
        if base64.b64encode(hashlib.sha256(code).digest()).decode() != config["CodeSha256"]:
            raise RuntimeError(f"{name}: the stored zip does not match its CodeSha256")
        return DeployedFunction(
            name=name,
            handler=config["Handler"],
            timeout_seconds=float(config["Timeout"]),
            environment=config.get("Environment", {}).get("Variables", {}),
            code=code,
        )

    def _deploy_directly(self) -> Deployment:
        """The Terraform defaults' names and settings, created with boto3 (no Terraform here)."""
        assert self.simulator is not None
        s3, ssm = self.client("s3"), self.client("ssm")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        ssm.put_parameter(Name=PASSWORD_PARAMETER, Value=self.password, Type="SecureString")
        ssm.put_parameter(Name=TOKEN_PARAMETER, Value=self.token, Type="SecureString")
        state_machine_arn = create_purge_job(
            self.client,
            _zip_bytes(self.dist_dir / "purge_bucket.zip"),
            worker_environment={
                "ALLOWED_BUCKETS": BUCKET,
                "JOBS_TABLE": JOBS_TABLE,
                "JOB_RETENTION_DAYS": JOB_RETENTION_DAYS,
            },
        )
        self.on_step(
            f"created directly (Terraform is not installed): versioned bucket {BUCKET}, 2 SecureStrings,"
            " the purge job's table, worker and state machine"
        )
        return Deployment(
            how="direct",
            bucket=BUCKET,
            refresh=DeployedFunction(
                REFRESH_FUNCTION,
                HANDLER,
                900.0,
                {
                    "PARTNER_API_URL": self.simulator.url,
                    "PARTNER_API_TOKEN_PARAMETER": TOKEN_PARAMETER,
                    "PARTNER_API_TOKEN_IN": "header",
                    "DATA_BUCKET": BUCKET,
                    "DATASETS": ",".join(TABLES),
                    "TIMEZONE": TIMEZONE,
                },
                _zip_bytes(self.dist_dir / "refresh_partner_data.zip"),
            ),
            purge=DeployedFunction(
                PURGE_FUNCTION,
                HANDLER,
                900.0,
                {
                    "PASSWORD_PARAMETER": PASSWORD_PARAMETER,
                    "ALLOWED_BUCKETS": BUCKET,
                    "JOBS_TABLE": JOBS_TABLE,
                    "JOB_STATE_MACHINE_ARN": state_machine_arn,
                    "JOB_RETENTION_DAYS": JOB_RETENTION_DAYS,
                },
                _zip_bytes(self.dist_dir / "purge_bucket.zip"),
            ),
            stage=STAGE,
            path=PURGE_PATH,
            schedule_input='{"scheduled_time": "<aws.scheduler.scheduled-time>"}',  # terraform/main.tf
            state_machine_arn=state_machine_arn,
            jobs_table=JOBS_TABLE,
        )

    def _start_functions(self, deployment: Deployment) -> None:
        assert self.aws is not None
        runtime_dir = make_runtime_dir(self.work_dir / "runtime")
        python, _ = runtime_python()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        local_only = {} if self.inline_seconds is None else {"PURGE_INLINE_SECONDS": str(self.inline_seconds)}
        processes = []
        for function in (deployment.refresh, deployment.purge):
            code_dir = unpack(function.code, self.work_dir / "code" / function.name)
            log = self._log(function.name)
            process = LambdaProcess(
                function.handler,
                [code_dir],
                runtime_dir=runtime_dir,
                env={
                    **self.aws.environment(),
                    **function.environment,
                    **(local_only if function is deployment.purge else {}),
                },
                function_name=function.name,
                timeout_seconds=function.timeout_seconds,
                stderr=log,
                python=python,
            ).start()
            self._started.append(Started(function.name, process.stop))
            processes.append(process)
        self.refresh_function, self.purge_function = processes
        self.lambda_service = LocalLambdaService(
            self.work_dir / "code",
            runtime_dir,
            python=python,
            environment=self.aws.environment(),
            log=self._log("purge-job-workers"),
        ).start()
        self._started.append(Started("Lambda's Invoke", self.lambda_service.stop))
        self.on_step(
            f"functions from the deployed zips, each in its own process ({os.path.basename(python)}):"
            f" {deployment.refresh.name} pid {self.refresh_function.pid},"
            f" {deployment.purge.name} pid {self.purge_function.pid}; the purge job's worker in a"
            " process per invocation, started by moto's Step Functions"
        )

    def _log(self, name: str) -> TextIO:
        log = open(self.log_dir / f"{name}.log", "w", encoding="utf-8")  # noqa: SIM115 - closed in stop()
        self._logs.append(log)
        return log

    def _start_gateway(self, deployment: Deployment) -> None:
        assert self.purge_function is not None
        self.gateway = LocalApiGateway(
            self.purge_function.invoke, stage=deployment.stage, path=deployment.path
        )
        self.gateway.start()
        self._started.append(Started("API stage", self.gateway.stop))
        self.on_step(f"API Gateway stage stand-in: POST {self.gateway.url}")

    # Using it ----------------------------------------------------------------------------------

    def scheduled_event(self, scheduled_time: datetime | None = None) -> dict[str, Any]:
        """The event the deployed schedule sends, its placeholders filled as the scheduler does."""
        assert self.deployment is not None
        when = (scheduled_time or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
        return json.loads(self.deployment.schedule_input.replace("<aws.scheduler.scheduled-time>", when))

    def run_refresh(self, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Invokes the refresh function (by default as the schedule does); returns its reply."""
        assert self.refresh_function is not None
        return self.refresh_function.invoke(self.scheduled_event() if event is None else event)

    def bucket_inventory(self) -> dict[str, int]:
        return bucket_contents(self.client("s3"), self.bucket)

    def add_archive(self, prefixes: int, objects_per_prefix: int) -> None:
        """``objects_per_prefix`` objects under each of ``prefixes`` prefixes ``archive-<n>/``.

        Written straight into moto's backend, which serves the endpoint from this process: the
        same code a PutObject runs, without thousands of HTTP round trips.
        """
        from moto.s3.models import s3_backends

        backend = s3_backends[ACCOUNT]["aws"]
        for prefix in range(prefixes):
            for i in range(objects_per_prefix):
                backend.put_object(self.bucket, f"archive-{prefix}/{i:05d}.csv", b"id\r\n1\r\n")


def _zip_bytes(path: Path) -> bytes:
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run `make package` first")
    return path.read_bytes()


def _task_states(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Every Lambda task of a definition, those inside its Map state included."""
    found = []
    for state in document.get("States", {}).values():
        if state.get("Resource") == "arn:aws:states:::lambda:invoke":
            found.append(state)
        if "ItemProcessor" in state:
            found += _task_states(state["ItemProcessor"])
    return found


def create_jobs_table(dynamodb: Any) -> None:
    """terraform/modules/purge_job/main.tf's aws_dynamodb_table.jobs (if it is not there yet)."""
    if JOBS_TABLE in dynamodb.list_tables()["TableNames"]:
        return
    dynamodb.create_table(
        TableName=JOBS_TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def create_purge_job(
    client: Callable[[str], Any],
    purge_zip: bytes,
    *,
    worker_environment: dict[str, str],
    max_concurrency: int | None = None,
) -> str:
    """The purge job's table, worker and state machine as Terraform's defaults make them, created
    directly; returns the state machine's ARN."""
    create_jobs_table(client("dynamodb"))
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    role = client("iam").create_role(
        RoleName=f"{PURGE_WORKER}-{REGION}", AssumeRolePolicyDocument=json.dumps(trust)
    )
    worker = client("lambda").create_function(
        FunctionName=PURGE_WORKER,
        Runtime="python3.13",
        Role=role["Role"]["Arn"],
        Handler=WORKER_HANDLER,
        Code={"ZipFile": purge_zip},
        Timeout=900,
        Environment={"Variables": worker_environment},
    )
    options = {} if max_concurrency is None else {"max_concurrency": max_concurrency}
    return client("stepfunctions").create_state_machine(
        name=STATE_MACHINE,
        definition=json.dumps(definition(worker["FunctionArn"], **options)),
        roleArn=role["Role"]["Arn"],
        type="STANDARD",
    )["stateMachineArn"]
