"""Each purge's record and each bucket's lease, in one DynamoDB table (``JOBS_TABLE``).

Two kinds of item, told apart by their key:

* ``job#<job id>``: one per purge, inline or job. Its state (``running``, ``succeeded``,
  ``failed``), where it runs (``inline`` in the API's request, or ``job`` on Step Functions), its
  bucket and prefix, the counts of what is gone (added to by every run, so they are exact so far),
  what S3 refused and when it started and ended. A finished record is deleted by DynamoDB's TTL
  (``delete_after``) ``JOB_RETENTION_DAYS`` after its end.
* ``lease#<bucket>``: the purge that holds the bucket, and until when. A purge starts only by
  writing it, on the condition that no lease exists or the one there has expired: one purge per
  bucket at a time, whatever the prefixes. The holder renews it before each run; a crashed
  holder's lease expires by itself (the expiry is in the condition, so DynamoDB's TTL, which
  deletes late, only tidies up).

Times are seconds since the epoch (``clock``). Every call is one request with the client's
bounded timeouts: a failure raises ``TableUnavailable``, never a botocore error.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from lambda_shared.aws import error_code
from purge_bucket.engine.deletion import PurgeCounts

RUNNING, SUCCEEDED, FAILED = "running", "succeeded", "failed"
INLINE, JOB = "inline", "job"
#: An inline purge holds its bucket this long: past the latest answer (50 s, a direct invocation).
INLINE_LEASE_SECONDS = 90
#: A job holds it this long after each of its runs starts: longer than a run lasts (Lambda stops a
#: function after 15 minutes), with room for Step Functions' retries between runs.
JOB_LEASE_SECONDS = 1800
#: A failed job's runs may still be deleting (a Map stops scheduling its lanes, not the Lambdas
#: running them): its bucket stays held until they must have ended.
RUN_END_SECONDS = 960
#: A record left running (its function crashed before it could say how it ended) is deleted
#: after this long all the same; a Standard execution runs a year at most.
ORPHAN_SECONDS = 400 * 86400
_serializer, _deserializer = TypeSerializer(), TypeDeserializer()


class TableUnavailable(Exception):
    """DynamoDB refused or could not be reached; the message says which (its error code)."""


class Busy(Exception):
    """Another purge holds the bucket, until ``expires_at`` at the latest."""

    def __init__(self, job_id: str, prefix: str, expires_at: float) -> None:
        super().__init__(job_id)
        self.job_id = job_id
        self.prefix = prefix
        self.expires_at = expires_at


class LeaseLost(Exception):
    """The purge no longer holds its bucket: its lease expired and another purge took it."""


@dataclass(frozen=True)
class JobRecord:
    job_id: str
    bucket: str
    prefix: str
    state: str
    mode: str
    started_at: float
    #: When the inline run must have answered; a record still ``inline`` and running after it
    #: belongs to a function that stopped before saying how it ended.
    answer_by: float
    ended_at: float | None = None
    deleted: PurgeCounts = field(default_factory=PurgeCounts)
    message: str = ""
    not_deleted: dict[str, Any] | None = None
    refused: str | None = None
    still_listed: dict[str, Any] | None = None
    error: str | None = None
    #: Worker runs so far (Step Functions' history grows with them).
    runs: int = 0
    #: False when a run may have deleted entries it could not count (``Ending.counts_exact``).
    counts_exact: bool = True

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> JobRecord:
        data = {name: _deserializer.deserialize(value) for name, value in item.items()}
        return cls(
            job_id=str(data["job_id"]),
            bucket=str(data["bucket"]),
            prefix=str(data.get("prefix", "")),
            state=str(data["state"]),
            mode=str(data["mode"]),
            started_at=int(data["started_ms"]) / 1000,
            answer_by=int(data["answer_by_ms"]) / 1000,
            ended_at=int(data["ended_ms"]) / 1000 if "ended_ms" in data else None,
            deleted=PurgeCounts(
                int(data.get("versions", 0)),
                int(data.get("delete_markers", 0)),
                int(data.get("multipart_uploads", 0)),
            ),
            message=str(data.get("message", "")),
            not_deleted=_plain(data.get("not_deleted")),
            refused=data.get("refused"),
            still_listed=_plain(data.get("still_listed")),
            error=data.get("error"),
            runs=int(data.get("runs", 0)),
            counts_exact=bool(data.get("counts_exact", True)),
        )


@dataclass(frozen=True)
class Ending:
    """How a purge ended, as its record keeps it."""

    state: str
    message: str
    not_deleted: dict[str, Any] | None = None
    refused: str | None = None
    still_listed: dict[str, Any] | None = None
    error: str | None = None
    #: False when the purge ended without a run counting what it deleted (Lambda stopped it, or
    #: the engine raised): the counts are then what is gone at least.
    counts_exact: bool = True


class JobTable:
    def __init__(
        self,
        dynamodb: Any,
        table: str,
        *,
        retention_days: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.dynamodb = dynamodb
        self.table = table
        self.retention_seconds = retention_days * 86400
        self.clock = clock

    # Starting -----------------------------------------------------------------------------------

    def claim(self, job_id: str, bucket: str, prefix: str, *, lease_seconds: float, answer_by: float) -> None:
        """Takes the bucket's lease and writes the purge's record, both or neither; raises
        ``Busy`` naming the purge that holds the bucket."""
        now = self.clock()
        lease = {
            "pk": _lease_key(bucket),
            "job_id": job_id,
            "prefix": prefix,
            "expires_at": int(now + lease_seconds),
            "delete_after": int(now + lease_seconds + 86400),
        }
        record = {
            "pk": _job_key(job_id),
            "job_id": job_id,
            "bucket": bucket,
            "prefix": prefix,
            "state": RUNNING,
            "mode": INLINE,
            "started_ms": _ms(now),
            "answer_by_ms": _ms(answer_by),
            "versions": 0,
            "delete_markers": 0,
            "multipart_uploads": 0,
            "runs": 0,
            "delete_after": int(now + ORPHAN_SECONDS),
        }
        try:
            self.dynamodb.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": _item(lease),
                            "ConditionExpression": "attribute_not_exists(pk) OR expires_at < :now",
                            "ExpressionAttributeValues": _item({":now": int(now)}),
                            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": _item(record),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ]
            )
        except ClientError as error:
            holder = _failed_condition_item(error, 0)
            if holder is not None:
                raise Busy(
                    str(holder.get("job_id", "")),
                    str(holder.get("prefix", "")),
                    float(holder.get("expires_at", now + lease_seconds)),
                ) from None
            raise TableUnavailable(f"DynamoDB refused to start the purge: {error_code(error)}") from None
        except BotoCoreError as error:
            raise TableUnavailable(f"DynamoDB could not be reached: {error_code(error)}") from None

    def hand_over(self, job_id: str, bucket: str, deleted: PurgeCounts, *, lease_seconds: float) -> None:
        """The inline run's counts into the record, which becomes a job's, and the lease extended
        for the job; raises ``LeaseLost`` if the purge no longer holds the bucket."""
        now = self.clock()
        self._transact(
            [
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": _item({"pk": _job_key(job_id)}),
                        "UpdateExpression": "SET #mode = :job ADD versions :v, delete_markers :d,"
                        " multipart_uploads :u",
                        "ConditionExpression": "#state = :running",
                        "ExpressionAttributeNames": {"#mode": "mode", "#state": "state"},
                        "ExpressionAttributeValues": _item(
                            {":job": JOB, ":running": RUNNING, **_count_values(deleted)}
                        ),
                    }
                },
                self._lease_update(job_id, bucket, now + lease_seconds),
            ],
            "hand the purge over",
        )

    # Running ------------------------------------------------------------------------------------

    def renew(self, job_id: str, bucket: str, *, lease_seconds: float) -> None:
        """Extends the purge's hold on its bucket; raises ``LeaseLost`` when it has none."""
        update = self._lease_update(job_id, bucket, self.clock() + lease_seconds)["Update"]
        try:
            self.dynamodb.update_item(**update)
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                raise LeaseLost(f"the purge {job_id} no longer holds bucket {bucket}") from None
            raise TableUnavailable(f"DynamoDB refused to renew the lease: {error_code(error)}") from None
        except BotoCoreError as error:
            raise TableUnavailable(f"DynamoDB could not be reached: {error_code(error)}") from None

    def add_progress(self, job_id: str, deleted: PurgeCounts) -> JobRecord:
        """Adds one run's counts to the record, and counts the run; returns the record after.

        Unconditional: what a run deleted is gone, whatever the record says by now.
        """
        try:
            response = self.dynamodb.update_item(
                TableName=self.table,
                Key=_item({"pk": _job_key(job_id)}),
                UpdateExpression="ADD versions :v, delete_markers :d, multipart_uploads :u, runs :one",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues=_item({**_count_values(deleted), ":one": 1}),
                ReturnValues="ALL_NEW",
            )
        except (ClientError, BotoCoreError) as error:
            raise TableUnavailable(f"DynamoDB refused to count the run: {error_code(error)}") from None
        return JobRecord.from_item(response["Attributes"])

    # Ending -------------------------------------------------------------------------------------

    def finish(
        self,
        job_id: str,
        bucket: str,
        ending: Ending,
        *,
        deleted: PurgeCounts | None = None,
        hold_lease_until: float | None = None,
    ) -> None:
        """Records how the purge ended (adding ``deleted``, an inline run's counts) and lets go of
        the bucket: at once, or at ``hold_lease_until`` when runs of it may still be deleting.

        A record that has already ended is left as it is. The lease is let go only if the purge
        still holds it.
        """
        now = self.clock()
        names = {"#state": "state"}
        values: dict[str, Any] = {
            ":running": RUNNING,
            ":state": ending.state,
            ":ended": _ms(now),
            ":message": ending.message,
            ":after": int(now + self.retention_seconds),
            **_count_values(deleted or PurgeCounts()),
        }
        assignments = [
            "#state = :state",
            "ended_ms = :ended",
            "message = :message",
            "delete_after = :after",
        ]
        for name in ("not_deleted", "refused", "still_listed", "error"):
            value = getattr(ending, name)
            if value is not None:
                assignments.append(f"#{name} = :{name}")
                names[f"#{name}"] = name
                values[f":{name}"] = value
        if not ending.counts_exact:
            assignments.append("counts_exact = :exact")
            values[":exact"] = False
        record_update = {
            "Update": {
                "TableName": self.table,
                "Key": _item({"pk": _job_key(job_id)}),
                "UpdateExpression": f"SET {', '.join(assignments)}"
                " ADD versions :v, delete_markers :d, multipart_uploads :u",
                "ConditionExpression": "#state = :running",
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": _item(values),
            }
        }
        if hold_lease_until is None:
            lease_change = {
                "Delete": {
                    "TableName": self.table,
                    "Key": _item({"pk": _lease_key(bucket)}),
                    "ConditionExpression": "job_id = :me",
                    "ExpressionAttributeValues": _item({":me": job_id}),
                }
            }
        else:
            lease_change = self._lease_update(job_id, bucket, hold_lease_until)
        try:
            self._transact([record_update, lease_change], "record the purge's end")
        except LeaseLost:
            # The lease is another purge's now: only the record is this one's to change.
            self._transact([record_update], "record the purge's end")

    # Reading ------------------------------------------------------------------------------------

    def get(self, job_id: str) -> JobRecord | None:
        try:
            response = self.dynamodb.get_item(
                TableName=self.table, Key=_item({"pk": _job_key(job_id)}), ConsistentRead=True
            )
        except (ClientError, BotoCoreError) as error:
            raise TableUnavailable(f"DynamoDB refused to read the purge: {error_code(error)}") from None
        item = response.get("Item")
        return JobRecord.from_item(item) if item else None

    # Helpers ------------------------------------------------------------------------------------

    def _lease_update(self, job_id: str, bucket: str, until: float) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self.table,
                "Key": _item({"pk": _lease_key(bucket)}),
                "UpdateExpression": "SET expires_at = :until, delete_after = :after",
                "ConditionExpression": "job_id = :me",
                "ExpressionAttributeValues": _item(
                    {":until": int(until), ":after": int(until + 86400), ":me": job_id}
                ),
            }
        }

    def _transact(self, items: list[dict[str, Any]], what: str) -> None:
        """Writes ``items`` all or none; ``LeaseLost`` when the lease item's condition failed
        (it is always the last item), ``TableUnavailable`` on anything else."""
        try:
            self.dynamodb.transact_write_items(TransactItems=items)
        except ClientError as error:
            lease_index = len(items) - 1
            if len(items) > 1 and _failed_condition(error, lease_index):
                raise LeaseLost(f"the purge no longer holds its bucket, so could not {what}") from None
            if _failed_condition(error, 0):
                raise TableUnavailable(f"could not {what}: the purge's record has already ended") from None
            raise TableUnavailable(f"DynamoDB refused to {what}: {error_code(error)}") from None
        except BotoCoreError as error:
            raise TableUnavailable(f"DynamoDB could not be reached: {error_code(error)}") from None


def _job_key(job_id: str) -> str:
    return f"job#{job_id}"


def _lease_key(bucket: str) -> str:
    return f"lease#{bucket}"


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def _item(data: dict[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(value) for name, value in data.items()}


def _count_values(counts: PurgeCounts) -> dict[str, int]:
    return {":v": counts.versions, ":d": counts.delete_markers, ":u": counts.multipart_uploads}


def _reasons(error: ClientError) -> list[dict[str, Any]]:
    if error_code(error) != "TransactionCanceledException":
        return []
    return error.response.get("CancellationReasons") or []


def _failed_condition(error: ClientError, index: int) -> bool:
    reasons = _reasons(error)
    return index < len(reasons) and reasons[index].get("Code") == "ConditionalCheckFailed"


def _failed_condition_item(error: ClientError, index: int) -> dict[str, Any] | None:
    """The item whose condition failed at ``index`` of a cancelled transaction, if that is why."""
    if not _failed_condition(error, index):
        return None
    item = _reasons(error)[index].get("Item") or {}
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


def _plain(value: Any) -> Any:
    """DynamoDB's numbers (Decimal) as ints, in nested maps and lists."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | set):
        return [_plain(item) for item in (sorted(value) if isinstance(value, set) else value)]
    if type(value).__name__ == "Decimal":
        return int(value)
    return value
