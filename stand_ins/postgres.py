"""A real PostgreSQL server for a test run, started from ``.venv-pgserver`` (stand_ins/postgres_server.py).

with LocalPostgres() as postgres:
    connection = postgres.connect()   # pg8000, over the server's Unix socket
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PGSERVER_PYTHON = ROOT / ".venv-pgserver" / "bin" / "python"


class LocalPostgres:
    def __init__(self) -> None:
        if not PGSERVER_PYTHON.exists():
            raise RuntimeError(f"{PGSERVER_PYTHON} is missing: run `make pgserver` (make test does)")
        self._folder = Path(tempfile.mkdtemp(prefix="pgserver-"))
        self._folder.chmod(0o755)  # The server runs as pgserver's own user when this one is root.
        self._process: subprocess.Popen[str] | None = None
        self.socket: str = ""
        self.user: str = ""

    def __enter__(self) -> LocalPostgres:
        script = ROOT / "stand_ins" / "postgres_server.py"
        self._process = subprocess.Popen(
            [str(PGSERVER_PYTHON), str(script), str(self._folder / "data")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError(f"the PostgreSQL server did not start (status {self._process.wait()})")
        found = json.loads(line)
        self.socket = f"{found['socket_dir']}/.s.PGSQL.{found['port']}"
        self.user = found["user"]
        return self

    def connect(self) -> Any:
        import pg8000.native

        return pg8000.native.Connection(user=self.user, unix_sock=self.socket, database="postgres")

    def __exit__(self, *_exc: object) -> None:
        if self._process is not None and self._process.stdin is not None:
            self._process.stdin.close()
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        shutil.rmtree(self._folder, ignore_errors=True)
