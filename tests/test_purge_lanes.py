"""The purge lists each prefix on its own and paces each prefix on its own (the model of S3)."""

import threading
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from purge_bucket import clients
from purge_bucket.engine.deletion import BucketPurger, PurgeCounts
from purge_bucket.engine.pacing import MIN_RATE
from stand_ins.s3_model import RateLimit
from support import EMPTY, MODEL_BUCKET

BUCKET = MODEL_BUCKET


def listed_prefixes(s3) -> list[tuple[str, str]]:
    """(prefix, delimiter) of every ListObjectVersions the client sends."""
    seen: list[tuple[str, str]] = []

    def record(request, **_):
        query = parse_qs(urlsplit(request.url).query, keep_blank_values=True)
        seen.append((query.get("prefix", [""])[0], query.get("delimiter", [""])[0]))

    s3.meta.events.register("before-send.s3.ListObjectVersions", record)
    return seen


class WritesDuringThePurge:
    """The production client, with new objects written while the first deletes are in flight."""

    def __init__(self, s3, model, keys):
        self._s3, self._model, self._keys = s3, model, keys

    def __getattr__(self, name):
        return getattr(self._s3, name)

    def delete_objects(self, **params):
        while self._keys:
            self._model.put(BUCKET, self._keys.pop(), versions=2)
        return self._s3.delete_objects(**params)


def test_each_prefix_is_listed_by_its_own_lane_and_the_top_level_too(model):
    for dataset in ("category", "establishment", "sale"):
        for i in range(1500):
            model.put(BUCKET, f"{dataset}/2026-11-{i % 28 + 1:02d}-{i}.csv")
    model.put(BUCKET, "README.txt", versions=3)
    model.start_upload(BUCKET, "sale/upload.csv")
    s3 = clients.purge_s3_client()
    lists = listed_prefixes(s3)
    purger = BucketPurger(s3, BUCKET, workers=clients.DELETE_WORKERS, listers=clients.LISTERS)

    result = purger.run(time.monotonic() + 60)

    assert result.complete
    assert result.deleted == PurgeCounts(versions=4503, multipart_uploads=1)
    assert model.inventory(BUCKET) == EMPTY
    assert lists.count(("", "/")) == 2, "each pass starts by delimiter"
    for prefix in ("category/", "establishment/", "sale/"):
        assert lists.count((prefix, "")) == 2, f"{prefix}: two pages, each listed once"
    assert len(lists) == 2 + 3 * 2, "the second pass finds nothing at its first listing"
    assert set(purger._pacers) == {"", "category/", "establishment/", "sale/"}


def test_objects_written_during_the_purge_are_purged_too(model):
    for i in range(300):
        model.put(BUCKET, f"sale/{i}.csv")
    late = ["sale/late.csv", "new-prefix/late.csv", "top-level-late.csv"]
    s3 = WritesDuringThePurge(clients.purge_s3_client(), model, list(late))

    result = BucketPurger(s3, BUCKET).run(time.monotonic() + 60)

    assert result.complete
    assert result.deleted == PurgeCounts(versions=300 + 2 * len(late))
    assert model.inventory(BUCKET) == EMPTY


def test_a_throttled_prefix_slows_down_alone(model):
    for dataset in ("establishment", "sale"):
        for i in range(400):
            model.put(BUCKET, f"{dataset}/{i}.csv")
    throttles = {"n": 3}

    def sale_throttled(_operation, key):
        if key.startswith("sale/") and throttles["n"] > 0:
            throttles["n"] -= 1
            return "SlowDown"
        return None

    model.key_errors = sale_throttled
    purger = BucketPurger(clients.purge_s3_client(), BUCKET, sleep=lambda _s: None)

    result = purger.run(time.monotonic() + 60)

    assert result.complete
    assert model.inventory(BUCKET) == EMPTY
    assert purger._pacers["sale/"].throttled
    assert purger._pacers["sale/"].rate < purger._pacers["establishment/"].rate
    assert not purger._pacers["establishment/"].throttled


class FastPrefixListedLate:
    """The production client, listing b-fast/ 0.2 s late: the other lane's chunks are queued first."""

    def __init__(self, s3):
        self._s3 = s3

    def __getattr__(self, name):
        return getattr(self._s3, name)

    def list_object_versions(self, **params):
        if params.get("Prefix") == "b-fast/":
            time.sleep(0.2)
        return self._s3.list_object_versions(**params)


def test_a_lane_waiting_for_its_slots_does_not_hold_back_the_others(model):
    """Each lane deletes with workers of its own: a prefix paced at the floor, whose chunks wait in
    their workers for slots booked far ahead, leaves another prefix its own pace."""
    for i in range(200):
        model.put(BUCKET, f"a-slow/{i:04d}.csv")
    for i in range(1000):
        model.put(BUCKET, f"b-fast/{i:04d}.csv")
    purger = BucketPurger(
        FastPrefixListedLate(clients.purge_s3_client()),
        BUCKET,
        workers=clients.DELETE_WORKERS,
        listers=clients.LISTERS,
    )
    purger.pacer("a-slow/").rate = MIN_RATE  # 200 keys: 2 s of slots
    fast_gone_after: list[float] = []

    def watch_fast_prefix(started: float) -> None:
        while time.monotonic() - started < 10:
            with model._lock:
                if not any(key.startswith("b-fast/") for key in model.buckets[BUCKET].keys):
                    fast_gone_after.append(time.monotonic() - started)
                    return
            time.sleep(0.01)

    watcher = threading.Thread(target=watch_fast_prefix, args=(time.monotonic(),))
    watcher.start()
    result = purger.run(time.monotonic() + 60)
    watcher.join()

    assert result.complete
    assert model.inventory(BUCKET) == EMPTY
    # 0.2 s late, then 1,000 keys at 3,500 a second. Sharing the workers, it took 1.4 s or more.
    assert fast_gone_after, "b-fast/ was not emptied"
    assert fast_gone_after[0] < 1.0, f"b-fast/ emptied after {fast_gone_after[0]:.2f} s"


@pytest.mark.slow(seconds=8)
def test_the_pace_settles_near_the_rate_the_server_accepts(model):
    """A server accepting 1,000 deletes a second on a prefix (the model's sliding window), 3.5
    times less than where a prefix starts: the purge settles near that rate within about a second
    and a half, and is then seldom refused."""
    model.delete_rate = RateLimit(1000.0)
    for i in range(2500):
        model.put(BUCKET, f"sale/{i:05d}.csv", versions=2)
    settled = {}
    snapshot = threading.Timer(
        2.0, lambda: settled.update(refused=model.slowed_down, requests=model.requests["DeleteObjects"])
    )
    started = time.monotonic()
    snapshot.start()

    result = BucketPurger(clients.purge_s3_client(), BUCKET, workers=clients.DELETE_WORKERS).run(
        time.monotonic() + 60
    )

    elapsed = time.monotonic() - started
    assert result.complete
    assert model.inventory(BUCKET) == EMPTY
    assert 5000 / elapsed >= 0.7 * 1000, f"{5000 / elapsed:.0f} deletes/s against a limit of 1,000"
    late_refused = model.slowed_down - settled["refused"]
    late_requests = model.requests["DeleteObjects"] - settled["requests"]
    assert late_refused <= 0.15 * late_requests, f"{late_refused} of {late_requests} refused once settled"


def test_more_prefixes_than_lanes_are_listed_as_one(model):
    from purge_bucket.engine.deletion import MAX_LANES

    for day in range(MAX_LANES + 1):
        for i in range(3):
            model.put(BUCKET, f"2026-11-{day + 1:02d}/{i}.csv")
    s3 = clients.purge_s3_client()
    lists = listed_prefixes(s3)
    purger = BucketPurger(s3, BUCKET)

    result = purger.run(time.monotonic() + 60)

    assert result.complete
    assert result.deleted.versions == 3 * (MAX_LANES + 1)
    assert lists == [("", "/"), ("", ""), ("", "/")], "by delimiter, then all in one listing; then empty"
    assert set(purger._pacers) == {""}


def test_a_flat_bucket_is_purged_from_the_listing_by_delimiter(model):
    for i in range(40):
        model.put(BUCKET, f"{i}.csv", versions=2)
    s3 = clients.purge_s3_client()
    lists = listed_prefixes(s3)

    result = BucketPurger(s3, BUCKET).run(time.monotonic() + 60)

    assert result.complete
    assert result.deleted.versions == 80
    assert model.inventory(BUCKET) == EMPTY
    assert lists == [("", "/"), ("", "/")], "one page held it all; the second pass finds nothing"
