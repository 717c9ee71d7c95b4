"""The purge's security checks, unit by unit and fast: the password comparison, continuations and
their keys. `make mutation` runs these (with test_purge_request.py) against every mutant of
auth.py, continuation.py and request.py; the handler's tests show the same through the function."""

import base64
import dataclasses
import hashlib
import hmac
import json

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from purge_bucket import auth, continuation
from purge_bucket.continuation import (
    EVENT_KEY,
    Continuation,
    InvalidContinuation,
    SessionError,
    SessionKeys,
)
from purge_bucket.deletion import PurgeCounts
from purge_bucket.request import MAX_PREFIX_BYTES

STORED = "correct horse battery staple"
NOW = 1_800_000_000
KEY = bytes(range(32))


# The password ----------------------------------------------------------------------------------


def test_the_stored_password_matches_itself():
    assert auth.passwords_match(STORED, STORED)
    assert auth.passwords_match("é \U0001f511 \udfff", "é \U0001f511 \udfff")


@pytest.mark.parametrize(
    "guess",
    [
        "",
        "c",
        "corr",
        "corrXXXXXXXXXXXXXXXXXXXXXXXX",
        "correct horse",
        "horse battery",
        STORED + "x",
        "x" + STORED,
        STORED.upper(),
        f" {STORED}",
        f"{STORED} ",
        STORED.replace(" ", ""),
        STORED[:-1],
        "\udfff",
    ],
)
def test_anything_else_does_not(guess):
    assert not auth.passwords_match(guess, STORED)


@pytest.mark.parametrize("stored", ["", None])
def test_an_empty_or_missing_stored_password_matches_nothing(stored):
    assert not auth.passwords_match("", stored)
    assert not auth.passwords_match("anything", stored)


def test_the_comparison_is_of_utf8_sha256_digests():
    assert auth._digest("é\udfff") == hashlib.sha256("é\udfff".encode("utf-8", "surrogatepass")).digest()


# Continuations ---------------------------------------------------------------------------------


class InMemorySsm:
    """The three SSM calls SessionKeys makes, with SSM's answers, in memory."""

    def __init__(self, fail: str | None = None):
        self.parameters: dict[str, dict] = {}
        self.calls: list[tuple[str, dict]] = []
        self.fail = fail

    def _maybe_fail(self, operation):
        if self.fail == "unreachable":
            raise EndpointConnectionError(endpoint_url="https://ssm")
        if self.fail:
            raise self.error(self.fail, operation)

    @staticmethod
    def error(code, operation):
        # Parsed from an answer, as botocore does: no string shared with the code under test.
        return ClientError(json.loads(json.dumps({"Error": {"Code": code}})), operation)

    def put_parameter(self, **params):
        self.calls.append(("put_parameter", params))
        self._maybe_fail("PutParameter")
        self.parameters[params["Name"]] = params

    def get_parameter(self, Name, WithDecryption):
        self.calls.append(("get_parameter", {"Name": Name, "WithDecryption": WithDecryption}))
        self._maybe_fail("GetParameter")
        if Name not in self.parameters:
            raise self.error("ParameterNotFound", "GetParameter")
        return {"Parameter": {"Name": Name, "Value": self.parameters[Name]["Value"]}}

    def delete_parameter(self, Name):
        self.calls.append(("delete_parameter", {"Name": Name}))
        self._maybe_fail("DeleteParameter")
        if self.parameters.pop(Name, None) is None:
            raise self.error("ParameterNotFound", "DeleteParameter")


@pytest.fixture
def ssm():
    return InMemorySsm()


@pytest.fixture
def keys(ssm):
    return SessionKeys(ssm, "/partner-data/purge-continuations/")


def job(**changes) -> Continuation:
    fields = {
        "bucket": "partner-data-bucket",
        "prefix": "sale/",
        "request_id": "req-1",
        "hop": 1,
        "issued_at": NOW,
        "deleted_so_far": PurgeCounts(3, 2, 1),
    }
    return Continuation(**{**fields, **changes})


def delivered(event: dict) -> dict:
    """As the Lambda runtime hands it over: decoded from JSON."""
    return json.loads(json.dumps(event))


def event_for(keys, continuation_job=None, **claim_changes) -> dict:
    continuation_job = continuation_job or job()
    event = continuation_job.to_event(keys.new(continuation_job.request_id))
    event[EVENT_KEY].update(claim_changes)
    return delivered(event)


def resigned(keys, **claim_changes) -> dict:
    """An event whose claims were changed and signed again with the purge's real key."""
    event = event_for(keys, **claim_changes)
    claims = {k: v for k, v in event[EVENT_KEY].items() if k != "signature"}
    key = keys.current("req-1")
    event[EVENT_KEY]["signature"] = continuation.sign(continuation._canonical(claims), key)
    return delivered(event)


def test_a_continuation_round_trips(keys):
    assert Continuation.from_event(event_for(keys), keys, NOW) == job()


def test_the_signature_format_is_fixed():
    # Pinned: hops scheduled by one deployment are checked by the next.
    claims = job()._claims()
    assert continuation._canonical(claims) == (
        b'{"bucket_name":"partner-data-bucket","deleted_so_far":{"delete_markers":2,"multipart_uploads":1,'
        b'"versions":3},"hop":1,"issued_at":1800000000,"prefix":"sale/","request_id":"req-1"}'
    )
    assert continuation._canonical({"p": "é"}) == b'{"p":"\\u00e9"}'
    expected = hmac.new(KEY, continuation._canonical(claims), hashlib.sha256).hexdigest()
    assert job().to_event(KEY) == {EVENT_KEY: {**claims, "signature": expected}}
    assert continuation.sign(b"message", KEY) == hmac.new(KEY, b"message", hashlib.sha256).hexdigest()


@pytest.mark.parametrize(
    "changes",
    [
        {"bucket_name": "partner-data-other"},
        {"prefix": "sale"},
        {"prefix": ""},
        {"hop": 2},
        {"issued_at": NOW + 1},
        {"deleted_so_far": {"versions": 4, "delete_markers": 2, "multipart_uploads": 1}},
        {"extra_claim": 1},
        {"zeta": 1},  # A name after "signature" in sort order.
    ],
    ids=lambda changes: next(iter(changes)),
)
def test_any_changed_claim_breaks_the_signature(keys, changes):
    with pytest.raises(InvalidContinuation, match="signature does not match"):
        Continuation.from_event(event_for(keys, **changes), keys, NOW)


@pytest.mark.parametrize("signature", ["f" * 63, "f" * 65, "G" * 64, None, 5, ""], ids=repr)
def test_a_signature_of_the_wrong_shape_is_refused(keys, signature):
    with pytest.raises(InvalidContinuation, match="no valid signature"):
        Continuation.from_event(event_for(keys, signature=signature), keys, NOW)


def test_an_all_zero_signature_does_not_match(keys):
    with pytest.raises(InvalidContinuation, match="does not match"):
        Continuation.from_event(event_for(keys, signature="0" * 64), keys, NOW)


def test_an_upper_case_signature_is_refused(keys):
    event = event_for(keys)
    event[EVENT_KEY]["signature"] = event[EVENT_KEY]["signature"].upper()
    with pytest.raises(InvalidContinuation, match="no valid signature"):
        Continuation.from_event(event, keys, NOW)


def test_a_key_other_than_the_purges_own_is_refused(keys):
    keys.new("req-1")
    with pytest.raises(InvalidContinuation, match="does not match"):
        Continuation.from_event(job().to_event(b"another key of 32 bytes........."), keys, NOW)


def test_an_ended_purge_refuses_its_continuations(keys):
    event = event_for(keys)
    keys.end("req-1")
    with pytest.raises(InvalidContinuation, match="no purge is running"):
        Continuation.from_event(event, keys, NOW)


def test_a_new_key_makes_the_earlier_hops_event_stale(keys):
    earlier = event_for(keys)
    later = event_for(keys, job(hop=2))
    with pytest.raises(InvalidContinuation, match="does not match"):
        Continuation.from_event(earlier, keys, NOW)
    assert Continuation.from_event(later, keys, NOW).hop == 2


@pytest.mark.parametrize(
    "event",
    [
        {EVENT_KEY: "junk"},
        {EVENT_KEY: None},
        {EVENT_KEY: {}, "extra": 1},
        {"other": {}},
    ],
)
def test_malformed_events_are_refused(keys, event):
    with pytest.raises(InvalidContinuation, match="malformed continuation event"):
        Continuation.from_event(event, keys, NOW)


@pytest.mark.parametrize("request_id", [None, 5, ["req-1"]])
def test_a_continuation_without_a_request_id_is_refused(keys, request_id):
    with pytest.raises(InvalidContinuation, match="no request id"):
        Continuation.from_event(event_for(keys, request_id=request_id), keys, NOW)


@pytest.mark.parametrize(
    "changes",
    [
        {"hop": True},
        {"hop": 1.0},
        {"hop": "1"},
        {"issued_at": float(NOW)},
        {"bucket_name": 5},
        {"prefix": None},
        {"deleted_so_far": [1, 2, 3]},
        {"deleted_so_far": {"versions": -1, "delete_markers": 0, "multipart_uploads": 0}},
        {"deleted_so_far": {"versions": True, "delete_markers": 0, "multipart_uploads": 0}},
    ],
    ids=repr,
)
def test_claims_of_the_wrong_type_are_refused_even_when_signed(keys, changes):
    with pytest.raises(InvalidContinuation, match="malformed continuation"):
        Continuation.from_event(resigned(keys, **changes), keys, NOW)


@pytest.mark.parametrize("missing", ["bucket_name", "prefix", "hop", "issued_at", "deleted_so_far"])
def test_a_missing_claim_is_refused_even_when_signed(keys, missing):
    event = resigned(keys)
    del event[EVENT_KEY][missing]
    claims = {k: v for k, v in event[EVENT_KEY].items() if k != "signature"}
    event[EVENT_KEY]["signature"] = continuation.sign(continuation._canonical(claims), keys.current("req-1"))
    with pytest.raises(InvalidContinuation, match="malformed continuation"):
        Continuation.from_event(event, keys, NOW)


@pytest.mark.parametrize(
    "changes",
    [
        {"bucket_name": "Not_A_Bucket"},
        {"prefix": "p" * (MAX_PREFIX_BYTES + 1)},
        {"prefix": "é" * (MAX_PREFIX_BYTES // 2 + 1)},
    ],
    ids=["bucket", "prefix", "prefix-bytes"],
)
def test_a_bad_bucket_or_prefix_is_refused_even_when_signed(keys, changes):
    with pytest.raises(InvalidContinuation, match="bad bucket or prefix"):
        Continuation.from_event(resigned(keys, **changes), keys, NOW)


def test_the_longest_prefix_is_accepted(keys):
    assert Continuation.from_event(resigned(keys, prefix="é" * (MAX_PREFIX_BYTES // 2)), keys, NOW)


@pytest.mark.parametrize(
    ("issued_at", "accepted"),
    [(NOW, True), (NOW - 3600, True), (NOW - 3601, False), (NOW + 1, False), (1, False), (0, False)],
)
def test_a_continuation_expires_after_an_hour(keys, issued_at, accepted):
    event = resigned(keys, issued_at=issued_at)
    if accepted:
        assert Continuation.from_event(event, keys, NOW).issued_at == issued_at
    else:
        with pytest.raises(InvalidContinuation, match="expired"):
            Continuation.from_event(event, keys, NOW)


@pytest.mark.parametrize(("hop", "accepted"), [(0, False), (1, True), (50, True), (51, False)])
def test_hops_are_counted(keys, hop, accepted):
    event = resigned(keys, hop=hop)
    if accepted:
        assert Continuation.from_event(event, keys, NOW).hop == hop
    else:
        with pytest.raises(InvalidContinuation, match="past 50 hops"):
            Continuation.from_event(event, keys, NOW)


def test_the_next_hop_counts_on():
    following = job(hop=3).next(PurgeCounts(10, 20, 30), NOW + 12.9)
    assert following == job(hop=4, issued_at=NOW + 12, deleted_so_far=PurgeCounts(13, 22, 31))


def test_a_continuation_cannot_be_changed_once_made():
    with pytest.raises(dataclasses.FrozenInstanceError):
        job().bucket = "another-bucket"


# The keys ----------------------------------------------------------------------------------------


def test_each_new_key_is_random_stored_as_a_secure_string_and_replaces_the_last(keys, ssm):
    first, second = keys.new("req-1"), keys.new("req-1")
    assert len(first) == len(second) == 32
    assert first != second
    (name,) = ssm.parameters
    assert name == "/partner-data/purge-continuations/req-1"
    stored = ssm.parameters[name]
    assert (stored["Type"], stored["Overwrite"]) == ("SecureString", True)
    assert "KeyId" not in stored
    assert base64.b64decode(stored["Value"]) == second == keys.current("req-1")


def test_keys_are_encrypted_with_the_given_kms_key(ssm):
    SessionKeys(ssm, "/p", kms_key_id="arn:aws:kms:us-east-1:123456789012:key/k").new("req-1")
    assert ssm.parameters["/p/req-1"]["KeyId"] == "arn:aws:kms:us-east-1:123456789012:key/k"


def test_a_key_is_read_decrypted_and_gone_once_ended(keys, ssm):
    keys.new("req-1")
    keys.current("req-1")
    assert ssm.calls[-1] == (
        "get_parameter",
        {"Name": "/partner-data/purge-continuations/req-1", "WithDecryption": True},
    )
    keys.end("req-1")
    assert keys.current("req-1") is None
    keys.end("req-1")  # Ending twice is no error.


@pytest.mark.parametrize("value", ["not base64!", "AAAA AAAA", "AAAA\n"])
def test_a_stored_value_that_is_not_strictly_base64_is_no_key(keys, ssm, value):
    ssm.parameters["/partner-data/purge-continuations/req-1"] = {"Value": value}
    assert keys.current("req-1") is None


@pytest.mark.parametrize("request_id", ["../purge-password", "a/b", "", "x" * 129, "é"])
def test_a_request_id_that_cannot_name_a_parameter_is_refused(keys, ssm, request_id):
    with pytest.raises(InvalidContinuation, match="bad request id"):
        keys.current(request_id)
    assert ssm.calls == []


def test_the_longest_request_id_names_a_parameter(keys):
    keys.new("r" * 128)
    assert keys.current("r" * 128)


@pytest.mark.parametrize("failure", ["AccessDeniedException", "ThrottlingException", "unreachable"])
@pytest.mark.parametrize("operation", ["new", "current", "end"])
def test_ssm_failures_are_session_errors(operation, failure):
    keys = SessionKeys(InMemorySsm(fail=failure), "/p")
    with pytest.raises(SessionError):
        getattr(keys, operation)("req-1")


def test_continuation_events_are_recognised_and_scheduled_asynchronously():
    assert continuation.is_continuation_event({EVENT_KEY: {}})
    assert not continuation.is_continuation_event({"bucket_name": "b"})
    assert not continuation.is_continuation_event("text")
    invoked = []

    class Lambda:
        def invoke(self, **params):
            invoked.append(params)

    continuation.schedule(Lambda(), "arn:aws:lambda:us-east-1:123456789012:function:f", {"a": "é"})
    assert invoked == [
        {
            "FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:f",
            "InvocationType": "Event",
            "Payload": json.dumps({"a": "é"}).encode(),
        }
    ]
