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


def assert_cut_at_the_deadline(api: PartnerApi, stage: str) -> None:
    """Reading the day from ``api`` ends within a second of its deadline, saying what was slow."""
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


@pytest.mark.parametrize("stage", STAGES)
def test_a_trickle_at_any_stage_is_cut_within_a_second_of_the_deadline(stage):
    with TricklingServer(stage) as partner:
        assert_cut_at_the_deadline(PartnerApi(partner.url, "token"), stage)


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


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1: the server's context, and the client's CA file."""
    import datetime
    import ipaddress
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "partner.test")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return server, str(folder / "cert.pem")


@pytest.mark.parametrize("stage", ["status", "headers", "body", "gzip"])
def test_over_https_a_trickle_is_cut_as_well(tls, stage):
    """The partner is an HTTPS endpoint: the watchdog shuts an SSLSocket, and the read blocked in
    it ends the same way."""
    import urllib3

    server_context, ca_file = tls
    with TricklingServer(stage, tls=server_context) as partner:
        assert partner.url.startswith("https://")
        http = urllib3.PoolManager(cert_reqs="CERT_REQUIRED", ca_certs=ca_file)
        assert_cut_at_the_deadline(PartnerApi(partner.url, "token", http=http), stage)


def test_the_pool_gets_its_connection_back_after_the_watchdog_cut_the_headers():
    import urllib3

    with TricklingServer("headers") as partner:
        http = urllib3.PoolManager(num_pools=1, maxsize=1)
        api = PartnerApi(partner.url, "token", http=http)
        with (
            pytest.raises(PartnerApiError, match="still waiting for the status line and headers"),
            api.rows("sale", date(2026, 11, 27), deadline=time.monotonic() + 0.5),
        ):
            pass
        assert http.connection_from_url(partner.url).pool.qsize() == 1, "the connection went back"
