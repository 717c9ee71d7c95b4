"""The partner's Python client (docs/partner-api/purge_client.py) against the local stack: the
deployed purge function behind the API Gateway stand-in, its jobs run by moto's Step Functions."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from scripts.demo import post
from stand_ins.local_system import BUCKET, PURGE_FUNCTION, LocalSystem
from support import ARCHIVE_OBJECTS, ARCHIVE_PREFIXES, EMPTY

CLIENT = Path(__file__).resolve().parents[1] / "docs" / "partner-api" / "purge_client.py"
ARCHIVE = ARCHIVE_PREFIXES * ARCHIVE_OBJECTS


def load_client() -> Any:
    spec = importlib.util.spec_from_file_location("purge_client", CLIENT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


purge_client = load_client()


def client_of(stack: LocalSystem, lines: list[str], password: str | None = None) -> Any:
    return purge_client.PurgeClient(
        stack.purge_url, password or stack.password, poll_seconds=0.2, on_progress=lines.append
    )


def test_a_purge_done_inline_returns_its_answer(inline_stack):
    lines: list[str] = []
    answer = client_of(inline_stack, lines).purge(BUCKET)
    assert answer["deleted"]["versions"] == ARCHIVE
    assert inline_stack.bucket_inventory() == EMPTY
    assert lines == []


def test_a_purge_that_continues_as_a_job_is_followed_to_its_end(job_stack):
    lines: list[str] = []
    answer = client_of(job_stack, lines).purge(BUCKET, "archive-")
    assert answer["state"] == "succeeded", answer
    assert answer["deleted"] == {"versions": ARCHIVE, "delete_markers": 0, "multipart_uploads": 0}
    assert answer["prefix"] == "archive-"
    assert lines[0] == f"purge continues as job {answer['job_id']}"
    assert lines[-1].startswith(f"job {answer['job_id']}: succeeded, {ARCHIVE} versions")
    assert job_stack.bucket_inventory() == EMPTY


def test_a_bucket_held_by_another_purge_is_purged_once_that_one_ends(job_stack):
    status, body = post(job_stack.purge_url, {"bucket_name": BUCKET, "password": job_stack.password})
    assert status == 202
    other = json.loads(body)["job_id"]
    lines: list[str] = []
    answer = client_of(job_stack, lines).purge(BUCKET)
    assert lines[0] == f"another purge of {BUCKET} is running: job {other}; waiting"
    assert any(line.startswith(f"job {other}: succeeded") for line in lines)
    assert answer["state"] == "succeeded"
    assert answer["job_id"] != other
    assert answer["deleted"] == EMPTY, "the other purge had deleted everything"


def test_a_wrong_password_is_refused_and_deletes_nothing(inline_stack):
    before = inline_stack.bucket_inventory()
    with pytest.raises(purge_client.PurgeRefused) as refused:
        client_of(inline_stack, [], password="wrong password").purge(BUCKET)
    assert (refused.value.status, refused.value.answer) == (401, {"message": "Unauthorized"})
    assert inline_stack.bucket_inventory() == before


def test_the_answers_request_id_finds_the_functions_log_line(inline_stack):
    """What the partner doc tells partners to quote: the x-amzn-RequestId of an answer is the
    request_id of the function's line for that request."""
    request = urllib.request.Request(
        inline_stack.purge_url,
        data=json.dumps({"bucket_name": BUCKET, "password": "wrong password"}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(request, timeout=30)
    request_id = answer.value.headers["x-amzn-RequestId"]
    lines = (inline_stack.log_dir / f"{PURGE_FUNCTION}.log").read_text().splitlines()
    (line,) = [json.loads(line) for line in lines if request_id in line]
    assert (line["request_id"], line["status"], line["outcome"]) == (request_id, 401, "unauthorized")


def run_client(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The client's command, as a partner runs it."""
    return subprocess.run(
        [sys.executable, str(CLIENT), *args], capture_output=True, text=True, env=env, timeout=60, check=False
    )


def test_the_command_purges_with_the_password_from_the_environment(inline_stack):
    environment = {**os.environ, "PURGE_PASSWORD": inline_stack.password}
    done = run_client(inline_stack.purge_url, BUCKET, "--prefix", "archive-", env=environment)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["deleted"]["versions"] == ARCHIVE
    refused = run_client(inline_stack.purge_url, "not-allowed-bucket", env=environment)
    assert refused.returncode == 2
    assert json.loads(refused.stderr) == {"message": "This bucket may not be purged"}
    for output in (done.stdout, done.stderr, refused.stdout, refused.stderr):
        assert inline_stack.password not in output
    without = {key: value for key, value in os.environ.items() if key != "PURGE_PASSWORD"}
    no_password = run_client(inline_stack.purge_url, BUCKET, env=without)
    assert no_password.returncode == 2
    assert "set PURGE_PASSWORD" in no_password.stderr


class _Scripted(BaseHTTPRequestHandler):
    """Answers each POST with the next of ``answers``, and records the bodies."""

    answers: list[tuple[int, dict[str, Any]]]
    bodies: list[dict[str, Any]]

    def do_POST(self) -> None:
        self.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        status, answer = self.answers.pop(0)
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def scripted() -> Iterator[tuple[str, type[_Scripted]]]:
    handler = type("Handler", (_Scripted,), {"answers": [], "bodies": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1/purge", handler
    server.shutdown()
    server.server_close()


def test_throttling_and_gateway_failures_are_tried_again_then_given_up(scripted):
    url, handler = scripted
    done = {"message": "done", "deleted": EMPTY}
    handler.answers = [
        (429, {"message": "Too Many Requests"}),
        (502, {"message": "Internal server error"}),
        (200, done),
    ]
    lines: list[str] = []
    client = purge_client.PurgeClient(url, "pw", backoff_seconds=0.01, on_progress=lines.append)
    assert client.purge("partner-data") == done
    assert [body["bucket_name"] for body in handler.bodies] == ["partner-data"] * 3
    assert lines[0].startswith("429 (Too Many Requests): trying again in")
    handler.answers = [(503, {"message": "busy"})] * 2
    handler.bodies.clear()
    client = purge_client.PurgeClient(url, "pw", attempts=2, backoff_seconds=0.01)
    with pytest.raises(purge_client.PurgeRefused) as refused:
        client.purge("partner-data")
    assert refused.value.status == 503
    assert len(handler.bodies) == 2


def test_a_failed_job_raises_with_what_stays(scripted):
    url, handler = scripted
    failed = {"message": "S3 refused", "job_id": "20261202T185000Z-0123456789abcdef", "state": "failed"}
    handler.answers = [
        (
            202,
            {
                "message": "continues",
                "job_id": failed["job_id"],
                "status_request": {"path": "/v1/purge/status"},
            },
        ),
        (200, {**failed, "state": "running"}),
        (200, failed),
    ]
    client = purge_client.PurgeClient(url, "pw", poll_seconds=0.01)
    with pytest.raises(purge_client.PurgeFailed) as caught:
        client.purge("partner-data", "sale/")
    assert caught.value.answer == failed
    assert handler.bodies[0] == {"bucket_name": "partner-data", "prefix": "sale/", "password": "pw"}
    assert handler.bodies[1:] == [{"job_id": failed["job_id"], "password": "pw"}] * 2
    assert "pw" not in repr(client)
