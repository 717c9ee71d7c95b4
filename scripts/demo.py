#!/usr/bin/env python3
"""`make demo`: the whole system end to end on this machine, from the built zips.

1. starts the local stack: moto as the local AWS endpoint, the partner API simulator, the project's
   Terraform root module applied to that endpoint (or, without Terraform, the same resources created
   directly), both functions run from what was deployed, the API Gateway stand-in;
2. runs the nightly refresh with the event the deployed schedule sends, and shows what landed in S3;
3. runs it again (a re-run overwrites: the bucket now holds two versions of each file);
4. adds an archive to the bucket and purges the bucket over HTTP like a partner (the local stack
   purges nothing inline, ``INLINE_SECONDS``, so that a small bucket shows a job): a wrong password
   (401, nothing deleted); the right one (202: a purge job, run by moto's Step Functions, its
   lanes by the worker from the zip); the same request again (409, the running job's id); then
   the job's status, polled from ``running`` to ``succeeded``, and the bucket is empty, versions
   included.

Exits non-zero if any step misbehaves. ``--keep`` leaves the stack running afterwards (``make
local`` starts it, runs the refresh and waits) and prints a ready-to-paste curl command.
"""

from __future__ import annotations

import argparse
import json
import shlex
import signal
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import date
from pathlib import Path
from typing import Any

from stand_ins.api_gateway import describe
from stand_ins.background_server import wait_for_interrupt
from stand_ins.local_system import TIMEZONE, LocalSystem
from stand_ins.synthetic_partner_data import Volume, row_count

ROOT = Path(__file__).resolve().parents[1]
PREVIEW_LINES = 3
#: The local stack purges inline for this long at most (production: as long as API Gateway's
#: 29 s allow). No request starts unless it could end in time, so with no time at all every purge
#: is a job, whatever the machine's speed; a window of deletes would make that depend on it.
INLINE_SECONDS = 0.0
#: The archive added before the purge: a lane of the job per prefix.
ARCHIVE_PREFIXES, ARCHIVE_OBJECTS = 3, 400
POLL_SECONDS = 0.5
JOB_TIMEOUT_SECONDS = 180


class DemoFailed(Exception):
    """A step did not do what it should."""


class Narrator:
    def __init__(self, out=sys.stdout) -> None:
        self.out = out
        self.started = time.monotonic()

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def step(self, text: str) -> None:
        self.say(f"  ✓ {text}")

    def heading(self, text: str) -> None:
        self.say(f"\n{text}")

    def elapsed(self) -> float:
        return time.monotonic() - self.started


def check(condition: bool, message: str) -> None:
    if not condition:
        raise DemoFailed(message)


def post(url: str, payload: dict[str, Any]) -> tuple[int, bytes]:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def show_refresh(
    stack: LocalSystem, narrator: Narrator, reply: dict[str, Any], *, preview: bool
) -> dict[str, Any]:
    check(reply.get("ok"), f"the refresh failed: {reply.get('error_type')}: {reply.get('error_message')}")
    summary = reply["result"]
    check(summary["failed"] == 0 and summary["written"] == 3, f"expected 3 exports, got {summary}")
    s3 = stack.client("s3")
    assert stack.simulator is not None
    for export in summary["exports"]:
        narrator.say(f"    {export['key']:<32} {export['rows']:>7,} rows  {export['bytes'] / 1024:8.1f} KiB")
        if preview:
            body = s3.get_object(Bucket=stack.bucket, Key=export["key"])["Body"].read().decode("utf-8")
            for line in body.split("\r\n")[:PREVIEW_LINES]:
                narrator.say(f"      {line[:96]}")
    return summary


def run(
    stack: LocalSystem,
    narrator: Narrator,
    *,
    purge: bool = True,
    archive_prefixes: int = ARCHIVE_PREFIXES,
    archive_objects: int = ARCHIVE_OBJECTS,
) -> dict[str, Any]:
    """The demo's steps against a started stack (made with ``inline_seconds=INLINE_SECONDS``);
    returns the figures it checked."""
    event = stack.scheduled_event()
    narrator.heading(
        f"1. The nightly refresh, with the schedule's event {json.dumps(event)}: yesterday in {TIMEZONE}"
    )
    summary = show_refresh(stack, narrator, stack.run_refresh(event), preview=True)
    day = date.fromisoformat(summary["first_day"])
    s3 = stack.client("s3")
    for export in summary["exports"]:
        served = row_count(export["dataset"], day, stack.volume)
        body = s3.get_object(Bucket=stack.bucket, Key=export["key"])["Body"].read().decode("utf-8")
        written = len(body.split("\r\n")) - 2  # Minus the header and the empty string after the last CRLF.
        check(
            export["rows"] == written == served, f"{export['key']}: {written} rows written, {served} served"
        )
    narrator.say(
        f"    ({summary['rows']:,} rows for {summary['first_day']} in {summary['duration_ms'] / 1000:.1f} s)"
    )

    narrator.heading("2. Run it again: a re-run overwrites the day (the bucket keeps both versions)")
    show_refresh(stack, narrator, stack.run_refresh(event), preview=False)
    inventory = stack.bucket_inventory()
    narrator.say(f"    bucket {stack.bucket}: {inventory['versions']} object versions")
    check(inventory["versions"] == 6, f"expected 6 versions, found {inventory}")
    result = {"refresh": summary, "versions_before_purge": inventory["versions"]}
    if not purge:
        return result

    stack.add_archive(archive_prefixes, archive_objects)
    inventory = stack.bucket_inventory()
    narrator.heading(
        f"3. An archive lands: {archive_prefixes} prefixes of {archive_objects} objects,"
        f" {inventory['versions']} versions in all. This local stack purges nothing inline"
        " (PURGE_INLINE_SECONDS=0), so that it needs a purge job; deployed, a purge deletes for"
        " up to 27 s before it hands the rest to a job"
    )
    narrator.heading("4. A partner purges the bucket through the HTTP endpoint")
    wrong_status, wrong_body = post(
        stack.purge_url, {"bucket_name": stack.bucket, "password": "not-the-password"}
    )
    after_wrong = stack.bucket_inventory()
    narrator.say(f"    POST {stack.purge_url} with a wrong password -> {wrong_status} {describe(wrong_body)}")
    narrator.say(f"      bucket still holds {after_wrong['versions']} versions")
    check(wrong_status == 401, f"a wrong password got {wrong_status}")
    check(after_wrong == inventory, "a wrong password deleted something")

    request = {"bucket_name": stack.bucket, "password": stack.password}
    status, body = post(stack.purge_url, request)
    narrator.say(f"    POST with the right password -> {status} {describe(body)}")
    check(status == 202, f"the purge got {status}, not a job's 202")
    job_id = json.loads(body)["job_id"]
    again, again_body = post(stack.purge_url, request)
    narrator.say(f"    the same POST again -> {again} {describe(again_body)}")
    check(again == 409 and json.loads(again_body)["job_id"] == job_id, f"a second purge got {again}")

    narrator.say(f'    POST {stack.status_url} {{"job_id": "{job_id}", "password": …}} until it ends:')
    states = follow(stack, job_id, narrator)
    final = states[-1]
    check(states[0]["state"] == "running", "the job's first status was not running")
    check(final["state"] == "succeeded", f"the job ended {final['state']}: {final['message']}")
    deleted = final["deleted"]
    check(deleted == inventory, f"the job counted {deleted}, the bucket held {inventory}")
    after = stack.bucket_inventory()
    narrator.say(
        f"      bucket now: {after['versions']} versions, {after['delete_markers']} delete markers,"
        f" {after['multipart_uploads']} multipart uploads"
    )
    check(after == {"versions": 0, "delete_markers": 0, "multipart_uploads": 0}, f"left behind: {after}")
    logs = {
        name: (stack.log_dir / f"{name}.log").read_text()
        for name in ("partner-data-purge", "purge-job-workers")
    }
    runs = [line for line in logs["purge-job-workers"].splitlines() if '"purge job run"' in line]
    narrator.say(
        f"      the worker's {len(runs)} runs, one per lane and the sweep; the last: {runs[-1][:150]}…"
    )
    for name, text in logs.items():
        check(stack.password not in text, f"the password appeared in the log of {name}")
    return {
        **result,
        "wrong_password_status": wrong_status,
        "purge_status": status,
        "second_purge_status": again,
        "job_id": job_id,
        "states": [s["state"] for s in states],
        "deleted": deleted,
        "versions_purged": inventory["versions"],
    }


def follow(stack: LocalSystem, job_id: str, narrator: Narrator) -> list[dict[str, Any]]:
    """The job's status, asked every POLL_SECONDS until it ends; each change is shown."""
    seen: list[dict[str, Any]] = []
    give_up = time.monotonic() + JOB_TIMEOUT_SECONDS
    while time.monotonic() < give_up:
        status, body = post(stack.status_url, {"job_id": job_id, "password": stack.password})
        check(status == 200, f"the status request got {status}: {describe(body)}")
        answer = json.loads(body)
        if not seen or (answer["state"], answer["deleted"]) != (seen[-1]["state"], seen[-1]["deleted"]):
            counts = answer["deleted"]
            narrator.say(
                f"      {answer['state']:<9} {counts['versions']:>6,} versions,"
                f" {counts['delete_markers']} delete markers, {counts['multipart_uploads']} uploads deleted"
                + (f"  (ended {answer['ended_at']})" if answer["ended_at"] else "")
            )
        seen.append(answer)
        if answer["state"] != "running":
            return seen
        time.sleep(POLL_SECONDS)
    raise DemoFailed(f"job {job_id} was still running after {JOB_TIMEOUT_SECONDS} s")


def curl_command(stack: LocalSystem) -> str:
    payload = json.dumps({"bucket_name": stack.bucket, "password": stack.password})
    return f"curl -sS -X POST {stack.purge_url} -H 'Content-Type: application/json' -d {shlex.quote(payload)}"


def client_command(stack: LocalSystem) -> str:
    """The partner's Python client (docs/partner-api/purge_client.py) purging the stack's bucket."""
    return (
        f"PURGE_PASSWORD={shlex.quote(stack.password)} python3 docs/partner-api/purge_client.py"
        f" {stack.purge_url} {stack.bucket}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="where `make package` put the zips")
    parser.add_argument("--keep", action="store_true", help="leave the stack running until Ctrl-C")
    parser.add_argument("--no-purge", action="store_true", help="only refresh (what `make local` does)")
    parser.add_argument("--establishments", type=int, default=Volume.establishments)
    parser.add_argument(
        "--no-terraform",
        action="store_true",
        help="create the resources directly, as when Terraform is missing",
    )
    args = parser.parse_args(argv)
    # A plain `kill` stops the demo as cleanly as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    narrator = Narrator()
    manifest = (
        json.loads((args.dist / "manifest.json").read_text())
        if (args.dist / "manifest.json").exists()
        else None
    )
    if manifest is None:
        narrator.say(f"no {args.dist / 'manifest.json'}: run `make package` first")
        return 2
    narrator.say("partner-data-pipeline demo: the built zips, a local AWS, the partner API simulator")
    sizes = ", ".join(f"{d['zip']} {d['size'] / 1024:.0f} KiB" for d in manifest["functions"].values())
    narrator.step(f"zips from {args.dist} ({manifest['architecture']}): {sizes}")

    with tempfile.TemporaryDirectory(prefix="partner-data-demo-") as work:
        stack = LocalSystem(
            args.dist,
            Path(work),
            volume=Volume(establishments=args.establishments),
            terraform=False if args.no_terraform else None,
            # `make local` shows no job: its purges are served as deployed ones are.
            inline_seconds=None if args.no_purge else INLINE_SECONDS,
            on_step=narrator.step,
        )
        narrator.step(
            "deploying with `terraform apply` of terraform/ to the local endpoint (under a minute)"
            if stack.use_terraform
            else "Terraform is not used: the resources are created directly with boto3"
        )
        try:
            with stack:
                result = run(stack, narrator, purge=not args.no_purge)
                narrator.say(
                    f"\nDone in {narrator.elapsed():.1f} s: {result['refresh']['rows']:,} rows refreshed"
                    + (
                        f", {result['versions_purged']:,} versions purged by job {result['job_id']}"
                        if "job_id" in result
                        else ""
                    )
                    + "; every check passed."
                )
                narrator.say(f"processes: {' '.join(map(str, stack.process_ids))}")
                if args.keep:
                    narrator.say("\nThe stack keeps running (Ctrl-C stops it):")
                    narrator.say(f"  endpoint  {stack.purge_url}")
                    narrator.say(f"  status    {stack.status_url}")
                    narrator.say(f"  bucket    {stack.bucket}")
                    narrator.say(f"  AWS       AWS_ENDPOINT_URL={stack.endpoint} (any credentials)")
                    narrator.say(f"  logs      {stack.log_dir}")
                    narrator.say(f"  try       {curl_command(stack)}")
                    narrator.say(f"  or        {client_command(stack)}")
                    narrator.say(
                        "  docs      docs/partner-api/README.md (every answer; the OpenAPI document)"
                    )
                    narrator.say("ready")
                    wait_for_interrupt()
        except DemoFailed as failure:
            narrator.say(f"\nDEMO FAILED: {failure}")
            return 1
    narrator.say("stopped: every process the demo started has exited.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
