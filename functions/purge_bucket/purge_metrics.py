"""The metrics of a purge that ended (lambda_shared/metrics.py): what it deleted, by kind, how long
it took and how it ended, under the dimension Mode (``inline`` for one answered by the endpoint,
``job`` for one that ran on as a purge job)."""

from __future__ import annotations

from lambda_shared import metrics
from purge_bucket.engine.deletion import PurgeCounts
from purge_bucket.job.table import SUCCEEDED


def ended(mode: str, state: str, deleted: PurgeCounts, seconds: float, *, job_id: str) -> None:
    metrics.emit(
        {"Mode": mode},
        {
            "PurgeVersionsDeleted": deleted.versions,
            "PurgeDeleteMarkersDeleted": deleted.delete_markers,
            "PurgeUploadsAborted": deleted.multipart_uploads,
            "PurgeSeconds": round(seconds, 3),
            "PurgesSucceeded": int(state == SUCCEEDED),
            "PurgesFailed": int(state != SUCCEEDED),
        },
        {"job_id": job_id, "state": state},
    )
