"""A model of S3: the operations a purge uses, in memory, over real HTTP with S3's XML shapes.

Not an S3 implementation; a model of the behaviours that matter to deleting everything in a
bucket, where moto and S3 differ, so the purge can be tested against them:

* keys are listed in UTF-8 byte order, versions newest first, pages resumed after the markers;
  with a delimiter, keys below it are rolled up into common prefixes, each counted as one entry;
* ``encoding-type=url`` percent-encodes keys and markers; without it a character XML cannot carry
  is written as a character reference (``&#x1b;``), which XML parsers refuse, as S3 does;
* a DeleteObjects body that is not well-formed XML (a raw control character in a key) is refused
  whole with ``MalformedXML``; a key in a URL (DeleteObject) can hold anything;
* deleting a version or a key that does not exist succeeds; aborting an unknown upload is
  ``NoSuchUpload``;
* optional: a latency per request and a limit of DELETEs per second per prefix, above which
  requests (each key of a DeleteObjects counted) get ``503 SlowDown``, as S3 documents for
  partitioned prefixes. Both are parameters of the model, not measurements.

Tests can also inject answers: ``key_errors(operation, key)`` returns an error code for one key
of a DeleteObjects (S3 reports those inside a 200 answer) or None; ``request_error(operation, query)``
returns (status, code) to refuse a whole request, or None; ``kept(key)`` makes a delete of that
key succeed without deleting anything (what S3 answers for a key it does not have).

Path-style requests only; signatures are not checked.
"""

from __future__ import annotations

import bisect
import contextlib
import re
import threading
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from stand_ins.background_server import BackgroundServer

NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass
class _Version:
    version_id: str
    is_delete_marker: bool = False
    size: int = 0


@dataclass
class _Bucket:
    versioned: bool = True
    keys: dict[str, list[_Version]] = field(default_factory=dict)
    uploads: dict[str, str] = field(default_factory=dict)  # upload id -> key
    #: The keys in S3's order (their UTF-8 bytes), sorted again only after a key was added: a
    #: listing page starts at its marker by bisection, instead of sorting the bucket for every page
    #: (which made the model's own cost grow with the bucket). Deleted keys stay until then, skipped.
    _order: list[tuple[bytes, str]] = field(default_factory=list)
    _added: bool = False

    def entries(self, key: str) -> list[_Version]:
        """The versions of ``key``, a new key's list added."""
        found = self.keys.get(key)
        if found is None:
            found = self.keys[key] = []
            self._added = True
        return found

    def keys_from(self, prefix: str, marker: str) -> Iterator[str]:
        """The keys under ``prefix`` from ``marker`` on (itself included), in S3's order."""
        if self._added:
            self._order = sorted((_byte_order(key), key) for key in self.keys)
            self._added = False
        start = _byte_order(prefix)
        position = bisect.bisect_left(self._order, (max(start, _byte_order(marker)),))
        for ordered, key in self._order[position:]:
            if not ordered.startswith(start):
                return
            if key in self.keys:
                yield key


@dataclass
class RateLimit:
    """At most ``per_second`` DELETE units per prefix (the key up to its first "/", and the "/")."""

    per_second: float
    window_seconds: float = 1.0


@dataclass
class DeletesAdmitted:
    """The deletes the model accepted: when it accepted the first request and the last, and how
    many keys they held."""

    first: float | None = None
    last: float | None = None
    keys: int = 0
    first_keys: int = 0

    def add(self, moment: float, keys: int) -> None:
        if self.first is None:
            self.first, self.first_keys = moment, keys
        self.last = moment
        self.keys += keys

    def per_second(self) -> float | None:
        """The rate kept from the first accepted request to the last; None for fewer than two.

        The first request's keys are left out: n requests span n - 1 intervals, so an even stream
        of requests gives its own rate.
        """
        if self.first is None or self.last is None or self.last <= self.first:
            return None
        return (self.keys - self.first_keys) / (self.last - self.first)


class S3Model(BackgroundServer):
    def __init__(
        self,
        *,
        latency_seconds: float = 0.0,
        delete_rate: RateLimit | None = None,
        key_errors: Callable[[str, str], str | None] = lambda _op, _key: None,
        request_error: Callable[[str, dict[str, str]], tuple[int, str] | None] = lambda _op, _query: None,
        kept: Callable[[str], bool] = lambda _key: False,
    ) -> None:
        self.kept = kept
        self.latency_seconds = latency_seconds
        self.delete_rate = delete_rate
        self.key_errors = key_errors
        self.request_error = request_error
        self.buckets: dict[str, _Bucket] = {}
        self.requests: dict[str, int] = defaultdict(int)
        self.slowed_down = 0
        self.admitted = DeletesAdmitted()
        self._lock = threading.Lock()
        self._deletes: dict[str, deque[float]] = defaultdict(deque)
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        server.model = self  # type: ignore[attr-defined]
        super().__init__(server, "s3-model")
        self.endpoint = "http://{}:{}".format(*self.address)

    # What tests and benchmarks set up and look at ----------------------------------------------

    def create_bucket(self, name: str, *, versioned: bool = True) -> None:
        self.buckets[name] = _Bucket(versioned=versioned)

    def put(self, bucket: str, key: str, *, versions: int = 1, delete_marker: bool = False) -> None:
        with self._lock:
            entries = self.buckets[bucket].entries(key)
            for _ in range(versions):
                self._add_version(self.buckets[bucket], entries, _Version(self._new_version_id(bucket)))
            if delete_marker:
                entries.append(_Version(self._new_version_id(bucket), is_delete_marker=True))

    def start_upload(self, bucket: str, key: str) -> str:
        upload_id = uuid.uuid4().hex
        with self._lock:
            self.buckets[bucket].uploads[upload_id] = key
        return upload_id

    def inventory(self, bucket: str) -> dict[str, int]:
        with self._lock:
            versions = [v for entries in self.buckets[bucket].keys.values() for v in entries]
            return {
                "versions": sum(not v.is_delete_marker for v in versions),
                "delete_markers": sum(v.is_delete_marker for v in versions),
                "multipart_uploads": len(self.buckets[bucket].uploads),
            }

    def _new_version_id(self, bucket: str) -> str:
        return uuid.uuid4().hex if self.buckets[bucket].versioned else "null"

    @staticmethod
    def _add_version(bucket: _Bucket, entries: list[_Version], version: _Version) -> None:
        if not bucket.versioned:
            entries.clear()
        entries.append(version)

    # Pacing ------------------------------------------------------------------------------------

    def _admit_deletes(self, keys: list[str]) -> bool:
        """Counts these deletes against their prefixes' rate; False when one prefix is over it."""
        now = time.monotonic()
        if self.delete_rate is None:
            with self._lock:
                self.admitted.add(now, len(keys))
            return True
        by_prefix: dict[str, int] = defaultdict(int)
        for key in keys:
            by_prefix[key.split("/", 1)[0] + "/" if "/" in key else ""] += 1
        with self._lock:
            limit = self.delete_rate.per_second * self.delete_rate.window_seconds
            for prefix, count in by_prefix.items():
                window = self._deletes[prefix]
                while window and window[0] <= now - self.delete_rate.window_seconds:
                    window.popleft()
                if len(window) + count > limit:
                    self.slowed_down += 1
                    return False
            for prefix, count in by_prefix.items():
                self._deletes[prefix].extend([now] * count)
            self.admitted.add(now, len(keys))
        return True

    # Operations ----------------------------------------------------------------------------------

    def list_versions(self, bucket: _Bucket, query: dict[str, str]) -> str:
        prefix, delimiter = query.get("prefix", ""), query.get("delimiter", "")
        key_marker, version_marker = query.get("key-marker", ""), query.get("version-id-marker", "")
        limit = min(int(query.get("max-keys", "1000")), 1000)
        encode = _encoder(query)
        rows: list[str] = []
        common_prefixes: list[str] = []
        truncated, next_key, next_version = False, "", ""
        with self._lock:
            for key in bucket.keys_from(prefix, key_marker):
                cut = key.find(delimiter, len(prefix)) if delimiter else -1
                if cut >= 0:  # Rolled up into a common prefix, counted once, as one entry.
                    common = key[: cut + len(delimiter)]
                    if (common_prefixes and common_prefixes[-1] == common) or (
                        key_marker and _byte_order(common) <= _byte_order(key_marker)
                    ):
                        continue
                    if len(rows) + len(common_prefixes) == limit:
                        truncated = True
                        break
                    common_prefixes.append(common)
                    next_key, next_version = common, ""
                    continue
                versions = list(reversed(bucket.keys[key]))
                if key == key_marker:
                    ids = [v.version_id for v in versions]
                    if not version_marker or version_marker not in ids:
                        continue
                    versions = versions[ids.index(version_marker) + 1 :]
                for index, version in enumerate(versions):
                    if len(rows) + len(common_prefixes) == limit:
                        truncated = True
                        break
                    tag = "DeleteMarker" if version.is_delete_marker else "Version"
                    size = (
                        ""
                        if version.is_delete_marker
                        else f"<Size>{version.size}</Size><StorageClass>STANDARD</StorageClass>"
                    )
                    rows.append(
                        f"<{tag}><Key>{encode(key)}</Key><VersionId>{version.version_id}</VersionId>"
                        f"<IsLatest>{'true' if index == 0 and key != key_marker else 'false'}</IsLatest>"
                        f"<LastModified>2026-11-20T00:00:00.000Z</LastModified>{size}</{tag}>"
                    )
                    next_key, next_version = key, version.version_id
                if truncated:
                    break
        markers = (
            f"<NextKeyMarker>{encode(next_key)}</NextKeyMarker><NextVersionIdMarker>{next_version}</NextVersionIdMarker>"
            if truncated
            else ""
        )
        encoding = "<EncodingType>url</EncodingType>" if query.get("encoding-type") == "url" else ""
        rolled_up = "".join(
            f"<CommonPrefixes><Prefix>{encode(common)}</Prefix></CommonPrefixes>"
            for common in common_prefixes
        )
        return (
            f'<ListVersionsResult xmlns="{NAMESPACE}"><Name>{escape(bucket_name_of(query))}</Name>'
            f"<Prefix>{encode(prefix)}</Prefix><KeyMarker>{encode(key_marker)}</KeyMarker>"
            f"<VersionIdMarker>{version_marker}</VersionIdMarker><MaxKeys>{limit}</MaxKeys>{encoding}"
            + (f"<Delimiter>{encode(delimiter)}</Delimiter>" if delimiter else "")
            + f"<IsTruncated>{'true' if truncated else 'false'}</IsTruncated>{markers}{''.join(rows)}"
            f"{rolled_up}</ListVersionsResult>"
        )

    def list_uploads(self, bucket: _Bucket, query: dict[str, str]) -> str:
        prefix = query.get("prefix", "")
        key_marker, upload_marker = query.get("key-marker", ""), query.get("upload-id-marker", "")
        limit = min(int(query.get("max-uploads", "1000")), 1000)
        encode = _encoder(query)
        with self._lock:
            uploads = sorted(
                ((key, upload_id) for upload_id, key in bucket.uploads.items() if key.startswith(prefix)),
                key=lambda item: (_byte_order(item[0]), item[1]),
            )
        if key_marker:
            after = (_byte_order(key_marker), upload_marker or "\uffff")
            uploads = [u for u in uploads if (_byte_order(u[0]), u[1]) > after]
        page, truncated = uploads[:limit], len(uploads) > limit
        rows = "".join(
            f"<Upload><Key>{encode(key)}</Key><UploadId>{upload_id}</UploadId>"
            f"<Initiated>2026-11-20T00:00:00.000Z</Initiated><StorageClass>STANDARD</StorageClass></Upload>"
            for key, upload_id in page
        )
        markers = (
            f"<NextKeyMarker>{encode(page[-1][0])}</NextKeyMarker><NextUploadIdMarker>{page[-1][1]}</NextUploadIdMarker>"
            if truncated
            else ""
        )
        encoding = "<EncodingType>url</EncodingType>" if query.get("encoding-type") == "url" else ""
        return (
            f'<ListMultipartUploadsResult xmlns="{NAMESPACE}">'
            f"<Bucket>{escape(bucket_name_of(query))}</Bucket>"
            f"<KeyMarker>{encode(key_marker)}</KeyMarker><UploadIdMarker>{upload_marker}</UploadIdMarker>"
            f"<MaxUploads>{limit}</MaxUploads>{encoding}"
            f"<IsTruncated>{'true' if truncated else 'false'}</IsTruncated>"
            f"{markers}{rows}</ListMultipartUploadsResult>"
        )

    def delete_version(self, bucket: _Bucket, key: str, version_id: str | None) -> None:
        if self.kept(key):
            return
        with self._lock:
            entries = bucket.keys.get(key)
            if entries is None:
                return
            if version_id is None:
                self._add_version(
                    bucket, entries, _Version(uuid.uuid4().hex if bucket.versioned else "null", True)
                )
                return
            entries[:] = [v for v in entries if v.version_id != version_id]
            if not entries:
                del bucket.keys[key]


def bucket_name_of(query: dict[str, str]) -> str:
    return query.get("__bucket__", "")


def _byte_order(key: str) -> bytes:
    return key.encode("utf-8", errors="surrogatepass")


def _encoder(query: dict[str, str]) -> Callable[[str], str]:
    if query.get("encoding-type") == "url":
        return lambda text: quote(text.encode("utf-8", errors="surrogatepass"), safe="/")
    # What S3 writes without encoding-type: characters XML cannot carry become character references.
    return lambda text: _XML_INVALID.sub(lambda m: f"&#x{ord(m.group()):x};", escape(text))


def _error(code: str, message: str) -> str:
    return (
        f"<Error><Code>{code}</Code><Message>{escape(message)}</Message><RequestId>MODEL</RequestId></Error>"
    )


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Any

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_HEAD(self) -> None:
        self._serve("HEAD")

    def do_GET(self) -> None:
        self._serve("GET")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _send(self, status: int, body: str = "", headers: dict[str, str] | None = None) -> None:
        data = (f'<?xml version="1.0" encoding="UTF-8"?>\n{body}' if body else "").encode(
            "utf-8", "surrogatepass"
        )
        # A client that hung up (its process was stopped) gets nothing; as S3, the model goes on.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.send_response(status)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

    def _serve(self, method: str) -> None:
        model: S3Model = self.server.model
        parts = urlsplit(self.path)
        raw = {name: values[0] for name, values in parse_qs(parts.query, keep_blank_values=True).items()}
        bucket_name, _, key_path = parts.path.lstrip("/").partition("/")
        key = unquote(key_path, errors="surrogatepass")
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        operation = _operation(method, bool(key_path), raw)
        model.requests[operation] += 1
        if model.latency_seconds:
            time.sleep(model.latency_seconds)
        injected = model.request_error(operation, raw)
        if injected:
            status, code = injected
            return self._send(status, _error(code, "injected"))
        if operation == "CreateBucket":
            model.create_bucket(bucket_name)
            return self._send(200)
        bucket = model.buckets.get(bucket_name)
        if bucket is None:
            return self._send(404, "" if method == "HEAD" else _error("NoSuchBucket", bucket_name))
        query = {**raw, "__bucket__": bucket_name}
        if operation == "HeadBucket":
            return self._send(200)
        if operation == "ListObjectVersions":
            return self._send(200, model.list_versions(bucket, query))
        if operation == "ListMultipartUploads":
            return self._send(200, model.list_uploads(bucket, query))
        if operation == "DeleteObjects":
            return self._delete_objects(model, bucket, body)
        if operation == "DeleteObject":
            if not model._admit_deletes([key]):
                return self._send(503, _error("SlowDown", "Please reduce your request rate."))
            model.delete_version(bucket, key, raw.get("versionId"))
            return self._send(204)
        if operation == "AbortMultipartUpload":
            with model._lock:
                if bucket.uploads.get(raw["uploadId"]) != key:
                    return self._send(404, _error("NoSuchUpload", "The specified upload does not exist."))
                del bucket.uploads[raw["uploadId"]]
            return self._send(204)
        if operation == "CreateMultipartUpload":
            upload_id = model.start_upload(bucket_name, key)
            return self._send(
                200,
                f'<InitiateMultipartUploadResult xmlns="{NAMESPACE}"><Bucket>{bucket_name}</Bucket>'
                f"<Key>{escape(key)}</Key><UploadId>{upload_id}</UploadId></InitiateMultipartUploadResult>",
            )
        if operation == "PutObject":
            model.put(bucket_name, key)
            return self._send(200, headers={"ETag": '"d41d8cd98f00b204e9800998ecf8427e"'})
        return self._send(501, _error("NotImplemented", f"{method} {self.path} is not modelled"))

    def _delete_objects(self, model: S3Model, bucket: _Bucket, body: bytes) -> None:
        try:
            root = ElementTree.fromstring(body)  # noqa: S314 - a loopback stand-in, parsing its tests' requests
        except ElementTree.ParseError:
            return self._send(400, _error("MalformedXML", "The XML you provided was not well-formed"))
        ns = {"s3": NAMESPACE}
        quiet = (root.findtext("s3:Quiet", "false", ns) or "false").lower() == "true"
        objects = [
            (item.findtext("s3:Key", "", ns), item.findtext("s3:VersionId", None, ns))
            for item in root.findall("s3:Object", ns)
        ]
        if not model._admit_deletes([key for key, _ in objects]):
            return self._send(503, _error("SlowDown", "Please reduce your request rate."))
        results = []
        for key, version_id in objects:
            code = model.key_errors("DeleteObjects", key)
            version = f"<VersionId>{version_id}</VersionId>" if version_id else ""
            if code:
                results.append(
                    f"<Error><Key>{escape(key)}</Key>{version}<Code>{code}</Code><Message>injected</Message></Error>"
                )
                continue
            model.delete_version(bucket, key, version_id)
            if not quiet:
                results.append(f"<Deleted><Key>{escape(key)}</Key>{version}</Deleted>")
        return self._send(200, f'<DeleteResult xmlns="{NAMESPACE}">{"".join(results)}</DeleteResult>')


def _operation(method: str, has_key: bool, query: dict[str, str]) -> str:
    if not has_key:
        if method == "HEAD":
            return "HeadBucket"
        if method == "PUT":
            return "CreateBucket"
        if method == "POST" and "delete" in query:
            return "DeleteObjects"
        if "versions" in query:
            return "ListObjectVersions"
        if "uploads" in query:
            return "ListMultipartUploads"
        return f"{method}Bucket"
    if method == "DELETE":
        return "AbortMultipartUpload" if "uploadId" in query else "DeleteObject"
    if method == "POST" and "uploads" in query:
        return "CreateMultipartUpload"
    if method == "PUT":
        return "PutObject"
    return f"{method}Object"
