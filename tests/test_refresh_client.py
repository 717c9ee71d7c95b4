import json
import random
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from refresh_partner_data.partner_client import PartnerApi, PartnerApiError, RetryPolicy, parse_retry_after
from stand_ins.partner_api_simulator import PATH, PartnerApiSimulator
from stand_ins.synthetic_partner_data import CATEGORY_NAMES, Volume, cnpj, row_count, rows_json, sales_count

DAY = date(2026, 3, 1)


def test_the_token_goes_in_the_functions_key_header_and_in_no_url():
    api = PartnerApi("https://partner.example/api/Get?region=br", "s3cr3t&x")
    assert api.url("sale", DAY) == "https://partner.example/api/Get?region=br&table=sale&saleDate=2026-03-01"
    assert api.headers()["x-functions-key"] == "s3cr3t&x"
    assert api.headers()["Accept-Encoding"] == "gzip"


def test_the_token_can_go_in_the_query_as_code_and_is_redacted_there():
    api = PartnerApi("https://partner.example/api/Get?region=br", "s3cr3t&x", token_in="query")
    assert api.url("sale", DAY) == (
        "https://partner.example/api/Get?region=br&table=sale&saleDate=2026-03-01&code=s3cr3t%26x"
    )
    assert api.url("sale", DAY, redacted=True).endswith("&code=***")
    assert "x-functions-key" not in api.headers()


def test_without_a_token_nothing_carries_one():
    for place in ("header", "query"):
        api = PartnerApi("https://p.example/x", None, token_in=place)
        assert "code" not in api.url("sale", DAY)
        assert "x-functions-key" not in api.headers()
    with pytest.raises(ValueError, match="header or query"):
        PartnerApi("https://p.example/x", "t", token_in="cookie")


def test_backoff_is_exponential_with_full_jitter_and_bounded():
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0)
    rng = random.Random(7)
    for failed, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (9, 8.0)]:
        delays = [policy.delay(failed, None, rng) for _ in range(200)]
        assert min(delays) >= 0
        assert max(delays) <= ceiling
        assert max(delays) > ceiling / 2


def test_retry_after_wins_within_its_bound():
    policy = RetryPolicy(max_retry_after=60)
    rng = random.Random(1)
    assert policy.delay(1, 7.0, rng) == 7.0
    assert policy.delay(1, 3600.0, rng) == 60
    assert policy.delay(1, -5.0, rng) == 0.0


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (" 3 ", 3.0),
        ("Sat, 28 Nov 2026 12:00:30 GMT", 30.0),
        ("Sat, 28 Nov 2026 11:00:00 GMT", 0.0),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(header, seconds):
    assert parse_retry_after(header, now=datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)) == seconds


def test_connection_refused_is_retryable():
    with PartnerApiSimulator() as simulator:
        url = simulator.url
    api = PartnerApi(url, None)
    with pytest.raises(PartnerApiError) as caught, api.rows("sale", DAY):
        pass
    assert caught.value.retryable
    assert "127.0.0.1" not in str(caught.value)


@pytest.mark.parametrize(
    ("body", "message"),
    [(b'  {"rows": []}', "a JSON object, not the array of rows"), (b'"text"', "not a JSON array")],
)
def test_a_body_that_is_not_an_array_is_malformed(body, message):
    with PartnerApiSimulator() as simulator:
        simulator.state.payloads["sale"] = body
        api = PartnerApi(simulator.url, None)
        with pytest.raises(PartnerApiError, match=message) as caught, api.rows("sale", DAY) as rows:
            list(rows)
    assert not caught.value.retryable


def test_empty_body_is_malformed():
    with PartnerApiSimulator() as simulator:
        simulator.state.payloads["sale"] = b""
        api = PartnerApi(simulator.url, None)
        with (
            pytest.raises(PartnerApiError, match="body is empty") as caught,
            api.rows("sale", DAY) as rows,
        ):
            list(rows)
    assert not caught.value.retryable


# The simulator itself ---------------------------------------------------------------------------


def fetch(url: str) -> tuple[int, object]:
    try:
        with urllib.request.urlopen(url) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_simulator_serves_every_table_in_its_real_shape():
    volume = Volume(establishments=10, sales_per_day=5)
    with PartnerApiSimulator(token="tok", volume=volume) as simulator:
        status, sales = fetch(f"{simulator.url}?table=sale&saleDate=2026-03-01&code=tok")
        assert status == 200
        assert len(sales) == sales_count(DAY, volume) == row_count("sale", DAY, volume)
        assert set(sales[0]) == {"id", "cnpj", "idCategory", "category", "saleDate", "value", "amount"}
        assert set(sales[0]["category"]) == {"id", "name", "isActive"}
        assert sales[0]["saleDate"].startswith("2026-03-01T")
        _, categories = fetch(f"{simulator.url}?table=category&code=tok")
        assert [c["name"] for c in categories] == list(CATEGORY_NAMES)
        _, establishments = fetch(f"{simulator.url}?table=establishment&code=tok")
        assert establishments[-1] == {"id": 10, "cnpj": cnpj(10)}
        assert all(13 <= len(str(e["cnpj"])) <= 14 for e in establishments)
    assert [json.loads(row) for row in rows_json("sale", DAY, volume)] == sales


@pytest.mark.parametrize(
    ("query", "status", "error"),
    [
        ("?table=sale", 401, "missing or invalid code"),
        ("?table=sale&code=nope", 401, "missing or invalid code"),
        ("?code=tok", 400, "table is required"),
        ("?table=users&code=tok", 400, "unknown table users"),
        ("?table=sale&saleDate=2026-02-30&code=tok", 400, "saleDate must be YYYY-MM-DD"),
        ("?table=sale&saleDate=yesterday&code=tok", 400, "saleDate must be YYYY-MM-DD"),
    ],
)
def test_simulator_refuses_bad_requests(query, status, error):
    with PartnerApiSimulator(token="tok") as simulator:
        assert fetch(simulator.url + query) == (status, {"error": error})
        assert simulator.requests[0].status == status


def test_simulator_answers_404_elsewhere():
    with PartnerApiSimulator() as simulator:
        base = simulator.url.removesuffix(PATH)
        assert fetch(base + "/other") == (404, {"error": "not found"})


def test_unknown_table_names_are_refused_by_the_generator():
    with pytest.raises(ValueError, match="unknown table"):
        list(rows_json("users", DAY, Volume()))


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_simulator_command_line_serves_until_interrupted(stop_signal):
    command = ["--token", "tok", "--establishments", "3", "--fail-first", "1"]
    process = subprocess.Popen(
        [sys.executable, "-m", "stand_ins.partner_api_simulator", *command],
        cwd=Path(__file__).parents[1],
        stdout=subprocess.PIPE,
        text=True,
        # As a script's background job starts it: Ctrl-C must still stop it.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),  # noqa: PLW1509
    )
    try:
        line = process.stdout.readline()
        url = line.rsplit(" ", 1)[-1].strip()
        assert fetch(f"{url}?table=establishment&code=tok")[0] == 503
        assert fetch(f"{url}?table=establishment&code=tok") == (
            200,
            [{"id": i, "cnpj": cnpj(i)} for i in (1, 2, 3)],
        )
    finally:
        process.send_signal(stop_signal)
        assert process.wait(timeout=10) == 0
