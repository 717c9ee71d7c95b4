"""The local AWS endpoint (moto's server, stand_ins/aws_endpoint.py) answers as AWS does where the
functions depend on it."""

from __future__ import annotations

KEYS = ["plain.csv", "escape\x1b/a b+c.csv", "tab\there.csv"]


def test_a_version_listing_url_encodes_what_xml_cannot_hold(local_aws):
    """botocore asks for ``encoding-type=url`` and decodes the answer; S3 encodes keys, prefixes and
    markers, and so must the stand-in, or U+001B makes an answer no XML parser reads."""
    s3 = local_aws.client("s3")
    bucket = "url-encoded-listing"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for key in KEYS:
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    s3.delete_object(Bucket=bucket, Key=KEYS[1])

    page = s3.list_object_versions(Bucket=bucket, MaxKeys=1)
    assert page["IsTruncated"]
    listed = s3.list_object_versions(Bucket=bucket)
    assert sorted(v["Key"] for v in listed["Versions"]) == sorted(KEYS)
    assert [m["Key"] for m in listed["DeleteMarkers"]] == [KEYS[1]]
    under = s3.list_object_versions(Bucket=bucket, Prefix="escape\x1b/", Delimiter="+")
    assert under["Prefix"] == "escape\x1b/"
    assert [p["Prefix"] for p in under["CommonPrefixes"]] == ["escape\x1b/a b+"]
    marked = s3.list_object_versions(Bucket=bucket, KeyMarker=KEYS[1])
    assert marked["KeyMarker"] == KEYS[1]
