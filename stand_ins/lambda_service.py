"""Lambda's Invoke on the local AWS endpoint: the deployed function runs, from its deployed zip.

moto stores a function's zip but, without Docker, does not run it (its "simple" Lambda answers an
Invoke with the payload it was sent). While a ``LocalLambdaService`` runs, an Invoke of a deployed
function, whether from boto3 or from a Step Functions task that moto executes, runs that
function's handler from its zip through the stand-in Lambda host (``lambda_host``): with the
handler, environment and timeout it was deployed with, plus the local endpoint's credentials. Each
invocation gets a process of its own while it runs, kept warm afterwards for the next one, as
Lambda keeps execution environments; concurrent invocations (a Map state's lanes) run in
concurrent processes.

A handler that raises is answered as Lambda answers it: ``X-Amz-Function-Error: Unhandled`` and
``{"errorType", "errorMessage", "stackTrace"}``, which Step Functions reads as the task's error.
"""

from __future__ import annotations

import io
import json
import threading
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from stand_ins import moto_fixes
from stand_ins.lambda_host import LambdaProcess
from stand_ins.local_account import ACCOUNT


class LocalLambdaService:
    def __init__(
        self,
        work_dir: Path,
        runtime_dir: Path,
        *,
        python: str,
        environment: Mapping[str, str],
        overrides: Mapping[str, Mapping[str, str]] | None = None,
        log: TextIO | None = None,
    ) -> None:
        """``environment`` is added to every function's (the endpoint and its credentials);
        ``overrides`` by function name, after the deployed environment."""
        self.work_dir = work_dir
        self.runtime_dir = runtime_dir
        self.python = python
        self.environment = dict(environment)
        self.overrides = {name: dict(values) for name, values in (overrides or {}).items()}
        self.log = log
        self._lock = threading.Lock()
        #: Warm processes by function name and code: a redeployed function starts afresh.
        self._idle: dict[tuple[str, str], list[LambdaProcess]] = {}
        self._all: list[LambdaProcess] = []
        self.invocations: dict[str, int] = {}

    def start(self) -> LocalLambdaService:
        moto_fixes.run_lambda_invocations(self._invoke)
        return self

    def stop(self) -> None:
        moto_fixes.run_lambda_invocations(None)
        with self._lock:
            processes, self._all, self._idle = self._all, [], {}
        for process in processes:
            process.stop()

    def __enter__(self) -> LocalLambdaService:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def process_ids(self) -> list[int]:
        with self._lock:
            return [process.pid for process in self._all if process.pid]

    def process_ids_of(self, function_name: str) -> list[int]:
        """The processes running or kept warm for one function."""
        with self._lock:
            return [p.pid for p in self._all if p.pid and p.function_name == function_name]

    def _invoke(
        self, backend: Any, function_name: str, qualifier: str | None, body: Any, response_headers: Any
    ) -> bytes:
        function = backend.get_function(function_name, qualifier)
        code = (function.function_name, function.code_sha_256)
        process = self._take(function, code)
        try:
            reply = process.invoke(json.loads(body or b"{}"))
        except RuntimeError as error:  # The process died: Lambda reports the runtime's exit.
            with self._lock:
                self._all.remove(process)
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps({"errorType": "Runtime.ExitError", "errorMessage": str(error)}).encode()
        with self._lock:
            self._idle.setdefault(code, []).append(process)
            self.invocations[function.function_name] = self.invocations.get(function.function_name, 0) + 1
        if reply.get("ok"):
            return json.dumps(reply["result"]).encode()
        response_headers["x-amz-function-error"] = "Unhandled"
        error = {
            "errorType": reply.get("error_type", "Exception"),
            "errorMessage": reply.get("error_message", ""),
            "stackTrace": reply.get("stack_trace", []),
        }
        return json.dumps(error).encode()

    def _take(self, function: Any, code: tuple[str, str]) -> LambdaProcess:
        """An idle process of ``function``'s code, or a new one (as Lambda replaces an execution
        environment that has died)."""
        with self._lock:
            idle = self._idle.get(code, [])
            while idle:
                process = idle.pop()
                if process.alive:
                    return process
                self._all.remove(process)
        code_dir = self._unpacked(function)
        process = LambdaProcess(
            function.handler,
            [code_dir],
            runtime_dir=self.runtime_dir,
            env={
                **self.environment,
                **function.environment_vars,
                **self.overrides.get(function.function_name, {}),
            },
            function_name=function.function_name,
            timeout_seconds=float(function.timeout),
            stderr=self.log,
            python=self.python,
        ).start()
        with self._lock:
            self._all.append(process)
        return process

    def _unpacked(self, function: Any) -> Path:
        dest = self.work_dir / f"{function.function_name}-{function.code_sha_256[:16].replace('/', '_')}"
        with self._lock:
            if not dest.exists():
                unpack(function.code_bytes, dest)
        return dest


def unpack(code: bytes | Path, dest: Path) -> Path:
    """Unpacks a zip (its bytes, or a file from `make package`) into ``dest``."""
    if isinstance(code, Path):
        if not code.is_file():
            raise FileNotFoundError(f"{code} is missing: run `make package` first")
        code = code.read_bytes()
    dest.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(io.BytesIO(code)) as archive:
        archive.extractall(dest)
    return dest


def deployed_function(function_name: str, region: str) -> Any:
    """The function as the local endpoint holds it (moto's Lambda for the current configuration)."""
    from moto.awslambda.utils import get_backend

    return get_backend(ACCOUNT, region).get_function(function_name)
