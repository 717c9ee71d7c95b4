"""The lean DeleteObjects body is byte for byte botocore's, and the purge's S3 client sends it."""

import copy

import boto3
import pytest
from botocore.model import Shape, ShapeResolver
from botocore.serialize import ElementTree, create_serializer
from hypothesis import given, settings
from hypothesis import strategies as st

from lambda_shared import aws
from lambda_shared.delete_serializer import LeanRestXMLSerializer, delete_body
from purge_bucket import clients
from support import MODEL_BUCKET

SERVICE = boto3.session.Session().client("s3", region_name="us-east-1").meta.service_model
OPERATION = SERVICE.operation_model("DeleteObjects")
DELETE = OPERATION.input_shape.members["Delete"]
#: Any character, lone surrogates included (a key S3 lists may hold one).
ANY_TEXT = st.text(st.characters(exclude_categories=()), min_size=1, max_size=40)
#: As the purge writes them: the key, then the version id.
IDENTIFIERS = st.lists(
    st.builds(lambda key, version: {"Key": key, "VersionId": version}, ANY_TEXT, ANY_TEXT), max_size=30
)


def both(params: dict) -> tuple[object, object]:
    """The whole request as the lean serializer writes it, and as botocore's own does (or the error
    each raises)."""

    def written(serializer):
        try:
            return serializer.serialize_to_request(params, OPERATION)
        except Exception as error:  # Compared, not handled.
            return type(error)

    return written(LeanRestXMLSerializer()), written(create_serializer("rest-xml", include_validation=False))


@settings(max_examples=300, deadline=None)
@given(objects=IDENTIFIERS, quiet=st.sampled_from([True, False, None]))
def test_the_plain_body_is_written_here_and_is_botocores(objects, quiet):
    delete = {"Objects": objects} if quiet is None else {"Objects": objects, "Quiet": quiet}
    params = {"Bucket": "bucket", "Delete": delete}

    empty = not objects and quiet is None  # ElementTree writes <Delete />: left to botocore
    assert (delete_body(delete, DELETE) is None) == empty, "the plain parameters take the lean path"
    lean, botocores = both(params)
    assert isinstance(lean, dict)
    assert lean == botocores


def test_what_it_writes():
    delete = {"Objects": [{"Key": "a&b<c>\ud800", "VersionId": "v1"}], "Quiet": True}
    assert delete_body(delete, DELETE) == (
        b'<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>a&amp;b&lt;c&gt;&#55296;</Key>'
        b"<VersionId>v1</VersionId></Object><Quiet>true</Quiet></Delete>"
    )


@pytest.mark.parametrize(
    "delete",
    [
        {"Objects": [{"Key": "", "VersionId": "v"}], "Quiet": True},  # ElementTree writes <Key />
        {"Objects": [{"Key": "k", "VersionId": ""}], "Quiet": True},
        {"Objects": [{"Key": "k"}], "Quiet": True},
        {"Objects": [{"VersionId": "v", "Key": "k"}], "Quiet": True},
        {"Objects": [{"Key": "k", "VersionId": "v", "ETag": '"e"'}], "Quiet": True},
        {"Objects": [{"Key": "k", "VersionId": 7}], "Quiet": True},
        {"Objects": [("k", "v")], "Quiet": True},
        {"Objects": ({"Key": "k", "VersionId": "v"},), "Quiet": True},
        {"Objects": [{"Key": "k", "VersionId": "v"}], "Quiet": None},
        {"Objects": [{"Key": "k", "VersionId": "v"}], "Quiet": 1},
        {"Quiet": True, "Objects": [{"Key": "k", "VersionId": "v"}]},
        {"Quiet": True},
    ],
    ids=[
        "empty-key",
        "empty-version",
        "no-version",
        "members-reordered",
        "etag",
        "integer-version",
        "tuple-item",
        "tuple-list",
        "quiet-none",
        "quiet-integer",
        "quiet-first",
        "no-objects",
    ],
)
def test_other_parameters_are_left_to_botocore(delete):
    assert delete_body(delete, DELETE) is None
    lean, botocores = both({"Bucket": "bucket", "Delete": delete})
    assert lean == botocores


def test_other_shapes_are_left_to_botocore():
    plain = {"Objects": [{"Key": "k", "VersionId": "v"}], "Quiet": True}
    assert delete_body(plain, OPERATION.input_shape) is None
    upload = SERVICE.operation_model("CompleteMultipartUpload").input_shape
    assert delete_body(plain, upload.members["MultipartUpload"]) is None


def delete_shape_with(change) -> Shape:
    """The DeleteObjects request shape as botocore has it, changed by ``change`` (its shape dicts)."""
    shapes = copy.deepcopy(SERVICE._shape_resolver._shape_map)
    change(shapes)
    return ShapeResolver(shapes).get_shape_by_name("DeleteObjectsRequest")


@pytest.mark.parametrize(
    "change",
    [
        lambda s: s["Delete"]["members"]["Objects"].update(flattened=False),
        lambda s: s["Delete"]["members"]["Objects"].update(xmlNamespace={"uri": "urn:x"}),
        lambda s: s["Delete"]["members"].pop("Quiet"),
        lambda s: s["ObjectIdentifier"]["members"]["Key"].update(locationName="Name"),
        lambda s: s["ObjectIdentifier"]["members"].pop("VersionId"),
        lambda s: s["ObjectIdentifier"].update(xmlNamespace={"uri": "urn:x"}),
        lambda s: s["ObjectIdentifierList"].update(type="map"),
        lambda s: s["Quiet"].update(type="string"),
        lambda s: s["DeleteObjectsRequest"]["members"]["Delete"].update(
            xmlNamespace={"uri": "urn:x", "prefix": "s3"}
        ),
        lambda s: s["DeleteObjectsRequest"]["members"]["Delete"].update(xmlNamespace={"uri": 'a"b'}),
        lambda s: s["DeleteObjectsRequest"]["members"]["Delete"].update(xmlAttribute=True),
    ],
    ids=[
        "list-not-flattened",
        "list-namespaced",
        "no-quiet",
        "key-renamed",
        "no-version-member",
        "identifier-namespaced",
        "objects-a-map",
        "quiet-a-string",
        "prefixed-namespace",
        "namespace-to-escape",
        "root-an-attribute",
    ],
)
def test_a_delete_shape_unlike_s3s_is_left_to_botocore(change):
    shape = delete_shape_with(change).members["Delete"]
    assert delete_body({"Objects": [{"Key": "k", "VersionId": "v"}], "Quiet": True}, shape) is None


def test_a_delete_shape_without_a_namespace_is_written_here():
    shape = delete_shape_with(lambda s: s["DeleteObjectsRequest"]["members"]["Delete"].pop("xmlNamespace"))
    delete = {"Objects": [{"Key": "k", "VersionId": "v"}], "Quiet": False}
    assert delete_body(delete, shape.members["Delete"]) == (
        b"<Delete><Object><Key>k</Key><VersionId>v</VersionId></Object><Quiet>false</Quiet></Delete>"
    )


def test_the_purge_client_writes_its_deletes_without_elementtree(model, monkeypatch):
    model.put(MODEL_BUCKET, "sale/2026-11-20.csv", versions=2)
    listed = clients.purge_s3_client().list_object_versions(Bucket=MODEL_BUCKET)["Versions"]

    def refuse(*_args, **_kwargs):
        raise AssertionError("ElementTree wrote the body")

    monkeypatch.setattr(ElementTree, "tostring", refuse)
    delete = {"Objects": [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in listed], "Quiet": True}
    answer = clients.purge_s3_client().delete_objects(Bucket=MODEL_BUCKET, Delete=delete)

    assert answer.get("Errors", []) == []
    assert model.inventory(MODEL_BUCKET)["versions"] == 0
    with pytest.raises(AssertionError, match="ElementTree"):  # A client that validates is unchanged.
        aws.client("s3", **clients.BOUNDED).delete_objects(Bucket=MODEL_BUCKET, Delete=delete)
