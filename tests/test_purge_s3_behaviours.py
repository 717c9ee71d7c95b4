"""The purge against what S3 sends back, where moto cannot show it (scripts/s3_model.py).

Each test drives the purge over real HTTP with the client the function uses in production (one
attempt per request, its timeouts), against the model of S3.
"""

import socket
import threading
import time

import pytest
from botocore.exceptions import ParamValidationError

from lambda_shared import aws
from purge_bucket import clients
from purge_bucket.engine import deletion
from purge_bucket.engine.deletion import REQUEST_SECONDS, BucketPurger, PurgeCounts
from support import EMPTY, MODEL_BUCKET

BUCKET = MODEL_BUCKET


def production_s3():
    """The purge's S3 client, as the handler makes it."""
    return clients.purge_s3_client()


def purge(model, deadline_seconds=60.0, **kwargs):
    return BucketPurger(production_s3(), BUCKET, **kwargs).run(time.monotonic() + deadline_seconds)


def test_the_production_client_leaves_retries_and_waits_to_the_purge():
    config = production_s3().meta.config
    assert config.retries == {"mode": "standard", "total_max_attempts": 1}
    assert (config.connect_timeout, config.read_timeout) == (deletion.CONNECT_TIMEOUT, deletion.READ_TIMEOUT)
    assert config.connect_timeout + config.read_timeout <= REQUEST_SECONDS
    # A connection for each thread that may send at once: every lane's listing and its workers.
    lanes = clients.LISTERS + 1  # the listers' lanes, and the entries beside the prefixes
    assert config.max_pool_connections >= lanes * (clients.DELETE_WORKERS + 1), "a connection per thread"


def test_the_production_client_sends_what_deletion_builds_unchecked_and_the_others_check(model):
    # Its requests are built from S3's listings: botocore's check of each is skipped, and a
    # request missing a member is sent (S3 would refuse it as MalformedXML; the model accepts it).
    production_s3().delete_objects(Bucket=BUCKET, Delete={})
    assert model.requests["DeleteObjects"] == 1
    with pytest.raises(ParamValidationError):
        aws.client("s3", **clients.BOUNDED).delete_objects(Bucket=BUCKET, Delete={})
    with pytest.raises(ParamValidationError):
        aws.client("ssm", **clients.BOUNDED).get_parameter()


def test_an_upload_whose_key_holds_a_control_character_is_listed_and_aborted(model):
    # Without EncodingType=url S3 writes the key as "&#x1b;", which no XML parser accepts: every
    # purge of the bucket failed on its first listing.
    for i in range(50):
        model.put(BUCKET, f"sale/{i}.csv")
    model.start_upload(BUCKET, "sale/big\x1b.csv")
    model.start_upload(BUCKET, "sale/a key+with spaces.csv")

    result = purge(model)

    assert result.complete
    assert result.deleted == PurgeCounts(versions=50, multipart_uploads=2)
    assert model.inventory(BUCKET) == EMPTY


def test_many_uploads_are_paged_through_their_encoded_markers(model, monkeypatch):
    monkeypatch.setattr(deletion, "MAX_UPLOADS_PER_PAGE", 3)
    for i in range(8):
        model.start_upload(BUCKET, f"upload/{i}\x1b+ {i}")
    result = purge(model)
    assert result.deleted.multipart_uploads == 8
    assert model.inventory(BUCKET) == EMPTY


def test_a_key_with_a_control_character_does_not_hold_back_its_page(model):
    # botocore sends such a key raw; S3 refuses the whole DeleteObjects as MalformedXML.
    for i in range(998):
        model.put(BUCKET, f"sale/{i:04d}.csv")
    model.put(BUCKET, "sale/bad\x1bkey.csv")
    model.put(BUCKET, "sale/carriage\rreturn.csv")

    result = purge(model)

    assert result.complete
    assert result.deleted.versions == 1000
    assert model.inventory(BUCKET) == EMPTY
    assert model.requests["DeleteObject"] == 2, "only the two unsafe keys go one by one"


def test_a_batch_refused_as_malformed_is_deleted_key_by_key(model):
    for i in range(20):
        model.put(BUCKET, f"sale/{i}.csv")
    refusals = iter([(400, "MalformedXML")])
    model.request_error = lambda operation, _query: (
        next(refusals, None) if operation == "DeleteObjects" else None
    )

    result = purge(model)

    assert result.complete
    assert model.inventory(BUCKET) == EMPTY
    assert model.requests["DeleteObject"] == 20


def test_per_key_slowdown_inside_a_200_answer_is_retried_until_it_passes(model):
    for i in range(30):
        model.put(BUCKET, f"sale/{i}.csv")
    answers = {"sale/7.csv": ["SlowDown"] * 5 + ["InternalError"]}
    model.key_errors = lambda _op, key: (answers.get(key) or [None]).pop(0) if answers.get(key) else None
    waits = []

    result = purge(model, sleep=waits.append)

    assert result.complete
    assert result.deleted.versions == 30
    assert model.inventory(BUCKET) == EMPTY
    assert len(waits) == 6, "six per-key errors, six waits: none was taken as final"
    bounds = [min(deletion.BACKOFF_CAP_SECONDS, deletion.BACKOFF_BASE_SECONDS * 2**n) for n in range(1, 7)]
    assert all(0 <= wait <= bound for wait, bound in zip(waits, bounds, strict=True))
    assert len(set(waits)) == 6, "the waits are jittered"


def test_a_key_that_stays_throttled_ends_in_time_and_is_left_for_the_next_hop(model):
    for i in range(10):
        model.put(BUCKET, f"sale/{i}.csv")
    model.key_errors = lambda _op, key: "SlowDown" if key == "sale/3.csv" else None
    started = time.monotonic()

    result = purge(model, deadline_seconds=REQUEST_SECONDS + 1.5)

    assert time.monotonic() - started <= REQUEST_SECONDS + 1.5
    assert result.out_of_time
    assert result.failures == [], "throttling is not a refusal"
    assert result.deleted.versions == 9
    assert model.inventory(BUCKET)["versions"] == 1


def test_a_run_of_slowdowns_never_carries_the_purge_past_its_deadline(model):
    for i in range(50):
        model.put(BUCKET, f"sale/{i}.csv")
    model.request_error = lambda operation, _query: (
        (503, "SlowDown") if operation == "DeleteObjects" else None
    )
    deadline_seconds = REQUEST_SECONDS + 2.0
    started = time.monotonic()

    result = purge(model, deadline_seconds=deadline_seconds)

    assert time.monotonic() - started <= deadline_seconds
    assert result.out_of_time
    assert model.requests["DeleteObjects"] > 1, "retried meanwhile"
    assert result.deleted == PurgeCounts()


def test_aborting_many_uploads_one_by_one_stops_at_the_deadline(model):
    model.latency_seconds = 0.02
    for i in range(400):
        model.start_upload(BUCKET, f"upload/{i:03d}")
    deadline_seconds = REQUEST_SECONDS + 1.0
    started = time.monotonic()

    result = purge(model, deadline_seconds=deadline_seconds)

    assert time.monotonic() - started <= deadline_seconds
    assert result.out_of_time
    assert 0 < result.deleted.multipart_uploads < 400
    assert model.inventory(BUCKET)["multipart_uploads"] == 400 - result.deleted.multipart_uploads


@pytest.fixture
def silent_server():
    """Accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield "http://{}:{}".format(*listener.getsockname())
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    listener.close()


def test_a_server_that_never_answers_is_cut_off_by_the_timeouts(silent_server, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", silent_server)
    deadline = time.monotonic() + REQUEST_SECONDS + 1.0
    purger = BucketPurger(production_s3(), BUCKET)
    assert purger.bucket_problem(deadline) == ("refused", "Timeout")
    assert time.monotonic() <= deadline


def test_an_entry_s3_confirms_deleted_but_keeps_listing_ends_the_purge_with_exact_counts(model):
    for i in range(50):
        model.put(BUCKET, f"sale/{i}.csv")
    model.kept = lambda key: key == "sale/13.csv"
    started = time.monotonic()

    result = purge(model)

    assert time.monotonic() - started < 5, "no spinning until the deadline"
    assert result.still_listed == 1
    assert result.still_listed_sample == ["sale/13.csv"]
    assert result.deleted == PurgeCounts(versions=49), "only what is gone is counted"
    assert model.requests["ListObjectVersions"] <= 2 * 2, "two passes: by delimiter, then the prefix found"


def test_an_upload_reported_missing_but_still_listed_is_not_counted(model):
    model.put(BUCKET, "sale/1.csv")
    model.start_upload(BUCKET, "upload/ghost")
    model.request_error = lambda operation, _query: (
        (404, "NoSuchUpload") if operation == "AbortMultipartUpload" else None
    )

    result = purge(model)

    assert result.still_listed == 1
    assert result.deleted == PurgeCounts(versions=1, multipart_uploads=0)


def test_a_listing_refused_part_way_counts_the_deletes_already_done(model):
    for i in range(3500):
        model.put(BUCKET, f"sale/{i:05d}.csv")
    listings = iter(range(100))
    model.request_error = lambda op, _query: (
        (403, "AccessDenied") if op == "ListObjectVersions" and next(listings) >= 2 else None
    )

    result = purge(model)

    assert result.refused == "AccessDenied"
    gone = 3500 - model.inventory(BUCKET)["versions"]
    assert gone > 0
    assert result.deleted.versions == gone


def test_a_refused_key_is_reported_and_everything_else_deleted(model):
    for i in range(30):
        model.put(BUCKET, f"sale/{i}.csv")
    model.key_errors = lambda _op, key: "AccessDenied" if key == "sale/4.csv" else None
    waits = []

    result = purge(model, sleep=waits.append)

    assert waits == [], "a refusal is final: not retried"
    assert result.failure_summary() == {
        "count": 1,
        "by_error_code": {"AccessDenied": 1},
        "sample_keys": ["sale/4.csv"],
    }
    assert result.deleted.versions == 29
    assert model.inventory(BUCKET)["versions"] == 1
