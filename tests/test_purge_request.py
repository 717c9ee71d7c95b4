import base64
import dataclasses
import json
import re

import pytest

from lambda_shared.s3_names import is_valid_bucket_name
from purge_bucket.api.request import (
    JOB_ID,
    MAX_BODY_BYTES,
    MAX_BODY_CHARS,
    MAX_BUCKET_CHARS,
    MAX_PASSWORD_CHARS,
    MAX_PREFIX_BYTES,
    BadRequest,
    Caller,
    PurgeRequest,
    StatusRequest,
    caller_of,
    is_status_route,
    parse_purge_request,
    parse_request,
    status_path,
)
from stand_ins.api_gateway_events import http_event, proxy_event
from stand_ins.lambda_context import LambdaContext


def body_event(payload, **kwargs):
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return proxy_event(body=raw, **kwargs)


def test_proxy_body_is_parsed():
    event = body_event({"bucket_name": "partner-data", "password": "pw", "prefix": "sale/"})
    assert parse_purge_request(event) == PurgeRequest("partner-data", "pw", "sale/")


def test_base64_body_is_decoded():
    event = body_event({"bucket_name": "partner-data", "password": "pw"}, binary=True)
    assert event["isBase64Encoded"] is True
    assert parse_purge_request(event).bucket == "partner-data"


def test_direct_invocation_shape_from_the_seed_is_accepted():
    assert parse_purge_request({"bucket_name": "partner-data", "password": "pw"}).password == "pw"


def test_password_is_not_in_the_repr():
    assert "s3cret" not in repr(PurgeRequest("partner-data", "s3cret"))


@pytest.mark.parametrize(
    ("event", "fragment"),
    [
        (proxy_event(body=None), "empty"),
        (proxy_event(body=b"not json"), "not valid JSON"),
        (proxy_event(body=b"\xff\xfe"), "not UTF-8"),
        (proxy_event(body=b"[1, 2]"), "JSON object"),
        (proxy_event(body=b'{"bucket_name": NaN, "password": "x"}'), "NaN"),
        (proxy_event(body=b"[" * MAX_BODY_BYTES + b"]" * MAX_BODY_BYTES), "larger than"),
        # Deep nesting: Python 3.13's parser (Lambda's) reads it, and it is no object; 3.11's ran
        # out of recursion ("not valid JSON"). A 400 either way, never a crash.
        (proxy_event(body=b"[" * 6000 + b"]" * 6000), "JSON object"),
        (proxy_event(body=b"[" * 2000 + b"]" * 2000), "JSON object"),
        (body_event({"bucket_name": "partner-data"}), "Missing field(s): password"),
        (body_event({"password": "x"}), "Missing field(s): bucket_name"),
        (body_event({"bucket_name": 5, "password": "x"}), "bucket_name must be a string"),
        (body_event({"bucket_name": "Bad_Name", "password": "x"}), "not a valid S3 bucket name"),
        (body_event({"bucket_name": "partner-data", "password": ""}), "non-empty string"),
        (body_event({"bucket_name": "partner-data", "password": ["x"]}), "non-empty string"),
        (body_event({"bucket_name": "partner-data", "password": "x" * 1025}), "longer than 1024"),
        (body_event({"bucket_name": "partner-data", "password": "x", "prefix": ""}), "prefix"),
        (body_event({"bucket_name": "partner-data", "password": "x", "prefix": 3}), "prefix"),
        (body_event({"bucket_name": "partner-data", "password": "x", "prefix": "p" * 1025}), "1024 bytes"),
        (
            body_event({"bucket_name": "partner-data", "password": "x", "prefx": "a/"}),
            'Unknown field(s): "prefx"',
        ),
        (
            proxy_event(body=b'{"bucket_name": "a-b-c", "bucket_name": "d-e-f", "password": "x"}'),
            "more than once",
        ),
        ({"bucket_name": "partner-data", "password": "x", "prefix": "\ud800"}, "valid Unicode"),
        ("a string event", "JSON object"),
    ],
)
def test_bad_requests_name_the_problem(event, fragment):
    with pytest.raises(BadRequest) as caught:
        parse_purge_request(event)
    assert caught.value.status == 400
    assert fragment in caught.value.message


def test_invalid_base64_is_a_bad_request():
    event = proxy_event(body=b"{}")
    event.update(body="%%% not base64", isBase64Encoded=True)
    with pytest.raises(BadRequest, match="base64"):
        parse_purge_request(event)


def test_oversize_body_is_rejected_before_decoding():
    event = proxy_event(body=b"{}", binary=True)
    event["body"] = "x" * (MAX_BODY_CHARS + 1)  # Not even base64: refused for its size first.
    with pytest.raises(BadRequest, match="larger than"):
        parse_purge_request(event)


def test_the_body_limit_is_the_documented_one_to_the_byte():
    assert MAX_BODY_BYTES == 19_834  # docs/partner-api: the longest request, however escaped, plus 1 KiB.
    assert MAX_BODY_CHARS == 26_448  # What base64 makes of 19,834 bytes.
    request = json.dumps({"bucket_name": "partner-data", "password": "pw"}).encode()
    exactly = request[:-1] + b" " * (MAX_BODY_BYTES - len(request)) + b"}"
    assert len(exactly) == MAX_BODY_BYTES
    for binary in (False, True):
        assert parse_purge_request(proxy_event(body=exactly, binary=binary)).password == "pw"
        with pytest.raises(BadRequest, match="larger than 19834 bytes"):
            parse_purge_request(proxy_event(body=exactly + b" ", binary=binary))
    assert len(proxy_event(body=exactly, binary=True)["body"]) == MAX_BODY_CHARS


def test_only_strict_base64_is_decoded():
    encoded = base64.b64encode(
        json.dumps({"bucket_name": "partner-data", "password": "pw"}).encode()
    ).decode()
    event = proxy_event(body=b"{}", binary=True)
    for bad in (encoded[:8] + "\n" + encoded[8:], encoded + "!", "@" + encoded):
        event["body"] = bad
        with pytest.raises(BadRequest, match="not valid base64"):
            parse_purge_request(event)


@pytest.mark.parametrize("flag", [1, "true", "True", None, False])
def test_only_a_true_is_base64_encoded_flag_decodes(flag):
    encoded = base64.b64encode(
        json.dumps({"bucket_name": "partner-data", "password": "pw"}).encode()
    ).decode()
    event = proxy_event(body=b"{}")
    event.update(body=encoded, isBase64Encoded=flag)
    with pytest.raises(BadRequest, match="not valid JSON"):
        parse_purge_request(event)


@pytest.mark.parametrize("body", [None, ""])
def test_an_empty_body_says_so(body):
    event = proxy_event(body=b"{}")
    event["body"] = body
    with pytest.raises(BadRequest, match="body is empty"):
        parse_purge_request(event)


def test_non_string_body_is_rejected():
    event = proxy_event(body=b"{}")
    event["body"] = {"bucket_name": "partner-data"}
    with pytest.raises(BadRequest, match="must be a string"):
        parse_purge_request(event)


def test_other_methods_get_405():
    with pytest.raises(BadRequest) as caught:
        parse_purge_request(proxy_event(body=b"{}", method="GET"))
    assert caught.value.status == 405


def test_unknown_field_names_are_shortened_when_echoed():
    with pytest.raises(BadRequest) as caught:
        parse_purge_request({"bucket_name": "partner-data", "password": "x", "y" * 500: 1})
    assert len(caught.value.message) < 200


@pytest.mark.parametrize(
    ("name", "shown"),
    [("a" * 40, '"' + "a" * 40 + '"'), ("a" * 41, '"' + "a" * 40 + '\\u2026"'), ("é", '"\\u00e9"')],
    ids=["40", "41", "non-ascii"],
)
def test_an_unknown_name_is_echoed_as_ascii_and_cut_after_40_characters(name, shown):
    with pytest.raises(BadRequest) as caught:
        parse_purge_request({"bucket_name": "partner-data", "password": "x", name: 1})
    assert caught.value.message == f"Unknown field(s): {shown}. Allowed: bucket_name, password, prefix"


def test_at_most_five_unknown_names_are_echoed():
    with pytest.raises(BadRequest) as caught:
        parse_purge_request(
            {"bucket_name": "partner-data", "password": "x", **{f"f{i}": 1 for i in range(7)}}
        )
    assert caught.value.message.startswith('Unknown field(s): "f0", "f1", "f2", "f3", "f4". Allowed')


def test_a_request_cannot_be_changed_once_parsed():
    request = parse_purge_request({"bucket_name": "partner-data", "password": "x"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        request.bucket = "another-bucket"
    caller = caller_of(proxy_event(body=b"{}"), None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        caller.source_ip = "192.0.2.1"
    status = parse_request({"job_id": JOB, "password": "x"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        status.job_id = JOB.replace("0123", "4567")


@pytest.mark.parametrize("name", ["abc", "partner-data", "my.bucket.name", "a" * 63, "1-2-3", "bucket-2024"])
def test_valid_bucket_names(name):
    assert is_valid_bucket_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "ab",
        "a" * 64,
        "UPPER",
        "under_score",
        "-leading",
        "trailing-",
        "two..dots",
        "192.168.5.4",
        "xn--bucket",
        "sthree-bucket",
        "bucket-s3alias",
        "bucket--ol-s3",
        "with space",
        "bucket/key",
    ],
)
def test_invalid_bucket_names(name):
    assert not is_valid_bucket_name(name)


def test_caller_comes_from_the_request_context():
    event = proxy_event(body=b"{}", source_ip="198.51.100.7", request_id="req-1")
    caller = caller_of(event, LambdaContext("purge"))
    assert (caller.request_id, caller.source_ip) == ("req-1", "198.51.100.7")


def test_caller_of_a_direct_invocation_is_the_lambda_request():
    context = LambdaContext("purge")
    caller = caller_of({"bucket_name": "x"}, context)
    assert (caller.request_id, caller.source_ip) == (context.aws_request_id, None)


def test_caller_survives_a_malformed_request_context():
    context = LambdaContext("purge")
    event = {"httpMethod": "POST", "requestContext": "junk"}
    assert caller_of(event, context).request_id == context.aws_request_id
    event = {"httpMethod": "POST", "requestContext": {"identity": [], "requestId": 7}}
    assert caller_of(event, context) == caller_of({}, context)


def test_base64_helper_matches_api_gateway():
    event = proxy_event(body=b"\xff\x00")
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\xff\x00"


# The password's length, and a body that carries the longest one however it is escaped -----------


def test_the_longest_password_is_accepted_and_one_more_character_refused():
    assert MAX_PASSWORD_CHARS == 1024  # The limit terraform/variables.tf enforces too.
    longest = "é" * MAX_PASSWORD_CHARS
    assert (
        parse_purge_request(body_event({"bucket_name": "partner-data", "password": longest})).password
        == longest
    )
    with pytest.raises(BadRequest, match=f"longer than {MAX_PASSWORD_CHARS}"):
        parse_purge_request(body_event({"bucket_name": "partner-data", "password": longest + "é"}))


def test_the_longest_request_fits_the_body_limit_however_it_is_escaped():
    # Characters outside the BMP: 12 bytes each once JSON-escaped, the worst case.
    password = "\U0001f600" * MAX_PASSWORD_CHARS
    prefix = "p" * MAX_PREFIX_BYTES
    bucket = "b" * MAX_BUCKET_CHARS
    escaped = json.dumps({"bucket_name": bucket, "password": password, "prefix": prefix}, ensure_ascii=True)
    # The prefix and bucket name with every character escaped, as a client is free to send them.
    escaped = escaped.replace('"' + prefix + '"', '"' + "\\u0070" * MAX_PREFIX_BYTES + '"')
    escaped = escaped.replace('"' + bucket + '"', '"' + "\\u0062" * MAX_BUCKET_CHARS + '"')
    assert len(escaped.encode()) <= MAX_BODY_BYTES
    request = parse_purge_request(proxy_event(body=escaped.encode()))
    assert (request.password, request.prefix, request.bucket) == (password, prefix, bucket)


# Other event shapes ---------------------------------------------------------------------------


def test_an_http_api_or_function_url_event_is_parsed():
    event = http_event(body=json.dumps({"bucket_name": "partner-data", "password": "pw"}).encode())
    assert parse_purge_request(event).bucket == "partner-data"


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_an_http_api_event_with_another_method_gets_405(method):
    with pytest.raises(BadRequest) as caught:
        parse_purge_request(http_event(body=b"{}", method=method))
    assert caught.value.status == 405


def test_an_http_api_event_without_its_http_context_gets_405():
    event = http_event(body=b"{}")
    del event["requestContext"]["http"]
    with pytest.raises(BadRequest) as caught:
        parse_purge_request(event)
    assert caught.value.status == 405


def test_the_caller_of_an_http_api_event_comes_from_its_context():
    event = http_event(body=b"{}", source_ip="198.51.100.7", request_id="v2-id")
    assert caller_of(event, None) == Caller("v2-id", "198.51.100.7")


def test_a_byte_order_mark_before_the_body_is_ignored():
    body = b"\xef\xbb\xbf" + json.dumps({"bucket_name": "partner-data", "password": "pw"}).encode()
    assert parse_purge_request(proxy_event(body=body)).password == "pw"
    assert parse_purge_request(proxy_event(body=body, binary=True)).password == "pw"


def test_a_byte_order_mark_elsewhere_is_not_json():
    body = b'{"bucket_name": "partner-data", ' + b"\xef\xbb\xbf" + b'"password": "pw"}'
    with pytest.raises(BadRequest, match="not valid JSON"):
        parse_purge_request(proxy_event(body=body))


# The status request ---------------------------------------------------------------------------

JOB = "20261202T185000Z-0123456789abcdef"


def status_event(payload, **kwargs):
    return body_event(payload, resource="/purge/status", **kwargs)


def test_a_status_request_is_parsed_from_its_route():
    event = status_event({"job_id": JOB, "password": "pw"})
    assert is_status_route(event)
    assert parse_request(event) == StatusRequest(JOB, "pw")


def test_a_status_request_through_an_http_api_is_parsed_from_its_path():
    event = http_event(body=json.dumps({"job_id": JOB, "password": "pw"}).encode(), path="/purge/status")
    assert parse_request(event) == StatusRequest(JOB, "pw")
    assert status_path(event) == "/purge/status"


def test_a_direct_invocation_with_a_job_id_is_a_status_request():
    assert parse_request({"job_id": JOB, "password": "pw"}) == StatusRequest(JOB, "pw")
    assert parse_request({"bucket_name": "partner-data", "password": "pw"}) == PurgeRequest(
        "partner-data", "pw"
    )


def test_the_password_is_not_in_a_status_requests_repr():
    assert "s3cret" not in repr(StatusRequest(JOB, "s3cret"))


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({"job_id": JOB}, "Missing field(s): password"),
        ({"password": "pw"}, "Missing field(s): job_id"),
        ({"job_id": JOB, "password": "pw", "bucket_name": "partner-data"}, 'Unknown field(s): "bucket_name"'),
        ({"job_id": JOB, "password": ""}, "non-empty string"),
        ({"job_id": JOB, "password": "x" * 1025}, "longer than 1024"),
        ({"job_id": 5, "password": "pw"}, "not a job id"),
        ({"job_id": JOB.upper(), "password": "pw"}, "not a job id"),
        ({"job_id": JOB + "0", "password": "pw"}, "not a job id"),
        ({"job_id": JOB + "\n", "password": "pw"}, "not a job id"),
        ({"job_id": "../" + JOB, "password": "pw"}, "not a job id"),
        ([JOB], "JSON object"),
    ],
)
def test_a_bad_status_request_says_what_is_wrong(payload, fragment):
    with pytest.raises(BadRequest, match=re.escape(fragment)) as caught:
        parse_request(status_event(payload))
    assert caught.value.status == 400


def test_a_purge_sent_to_the_status_route_is_refused():
    with pytest.raises(BadRequest, match="Unknown field"):
        parse_request(status_event({"bucket_name": "partner-data", "password": "pw"}))


def test_a_status_request_sent_to_the_purge_route_is_refused():
    with pytest.raises(BadRequest, match="Unknown field"):
        parse_request(body_event({"job_id": JOB, "password": "pw"}))
    with pytest.raises(BadRequest, match="status request, not a purge"):
        parse_purge_request({"job_id": JOB, "password": "pw"})


def test_a_get_of_the_status_route_gets_405():
    with pytest.raises(BadRequest) as caught:
        parse_request(proxy_event(body=None, method="GET", resource="/purge/status"))
    assert caught.value.status == 405


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (proxy_event(body=b"{}", resource="/purge", stage="v1"), "/v1/purge/status"),
        (proxy_event(body=b"{}", resource="/purge/status", stage="v1"), "/v1/purge/status"),
        (proxy_event(body=b"{}", resource="/purge-bucket", stage="prod"), "/prod/purge-bucket/status"),
        (http_event(body=b"{}", path="/purge/"), "/purge/status"),
        ({"bucket_name": "partner-data", "password": "pw"}, None),
    ],
    ids=["rest", "rest-status", "rest-custom", "http-api", "direct"],
)
def test_the_status_path_is_the_one_the_caller_used_plus_status(event, expected):
    assert status_path(event) == expected


def test_the_status_path_of_an_event_without_its_path_is_none():
    event = proxy_event(body=b"{}")
    del event["requestContext"]["path"]
    event["path"] = "relative"
    assert status_path(event) is None
    event["requestContext"] = "not a context"
    event["path"] = "/purge"
    assert status_path(event) == "/purge/status"
    event["requestContext"] = {"path": 5}
    assert status_path(event) == "/purge/status", "a path that is not text is not the caller's"


def test_job_ids_look_as_the_pattern_says():
    assert JOB_ID.fullmatch(JOB)
    assert not JOB_ID.fullmatch(JOB[:-1])
