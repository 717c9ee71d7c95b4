"""Every byte of the partner's answer is under the deadline: connecting, the status line, the
headers, the body and its decompression (issue 24). A real socket on loopback trickles one byte
at a time at each stage, so that no read ever times out: only the deadline ends the request,
within a second of it, with an error that says what was still under way."""

import time
from datetime import date

import pytest

from refresh_partner_data.partner_client import PartnerApi, PartnerApiError
from stand_ins.trickling_server import STAGES, TricklingServer

DEADLINE_SECONDS = 1.5
STILL = {
    "connect": "still connecting at the deadline",
    "status": "still waiting for the status line and headers at the deadline",
    "headers": "still waiting for the status line and headers at the deadline",
    "body": "still reading the body at the deadline",
    "gzip": "still reading the body at the deadline",
}


@pytest.mark.parametrize("stage", STAGES)
def test_a_trickle_at_any_stage_is_cut_within_a_second_of_the_deadline(stage):
    with TricklingServer(stage) as partner:
        api = PartnerApi(partner.url, "token")
        started = time.monotonic()
        with (
            pytest.raises(PartnerApiError) as caught,
            api.rows("sale", date(2026, 11, 27), deadline=started + DEADLINE_SECONDS) as rows,
        ):
            list(rows)
        elapsed = time.monotonic() - started
    assert DEADLINE_SECONDS - 0.05 < elapsed < DEADLINE_SECONDS + 1
    assert STILL[stage] in str(caught.value)
    assert "the response did not arrive in time" in str(caught.value)
    assert not caught.value.retryable, "no time is left to retry"


def test_the_connect_timeout_is_cut_to_the_time_left(monkeypatch):
    import urllib3

    sent = []
    original = urllib3.PoolManager.request

    def spying(self, method, url, **kwargs):
        sent.append(kwargs["timeout"])
        return original(self, method, url, **kwargs)

    monkeypatch.setattr(urllib3.PoolManager, "request", spying)
    with TricklingServer("connect") as partner:
        api = PartnerApi(partner.url, "token", timeout=urllib3.Timeout(connect=10.0, read=60.0))
        with (
            pytest.raises(PartnerApiError),
            api.rows("sale", date(2026, 11, 27), deadline=time.monotonic() + 1),
        ):
            pass
    assert 1.15 < sent[0].connect_timeout <= 1.25, "the time left, and a quarter second"
    assert sent[0].read_timeout == 60.0


def test_a_request_past_its_deadline_is_not_sent():
    api = PartnerApi("http://127.0.0.1:9/never", "token")
    with (
        pytest.raises(PartnerApiError, match="no time left to send the request"),
        api.rows("sale", date(2026, 11, 27), deadline=time.monotonic() - 1),
    ):
        pass


def test_the_watchdog_is_stopped_with_the_request(monkeypatch):
    """A finished request leaves no timer behind to shut a socket another request may reuse."""
    import threading

    import urllib3

    with TricklingServer("connect") as partner:
        api = PartnerApi(partner.url, "token", timeout=urllib3.Timeout(connect=0.5, read=1.0))
        before = threading.active_count()
        with (
            pytest.raises(PartnerApiError),
            api.rows("sale", date(2026, 11, 27), deadline=time.monotonic() + 60),
        ):
            pass
    time.sleep(0.1)
    assert threading.active_count() <= before
