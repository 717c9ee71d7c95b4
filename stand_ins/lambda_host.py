#!/usr/bin/env python3
"""Runs a Lambda handler in its own Python process, the way the Lambda runtime would.

The child imports the handler from the given code folders only (for a built function: its
unpacked zip) plus a folder holding what the Lambda Python runtime provides (boto3, botocore and
their dependencies), reads one JSON event per line on stdin and answers one JSON line per event
on stdout. The handler's own output (its JSON logs) goes to stderr.

Parent side::

    with LambdaProcess("handler.lambda_handler", [unpacked_zip], env=..., runtime_dir=...) as fn:
        reply = fn.invoke({})        # {"ok": True, "result": ..., "max_rss_kb": ...}
"""

from __future__ import annotations

import contextlib
import functools
import glob
import importlib
import json
import os
import resource
import shutil
import subprocess
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:  # This file is also the child's script, run with -I -S: stand_ins is not there.
    from stand_ins.memory_limit import MemoryLimit

HERE = Path(__file__).resolve().parent
#: What the Lambda Python runtime has besides the standard library.
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py")


@functools.cache
def runtime_python() -> tuple[str, bool]:
    """An interpreter of the Lambda runtime's version (3.13) if this machine has one, else this one.

    Returns (path, is_313). The vendored C extensions are built for 3.13, so only such an
    interpreter loads them; any other falls back to the packages' pure-Python code.
    """
    candidates = [
        shutil.which("python3.13"),
        *sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.13*/bin/python3.13"))),
    ]
    for candidate in filter(None, candidates):
        probe = subprocess.run(
            [candidate, "-c", "import sys; print(sys.version_info[:2] == (3, 13))"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode == 0 and probe.stdout.strip() == "True":
            return candidate, True
    return sys.executable, False


def make_runtime_dir(dest: Path) -> Path:
    """A folder that holds only the runtime's packages, linked from this interpreter's ones."""
    return link_packages(dest, RUNTIME_PACKAGES)


def link_packages(dest: Path, names: Sequence[str]) -> Path:
    """Links the named top-level packages (or ``name.py`` modules) of this interpreter into ``dest``."""
    import boto3  # The packages are found where this interpreter has them.

    site_packages = Path(boto3.__file__).resolve().parent.parent
    dest.mkdir(parents=True, exist_ok=True)
    for name in names:
        source, target = site_packages / name, dest / name
        if not source.exists():
            raise FileNotFoundError(f"{name} is not installed in {site_packages}")
        if not target.exists():
            target.symlink_to(source, target_is_directory=source.is_dir())
    return dest


class HandlerProcessExited(RuntimeError):
    """The handler's process ended without answering (``status`` -9: killed, as for memory)."""

    def __init__(self, status: int) -> None:
        super().__init__(f"the handler process exited (status {status})")
        self.status = status


class LambdaProcess:
    """A handler in a child process, invoked synchronously with ``invoke``."""

    def __init__(
        self,
        handler: str,
        code_dirs: Sequence[Path | str],
        *,
        runtime_dir: Path | str,
        env: Mapping[str, str] | None = None,
        function_name: str = "function",
        timeout_seconds: float = 900.0,
        stderr: TextIO | int | None = None,
        python: str = sys.executable,
        memory_limit: MemoryLimit | None = None,
    ) -> None:
        self.function_name = function_name
        self.memory_limit = memory_limit
        path = [*map(str, code_dirs), str(runtime_dir)]
        self._args = [
            python,
            "-I",  # No PYTHONPATH, no user site, no current folder...
            "-S",  # ...and no site-packages: only the code folders and the runtime folder.
            str(HERE / "lambda_host.py"),
            "--handler",
            handler,
            "--function-name",
            function_name,
            "--timeout",
            str(timeout_seconds),
            "--path-json",
            json.dumps(path),
        ]
        self._env = {**os.environ, **(env or {})}
        self._stderr = stderr
        self._process: subprocess.Popen[str] | None = None

    @classmethod
    def of_package(
        cls, code_dir: Path, runtime_dir: Path, *, python: str | None = None, **options: Any
    ) -> LambdaProcess:
        """A built function (its unpacked zip) on the runtime's interpreter, as Lambda runs it."""
        python = python or runtime_python()[0]
        return cls("handler.lambda_handler", [code_dir], runtime_dir=runtime_dir, python=python, **options)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> LambdaProcess:
        self._process = subprocess.Popen(
            self._args,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=self._env,
            text=True,
            encoding="utf-8",
            preexec_fn=self.memory_limit.apply_in_child if self.memory_limit else None,  # noqa: PLW1509 - no threads here use it
        )
        return self

    def invoke(self, event: Any) -> dict[str, Any]:
        process = self._process
        if process is None or process.stdin is None or process.stdout is None:
            raise RuntimeError("the process is not running")
        try:
            process.stdin.write(json.dumps(event) + "\n")
            process.stdin.flush()
        except BrokenPipeError:
            raise HandlerProcessExited(process.wait()) from None
        line = process.stdout.readline()
        if not line:
            raise HandlerProcessExited(process.wait())
        return json.loads(line)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin:
            with contextlib.suppress(BrokenPipeError):  # It has exited already.
                process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()

    def __enter__(self) -> LambdaProcess:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def peak_rss_kb() -> int:
    """This process's peak resident set size.

    Linux's VmHWM belongs to the process image, so it starts afresh at exec; ``ru_maxrss`` is
    carried over from the parent across fork and exec, and would report the parent's peak.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _serve(handler_name: str, new_context: Callable[[], Any]) -> None:
    replies = sys.stdout
    sys.stdout = sys.stderr  # The handler's logs must not mix with the replies.
    module_name, _, attribute = handler_name.rpartition(".")
    handler = None
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            # Imported at the first event, so that an import error is reported per invocation,
            # as Lambda reports it, instead of killing the process.
            handler = handler or getattr(importlib.import_module(module_name), attribute)
            reply: dict[str, Any] = {"ok": True, "result": handler(json.loads(line), new_context())}
        except Exception as error:
            reply = {
                "ok": False,
                "error_type": type(error).__name__,
                "error_message": str(error),
                "stack_trace": traceback.format_exception(error)[-3:],
            }
        reply["max_rss_kb"] = peak_rss_kb()
        replies.write(json.dumps(reply, default=str) + "\n")
        replies.flush()


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--handler", required=True, help="module.function")
    parser.add_argument("--function-name", default="function")
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--path-json", required=True, help="JSON list of import folders")
    args = parser.parse_args()
    stdlib = [entry for entry in sys.path if entry and "site-packages" not in entry]
    sys.path.insert(0, str(HERE.parent))
    from stand_ins.lambda_context import LambdaContext  # Imported before sys.path is narrowed.

    sys.path[:] = [*json.loads(args.path_json), *stdlib]
    _serve(args.handler, lambda: LambdaContext(args.function_name, timeout_seconds=args.timeout))


if __name__ == "__main__":
    main()
