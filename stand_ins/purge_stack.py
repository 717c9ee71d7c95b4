"""The purge on its own, deployed directly on the local AWS endpoint: the purge function, its job's
worker, table and state machine, and Lambda's Invoke running both functions from the built zip.

For the purge job's tests and benchmark, which need less than the whole system (``local_system``)
and sometimes another S3: with ``s3_endpoint`` (the model of S3, SeaweedFS), both functions send
their S3 requests there, and everything else to the local endpoint. A purge is requested as a
partner's integration invoking the function directly would: ``lambda:Invoke`` with the request
as the event.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stand_ins.aws_endpoint import LocalAws
from stand_ins.lambda_host import make_runtime_dir, runtime_python
from stand_ins.lambda_service import LocalLambdaService
from stand_ins.local_system import (
    JOB_RETENTION_DAYS,
    JOBS_TABLE,
    PASSWORD_PARAMETER,
    PURGE_FUNCTION,
    PURGE_WORKER,
    create_purge_job,
)

PASSWORD = "local-purge-stack-password"  # noqa: S105 - a throwaway for the local stack


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]


class PurgeStack:
    def __init__(
        self,
        aws: LocalAws,
        purge_zip: Path,
        work_dir: Path,
        *,
        buckets: list[str],
        s3_endpoint: str | None = None,
        max_concurrency: int | None = None,
        inline_seconds: float | None = None,
        log: Any = None,
    ) -> None:
        self.aws = aws
        self.purge_zip = purge_zip
        self.work_dir = work_dir
        self.buckets = buckets
        self.s3_endpoint = s3_endpoint
        self.max_concurrency = max_concurrency
        self.inline_seconds = inline_seconds
        self.log = log
        self.service: LocalLambdaService | None = None
        self.state_machine_arn = ""

    def start(self) -> PurgeStack:
        zip_bytes = self.purge_zip.read_bytes()
        allowed = ",".join(self.buckets)
        self.aws.client("ssm").put_parameter(Name=PASSWORD_PARAMETER, Value=PASSWORD, Type="SecureString")
        self.state_machine_arn = create_purge_job(
            self.aws.client,
            zip_bytes,
            worker_environment={
                "ALLOWED_BUCKETS": allowed,
                "JOBS_TABLE": JOBS_TABLE,
                "JOB_RETENTION_DAYS": JOB_RETENTION_DAYS,
            },
            max_concurrency=self.max_concurrency,
        )
        role = self.aws.client("lambda").get_function(FunctionName=PURGE_WORKER)["Configuration"]["Role"]
        self.aws.client("lambda").create_function(
            FunctionName=PURGE_FUNCTION,
            Runtime="python3.13",
            Role=role,
            Handler="handler.lambda_handler",
            Code={"ZipFile": zip_bytes},
            Timeout=60,
            Environment={
                "Variables": {
                    "PASSWORD_PARAMETER": PASSWORD_PARAMETER,
                    "ALLOWED_BUCKETS": allowed,
                    "JOBS_TABLE": JOBS_TABLE,
                    "JOB_STATE_MACHINE_ARN": self.state_machine_arn,
                    "JOB_RETENTION_DAYS": JOB_RETENTION_DAYS,
                }
            },
        )
        environment = self.aws.environment()
        if self.s3_endpoint:
            environment["AWS_ENDPOINT_URL_S3"] = self.s3_endpoint
        local_only = {} if self.inline_seconds is None else {"PURGE_INLINE_SECONDS": str(self.inline_seconds)}
        python, _ = runtime_python()
        self.service = LocalLambdaService(
            self.work_dir / "code",
            make_runtime_dir(self.work_dir / "runtime"),
            python=python,
            environment=environment,
            overrides={PURGE_FUNCTION: local_only},
            log=self.log,
        ).start()
        return self

    def stop(self) -> None:
        if self.service is not None:
            self.service.stop()
            self.service = None

    def __enter__(self) -> PurgeStack:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def invoke(self, event: dict[str, Any]) -> Answer:
        """The purge function's answer to ``event`` (any shape it accepts)."""
        reply = self.aws.client("lambda").invoke(
            FunctionName=PURGE_FUNCTION, Payload=json.dumps(event).encode()
        )
        payload = json.loads(reply["Payload"].read())
        if reply.get("FunctionError"):
            raise RuntimeError(f"the purge function failed: {payload}")
        return Answer(payload["statusCode"], json.loads(payload["body"]))

    def purge(self, bucket: str, prefix: str | None = None, *, password: str = PASSWORD) -> Answer:
        request = {"bucket_name": bucket, "password": password}
        return self.invoke(request if prefix is None else {**request, "prefix": prefix})

    def status(self, job_id: str, *, password: str = PASSWORD) -> Answer:
        return self.invoke({"job_id": job_id, "password": password})

    def wait(
        self, job_id: str, *, timeout_seconds: float = 300.0, every_seconds: float = 0.5
    ) -> list[Answer]:
        """The job's status, asked every ``every_seconds`` until it has ended; every answer."""
        answers = []
        give_up = time.monotonic() + timeout_seconds
        while time.monotonic() < give_up:
            answers.append(self.status(job_id))
            if answers[-1].body.get("state") != "running":
                return answers
            time.sleep(every_seconds)
        raise TimeoutError(f"job {job_id} still running after {timeout_seconds} s: {answers[-1].body}")

    def execution(self, job_id: str) -> dict[str, Any]:
        """The job's execution: the state machine's, named after the job."""
        arn = self.state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{job_id}"
        return self.aws.client("stepfunctions").describe_execution(executionArn=arn)

    def history(self, job_id: str) -> list[dict[str, Any]]:
        sfn = self.aws.client("stepfunctions")
        arn = self.execution(job_id)["executionArn"]
        events, token = [], None
        while True:
            page = sfn.get_execution_history(
                executionArn=arn, maxResults=1000, **({"nextToken": token} if token else {})
            )
            events += page["events"]
            token = page.get("nextToken")
            if not token:
                return events
