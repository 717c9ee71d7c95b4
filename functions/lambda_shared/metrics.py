"""CloudWatch metrics as Embedded Metric Format (EMF) lines in the function's log.

CloudWatch Logs turns each such line into metric data: no PutMetricData call, no extra permission,
nothing to flush. The format, as AWS specifies it: one JSON object per line whose ``_aws`` member
holds the ``Timestamp`` (epoch milliseconds) and the ``CloudWatchMetrics`` directives (the
namespace, the dimension sets, each metric's name and unit); each dimension and each metric is
also a top-level member, with its value.

A small writer rather than aws-lambda-powertools' Metrics: on python3.13 its import cost about
20 ms more at every cold start, and 2.2 MB more in each zip, for the same line
(docs/deploy-and-operate.md, "Metrics"; bench/emf_cost.py).

The namespace is the stack's (``METRICS_NAMESPACE``, set by Terraform). Every metric either
function writes is in ``METRICS``, with its unit: the alarms and the dashboard are checked against
it (tests/test_metrics.py).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any, TextIO

METRICS_NAMESPACE = "METRICS_NAMESPACE"
DEFAULT_NAMESPACE = "partner-data"

#: Every metric the functions write, with its unit.
METRICS: dict[str, str] = {
    # The refresh, per export (dimension Dataset).
    "ExportRows": "Count",
    "ExportBytes": "Bytes",
    "ExportSeconds": "Seconds",
    "ExportsWritten": "Count",
    "ExportsFailed": "Count",
    # A purge, when it ends (dimension Mode: inline or job).
    "PurgeVersionsDeleted": "Count",
    "PurgeDeleteMarkersDeleted": "Count",
    "PurgeUploadsAborted": "Count",
    "PurgeSeconds": "Seconds",
    "PurgesSucceeded": "Count",
    "PurgesFailed": "Count",
}


def namespace(environ: Mapping[str, str] = os.environ) -> str:
    return environ.get(METRICS_NAMESPACE, "").strip() or DEFAULT_NAMESPACE


def emf_line(
    dimensions: Mapping[str, str],
    values: Mapping[str, float],
    properties: Mapping[str, Any] | None = None,
    *,
    namespace_name: str,
    now: Callable[[], float] = time.time,
) -> str:
    """One EMF line: ``values`` (metric name -> value, each in METRICS) under one dimension set."""
    unknown = sorted(set(values) - set(METRICS))
    if unknown:
        raise ValueError(f"metrics not in METRICS: {unknown}")
    document = {
        **(properties or {}),
        **dimensions,
        **values,
        "_aws": {
            "Timestamp": int(now() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": namespace_name,
                    "Dimensions": [list(dimensions)],
                    "Metrics": [{"Name": name, "Unit": METRICS[name]} for name in values],
                }
            ],
        },
    }
    return json.dumps(document, separators=(",", ":"), default=str)


def emit(
    dimensions: Mapping[str, str],
    values: Mapping[str, float],
    properties: Mapping[str, Any] | None = None,
    *,
    stream: TextIO | None = None,
) -> None:
    """Writes one EMF line to standard output, which Lambda sends to the function's log group."""
    out = stream or sys.stdout
    out.write(emf_line(dimensions, values, properties, namespace_name=namespace()) + "\n")
    out.flush()
