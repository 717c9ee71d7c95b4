"""The lean parser of version listings gives exactly what botocore's own parser gives, and botocore's
check of S3's 200 answers for an error is skipped only for a whole listing."""

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.parsers import ResponseParserError, RestXMLParser

from lambda_shared import aws, listing_parser
from lambda_shared.listing_parser import LeanParserFactory, LeanRestXMLParser
from stand_ins.s3_model import S3Model
from support import MODEL_BUCKET, put_versions

OPERATION = (
    boto3.session.Session()
    .client("s3", region_name="us-east-1")
    .meta.service_model.operation_model("ListObjectVersions")
)
NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'

EVERY_FIELD = f"""<?xml version="1.0" encoding="UTF-8"?>
<ListVersionsResult {NS}>
  <Name>bucket</Name><Prefix>a%26b/</Prefix><KeyMarker></KeyMarker><VersionIdMarker/>
  <NextKeyMarker>a%26b/k%0A2</NextKeyMarker><NextVersionIdMarker>v2</NextVersionIdMarker>
  <MaxKeys>3</MaxKeys><Delimiter>/</Delimiter><EncodingType>url</EncodingType>
  <IsTruncated>true</IsTruncated>
  <Version>
    <Key>a%26b/k%0A1</Key><VersionId>v1</VersionId><IsLatest>true</IsLatest>
    <LastModified>2026-11-20T00:00:00.000Z</LastModified><ETag>&quot;abc&quot;</ETag>
    <Size>12345678901</Size><StorageClass>GLACIER</StorageClass>
    <Owner><ID>owner-id</ID><DisplayName>owner &amp; co</DisplayName></Owner>
    <ChecksumAlgorithm>CRC32</ChecksumAlgorithm><ChecksumAlgorithm>SHA256</ChecksumAlgorithm>
    <ChecksumType>FULL_OBJECT</ChecksumType>
    <RestoreStatus><IsRestoreInProgress>false</IsRestoreInProgress>
      <RestoreExpiryDate>2026-12-01T00:00:00.000Z</RestoreExpiryDate></RestoreStatus>
    <SomethingNew>ignored</SomethingNew>
  </Version>
  <DeleteMarker>
    <Key>a%26b/k%0A2</Key><VersionId>v2</VersionId><IsLatest>false</IsLatest>
    <LastModified>2026-11-21T00:00:00.000Z</LastModified><Owner><ID>o</ID></Owner>
  </DeleteMarker>
  <CommonPrefixes><Prefix>a%26b/deeper/</Prefix></CommonPrefixes>
  <CommonPrefixes><Prefix>a%26b/other/</Prefix></CommonPrefixes>
</ListVersionsResult>""".encode()

EMPTY_ELEMENTS = f"""<?xml version="1.0" encoding="UTF-8"?>
<ListVersionsResult {NS}><Name>bucket</Name><Prefix/><IsTruncated>false</IsTruncated>
<Version><Key></Key><VersionId>null</VersionId><IsLatest>true</IsLatest></Version>
</ListVersionsResult>""".encode()


def both(body: bytes, status: int = 200, headers: dict | None = None):
    response = {"status_code": status, "headers": headers or {}, "body": body}
    ours = LeanRestXMLParser(timestamp_parser=str).parse(dict(response), OPERATION.output_shape)
    botocores = RestXMLParser(timestamp_parser=str).parse(dict(response), OPERATION.output_shape)
    return ours, botocores


@pytest.mark.parametrize("body", [EVERY_FIELD, EMPTY_ELEMENTS], ids=["every-field", "empty-elements"])
def test_the_same_dict_as_botocore(body):
    ours, botocores = both(body, headers={"x-amz-request-charged": "requester", "x-amz-request-id": "R1"})
    assert ours == botocores
    assert ours["RequestCharged"] == "requester", "headers are still botocore's to read"


def test_every_field_is_read_and_typed():
    ours, _ = both(EVERY_FIELD)
    version = ours["Versions"][0]
    assert version["Size"] == 12345678901
    assert version["IsLatest"] is True
    assert version["ChecksumAlgorithm"] == ["CRC32", "SHA256"]
    assert version["Owner"] == {"ID": "owner-id", "DisplayName": "owner & co"}
    assert version["RestoreStatus"]["IsRestoreInProgress"] is False
    assert ours["IsTruncated"] is True
    assert ours["MaxKeys"] == 3
    assert [p["Prefix"] for p in ours["CommonPrefixes"]] == ["a%26b/deeper/", "a%26b/other/"]
    assert "SomethingNew" not in version


def test_an_error_answer_is_botocores_to_parse():
    body = b"<Error><Code>AccessDenied</Code><Message>no</Message></Error>"
    ours, botocores = both(body, status=403)
    assert ours == botocores
    assert ours["Error"]["Code"] == "AccessDenied"


def test_a_body_that_is_not_xml_raises_botocores_error():
    with pytest.raises(ResponseParserError, match="Unable to parse"):
        both(b"<ListVersionsResult><unclosed>")


def test_other_operations_are_left_to_botocore():
    parser = LeanRestXMLParser(timestamp_parser=str)
    uploads = OPERATION.service_model.operation_model("ListMultipartUploads").output_shape
    body = f"<ListMultipartUploadsResult {NS}><Bucket>b</Bucket></ListMultipartUploadsResult>".encode()
    assert parser.parse({"status_code": 200, "headers": {}, "body": body}, uploads)["Bucket"] == "b"
    assert uploads.name not in listing_parser.LEAN_SHAPES


def test_the_functions_clients_use_it():
    component = aws._session()._session.get_component("response_parser_factory")
    assert isinstance(component, LeanParserFactory)
    assert isinstance(component.create_parser("rest-xml"), LeanRestXMLParser)
    assert not isinstance(component.create_parser("json"), LeanRestXMLParser)


def captured_bodies(client) -> list[bytes]:
    bodies: list[bytes] = []
    client.meta.events.register(
        "before-parse.s3.ListObjectVersions", lambda response_dict, **_: bodies.append(response_dict["body"])
    )
    return bodies


def test_real_listings_from_moto_parse_the_same(s3):
    s3.create_bucket(Bucket="listing")
    s3.put_bucket_versioning(Bucket="listing", VersioningConfiguration={"Status": "Enabled"})
    put_versions("listing", [f"p{i % 3}/k {i}&<é>.csv" for i in range(40)], versions=2)
    s3.delete_object(Bucket="listing", Key="p0/k 0&<é>.csv")
    bodies = captured_bodies(s3)
    s3.list_object_versions(Bucket="listing", MaxKeys=25)
    s3.list_object_versions(Bucket="listing", Delimiter="/")
    for body in bodies:
        ours, botocores = both(body)
        assert ours == botocores
        assert ours.get("Versions") or ours.get("CommonPrefixes")


def test_real_listings_from_the_model_parse_the_same(monkeypatch):
    with S3Model() as model:
        model.create_bucket("listing")
        for i in range(30):
            model.put("listing", f"p{i % 3}/\x1bkey {i}.csv", versions=2, delete_marker=i % 4 == 0)
        client = boto3.session.Session().client("s3", endpoint_url=model.endpoint, region_name="us-east-1")
        bodies = captured_bodies(client)
        client.list_object_versions(Bucket="listing", MaxKeys=7)
        client.list_object_versions(Bucket="listing", Delimiter="/")
    assert len(bodies) == 2
    for body in bodies:
        ours, botocores = both(body)
        assert ours == botocores


# S3's 200 answers holding an error ---------------------------------------------------------------

DELETE_OBJECTS = OPERATION.service_model.operation_model("DeleteObjects")
S3_ERROR = b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code></Error>'


def status_after_check(operation, body: bytes) -> int:
    response = {"status_code": 200, "headers": {}, "body": body}
    listing_parser.handle_200_error(operation_model=operation, response_dict=response)
    return response["status_code"]


def test_a_whole_listing_is_not_parsed_again_for_an_error(monkeypatch):
    def refuse(*_args):
        raise AssertionError("parsed for an error")

    monkeypatch.setattr(listing_parser.handlers, "_looks_like_special_case_error", refuse)
    assert status_after_check(OPERATION, EVERY_FIELD + b"\n") == 200


@pytest.mark.parametrize(
    ("operation", "body"),
    [
        (OPERATION, EVERY_FIELD[:-40]),  # cut short: S3 sent part of it
        (OPERATION, S3_ERROR),
        (OPERATION, EVERY_FIELD.replace(b"</ListVersionsResult>", b"</ListVersionsResult><x>")),
        (DELETE_OBJECTS, S3_ERROR),
    ],
    ids=["listing-cut-short", "listing-error", "listing-then-more", "delete-error"],
)
def test_any_other_answer_is_checked_by_botocore_and_an_error_becomes_a_500(operation, body):
    assert listing_parser.BOTOCORE_200_CHECK is not None, "botocore still has its check"
    assert status_after_check(operation, body) == 500


def test_the_functions_clients_check_with_it_instead_of_botocore():
    emitter = aws.client("s3").meta.events
    handlers = list(emitter._emitter._handlers.prefix_search("before-parse.s3.ListObjectVersions"))
    assert listing_parser.handle_200_error in handlers
    assert listing_parser.BOTOCORE_200_CHECK not in handlers


def test_a_listing_cut_short_by_the_server_comes_back_as_a_500(model, monkeypatch):
    # End to end through the client: botocore turns the cut answer into a 500 (which the purge retries).
    real_list = S3Model.list_versions
    monkeypatch.setattr(S3Model, "list_versions", lambda self, *args: real_list(self, *args)[:-30])
    model.put(MODEL_BUCKET, "sale/1.csv")
    with pytest.raises(ClientError) as raised:
        aws.client("s3", attempts=1).list_object_versions(Bucket=MODEL_BUCKET)
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
