import time

import pytest

from aws_faults import fail_requests, s3_error_xml
from purge_bucket.engine import deletion
from purge_bucket.engine.deletion import BucketPurger, PurgeCounts
from stand_ins.s3_inventory import bucket_contents
from support import add_delete_markers, put_versions

BUCKET = "purge-target"
FAR_FUTURE = time.monotonic() + 3600


def make_bucket(s3, versioning: str | None = "Enabled", **kwargs) -> None:
    s3.create_bucket(Bucket=BUCKET, **kwargs)
    if versioning:
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": versioning})


def keys(count: int, prefix: str = "data/") -> list[str]:
    return [f"{prefix}{i:05d}.csv" for i in range(count)]


def test_versioned_bucket_with_thousands_of_keys_is_emptied(s3):
    make_bucket(s3)
    all_keys = keys(2500)
    put_versions(BUCKET, all_keys, versions=2)
    add_delete_markers(BUCKET, all_keys[:250])
    for key in ("upload/a", "upload/b", "upload/c"):
        s3.create_multipart_upload(Bucket=BUCKET, Key=key)

    result = BucketPurger(s3, BUCKET).run(FAR_FUTURE)

    assert result.complete
    assert result.deleted == PurgeCounts(versions=5000, delete_markers=250, multipart_uploads=3)
    assert bucket_contents(s3, BUCKET) == {"versions": 0, "delete_markers": 0, "multipart_uploads": 0}


def test_deleting_while_listing_does_not_lose_moto_its_place(s3):
    """moto ends a listing early when the entry it resumes after is deleted (a page is deleted
    only after the next one is listed, so that never happens): one pass empties the bucket."""
    make_bucket(s3)
    put_versions(BUCKET, keys(1500), versions=2)
    client = CountingLists(s3)
    result = BucketPurger(client, BUCKET, workers=2).run(FAR_FUTURE)
    assert result.deleted.versions == 3000
    assert bucket_contents(s3, BUCKET)["versions"] == 0
    assert client.version_lists == 1 + 3 + 1, (
        "the listing by delimiter that finds the prefix, its three pages, then the pass that finds nothing"
    )


class CountingLists:
    """A real client that counts version listings and can end the first pass after one page,
    the way moto and some S3 implementations lose their place."""

    def __init__(self, s3, *, cut_first_pass: bool = False):
        self._s3 = s3
        self.version_lists = 0
        self._cut = cut_first_pass

    def __getattr__(self, name):
        return getattr(self._s3, name)

    def list_object_versions(self, **params):
        self.version_lists += 1
        page = self._s3.list_object_versions(**params)
        if self._cut and self.version_lists == 1:
            page["IsTruncated"] = False
        return page


def test_a_listing_that_stops_early_is_made_up_by_another_pass(s3):
    make_bucket(s3)
    put_versions(BUCKET, keys(2500))
    client = CountingLists(s3, cut_first_pass=True)
    result = BucketPurger(client, BUCKET).run(FAR_FUTURE)
    assert result.complete
    assert result.deleted.versions == 2500
    assert bucket_contents(s3, BUCKET)["versions"] == 0
    assert client.version_lists >= 4


def test_unversioned_bucket_is_emptied(s3):
    make_bucket(s3, versioning=None)
    put_versions(BUCKET, keys(1200))
    result = BucketPurger(s3, BUCKET).run(FAR_FUTURE)
    assert result.complete
    assert result.deleted.versions == 1200
    assert s3.list_objects_v2(Bucket=BUCKET)["KeyCount"] == 0


def test_suspended_bucket_with_null_and_real_versions_is_emptied(s3):
    make_bucket(s3)
    put_versions(BUCKET, keys(300), versions=2)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Suspended"})
    # moto replaces every version of a key written while suspended (S3 replaces only the "null"
    # one), so the "null" versions go to new keys: the bucket still holds both kinds.
    put_versions(BUCKET, keys(300, "new/"))
    listed = s3.list_object_versions(Bucket=BUCKET, Prefix="new/", MaxKeys=5)["Versions"]
    assert {v["VersionId"] for v in listed} == {"null"}
    assert bucket_contents(s3, BUCKET)["versions"] == 900

    result = BucketPurger(s3, BUCKET).run(FAR_FUTURE)

    assert result.complete
    assert result.deleted.versions == 900
    assert bucket_contents(s3, BUCKET) == {"versions": 0, "delete_markers": 0, "multipart_uploads": 0}


def test_prefix_limits_the_purge(s3):
    make_bucket(s3)
    put_versions(BUCKET, keys(40, "sale/"), versions=2)
    put_versions(BUCKET, keys(30, "category/"))
    s3.create_multipart_upload(Bucket=BUCKET, Key="sale/partial.csv")
    s3.create_multipart_upload(Bucket=BUCKET, Key="category/partial.csv")

    result = BucketPurger(s3, BUCKET, "sale/").run(FAR_FUTURE)

    assert result.deleted == PurgeCounts(versions=80, delete_markers=0, multipart_uploads=1)
    assert bucket_contents(s3, BUCKET, "sale/") == {
        "versions": 0,
        "delete_markers": 0,
        "multipart_uploads": 0,
    }
    assert bucket_contents(s3, BUCKET, "category/") == {
        "versions": 30,
        "delete_markers": 0,
        "multipart_uploads": 1,
    }


def test_many_multipart_uploads_are_paged_and_aborted(s3, monkeypatch):
    monkeypatch.setattr(deletion, "MAX_UPLOADS_PER_PAGE", 5)
    make_bucket(s3)
    for i in range(12):
        s3.create_multipart_upload(Bucket=BUCKET, Key=f"upload/{i}")
    purger = BucketPurger(s3, BUCKET)
    result = purger.run(FAR_FUTURE)
    assert result.deleted.multipart_uploads == 12
    assert bucket_contents(s3, BUCKET)["multipart_uploads"] == 0


def test_object_lock_refusals_are_reported_and_the_rest_deleted(s3):
    make_bucket(s3, versioning=None, ObjectLockEnabledForBucket=True)
    for i in range(5):
        s3.put_object(Bucket=BUCKET, Key=f"locked/{i}", Body=b"x", ObjectLockLegalHoldStatus="ON")
    put_versions(BUCKET, keys(20))
    sleeps = []

    result = BucketPurger(s3, BUCKET, sleep=sleeps.append).run(FAR_FUTURE)

    assert not result.complete
    assert result.deleted.versions == 20
    summary = result.failure_summary()
    assert summary["count"] == 5
    assert summary["by_error_code"] == {"AccessDenied": 5}
    assert summary["sample_keys"] == [f"locked/{i}" for i in range(5)]
    assert sleeps == [], "a refusal is final: it is reported, not retried"
    assert bucket_contents(s3, BUCKET)["versions"] == 5


class FlakyDeletes:
    """A real client whose first DeleteObjects answer reports one key as an InternalError, the
    way S3 reports per-key failures inside a 200 response."""

    def __init__(self, s3):
        self._s3 = s3
        self.calls = 0

    def __getattr__(self, name):
        return getattr(self._s3, name)

    def delete_objects(self, Bucket, Delete):
        self.calls += 1
        if self.calls > 1:
            return self._s3.delete_objects(Bucket=Bucket, Delete=Delete)
        first, *rest = Delete["Objects"]
        response = self._s3.delete_objects(Bucket=Bucket, Delete={**Delete, "Objects": rest})
        response["Errors"] = [{**first, "Code": "InternalError", "Message": "try again"}]
        return response


def test_per_key_errors_are_retried(s3):
    make_bucket(s3)
    put_versions(BUCKET, keys(10))
    client = FlakyDeletes(s3)
    sleeps = []

    result = BucketPurger(client, BUCKET, sleep=sleeps.append).run(FAR_FUTURE)

    assert result.complete
    assert result.deleted.versions == 10
    assert client.calls == 2
    assert len(sleeps) == 1
    assert 0 <= sleeps[0] <= deletion.BACKOFF_BASE_SECONDS * 2


def test_throttling_is_retried_by_the_purge_itself(s3):
    from purge_bucket import clients

    make_bucket(s3)
    put_versions(BUCKET, keys(30))
    client = clients.purge_s3_client()
    slowed = fail_requests(client, "s3.DeleteObjects", status=503, body=s3_error_xml("SlowDown"), times=3)
    sleeps = []

    result = BucketPurger(client, BUCKET, sleep=sleeps.append).run(FAR_FUTURE)

    assert slowed() == 3
    assert len(sleeps) == 3, "botocore does not retry: every wait is the purge's, on its clock"
    assert result.complete
    assert result.deleted.versions == 30


def test_a_whole_delete_request_refused_counts_its_keys_as_failures(s3):
    make_bucket(s3)
    put_versions(BUCKET, keys(7))
    fail_requests(s3, "s3.DeleteObjects", status=403, body=s3_error_xml("AccessDenied"))

    result = BucketPurger(s3, BUCKET).run(FAR_FUTURE)

    assert result.failure_summary()["by_error_code"] == {"AccessDenied": 7}
    assert result.deleted.versions == 0


def test_a_refused_listing_stops_the_purge(s3):
    make_bucket(s3)
    put_versions(BUCKET, keys(3))
    fail_requests(s3, "s3.ListObjectVersions", status=403, body=s3_error_xml("AccessDenied"))
    result = BucketPurger(s3, BUCKET).run(FAR_FUTURE)
    assert result.refused == "AccessDenied"
    assert not result.complete


def test_refused_multipart_abort_is_reported(s3):
    make_bucket(s3)
    s3.create_multipart_upload(Bucket=BUCKET, Key="upload/x")
    fail_requests(s3, "s3.AbortMultipartUpload", status=403, body=s3_error_xml("AccessDenied"))
    result = BucketPurger(s3, BUCKET).run(FAR_FUTURE)
    assert result.failure_summary() == {
        "count": 1,
        "by_error_code": {"AccessDenied": 1},
        "sample_keys": ["upload/x"],
    }


def test_an_upload_already_gone_is_not_an_error(s3):
    make_bucket(s3)
    s3.create_multipart_upload(Bucket=BUCKET, Key="upload/x")
    fail_requests(s3, "s3.AbortMultipartUpload", status=404, body=s3_error_xml("NoSuchUpload"))
    result = BucketPurger(s3, BUCKET).run(FAR_FUTURE)
    assert result.failures == []


class SteppingClock:
    """A clock that moves forward by ``step`` seconds each time it is read."""

    def __init__(self, step: float) -> None:
        self.now = 0.0
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def test_deadline_stops_the_purge_part_way(s3):
    make_bucket(s3)
    put_versions(BUCKET, keys(3000))
    # Each read of the clock is 1 s later: a handful of requests start before the deadline.
    result = BucketPurger(s3, BUCKET, clock=SteppingClock(1.0)).run(deadline=deletion.REQUEST_SECONDS + 15)
    assert result.out_of_time
    assert not result.complete
    assert 0 < result.deleted.versions < 3000
    assert bucket_contents(s3, BUCKET)["versions"] == 3000 - result.deleted.versions


def test_deadline_already_passed_deletes_nothing(s3):
    make_bucket(s3)
    put_versions(BUCKET, keys(3))
    result = BucketPurger(s3, BUCKET).run(deadline=time.monotonic() - 1)
    assert result.out_of_time
    assert result.deleted == PurgeCounts()


@pytest.mark.parametrize(
    "data", [{"versions": -1, "delete_markers": 0, "multipart_uploads": 0}, {"versions": 1}]
)
def test_counts_from_untrusted_data_are_checked(data):
    with pytest.raises(ValueError, match="non-negative"):
        PurgeCounts.from_dict(data)
