"""How a purge that ran to its end ended, in one place for the inline answer and the job's record.

Four ends, each with exact counts of what is gone: everything was deleted (200, ``succeeded``); S3
refused a listing, so the rest was not reached; S3 confirmed deleting entries it keeps listing; S3
refused to delete some entries (the last three 500, ``failed``, saying what stays).
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from purge_bucket.engine.deletion import PurgeCounts, PurgeResult
from purge_bucket.job.table import FAILED, SUCCEEDED, Ending


@dataclass(frozen=True)
class Outcome:
    status: HTTPStatus
    outcome: str
    ending: Ending
    #: The answer's fields besides its message.
    fields: dict[str, Any]


def counted(counts: PurgeCounts) -> str:
    return (
        f"{counts.versions} versions, {counts.delete_markers} delete markers,"
        f" {counts.multipart_uploads} multipart uploads"
    )


def of_run(result: PurgeResult, *, bucket: str, prefix: str, deleted: PurgeCounts) -> Outcome:
    """The end of a run that was not cut short by its deadline; ``deleted`` counts the whole
    purge (earlier runs included)."""
    done = f"{counted(deleted)} deleted"
    fields: dict[str, Any] = {"bucket_name": bucket, "prefix": prefix, "deleted": deleted.as_dict()}
    not_deleted = result.failure_summary() if result.failures else None
    if not_deleted:
        fields["not_deleted"] = not_deleted
    if result.refused:
        fields["refused"] = result.refused
        message = (
            f"S3 refused to list the bucket ({result.refused}): {done} before that; the rest was not reached"
        )
        return _failed("s3_refused", message, fields)
    if result.still_listed:
        fields["still_listed"] = {"count": result.still_listed, "sample_keys": result.still_listed_sample}
        message = (
            f"S3 confirmed deleting {result.still_listed} entries that it still lists: {done};"
            " nothing else remains"
        )
        return _failed("s3_keeps_listing", message, fields)
    if not_deleted:
        codes = ", ".join(f"{code} {count}" for code, count in not_deleted["by_error_code"].items())
        message = (
            f"S3 refused to delete {not_deleted['count']} entries ({codes}): {done}; nothing else remains"
        )
        return _failed("s3_refused", message, fields)
    message = done_message(bucket, prefix)
    return Outcome(HTTPStatus.OK, "purged", Ending(SUCCEEDED, message), fields)


def done_message(bucket: str, prefix: str) -> str:
    if not prefix:
        return f"Bucket {bucket!r} is now empty"
    message = f"Nothing is left under the prefix {prefix!r} of bucket {bucket!r}"
    if not prefix.endswith("/"):
        example = prefix + "s/…"
        message += f" (a prefix is the start of a key, not a folder: {prefix!r} also covers {example!r})"
    return message


def _failed(outcome: str, message: str, fields: dict[str, Any]) -> Outcome:
    ending = Ending(
        FAILED,
        message,
        not_deleted=fields.get("not_deleted"),
        refused=fields.get("refused"),
        still_listed=fields.get("still_listed"),
    )
    return Outcome(HTTPStatus.INTERNAL_SERVER_ERROR, outcome, ending, fields)
