"""The whole system on this machine: what `make demo`, `make local` and the demo test run.

* a local AWS endpoint (moto's server: S3 with versioning, SSM SecureString);
* the partner API simulator;
* each function in its own Python process, imported from its unpacked zip (from `make package`)
  with only the Lambda runtime's packages beside it, and ``AWS_ENDPOINT_URL`` pointing at moto;
* a local API Gateway stage in front of the purge function.

All on loopback, on free ports. Names follow the Terraform defaults (``name_prefix =
"partner-data"``, moto's account and region), so what you see here is what you get there.
"""

from __future__ import annotations

import contextlib
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from lambda_host import LambdaProcess, make_runtime_dir, runtime_python
from local_apigw import LocalApiGateway
from local_aws import ACCOUNT, REGION, LocalAws
from partner_api import PartnerApiSimulator
from partner_data import TABLES, Volume

NAME_PREFIX = "partner-data"  # terraform/variables.tf: name_prefix
BUCKET = f"{NAME_PREFIX}-{ACCOUNT}-{REGION}"  # terraform/main.tf: local.bucket_name
PASSWORD_PARAMETER = f"/{NAME_PREFIX}/purge-password"  # terraform/main.tf: module.purge_password
TOKEN_PARAMETER = f"/{NAME_PREFIX}/partner-api-token"  # terraform/main.tf: module.partner_api_token
REFRESH_FUNCTION = f"{NAME_PREFIX}-refresh"
PURGE_FUNCTION = f"{NAME_PREFIX}-purge"
STAGE, PURGE_PATH = "v1", "purge"  # terraform/variables.tf: purge_stage_name, purge_path
TIMEZONE = "America/Sao_Paulo"

DEMO_PASSWORD = "local-demo-purge-password"  # noqa: S105 - a throwaway for the local stack
DEMO_TOKEN = "local-demo-partner-token"  # noqa: S105 - a throwaway for the local stack


@dataclass
class Started:
    """What one start step brought up, and how to stop it."""

    name: str
    stop: Callable[[], None]


class LocalStack:
    """Starts everything on ``start()``; ``stop()`` (or leaving the ``with``) stops all of it."""

    def __init__(
        self,
        dist_dir: Path,
        work_dir: Path,
        *,
        volume: Volume | None = None,
        password: str = DEMO_PASSWORD,
        token: str = DEMO_TOKEN,
        on_step: Callable[[str], None] = lambda _message: None,
    ) -> None:
        self.dist_dir = dist_dir
        self.work_dir = work_dir
        self.volume = volume or Volume()
        self.password = password
        self.token = token
        self.on_step = on_step
        self.aws: LocalAws | None = None
        self.simulator: PartnerApiSimulator | None = None
        self.refresh_function: LambdaProcess | None = None
        self.purge_function: LambdaProcess | None = None
        self.gateway: LocalApiGateway | None = None
        self._started: list[Started] = []
        self._logs: list[TextIO] = []

    # Lifecycle ---------------------------------------------------------------------------------

    def start(self) -> LocalStack:
        try:
            self._start_aws()
            self._start_simulator()
            self._start_functions()
            self._start_gateway()
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

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def process_ids(self) -> list[int]:
        return [p.pid for p in (self.refresh_function, self.purge_function) if p and p.pid]

    @property
    def purge_url(self) -> str:
        assert self.gateway is not None
        return self.gateway.url

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
        s3, ssm = self.client("s3"), self.client("ssm")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        ssm.put_parameter(Name=PASSWORD_PARAMETER, Value=self.password, Type="SecureString")
        ssm.put_parameter(Name=TOKEN_PARAMETER, Value=self.token, Type="SecureString")
        self.on_step(f"local AWS (moto) at {self.endpoint}: versioned bucket {BUCKET}, 2 SecureStrings")

    def _start_simulator(self) -> None:
        self.simulator = PartnerApiSimulator(token=self.token, volume=self.volume).start()
        self._started.append(Started("partner API simulator", self.simulator.stop))
        self.on_step(f"partner API simulator at {self.simulator.url}")

    def _start_functions(self) -> None:
        runtime_dir = make_runtime_dir(self.work_dir / "runtime")
        python, _ = runtime_python()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        assert self.simulator is not None
        assert self.aws is not None
        environments = {
            "refresh_partner_data": {
                "PARTNER_API_URL": self.simulator.url,
                "PARTNER_API_TOKEN_PARAMETER": TOKEN_PARAMETER,
                "DATA_BUCKET": BUCKET,
                "DATASETS": ",".join(TABLES),
                "TIMEZONE": TIMEZONE,
            },
            "purge_bucket": {"PASSWORD_PARAMETER": PASSWORD_PARAMETER, "ALLOWED_BUCKETS": BUCKET},
        }
        processes = {}
        for package, function_name in (
            ("refresh_partner_data", REFRESH_FUNCTION),
            ("purge_bucket", PURGE_FUNCTION),
        ):
            code_dir = unpack(self.dist_dir / f"{package}.zip", self.work_dir / "code" / package)
            log = open(self.log_dir / f"{function_name}.log", "w", encoding="utf-8")  # noqa: SIM115 - closed in stop()
            self._logs.append(log)
            process = LambdaProcess(
                "handler.lambda_handler",
                [code_dir],
                runtime_dir=runtime_dir,
                env={**self.aws.environment(), **environments[package]},
                function_name=function_name,
                stderr=log,
                python=python,
            ).start()
            self._started.append(Started(function_name, process.stop))
            processes[package] = process
        self.refresh_function = processes["refresh_partner_data"]
        self.purge_function = processes["purge_bucket"]
        self.on_step(
            f"functions from their zips, each in its own process ({os.path.basename(python)}):"
            f" {REFRESH_FUNCTION} pid {self.refresh_function.pid},"
            f" {PURGE_FUNCTION} pid {self.purge_function.pid}"
        )

    def _start_gateway(self) -> None:
        assert self.purge_function is not None
        self.gateway = LocalApiGateway(self.purge_function.invoke, stage=STAGE, path=PURGE_PATH).start()
        self._started.append(Started("API stage", self.gateway.stop))
        self.on_step(f"API Gateway stage stand-in: POST {self.gateway.url}")

    # Using it ----------------------------------------------------------------------------------

    def run_refresh(self, event: dict[str, Any]) -> dict[str, Any]:
        """Invokes the refresh function as the schedule does; returns its reply."""
        assert self.refresh_function is not None
        return self.refresh_function.invoke(event)

    def bucket_inventory(self) -> dict[str, int]:
        s3 = self.client("s3")
        counts = {"versions": 0, "delete_markers": 0, "multipart_uploads": 0}
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=BUCKET):
            counts["versions"] += len(page.get("Versions", []))
            counts["delete_markers"] += len(page.get("DeleteMarkers", []))
        counts["multipart_uploads"] = len(s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []))
        return counts


def unpack(zip_path: Path, dest: Path) -> Path:
    if not zip_path.is_file():
        raise FileNotFoundError(f"{zip_path} is missing: run `make package` first")
    dest.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(dest)
    return dest
