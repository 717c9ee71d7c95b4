#!/usr/bin/env python3
"""A small client of the purge API: purges a bucket (or a prefix of it) and follows the purge to
its end. Python 3.9 or later, standard library only: copy this file into your integration.

    export PURGE_PASSWORD='…'           # never on the command line, where `ps` shows it
    python3 purge_client.py https://abcdef1234.execute-api.sa-east-1.amazonaws.com/v1/purge \\
        partner-data-123456789012-sa-east-1 --prefix sale/

What it does with each answer (openapi.yaml, next to this file, describes them all):
* 200: done; 202: a purge job, whose status it asks every ``poll_seconds`` until it has ended;
* 409: another purge of the bucket is running: it follows that one to its end, then sends this
  purge again (once);
* 429, 502, 503, 504: tried again, with backoff, at most ``attempts`` times in all;
* 400, 401, 403, 404: wrong request, password, bucket: ``PurgeRefused``, nothing was deleted;
* 500, or a job that ended ``failed``: ``PurgeFailed``, whose ``answer`` says what was deleted and
  what stays. Sending the purge again retries what is left.

Exit status: 0 purged, 1 failed, 2 refused.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

Answer = dict[str, Any]
#: Answers worth trying again: API Gateway's throttling, failures and timeouts; AWS busy (503).
RETRIED = frozenset({429, 502, 503, 504})
#: API Gateway answers within 29 s; a little more for the network.
REQUEST_TIMEOUT_SECONDS = 35.0


class PurgeRefused(Exception):
    """A 4xx: the request, the password or the bucket is wrong. Nothing was deleted."""

    def __init__(self, status: int, answer: Answer) -> None:
        super().__init__(f"{status}: {answer.get('message') or answer.get('Message')}")
        self.status, self.answer = status, answer


class PurgeFailed(Exception):
    """The purge ended without emptying what it was asked to: ``answer`` says what stays."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(answer.get("message", "the purge failed"))
        self.answer = answer


class PurgeClient:
    def __init__(
        self,
        url: str,
        password: str,
        *,
        poll_seconds: float = 5.0,
        attempts: int = 5,
        backoff_seconds: float = 2.0,
        api_key: str | None = None,
        on_progress: Callable[[str], None] = lambda _line: None,
    ) -> None:
        """``url``: the purge endpoint, ``…/v1/purge`` (Terraform output ``purge_endpoint_url``)."""
        self.url = url.rstrip("/")
        self._password = password
        self.poll_seconds = poll_seconds
        self.attempts = attempts
        self.backoff_seconds = backoff_seconds
        self._headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if api_key:
            self._headers["x-api-key"] = api_key
        self.on_progress = on_progress

    def __repr__(self) -> str:  # Never the password.
        return f"PurgeClient({self.url!r})"

    def purge(self, bucket: str, prefix: str | None = None) -> Answer:
        """Empties ``bucket`` (under ``prefix``) and returns the final answer: a 200's body, or the
        job's last status (``state`` ``succeeded``)."""
        request: Answer = {"bucket_name": bucket}
        if prefix:
            request["prefix"] = prefix
        waited_for_another = False
        while True:
            status, answer = self._post(self.url, request)
            if status == 200:
                return answer
            if status == 202:
                self.on_progress(f"purge continues as job {answer['job_id']}")
                return self._follow(answer["job_id"], answer.get("status_request", {}).get("path"))
            if status == 409 and not waited_for_another:
                self.on_progress(f"another purge of {bucket} is running: job {answer['job_id']}; waiting")
                with contextlib.suppress(PurgeFailed):  # Ours is sent anyway: it retries what is left.
                    self._follow(answer["job_id"], None)
                waited_for_another = True
                continue
            if status == 500:
                raise PurgeFailed(answer)
            raise PurgeRefused(status, answer)

    def status(self, job_id: str, status_path: str | None = None) -> Answer:
        """The job's status (``state`` ``running``, ``succeeded`` or ``failed``)."""
        status, answer = self._post(self._status_url(status_path), {"job_id": job_id})
        if status != 200:
            raise PurgeRefused(status, answer)
        return answer

    def _follow(self, job_id: str, status_path: str | None) -> Answer:
        while True:
            answer = self.status(job_id, status_path)
            deleted = answer.get("deleted", {})
            self.on_progress(
                f"job {job_id}: {answer['state']}, {deleted.get('versions', 0)} versions,"
                f" {deleted.get('delete_markers', 0)} delete markers,"
                f" {deleted.get('multipart_uploads', 0)} multipart uploads deleted"
            )
            if answer["state"] == "succeeded":
                return answer
            if answer["state"] == "failed":
                raise PurgeFailed(answer)
            time.sleep(self.poll_seconds)

    def _status_url(self, status_path: str | None) -> str:
        if status_path:  # As the 202 gave it: the path on the same host.
            return urllib.parse.urljoin(self.url, status_path)
        return self.url + "/status"

    def _post(self, url: str, fields: Answer) -> tuple[int, Answer]:
        body = json.dumps({**fields, "password": self._password}).encode("utf-8")
        for attempt in range(1, self.attempts + 1):
            request = urllib.request.Request(url, body, self._headers, method="POST")  # noqa: S310 - https
            status, answer = _send(request)
            if status not in RETRIED or attempt == self.attempts:
                return status, answer
            pause = min(30.0, self.backoff_seconds * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0)  # noqa: S311
            self.on_progress(f"{status} ({answer.get('message')}): trying again in {pause:.0f} s")
            time.sleep(pause)
        raise AssertionError("unreachable")


def _send(request: urllib.request.Request) -> tuple[int, Answer]:
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_SECONDS) as response:  # noqa: S310 - the caller's URL
            return response.status, _json(response.read())
    except urllib.error.HTTPError as error:
        return error.code, _json(error.read())
    except (urllib.error.URLError, TimeoutError) as error:
        return 504, {"message": f"no answer: {error}"}


def _json(data: bytes) -> Answer:
    try:
        answer = json.loads(data)
    except ValueError:
        return {"message": data[:200].decode("utf-8", "replace")}
    return answer if isinstance(answer, dict) else {"message": str(answer)}


def main(argv: list | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Purge a partner data bucket and follow the purge to its end."
    )
    parser.add_argument(
        "url", help="the purge endpoint, https://…/v1/purge (Terraform output purge_endpoint_url)"
    )
    parser.add_argument("bucket")
    parser.add_argument("--prefix", help="only the keys that start with this (end it with / for one folder)")
    parser.add_argument("--poll-seconds", type=float, default=5.0)
    args = parser.parse_args(argv)
    password = os.environ.get("PURGE_PASSWORD")
    if not password:
        parser.error("set PURGE_PASSWORD (not an argument: the command line is visible to every user)")
    client = PurgeClient(
        args.url,
        password,
        poll_seconds=args.poll_seconds,
        api_key=os.environ.get("PURGE_API_KEY"),
        on_progress=lambda line: print(line, file=sys.stderr),
    )
    try:
        answer = client.purge(args.bucket, args.prefix)
    except PurgeRefused as refused:
        print(json.dumps(refused.answer, ensure_ascii=False), file=sys.stderr)
        return 2
    except PurgeFailed as failed:
        print(json.dumps(failed.answer, ensure_ascii=False))
        return 1
    print(json.dumps(answer, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
