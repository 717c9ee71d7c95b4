"""The events the purge job's state machine sends the worker, validated.

An event names a job and what to do for it; it carries nothing else the worker trusts. The
bucket and prefix come from the job's record, which only a request with the password writes, so
an event that anyone might send (a direct invocation of the worker) can at most ask for work on a
job that is running anyway.

* ``plan``: find the job's lanes;
* ``purge``: one run on one lane (a prefix under the job's), or, ``final``, the sweep of the
  job's whole prefix that ends the job; ``runs`` counts this lane's runs so far;
* ``fail``: end the job ``failed`` with what Step Functions caught (``error``: its ``Error`` and
  ``Cause``); ``lanes_may_run`` when lanes of it may still be deleting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from purge_bucket.api.request import JOB_ID, MAX_PREFIX_BYTES

PLAN, PURGE, FAIL = "plan", "purge", "fail"
_FIELDS = {
    PLAN: {"action", "job_id"},
    PURGE: {"action", "job_id", "lane", "runs", "final", "done", "state"},
    FAIL: {"action", "job_id", "error", "lanes_may_run"},
}
#: The most of Step Functions' error name and cause the worker reads (its own limits: 256 and 32,768).
MAX_ERROR_CHARS = 256
MAX_CAUSE_CHARS = 32768


class TaskRejected(Exception):
    """The event is not a task of a running job; nothing is done."""


@dataclass(frozen=True)
class Task:
    action: str
    job_id: str
    lane: str = ""
    runs: int = 0
    final: bool = False
    error: str = ""
    cause: str = ""
    lanes_may_run: bool = False


def parse_task(event: Any) -> Task:
    if (
        not isinstance(event, dict)
        or not isinstance(event.get("action"), str)
        or event["action"] not in _FIELDS
    ):
        raise TaskRejected("not a purge job task")
    action = event["action"]
    unknown = set(event) - _FIELDS[action]
    if unknown:
        raise TaskRejected(
            f"unknown field(s) in a {action} task: {', '.join(sorted(map(str, unknown)))[:200]}"
        )
    job_id = event.get("job_id")
    if not isinstance(job_id, str) or JOB_ID.fullmatch(job_id) is None:
        raise TaskRejected("the task names no job")
    if action == PURGE:
        lane, runs, final = event.get("lane"), event.get("runs"), event.get("final")
        if not isinstance(lane, str) or _utf8_length(lane) is None or _utf8_length(lane) > MAX_PREFIX_BYTES:
            raise TaskRejected("the task's lane is not a prefix")
        if type(runs) is not int or runs < 0:
            raise TaskRejected("the task's runs is not a count")
        if type(final) is not bool:
            raise TaskRejected("the task's final is not true or false")
        return Task(PURGE, job_id, lane=lane, runs=runs, final=final)
    if action == FAIL:
        error = event.get("error")
        lanes_may_run = event.get("lanes_may_run")
        if not isinstance(error, dict) or type(lanes_may_run) is not bool:
            raise TaskRejected("the failure task needs the error caught and whether lanes may run")
        return Task(
            FAIL,
            job_id,
            error=_text(error.get("Error"), MAX_ERROR_CHARS),
            cause=_text(error.get("Cause"), MAX_CAUSE_CHARS),
            lanes_may_run=lanes_may_run,
        )
    return Task(PLAN, job_id)


def _utf8_length(text: str) -> int | None:
    try:
        return len(text.encode("utf-8"))
    except UnicodeEncodeError:
        return None


def _text(value: Any, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""
