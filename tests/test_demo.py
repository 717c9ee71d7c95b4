"""`make demo`'s stack, end to end through the real HTTP endpoint, from the built zips."""

import io
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import date
from pathlib import Path

import hcl2
import pytest

from scripts.demo import INLINE_SECONDS, Narrator, post, run
from stand_ins import local_system
from stand_ins.local_system import BUCKET, LocalSystem
from stand_ins.synthetic_partner_data import TABLES, Volume, row_count

ROOT = Path(__file__).resolve().parents[1]
VOLUME = Volume(establishments=1_500, sales_per_day=120)


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_refresh_then_purge_through_the_http_endpoint(dist, tmp_path):
    stack = LocalSystem(dist, tmp_path, volume=VOLUME, terraform=False)
    with stack:
        pids = stack.process_ids
        assert len(pids) == 2, "the two functions; no job has run a worker yet"
        reply = stack.run_refresh()
        assert reply["ok"], reply
        day = date.fromisoformat(reply["result"]["first_day"])
        s3 = stack.client("s3")
        for table in TABLES:
            body = s3.get_object(Bucket=BUCKET, Key=f"{table}/{day.isoformat()}.csv")["Body"].read().decode()
            assert len(body.split("\r\n")) - 2 == row_count(table, day, VOLUME)
        before = stack.bucket_inventory()
        assert before["versions"] == 3

        status, body = post(stack.purge_url, {"bucket_name": BUCKET, "password": "wrong password"})
        assert (status, json.loads(body)) == (401, {"message": "Unauthorized"})
        assert stack.bucket_inventory() == before

        status, body = post(stack.purge_url, {"bucket_name": BUCKET, "password": stack.password})
        assert status == 200
        assert json.loads(body)["deleted"] == {"versions": 3, "delete_markers": 0, "multipart_uploads": 0}
        assert stack.bucket_inventory() == {"versions": 0, "delete_markers": 0, "multipart_uploads": 0}
    assert all(gone(pid) for pid in pids)


def test_the_gateway_answers_like_api_gateway_off_the_route(dist, tmp_path):
    with LocalSystem(dist, tmp_path, volume=VOLUME, terraform=False) as stack:
        for method, url in (("GET", stack.purge_url), ("POST", f"{stack.stage_url}/other")):
            request = urllib.request.Request(url, data=b"{}" if method == "POST" else None, method=method)
            with pytest.raises(urllib.error.HTTPError) as caught:
                urllib.request.urlopen(request, timeout=10)
            assert caught.value.code == 403
            assert json.loads(caught.value.read()) == {"message": "Missing Authentication Token"}
        request = urllib.request.Request(stack.purge_url, data=b"\xff\xfe not json", method="POST")
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(request, timeout=10)
        assert caught.value.code == 400
        assert caught.value.headers["x-amzn-RequestId"]


@pytest.mark.slow(seconds=30)
def test_the_demo_steps_check_what_they_show(dist, tmp_path):
    out = io.StringIO()
    with LocalSystem(dist, tmp_path, volume=VOLUME, terraform=False, inline_seconds=INLINE_SECONDS) as stack:
        result = run(stack, Narrator(out), archive_prefixes=3, archive_objects=300)
    assert result["wrong_password_status"] == 401
    assert (result["purge_status"], result["second_purge_status"]) == (202, 409)
    assert result["states"][0] == "running"
    assert result["states"][-1] == "succeeded"
    assert result["versions_before_purge"] == 6
    assert result["deleted"]["versions"] == result["versions_purged"] == 6 + 900
    text = out.getvalue()
    assert "1. The nightly refresh" in text
    assert "the same POST again -> 409" in text
    assert "bucket now: 0 versions, 0 delete markers, 0 multipart uploads" in text
    assert stack.password not in text.split("4. A partner purges")[1]


@pytest.mark.slow(seconds=90)
def test_make_demo_deploys_with_terraform_and_leaves_no_process_behind(terraform_installed, dist):
    result = subprocess.run(
        [sys.executable, "-m", "scripts.demo", "--dist", str(dist)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "deployed with `terraform apply` of terraform/" in result.stdout
    assert "every check passed" in result.stdout
    assert re.search(r"versions purged by job \d{8}T\d{6}Z-[0-9a-f]{16}", result.stdout)
    pids = [int(pid) for pid in re.search(r"processes: ([\d ]+)", result.stdout)[1].split()]
    assert len(pids) >= 3, "the two functions, and at least one worker process"
    assert all(gone(pid) for pid in pids)


def test_keep_leaves_the_stack_up_for_curl_until_ctrl_c(dist):
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "scripts.demo",
            "--dist",
            str(dist),
            "--keep",
            "--no-purge",
            "--no-terraform",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    lines = []
    try:
        for line in process.stdout:
            lines.append(line)
            if line.strip() == "ready":
                break
        output = "".join(lines)
        assert "Terraform is not used: the resources are created directly" in output
        curl = re.search(r"try\s+(curl .*)", output)[1]
        pids = [int(pid) for pid in re.search(r"processes: ([\d ]+)", output)[1].split()]
        url, payload = re.search(r"POST (\S+) .* -d (.*)$", curl).groups()
        status, body = post(url, json.loads(shlex.split(payload)[0]))
        assert status == 200, body
        assert json.loads(body)["deleted"]["versions"] == 6  # The refresh, then its re-run.
        client = re.search(r"or\s+(PURGE_PASSWORD=.*)", output)[1]
        # The printed command as a user pastes it: the shell reads its quoting and its variable.
        purged = subprocess.run(  # noqa: S602
            client, shell=True, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
        )
        assert purged.returncode == 0, purged.stderr
        assert json.loads(purged.stdout)["deleted"] == {
            "versions": 0,
            "delete_markers": 0,
            "multipart_uploads": 0,
        }
    finally:
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=30)
    assert process.returncode == 0
    assert "every process the demo started has exited" in rest
    assert all(gone(pid) for pid in pids)


def test_the_demo_fails_loudly_without_the_zips(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "scripts.demo", "--dist", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "run `make package` first" in result.stdout


def test_local_names_are_the_terraform_defaults():
    with open(ROOT / "terraform" / "variables.tf") as source:
        variables = {k.strip('"'): v for block in hcl2.load(source)["variable"] for k, v in block.items()}
    with open(ROOT / "terraform" / "main.tf") as source:
        main = source.read()
    assert variables["name_prefix"]["default"].strip('"') == local_system.NAME_PREFIX
    assert variables["purge_stage_name"]["default"].strip('"') == local_system.STAGE
    assert variables["purge_path"]["default"].strip('"') == local_system.PURGE_PATH
    assert variables["timezone"]["default"].strip('"') == local_system.TIMEZONE
    assert '"/${local.name}/purge-password"' in main
    assert '"/${local.name}/partner-api-token"' in main
    assert '"${var.name_prefix}-${data.aws_caller_identity.current.account_id}-${var.region}"' in main
    assert '"${local.name}-refresh"' in main
    assert '"${local.name}-purge"' in main
