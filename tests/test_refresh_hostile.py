"""The refresh against hostile or odd partner answers: the token never leaks, nothing the partner
sends takes the process down, and every export ends in time to be reported.

The crash cases run the function in its own process, from a zip built for this machine, under the
Lambda runtime's Python (3.13 when the machine has it): ijson's C backend is what parses, as in
Lambda, and a crash would end that process, not the test run.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import tempfile
import time
import warnings
from datetime import date
from itertools import islice
from pathlib import Path

import pytest

from lambda_shared import logs
from refresh_partner_data import handler, runner, s3_upload
from refresh_partner_data.exporter import UPLOAD_RESERVE_SECONDS
from refresh_partner_data.partner_client import PartnerApi, RetryPolicy, parse_retry_after
from stand_ins.aws_endpoint import LocalAws
from stand_ins.lambda_host import LambdaProcess, runtime_python
from stand_ins.local_system import unpack
from stand_ins.partner_api_simulator import TRAP_PATH, Faults, PartnerApiSimulator
from stand_ins.synthetic_partner_data import Volume
from support import log_records

ROOT = Path(__file__).resolve().parents[1]
BUCKET = "partner-data-hostile"
#: With + / and =, as Azure Functions keys have, so that its percent-encoded form differs.
TOKEN = "Zx81+sEcReT/partner==key"
TOKEN_PARAMETER = "/partner-data/partner-api-token"
SCHEDULED = {"scheduled_time": "2026-11-28T03:00:00Z"}
DAY = "2026-11-27"


# In the function's own process, with ijson's C backend -----------------------------------------


@pytest.fixture(scope="module")
def native_zip_dir(native_dist, tmp_path_factory) -> Path:
    return unpack(native_dist / "refresh_partner_data.zip", tmp_path_factory.mktemp("refresh-code"))


@pytest.fixture(scope="module")
def aws_endpoint():
    with LocalAws() as endpoint:
        yield endpoint


@pytest.fixture
def partner():
    with PartnerApiSimulator(token=TOKEN, volume=Volume(establishments=50, sales_per_day=20)) as simulator:
        yield simulator


def refresh_process(native_zip_dir, aws_endpoint, partner, runtime_dir, **options) -> LambdaProcess:
    """The built refresh function, configured as Terraform deploys it, on the local endpoints."""
    env = {
        **aws_endpoint.environment(),
        "PARTNER_API_URL": partner.url,
        "PARTNER_API_TOKEN_PARAMETER": TOKEN_PARAMETER,
        "DATA_BUCKET": BUCKET,
    }
    options = {"function_name": "partner-data-refresh", "timeout_seconds": 900, **options}
    return LambdaProcess.of_package(native_zip_dir, runtime_dir, env=env, **options)


@pytest.fixture
def refresh(native_zip_dir, aws_endpoint, partner, lambda_runtime_dir, tmp_path):
    aws_endpoint.reset()
    aws_endpoint.client("s3").create_bucket(Bucket=BUCKET)
    aws_endpoint.client("ssm").put_parameter(Name=TOKEN_PARAMETER, Value=TOKEN, Type="SecureString")
    stderr = open(tmp_path / "refresh.log", "w")  # noqa: SIM115 - closed below
    process = refresh_process(
        native_zip_dir, aws_endpoint, partner, lambda_runtime_dir, stderr=stderr
    ).start()
    process.log_path = tmp_path / "refresh.log"
    process.is_313 = runtime_python()[1]
    yield process
    process.stop()
    stderr.close()


def written_keys(aws_endpoint) -> list[str]:
    listing = aws_endpoint.client("s3").list_objects_v2(Bucket=BUCKET)
    return sorted(item["Key"] for item in listing.get("Contents", []))


def log_lines(path: Path) -> list[dict]:
    return log_records(path.read_text())


def failure_of(reply) -> str:
    assert not reply["ok"], reply
    assert reply["error_type"] == "RefreshFailed"
    return reply["error_message"]


HOSTILE = {
    "an integer of 20,000 digits": (
        b'[{"id": 1, "value": ' + b"9" * 20_000 + b"}]",
        "a number of more than 10,000 digits",
    ),
    "a lone low surrogate": (b'[{"id": 1, "saleDate": "\\udfff"}]', "lone UTF-16 surrogate"),
    "a lone high surrogate": (b'[{"id": 1, "saleDate": "x\\ud800y"}]', "lone UTF-16 surrogate"),
    "objects 1,500 deep": (
        b'[{"id": 1, "x": ' + b'{"k": ' * 1500 + b"1" + b"}" * 1500 + b"}]",
        "nested deeper than 32",
    ),
    "lists 1,500 deep": (b'[{"id": 1, "x": ' + b"[" * 1500 + b"]" * 1500 + b"}]", "nested deeper than 32"),
    "not JSON at all": (
        b'[{"id": 1, "name": "PARTNER-CONFIDENTIAL"}, {oops}]',
        "not complete JSON (near byte",
    ),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_data_fails_its_export_and_nothing_else(refresh, partner, aws_endpoint, case):
    payload, expected = HOSTILE[case]
    partner.state.payloads["sale"] = payload

    message = failure_of(refresh.invoke(SCHEDULED))

    assert f"1 of 3 exports failed: sale/{DAY}.csv (" in message
    assert expected in message
    assert "PARTNER-CONFIDENTIAL" not in message, "no body bytes in errors"
    assert "oops" not in message
    assert written_keys(aws_endpoint) == [f"category/{DAY}.csv", f"establishment/{DAY}.csv"]
    lines = log_lines(refresh.log_path)
    assert any(line["message"] == "export failed" and line["dataset"] == "sale" for line in lines)
    assert lines[-1]["message"] == "refresh finished"
    # Still alive, and the next run is fine.
    partner.state.payloads.pop("sale")
    assert refresh.invoke(SCHEDULED)["ok"]


def test_an_integer_past_pythons_digit_limit_is_written_exactly(refresh, partner, aws_endpoint):
    # 5,000 digits: past the 4,300 at which ijson's C items() once crashed the process.
    partner.state.payloads["sale"] = b'[{"id": 1, "value": ' + b"7" * 5_000 + b"}]"
    assert refresh.invoke({"date": DAY, "datasets": ["sale"]})["ok"]
    body = aws_endpoint.client("s3").get_object(Bucket=BUCKET, Key=f"sale/{DAY}.csv")["Body"].read().decode()
    assert next(islice(csv.reader(io.StringIO(body, newline="")), 1, None))[7] == "7" * 5_000


def test_a_field_past_csvs_limit_before_a_new_key_is_written_whole(refresh, partner, aws_endpoint):
    long = "x" * 200_000
    partner.state.payloads["sale"] = json.dumps([{"id": 1, "saleDate": long}, {"id": 2, "new": "k"}]).encode()
    assert refresh.invoke({"date": DAY, "datasets": ["sale"]})["ok"]
    body = aws_endpoint.client("s3").get_object(Bucket=BUCKET, Key=f"sale/{DAY}.csv")["Body"].read().decode()
    assert long in body
    assert body.splitlines()[0].endswith(',"new"')


def test_these_run_on_ijsons_c_backend(native_zip_dir, lambda_runtime_dir, tmp_path):
    python, is_313 = runtime_python()
    if not is_313:
        pytest.skip(
            "no Python 3.13 here: the zip's C extension cannot load, so ijson's Python backend parses"
        )
    (tmp_path / "probe.py").write_text(
        "import ijson\n\ndef backend(event, context):\n    return ijson.backend\n"
    )
    with LambdaProcess(
        "probe.backend", [native_zip_dir, tmp_path], runtime_dir=lambda_runtime_dir, python=python
    ) as probe:
        assert probe.invoke({})["result"] == "yajl2_c"


@pytest.mark.slow(seconds=40)
def test_a_trickled_response_is_cut_at_the_deadline_and_the_summary_still_logged(
    native_zip_dir, aws_endpoint, partner, lambda_runtime_dir, tmp_path
):
    """With the production settings: the whole response must come before the invocation's
    deadline (less the upload's reserve), whatever each read's timeout allows."""
    aws_endpoint.reset()
    aws_endpoint.client("s3").create_bucket(Bucket=BUCKET)
    aws_endpoint.client("ssm").put_parameter(Name=TOKEN_PARAMETER, Value=TOKEN, Type="SecureString")
    partner.faults["sale"] = Faults(trickle_seconds=0.25)  # 64 bytes a second: minutes for the day.
    # Four seconds more than an export needs to be started.
    timeout = UPLOAD_RESERVE_SECONDS + handler.SUMMARY_SECONDS + runner.MIN_FETCH_SECONDS + 4
    with (
        open(tmp_path / "log", "w") as log,
        refresh_process(
            native_zip_dir, aws_endpoint, partner, lambda_runtime_dir, timeout_seconds=timeout, stderr=log
        ) as process,
    ):
        started = time.monotonic()
        message = failure_of(process.invoke({"date": DAY, "datasets": ["sale"]}))
        elapsed = time.monotonic() - started
    assert "the response did not arrive in time" in message
    fetch_seconds = runner.MIN_FETCH_SECONDS + 4
    assert fetch_seconds - 1 < elapsed < fetch_seconds + 5, "cut at the deadline, not by a read timeout"
    lines = log_lines(tmp_path / "log")
    assert lines[-1]["message"] == "refresh finished"


# The token ---------------------------------------------------------------------------------------


@pytest.fixture
def root_output():
    """What the Lambda runtime's handler on the root logger prints."""
    stream = __import__("io").StringIO()
    root_handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    previous = root.level
    root.addHandler(root_handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(root_handler)
    root.setLevel(previous)


@pytest.fixture
def refresh_env(s3, ssm, partner, monkeypatch):
    ssm.put_parameter(Name=TOKEN_PARAMETER, Value=TOKEN, Type="SecureString")
    s3.create_bucket(Bucket=BUCKET)
    monkeypatch.setenv("PARTNER_API_URL", partner.url)
    monkeypatch.setenv("PARTNER_API_TOKEN_PARAMETER", TOKEN_PARAMETER)
    monkeypatch.setenv("DATA_BUCKET", BUCKET)
    monkeypatch.setattr(
        handler, "RETRY_POLICY", RetryPolicy(attempts=3, base_delay=0.01, max_retry_after=0.05)
    )
    return s3


def invoke(event):
    from support import lambda_context

    return handler.lambda_handler(event, lambda_context("refresh"))


@pytest.fixture(params=["header", "query"])
def place(request):
    return request.param


@pytest.mark.usefixtures("refresh_env")
def test_no_logger_shows_the_token_even_when_urllib3_complains_about_a_header(
    partner, monkeypatch, root_output, capsys, place
):
    # IIS writes "Name : value"; urllib3 then warns, through the root logger, with the whole URL.
    monkeypatch.setenv("PARTNER_API_TOKEN_IN", place)
    partner.faults["category"] = Faults(malformed_header=True, fail_first=1)
    summary = invoke({"date": DAY, "datasets": ["category"]})
    assert summary["written"] == 1
    text = root_output.getvalue() + capsys.readouterr().out
    assert "Failed to parse headers" in text, "urllib3 did complain"
    for form in logs.encoded_forms(TOKEN):
        assert form not in text
    (request, *_) = partner.requests
    if place == "header":
        assert request.headers["x-functions-key"] == TOKEN
        assert "code=" not in request.query
    else:
        assert "x-functions-key" not in request.headers


def test_a_redirect_is_not_followed(refresh_env, partner):
    partner.faults["sale"] = Faults(redirect=True)
    with pytest.raises(handler.RefreshFailed, match="a redirect, not followed"):
        invoke({"date": DAY, "datasets": ["sale"]})
    assert [r.path for r in partner.requests if r.path == TRAP_PATH] == []


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_every_server_error_and_429_is_retried(refresh_env, partner, status):
    partner.faults["sale"] = Faults(fail_first=1, fail_status=status)
    summary = invoke({"date": DAY, "datasets": ["sale"]})
    assert summary["exports"][0]["attempts"] == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_other_client_errors_are_not_retried(refresh_env, partner, status):
    partner.faults["sale"] = Faults(fail_first=1, fail_status=status)
    with pytest.raises(handler.RefreshFailed, match=f"HTTP {status}"):
        invoke({"date": DAY, "datasets": ["sale"]})
    assert len(partner.requests) == 1


def test_the_body_is_asked_for_compressed_and_read_so(refresh_env, partner):
    partner.state.gzip = True
    summary = invoke({"date": DAY, "datasets": ["establishment"]})
    assert summary["written"] == 1
    assert partner.requests[0].headers["accept-encoding"] == "gzip"


def test_a_corrupt_compressed_body_is_not_retried(refresh_env, partner):
    partner.faults["sale"] = Faults(corrupt_gzip=True)
    with pytest.raises(handler.RefreshFailed, match="compressed body is corrupt"):
        invoke({"date": DAY, "datasets": ["sale"]})
    assert len(partner.requests) == 1


def test_exports_run_three_at_a_time(refresh_env, partner):
    for table in ("category", "establishment", "sale"):
        partner.faults[table] = Faults(delay_seconds=0.5)
    invoke({"start_date": "2026-11-25", "end_date": "2026-11-27"})
    assert partner.state.most_in_flight == 3


def test_a_retried_attempt_leaves_no_open_spool_and_no_duplicate_rows(refresh_env, partner):
    partner.faults["establishment"] = Faults(drop_connection_first=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        summary = invoke({"date": DAY, "datasets": ["establishment"]})
        __import__("gc").collect()
    assert summary["exports"][0]["attempts"] == 2
    assert summary["exports"][0]["rows"] == 50
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]


def test_only_the_spool_is_on_disk_while_the_file_goes_up(refresh_env, partner, monkeypatch, tmp_path):
    seen = []
    upload = s3_upload.upload_csv_file

    def looking(s3, path, bucket, key, metadata):
        seen.extend(sorted(found.name for found in tmp_path.rglob("*") if found.is_file()))
        seen.append(Path(path).name)
        return upload(s3, path, bucket, key, metadata)

    monkeypatch.setattr("refresh_partner_data.exporter.upload_csv_file", looking)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    invoke({"date": DAY, "datasets": ["establishment"]})
    assert seen == ["rows.spool", "rows.spool"], "the spool is the file that goes up: no second copy"


def test_a_day_with_an_undeclared_column_goes_up_as_a_stream_from_the_spool(
    refresh_env, partner, monkeypatch, tmp_path
):
    seen = []
    upload = s3_upload.upload_csv

    def looking(s3, body, bucket, key, metadata):
        seen.extend(sorted(found.name for found in tmp_path.rglob("*") if found.is_file()))
        return upload(s3, body, bucket, key, metadata)

    partner.state.payloads["establishment"] = b'[{"id": 1}, {"id": 2, "surprise": "!"}]'
    monkeypatch.setattr("refresh_partner_data.exporter.upload_csv", looking)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    summary = invoke({"date": DAY, "datasets": ["establishment"]})
    assert summary["exports"][0]["extra_columns"] == ["surprise"]
    assert seen == ["rows.spool"], "header and padded rows go up from the spool: no second copy"


def test_the_pool_gets_its_connection_back_after_a_refused_request(partner):
    import urllib3

    http = urllib3.PoolManager(num_pools=1, maxsize=1)
    api = PartnerApi(partner.url, "wrong token!", http=http)
    with pytest.raises(Exception, match="HTTP 401"), api.rows("sale", date(2026, 11, 27)):
        pass
    pool = http.connection_from_url(partner.url)
    assert pool.pool.qsize() == 1, "the connection went back to the pool"


# The production settings -----------------------------------------------------------------------


def test_the_production_settings():
    assert (handler.HTTP_TIMEOUT.connect_timeout, handler.HTTP_TIMEOUT.read_timeout) == (10.0, 60.0)
    config = s3_upload.TRANSFER_CONFIG
    assert (
        config.multipart_threshold,
        config.multipart_chunksize,
        config.max_concurrency,
        config.max_in_memory_upload_chunks,
    ) == (8 * 1024 * 1024, 8 * 1024 * 1024, 2, 4)
    assert s3_upload.UPLOAD_MEMORY_BYTES == 40 * 1024 * 1024
    # The upload's reserve covers three attempts of a part with the client's timeouts.
    worst_attempt = handler.S3_CLIENT["connect_timeout"] + handler.S3_CLIENT["read_timeout"]
    assert handler.S3_CLIENT["attempts"] * worst_attempt <= UPLOAD_RESERVE_SECONDS


def test_the_http_timeout_is_the_one_every_request_uses(partner, monkeypatch):
    import urllib3

    sent = []
    original = urllib3.PoolManager.request

    def spying(self, method, url, **kwargs):
        sent.append(kwargs)
        return original(self, method, url, **kwargs)

    monkeypatch.setattr(urllib3.PoolManager, "request", spying)
    api = PartnerApi(partner.url, TOKEN, timeout=handler.HTTP_TIMEOUT)
    with api.rows("category", date(2026, 11, 27)) as rows:
        assert list(rows)
    timeout = sent[0]["timeout"]
    assert (timeout.connect_timeout, timeout.read_timeout) == (10.0, 60.0)
    assert (sent[0]["redirect"], sent[0]["retries"]) == (False, False)


@pytest.mark.parametrize("header", ["²", "١٢", "1.5", "-1", "", "soon"])
def test_a_retry_after_that_is_not_ascii_seconds_or_a_date_is_ignored(header):
    assert parse_retry_after(header) is None
