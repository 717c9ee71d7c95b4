"""Two fixes to moto's S3 backend, for the tests, the demo and the benchmarks.

moto stands in for S3 here, and two of its shortcuts would otherwise show up as our bugs or our
costs, not S3's:

* ``serialize_s3_backend``: moto's S3 backend is not thread-safe. A ListObjectVersions that runs
  while another thread deletes keys can crash inside moto (a key vanishes under its iteration);
  S3 itself serves concurrent requests consistently. One lock around the backend's operations
  makes moto do the same.
* ``shallow_copy_version_listing``: moto 5 deep-copies every version in the bucket on every
  ListObjectVersions call, rebuilding each object's buffer, so one page of a 21,000-entry bucket
  takes over ten seconds. A shallow copy of each key's version list gives the same answers.

Both are idempotent and apply to the whole process.
"""

from __future__ import annotations

import copy
import functools
import threading
import types

_LOCK = threading.RLock()
_SERIALIZED = (
    "list_object_versions",
    "list_objects",
    "list_objects_v2",
    "list_multipart_uploads",
    "delete_object",
    "delete_objects",
    "put_object",
    "abort_multipart_upload",
)


def serialize_s3_backend() -> None:
    from moto.s3.models import S3Backend

    for name in _SERIALIZED:
        method = getattr(S3Backend, name)
        if getattr(method, "_serialized", False):
            continue

        @functools.wraps(method)
        def serialized(*args, _method=method, **kwargs):
            with _LOCK:
                return _method(*args, **kwargs)

        serialized._serialized = True  # type: ignore[attr-defined]
        setattr(S3Backend, name, serialized)


def shallow_copy_version_listing() -> None:
    import moto.s3.models

    # moto.s3.models calls copy.deepcopy once: on each key's list of versions, to list them.
    moto.s3.models.copy = types.SimpleNamespace(  # type: ignore[attr-defined]
        deepcopy=lambda value: list(value) if isinstance(value, list) else copy.deepcopy(value),
        copy=copy.copy,
    )
