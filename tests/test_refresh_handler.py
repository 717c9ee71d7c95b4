import csv
import io
import json
from datetime import UTC, date, datetime
from functools import partial

import pytest
import urllib3

from aws_faults import fail_requests, s3_error_xml
from lambda_shared import aws
from refresh_partner_data import events, handler, runner, s3_upload
from refresh_partner_data import exporter as exporter_module
from refresh_partner_data.config import ConfigError
from refresh_partner_data.csv_spool import cell_text
from refresh_partner_data.datasets import column_name, declared_columns
from refresh_partner_data.events import InvalidEvent
from refresh_partner_data.exporter import UPLOAD_RESERVE_SECONDS
from refresh_partner_data.partner_client import PartnerApi, RetryPolicy
from stand_ins.partner_api_simulator import Faults, PartnerApiSimulator
from stand_ins.synthetic_partner_data import Volume, parse_row, row_count, rows_json
from support import lambda_context, log_records


class FixedContext:
    """A context whose remaining time is fixed: the test's own clock moves, not the real one."""

    aws_request_id = "fixed-context-request"

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def get_remaining_time_in_millis(self) -> int:
        return int(self.seconds * 1000)


BUCKET = "partner-data-refresh"
TOKEN = "partner-token-Zx81-secret"
TOKEN_PARAMETER = "/partner-data/partner-api-token"
NOW = datetime(2026, 11, 28, 3, 0, 5, tzinfo=UTC)  # 00:00:05 in São Paulo: yesterday is the 27th.
YESTERDAY = date(2026, 11, 27)
#: What the schedule sends for the run of 00:00 São Paulo time on the 28th.
SCHEDULED = {"scheduled_time": "2026-11-28T03:00:00Z"}
VOLUME = Volume(establishments=500, sales_per_day=60)


@pytest.fixture
def simulator():
    with PartnerApiSimulator(token=TOKEN, volume=VOLUME) as running:
        yield running


@pytest.fixture
def refresh_env(s3, ssm, simulator, monkeypatch):
    ssm.put_parameter(Name=TOKEN_PARAMETER, Value=TOKEN, Type="SecureString")
    s3.create_bucket(Bucket=BUCKET)
    monkeypatch.setenv("PARTNER_API_URL", simulator.url)
    monkeypatch.setenv("PARTNER_API_TOKEN_PARAMETER", TOKEN_PARAMETER)
    monkeypatch.setenv("DATA_BUCKET", BUCKET)
    monkeypatch.delenv("DATASETS", raising=False)
    monkeypatch.delenv("TIMEZONE", raising=False)
    monkeypatch.setattr(handler, "now", lambda: NOW)
    monkeypatch.setattr(
        handler, "RETRY_POLICY", RetryPolicy(attempts=3, base_delay=0.01, max_retry_after=0.05)
    )
    return s3


def invoke(event=None, context=None):
    return handler.lambda_handler({} if event is None else event, context or lambda_context("refresh"))


def object_text(s3, key: str) -> str:
    return s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode("utf-8")


def csv_records(s3, key: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(object_text(s3, key), newline="")))


def at(row, path):
    for key in path:
        row = row.get(key) if isinstance(row, dict) else None
    return row


def expected_records(table: str, day: date, volume: Volume = VOLUME) -> list[dict[str, str]]:
    columns = declared_columns(table)
    rows = [parse_row(text) for text in rows_json(table, day, volume)]
    return [{column_name(path): cell_text(at(row, path)) for path in columns} for row in rows]


def keys_in(s3) -> list[str]:
    return sorted(item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []))


def log_lines(capsys) -> list[dict]:
    return log_records(capsys.readouterr().out)


def test_scheduled_run_writes_yesterday_for_every_dataset(refresh_env, simulator, capsys):
    summary = invoke(SCHEDULED)

    assert keys_in(refresh_env) == [
        f"{name}/2026-11-27.csv" for name in ("category", "establishment", "sale")
    ]
    for table in ("category", "establishment", "sale"):
        records = csv_records(refresh_env, f"{table}/2026-11-27.csv")
        assert len(records) == row_count(table, YESTERDAY, VOLUME)
        assert records == expected_records(table, YESTERDAY)
    assert {(r.table, r.sale_date, r.authorized) for r in simulator.requests} == {
        (table, "2026-11-27", True) for table in ("category", "establishment", "sale")
    }
    assert summary["written"] == 3
    assert summary["failed"] == 0
    exports = {entry["dataset"]: entry for entry in summary["exports"]}
    assert exports["sale"]["rows"] == row_count("sale", YESTERDAY, VOLUME)
    assert exports["sale"]["key"] == "sale/2026-11-27.csv"
    head = refresh_env.head_object(Bucket=BUCKET, Key="sale/2026-11-27.csv")
    assert exports["sale"]["bytes"] == head["ContentLength"]
    assert head["ContentType"] == "text/csv; charset=utf-8"
    assert head["Metadata"]["rows"] == str(exports["sale"]["rows"])
    lines = log_lines(capsys)
    assert [line["message"] for line in lines].count("export written") == 3
    assert lines[-1]["message"] == "refresh finished"
    assert TOKEN not in json.dumps(summary)


def test_sale_csv_has_flattened_category_and_tricky_values_survive(refresh_env, simulator):
    invoke({"date": "2026-11-20", "datasets": ["sale", "category"]})
    sale = csv_records(refresh_env, "sale/2026-11-20.csv")
    assert list(sale[0]) == [
        "id", "cnpj", "idCategory", "category_id", "category_name", "category_isActive",
        "saleDate", "value", "amount",
    ]  # fmt: skip
    categories = {row["name"] for row in csv_records(refresh_env, "category/2026-11-20.csv")}
    assert {"Sabão em Pó", 'Vinho "Reserva", Tinto', "Promoção\nRelâmpago"} <= categories


def test_numbers_are_written_exactly_as_the_partner_sent_them(refresh_env, simulator):
    simulator.state.payloads["sale"] = (
        b'[{"value": 181.0, "big": 12345678901234567890123, "tiny": 0.1000000000000000055511151231257827,'
        b' "neg": -0.0, "exp": 1.5E-7, "list": [1.10, "a,b", null], "none": null, "flag": false,'
        b' "hundred": 100E2, "zero": -0}]'
    )
    invoke({"date": "2026-11-20", "datasets": ["sale"]})
    (record,) = csv_records(refresh_env, "sale/2026-11-20.csv")
    extra = {k: v for k, v in record.items() if k not in {column_name(p) for p in declared_columns("sale")}}
    assert record["value"] == "181.0"
    assert extra == {
        "big": "12345678901234567890123",
        "tiny": "0.1000000000000000055511151231257827",
        "neg": "-0.0",
        "exp": "0.00000015",
        "list": '[1.10,"a,b",null]',
        "none": "",
        "flag": "false",
        "hundred": "10000",
        "zero": "0",
    }


def test_a_key_first_seen_late_gets_its_column_after_the_declared_ones(refresh_env, simulator, capsys):
    simulator.state.payloads["establishment"] = b'[{"id": 1}, {"id": 2, "discount": 5.5}, {"discount": 1}]'
    summary = invoke({"date": "2026-11-20", "datasets": ["establishment"]})
    assert object_text(refresh_env, "establishment/2026-11-20.csv") == (
        '"id","cnpj","discount"\r\n"1",,\r\n"2",,"5.5"\r\n,,"1"\r\n'
    )
    assert summary["exports"][0]["extra_columns"] == ["discount"]
    assert summary["exports"][0]["absent_columns"] == ["cnpj"]
    added, absent = [line for line in log_lines(capsys) if line["level"] == "WARNING"]
    assert added["message"] == (
        "columns the dataset does not declare were added after the declared ones, sorted"
    )
    assert (added["dataset"], added["count"], added["columns"]) == ("establishment", 1, ["discount"])
    assert absent["message"] == "declared columns that no row carried are written empty"
    assert absent["columns"] == ["cnpj"]


def test_an_empty_day_writes_the_header_alone(refresh_env, simulator):
    simulator.state.payloads["sale"] = b"[]"
    summary = invoke({"date": "2026-11-20", "datasets": ["sale"]})
    header = ",".join(f'"{column_name(path)}"' for path in declared_columns("sale"))
    assert object_text(refresh_env, "sale/2026-11-20.csv") == header + "\r\n"
    assert summary["exports"][0]["rows"] == 0


def test_a_backfill_writes_one_file_per_day(refresh_env):
    summary = invoke({"start_date": "2026-11-01", "end_date": "2026-11-05", "datasets": ["sale"]})
    assert keys_in(refresh_env) == [f"sale/2026-11-0{day}.csv" for day in range(1, 6)]
    assert summary["first_day"] == "2026-11-01"
    assert summary["last_day"] == "2026-11-05"
    assert summary["rows"] == sum(row_count("sale", date(2026, 11, d), VOLUME) for d in range(1, 6))


def test_a_rerun_overwrites_the_day(refresh_env, simulator):
    simulator.state.payloads["category"] = b'[{"id": 1}]'
    invoke({"date": "2026-11-20", "datasets": ["category"]})
    simulator.state.payloads["category"] = b'[{"id": 2}]'
    invoke({"date": "2026-11-20", "datasets": ["category"]})
    assert object_text(refresh_env, "category/2026-11-20.csv") == '"id","name","isActive"\r\n"2",,\r\n'


@pytest.mark.parametrize(
    ("utc", "yesterday"),
    [
        (datetime(2026, 11, 28, 2, 59, 59, tzinfo=UTC), "2026-11-26"),  # 23:59:59 on the 27th, local
        (datetime(2026, 11, 28, 3, 0, 0, tzinfo=UTC), "2026-11-27"),  # midnight on the 28th, local
    ],
)
def test_yesterday_is_taken_in_sao_paulo(refresh_env, monkeypatch, utc, yesterday):
    monkeypatch.setattr(handler, "now", lambda: utc)
    invoke({"datasets": ["category"]})
    assert keys_in(refresh_env) == [f"category/{yesterday}.csv"]


def test_invalid_event_fetches_nothing(refresh_env, simulator):
    with pytest.raises(InvalidEvent, match="Unknown event field"):
        invoke({"dates": ["2026-11-01"]})
    assert simulator.requests == []


def test_missing_configuration_fails_before_any_request(refresh_env, simulator, monkeypatch):
    monkeypatch.delenv("DATA_BUCKET")
    with pytest.raises(ConfigError, match=r"^DATA_BUCKET is required"):
        invoke(SCHEDULED)
    assert simulator.requests == []


def test_unreadable_token_fails_before_any_request(refresh_env, simulator, ssm):
    ssm.delete_parameter(Name=TOKEN_PARAMETER)
    with pytest.raises(handler.RefreshFailed, match="token could not be read"):
        invoke(SCHEDULED)
    assert simulator.requests == []


def test_without_a_token_parameter_no_code_is_sent(refresh_env, simulator, monkeypatch):
    monkeypatch.delenv("PARTNER_API_TOKEN_PARAMETER")
    simulator.state.token = None
    invoke({"datasets": ["category"]})
    assert keys_in(refresh_env) == ["category/2026-11-27.csv"]


def test_transient_failures_are_retried(refresh_env, simulator, capsys):
    simulator.faults["sale"] = Faults(fail_first=2, fail_status=503)
    simulator.faults["category"] = Faults(fail_first=1, fail_status=429, retry_after="1")
    simulator.faults["establishment"] = Faults(drop_connection_first=1)

    summary = invoke(SCHEDULED)

    assert summary["written"] == 3
    attempts = {entry["dataset"]: entry["attempts"] for entry in summary["exports"]}
    assert attempts == {"category": 2, "establishment": 2, "sale": 3}
    assert csv_records(refresh_env, "establishment/2026-11-27.csv") == expected_records(
        "establishment", YESTERDAY
    )
    retries = [
        line for line in log_lines(capsys) if line["message"] == "partner API request failed; retrying"
    ]
    assert len(retries) == 4
    category_retry = next(line for line in retries if line["dataset"] == "category")
    assert category_retry["retry_in_s"] == 0.05, "Retry-After honoured, within the policy's bound"
    assert category_retry["error"] == "HTTP 429 from the partner API"
    dropped = next(line for line in retries if line["dataset"] == "establishment")
    assert "connection broke" in dropped["error"]
    for line in retries:
        assert TOKEN not in json.dumps(line)
        assert "code" not in line["url"], "the token goes in a header, not in the URL"


def test_timeouts_are_retried_then_reported(refresh_env, simulator, monkeypatch):
    monkeypatch.setattr(handler, "HTTP_TIMEOUT", urllib3.Timeout(connect=2.0, read=0.2))
    simulator.faults["sale"] = Faults(delay_seconds=0.5)
    with pytest.raises(handler.RefreshFailed) as caught:
        invoke({"datasets": ["sale"]})
    assert "sale/2026-11-27.csv (request failed (ReadTimeoutError); gave up after 3 attempts)" in str(
        caught.value
    )


@pytest.mark.parametrize(
    ("faults", "error"),
    [
        (Faults(always_status=404), "HTTP 404 from the partner API"),
        (Faults(redirect=True), "HTTP 302 from the partner API: a redirect, not followed"),
        (Faults(truncate=True), "the response is not complete JSON"),
        (Faults(non_array=True), "the response is a JSON object, not the array of rows"),
    ],
)
def test_permanent_failures_fail_the_dataset_at_once(refresh_env, simulator, faults, error):
    simulator.faults["sale"] = faults
    with pytest.raises(handler.RefreshFailed) as caught:
        invoke(SCHEDULED)
    assert f"1 of 3 exports failed: sale/2026-11-27.csv ({error}" in str(caught.value)
    assert len([r for r in simulator.requests if r.table == "sale"]) == 1
    assert keys_in(refresh_env) == ["category/2026-11-27.csv", "establishment/2026-11-27.csv"]


def test_rows_that_cannot_be_written_fail_the_dataset(refresh_env, simulator):
    simulator.state.payloads["sale"] = b'[{"id": 1}, 7]'
    with pytest.raises(handler.RefreshFailed, match="row 2 is a JSON int, not an object"):
        invoke({"datasets": ["sale"]})
    assert keys_in(refresh_env) == []


def test_a_wrong_token_fails_every_dataset_without_leaking_it(refresh_env, simulator, ssm, capsys):
    ssm.put_parameter(Name=TOKEN_PARAMETER, Value="wrong-token-value", Type="SecureString", Overwrite=True)
    with pytest.raises(handler.RefreshFailed) as caught:
        invoke(SCHEDULED)
    message = str(caught.value)
    assert message.startswith("3 of 3 exports failed")
    assert "HTTP 401" in message
    output = capsys.readouterr().out
    for text in (message, output):
        assert "wrong-token-value" not in text
        assert TOKEN not in text


def test_one_dataset_permanently_failing_leaves_the_others_written(refresh_env, simulator, capsys):
    simulator.faults["sale"] = Faults(always_status=500)
    with pytest.raises(handler.RefreshFailed) as caught:
        invoke(SCHEDULED)
    assert "sale/2026-11-27.csv (HTTP 500 from the partner API; gave up after 3 attempts)" in str(
        caught.value
    )
    assert keys_in(refresh_env) == ["category/2026-11-27.csv", "establishment/2026-11-27.csv"]
    assert refresh_env.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
    finished = log_lines(capsys)[-1]
    assert finished["message"] == "refresh finished"
    assert finished["level"] == "ERROR"
    assert finished["failed_keys"] == ["sale/2026-11-27.csv"]


def test_a_failed_multipart_upload_leaves_no_object_and_no_parts(refresh_env, simulator, monkeypatch):
    five_mib = 5 * 1024 * 1024
    monkeypatch.setattr(
        s3_upload,
        "TRANSFER_CONFIG",
        s3_upload.TransferConfig(
            multipart_threshold=five_mib, multipart_chunksize=five_mib, max_concurrency=1
        ),
    )
    simulator.state.volume = Volume(establishments=400_000)
    failed = fail_requests(
        aws.client("s3", **handler.S3_CLIENT),
        "s3.UploadPart",
        status=403,
        body=s3_error_xml("AccessDenied"),
        times=1,
        skip=1,
    )

    with pytest.raises(handler.RefreshFailed, match=r"establishment/2026-11-27.csv \(upload to S3 failed"):
        invoke({"datasets": ["establishment"]})

    assert failed() == 1
    assert keys_in(refresh_env) == []
    assert refresh_env.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []

    simulator.state.volume = VOLUME
    invoke({"datasets": ["establishment"]})
    assert keys_in(refresh_env) == ["establishment/2026-11-27.csv"]


def test_a_large_file_goes_up_in_parts_and_arrives_whole(refresh_env, simulator, monkeypatch):
    five_mib = 5 * 1024 * 1024
    monkeypatch.setattr(
        s3_upload,
        "TRANSFER_CONFIG",
        s3_upload.TransferConfig(multipart_threshold=five_mib, multipart_chunksize=five_mib),
    )
    volume = Volume(establishments=300_000)
    simulator.state.volume = volume
    summary = invoke({"datasets": ["establishment"]})
    head = refresh_env.head_object(Bucket=BUCKET, Key="establishment/2026-11-27.csv")
    assert head["ContentLength"] > five_mib
    assert "-" in head["ETag"], "a multipart upload's ETag"
    assert summary["exports"][0]["rows"] == 300_000
    text = object_text(refresh_env, "establishment/2026-11-27.csv")
    lines = text.splitlines()
    assert lines[0] == '"id","cnpj"'
    assert len(lines) == 300_001
    last_cnpj = json.loads(list(rows_json("establishment", YESTERDAY, volume))[-1])["cnpj"]
    assert lines[-1] == f'"300000","{last_cnpj}"'


def test_exports_are_not_started_without_enough_time_to_fetch(refresh_env, simulator):
    fetch_seconds = runner.MIN_FETCH_SECONDS - 1
    context = lambda_context(
        "refresh", timeout_seconds=fetch_seconds + UPLOAD_RESERVE_SECONDS + handler.SUMMARY_SECONDS
    )
    with pytest.raises(handler.RefreshFailed, match="3 of 3 exports were not started for lack of time"):
        invoke(SCHEDULED, context)
    assert simulator.requests == []


def test_retries_stop_when_the_invocation_would_run_out_of_time(refresh_env, simulator, monkeypatch):
    monkeypatch.setattr(handler, "RETRY_POLICY", RetryPolicy(attempts=5, max_retry_after=600))
    simulator.faults["sale"] = Faults(fail_first=1, fail_status=503, retry_after="600")
    context = lambda_context("refresh", timeout_seconds=130)
    with pytest.raises(handler.RefreshFailed, match="no time left to retry after 1 attempts"):
        invoke({"datasets": ["sale"]}, context)


# Backfills that finish, bounded messages, only 200 (issue 24) -----------------------------------


def test_a_retry_of_the_same_invocation_skips_what_it_already_wrote(refresh_env, simulator):
    context = lambda_context("refresh")
    event = {"start_date": "2026-11-01", "end_date": "2026-11-03", "datasets": ["sale"]}
    first = invoke(event, context)
    asked = len(simulator.requests)
    assert asked == 3
    retried = invoke(event, context)  # Lambda's asynchronous retry: the same request id.
    assert len(simulator.requests) == asked, "nothing fetched again"
    assert retried["already_written"] == 3
    assert [export["rows"] for export in retried["exports"]] == [
        export["rows"] for export in first["exports"]
    ]
    head = refresh_env.head_object(Bucket=BUCKET, Key="sale/2026-11-01.csv")
    assert head["Metadata"]["refresh-request-id"] == context.aws_request_id
    versions = refresh_env.list_object_versions(Bucket=BUCKET, Prefix="sale/").get("Versions", [])
    assert len(versions) == 3, "no second version of any day"


def test_another_invocation_writes_the_day_again(refresh_env, simulator):
    invoke({"date": "2026-11-01", "datasets": ["sale"]}, lambda_context("refresh"))
    again = invoke({"date": "2026-11-01", "datasets": ["sale"]}, lambda_context("refresh"))
    assert again["already_written"] == 0
    assert len(simulator.requests) == 2


def test_an_export_is_skipped_only_on_its_own_request_id(refresh_env, simulator, monkeypatch):
    """A HeadObject that S3 refuses (403 without s3:ListBucket for a missing key) means: export."""
    context = lambda_context("refresh")
    s3 = refresh_env
    s3.put_object(
        Bucket=BUCKET, Key="sale/2026-11-01.csv", Body=b"old", Metadata={"refresh-request-id": "other"}
    )
    summary = invoke({"date": "2026-11-01", "datasets": ["sale"]}, context)
    assert summary["already_written"] == 0
    assert object_text(s3, "sale/2026-11-01.csv") != "old"


def test_the_summary_of_a_backfill_cut_short_gives_the_event_for_the_rest(
    refresh_env, simulator, monkeypatch
):
    clock = [0.0]
    monkeypatch.setattr(runner.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(handler.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(handler, "Exporter", partial(exporter_module.Exporter, clock=lambda: clock[0]))
    monkeypatch.setattr(handler, "PartnerApi", partial(PartnerApi, clock=lambda: clock[0]))
    monkeypatch.setattr(runner, "PARALLEL_EXPORTS", 1)
    original = exporter_module.Exporter.export

    def forty_seconds_each(self, dataset, day):
        result = original(self, dataset, day)
        clock[0] += 40
        return result

    monkeypatch.setattr(exporter_module.Exporter, "export", forty_seconds_each)
    # Fetching may go on for 130 s: three exports of 40 s start; the fourth would have 10 s.
    context = FixedContext(130 + UPLOAD_RESERVE_SECONDS + handler.SUMMARY_SECONDS)
    with pytest.raises(handler.RefreshFailed) as caught:
        invoke(
            {"start_date": "2026-11-01", "end_date": "2026-11-10", "datasets": ["sale", "category"]}, context
        )
    message = str(caught.value)
    assert "17 of 20 exports were not started for lack of time (days 2026-11-02 to 2026-11-10)" in message
    assert message.endswith('invoke with {"start_date": "2026-11-02", "end_date": "2026-11-10"}')
    assert len(simulator.requests) == 3, "every request made was for a file written"
    assert keys_in(refresh_env) == ["category/2026-11-01.csv", "sale/2026-11-01.csv", "sale/2026-11-02.csv"]


def test_the_rest_names_only_the_datasets_not_reached():
    plan = events.RefreshPlan(days=(date(2026, 11, 1), date(2026, 11, 2)), datasets=("sale", "category"))
    not_started = [exporter_module.ExportResult("category", date(2026, 11, 2), "k", not_started=True)]
    assert runner._rest_of(plan, not_started) == {
        "start_date": "2026-11-02",
        "end_date": "2026-11-02",
        "datasets": ["category"],
    }


def test_partner_key_names_are_cut_in_the_error_the_logs_and_the_summary(refresh_env, simulator, capsys):
    huge = "K" * 200_000
    simulator.state.payloads["establishment"] = json.dumps([{"id": 1, huge: 1}]).encode()
    simulator.state.payloads["category"] = json.dumps([{"id": 1, huge.lower(): 1, huge: 2}]).encode()
    with pytest.raises(handler.RefreshFailed) as caught:
        invoke({"date": "2026-11-20", "datasets": ["establishment", "category"]})
    assert len(str(caught.value)) < 1_000
    assert "differ only in case" in str(caught.value)
    assert "(199,936 more characters)" in str(caught.value)
    output = capsys.readouterr()
    lines = (output.out + output.err).splitlines()
    assert lines
    assert max(map(len, lines)) < 2_000
    written = [json.loads(line) for line in lines if '"export written"' in line]
    assert written[0]["extra_columns"] == ["K" * 64 + "…"]


def test_control_characters_of_the_partner_never_reach_a_message_raw(refresh_env, simulator):
    simulator.state.payloads["category"] = json.dumps(
        [{"id": 1, "a\x1b[31m\nb": 1, "A\x1b[31m\nB": 2}]
    ).encode()
    with pytest.raises(handler.RefreshFailed) as caught:
        invoke({"date": "2026-11-20", "datasets": ["category"]})
    assert "\x1b" not in str(caught.value)
    assert "\n" not in str(caught.value)
    assert "\\u001b[31m\\n" in str(caught.value)


@pytest.mark.parametrize("status", [201, 203, 204, 206])
def test_only_200_is_a_days_data(refresh_env, simulator, status):
    simulator.faults["category"] = Faults(always_status=status)
    with pytest.raises(handler.RefreshFailed, match=f"HTTP {status} from the partner API: only 200"):
        invoke({"date": "2026-11-20", "datasets": ["category"]})
    assert len(simulator.requests) == 1, "not retried"
    assert keys_in(refresh_env) == []


def test_a_byte_order_mark_is_dropped(refresh_env, simulator):
    simulator.state.payloads["category"] = b'\xef\xbb\xbf [{"id": 1, "name": "x", "isActive": true}]'
    summary = invoke({"date": "2026-11-20", "datasets": ["category"]})
    assert summary["exports"][0]["rows"] == 1
