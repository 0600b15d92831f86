"""``inspector verify --online``: CRLs fetched from the signer's own distribution point, served by a
real HTTP server on 127.0.0.1 (tests/support/crl_server.py), through the real CLI.

The PKI is made per test because the leaf's CRL URL carries the server's port. Independent oracle
for revoked vs good: ``openssl verify -crl_check`` on the same CA, leaf and served CRL.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from catalog.cms import FetchLimits
from catalog.cms.crlfetch import fetch_crl
from tests.conftest import require_tool
from tests.support.crl_server import (
    Answer,
    CrlPki,
    CrlServer,
    closed_port,
    crl_server,
    der,
    key_for,
    make_crl,
    make_pki,
)
from tests.support.inspector_sign_cli import run

MIB = 1024 * 1024


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fetcher honours http(s)_proxy as admins expect; a CI machine's proxy must not carry
    the requests meant for the loopback server."""
    for scheme in ("http", "https", "all"):
        monkeypatch.delenv(f"{scheme}_proxy", raising=False)
        monkeypatch.delenv(f"{scheme.upper()}_PROXY", raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture
def server() -> Iterator[CrlServer]:
    with crl_server() as s:
        yield s


def _files(pki: CrlPki, tmp_path: Path) -> tuple[Path, Path]:
    ca = tmp_path / "ca.pem"
    ca.write_bytes(pki.pem(pki.root))
    cat = tmp_path / "app.cat"
    cat.write_bytes(pki.signed_catalog())
    return ca, cat


def _verify(
    pki: CrlPki, tmp_path: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, str, str]:
    ca, cat = _files(pki, tmp_path)
    return run(["verify", str(cat), "--roots", str(ca), "--online", *extra], capsys)


def _openssl_revoked(pki: CrlPki, crl: bytes, tmp_path: Path) -> bool:
    """openssl's verdict on the leaf with the served CRL: True revoked, False good."""
    tool = require_tool("openssl")
    ca = tmp_path / "oracle-ca.pem"
    ca.write_bytes(pki.pem(pki.root))
    leaf = tmp_path / "oracle-leaf.pem"
    leaf.write_bytes(pki.pem(pki.leaf))
    fetched = tmp_path / "fetched.crl"
    fetched.write_bytes(crl)
    done = subprocess.run(
        [tool, "verify", "-crl_check", "-CAfile", ca, "-CRLfile", fetched, leaf],
        capture_output=True,
        text=True,
        check=False,
    )
    text = done.stdout + done.stderr
    if done.returncode == 0:
        assert ": OK" in text, text
        return False
    assert "certificate revoked" in text, text
    return True


def crl_pem(crl_der: bytes) -> bytes:
    return x509.load_der_x509_crl(crl_der).public_bytes(serialization.Encoding.PEM)


def test_good_crl_from_the_leafs_distribution_point(
    server: CrlServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = server.url("/ca.crl")
    pki = make_pki((url,))
    crl = der(make_crl(pki.root.subject, pki.root_key))
    server.routes["/ca.crl"] = Answer(crl)
    code, out, err = _verify(pki, tmp_path, capsys)
    assert code == 0, out + err
    assert f"good (CRL {url})" in out
    assert "revocation: checked 1 of 1 certificate(s)" in out
    assert server.hits == ["/ca.crl"]
    code, out, _ = _verify(pki, tmp_path, capsys, "--json")
    doc = json.loads(out)
    assert code == 0
    assert doc["online"] is True
    assert doc["revocation_complete"] is True
    assert doc["crl_fetches"] == [{"url": url, "bytes": len(crl), "failure": None}]
    (check,) = doc["signature"]["revocation_checks"]
    assert (check["status"], check["source"], check["crl_urls"]) == ("good", url, [url])
    assert _openssl_revoked(pki, crl_pem(crl), tmp_path) is False


def test_crl_listing_the_leaf_fails_the_verification(
    server: CrlServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = server.url("/ca.crl")
    pki = make_pki((url,))
    crl = der(make_crl(pki.root.subject, pki.root_key, (pki.leaf.serial_number,)))
    server.routes["/ca.crl"] = Answer(crl)
    code, out, err = _verify(pki, tmp_path, capsys)
    assert code == 1, out + err
    assert f"revoked on 2025-06-01 00:00:00Z, reason keyCompromise (CRL {url})" in out
    assert "was revoked on 2025-06-01" in out
    assert out.rstrip().endswith("FAILED")
    code, out, _ = _verify(pki, tmp_path, capsys, "--json")
    (check,) = json.loads(out)["signature"]["revocation_checks"]
    assert (check["status"], check["reason"], check["serial"]) == (
        "revoked",
        "keyCompromise",
        "3A5E",
    )
    assert _openssl_revoked(pki, crl_pem(crl), tmp_path) is True


UNKNOWN_CASES = [
    "server-down",
    "http-404",
    "oversized-declared",
    "oversized-streamed",
    "other-key",
    "stale",
    "not-a-crl",
    "ldap-only",
]


@pytest.mark.parametrize("case", UNKNOWN_CASES)
def test_unusable_crl_is_unknown_not_failed(
    case: str, server: CrlServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = server.url("/ca.crl")
    if case == "server-down":
        url = f"http://127.0.0.1:{closed_port()}/ca.crl"
    elif case == "ldap-only":
        url = "ldap://127.0.0.1/cn=CRL%20Test%20Root?certificateRevocationList"
    pki = make_pki((url,))
    good = der(make_crl(pki.root.subject, pki.root_key))
    expected = {
        "server-down": "unreachable (",
        "http-404": "HTTP 404",
        "oversized-declared": "refused: Content-Length 23068672 is over the 20,971,520-byte limit",
        "oversized-streamed": "refused: the body is over the 20,971,520-byte limit",
        "other-key": f"the CRL from {url} is not used: its signature does not verify with the key",
        "stale": f"the CRL from {url} is not used: it is stale (nextUpdate 2025-12-15 00:00:00Z",
        "not-a-crl": "the response is not a DER or PEM CRL",
        "ldap-only": "skipped: ldap URLs are not fetched",
    }[case]
    if case == "oversized-declared":
        server.routes["/ca.crl"] = Answer(good, declared_length=22 * MIB)
    elif case == "oversized-streamed":
        server.routes["/ca.crl"] = Answer(endless=True)
    elif case == "other-key":
        server.routes["/ca.crl"] = Answer(der(make_crl(pki.root.subject, key_for("attacker"))))
    elif case == "stale":
        stale = make_crl(
            pki.root.subject,
            pki.root_key,
            this_update=dt.datetime(2025, 11, 1, tzinfo=dt.UTC),
            next_update=dt.datetime(2025, 12, 15, tzinfo=dt.UTC),
        )
        server.routes["/ca.crl"] = Answer(der(stale))
    elif case == "not-a-crl":
        server.routes["/ca.crl"] = Answer(b"<html>captive portal</html>")
    # http-404: no route
    code, out, err = _verify(pki, tmp_path, capsys)
    assert code == 4, out + err
    assert "unknown - could not check: " in out, out
    assert expected in out, out
    assert "checked 0 of 1 certificate(s)" in out
    assert "NOT checked for 1" in out
    assert "revocation could not be checked for 1 certificate" in err
    assert "good (" not in out
    if case == "ldap-only":
        assert server.hits == []
    if case == "oversized-streamed":
        sent = _wait_for(server, "/ca.crl")
        assert 20 * MIB < sent < 1 << 30  # the client stopped reading past the cap
    code, out, _ = _verify(pki, tmp_path, capsys, "--json")
    doc = json.loads(out)
    assert code == 4
    assert doc["ok"] is True
    assert doc["revocation_complete"] is False
    (check,) = doc["signature"]["revocation_checks"]
    assert check["status"] == "unknown"
    assert expected in check["detail"]


def _wait_for(server: CrlServer, path: str) -> int:
    deadline = time.monotonic() + 10
    while path not in server.sent and time.monotonic() < deadline:
        time.sleep(0.05)
    return server.sent[path]


def test_online_together_with_crl_files(
    server: CrlServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A --crl file covers a certificate whose distribution point is down; a revoking --crl file
    wins over a good fetched CRL (any usable CRL listing the certificate revokes it)."""
    down = f"http://127.0.0.1:{closed_port()}/ca.crl"
    pki = make_pki((down,))
    given = tmp_path / "given.crl"
    given.write_bytes(der(make_crl(pki.root.subject, pki.root_key)))
    code, out, err = _verify(pki, tmp_path, capsys, "--crl", str(given))
    assert code == 0, out + err
    assert f"good (CRL {given})" in out

    url = server.url("/ca.crl")
    pki = make_pki((url,))
    server.routes["/ca.crl"] = Answer(der(make_crl(pki.root.subject, pki.root_key)))
    revoking = tmp_path / "revoking.pem"
    revoking.write_bytes(
        make_crl(pki.root.subject, pki.root_key, (pki.leaf.serial_number,)).public_bytes(
            serialization.Encoding.PEM
        )
    )
    code, out, err = _verify(pki, tmp_path, capsys, "--crl", str(revoking))
    assert code == 1, out + err
    assert f"(CRL {revoking})" in out
    assert "revoked on 2025-06-01" in out
    assert server.hits == ["/ca.crl"]


def test_every_certificate_below_the_root_is_checked(
    server: CrlServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """root -> issuing CA -> leaf: the CA's URL gives the root's CRL, the leaf's the CA's."""
    pki = make_pki((server.url("/issuing.crl"),), ca_urls=(server.url("/root.crl"),))
    ca_cert, ca_key = pki.chain[1]
    server.routes["/issuing.crl"] = Answer(der(make_crl(ca_cert.subject, ca_key)))
    server.routes["/root.crl"] = Answer(b"", status=503)
    code, out, err = _verify(pki, tmp_path, capsys, "--json")
    assert code == 4, out + err
    checks = json.loads(out)["signature"]["revocation_checks"]
    assert [(c["subject"].split(",")[0], c["status"]) for c in checks] == [
        ("CN=CRL Test Signer", "good"),
        ("CN=CRL Test Issuing CA", "unknown"),
    ]
    assert "HTTP 503" in checks[1]["detail"]
    server.routes["/root.crl"] = Answer(der(make_crl(pki.root.subject, pki.root_key)))
    code, out, err = _verify(pki, tmp_path, capsys)
    assert code == 0, out + err
    assert "checked 2 of 2 certificate(s)" in out


# --- the fetcher's limits, on the same loopback server -------------------------------------------


def test_redirects_are_few_and_http_only(server: CrlServer) -> None:
    body = der(make_crl(make_pki(()).root.subject, make_pki(()).root_key))
    server.routes["/ca.crl"] = Answer(body)
    server.routes["/moved"] = Answer(status=302, location=server.url("/ca.crl"))
    assert fetch_crl(server.url("/moved")).body == body
    server.routes["/to-file"] = Answer(status=302, location="file:///etc/passwd")
    got = fetch_crl(server.url("/to-file"))
    assert got.body is None
    assert got.failure == (
        "HTTP 302 Found - Redirection to url 'file:///etc/passwd' is not allowed"  # urllib's
    )
    server.routes["/to-ftp"] = Answer(status=302, location="ftp://127.0.0.1/ca.crl")
    got = fetch_crl(server.url("/to-ftp"))
    assert got.body is None
    assert got.failure == (
        "HTTP 302 redirect to a non-http(s) URL 'ftp://127.0.0.1/ca.crl' refused"  # ours
    )
    for i in range(5):
        server.routes[f"/hop{i}"] = Answer(status=302, location=server.url(f"/hop{i + 1}"))
    server.routes["/hop5"] = Answer(body)
    server.hits.clear()
    got = fetch_crl(server.url("/hop0"), FetchLimits(max_redirects=3))
    assert got.body is None
    assert got.failure is not None
    assert got.failure.startswith("HTTP 302")
    assert server.hits == ["/hop0", "/hop1", "/hop2", "/hop3"]


def test_a_slow_server_times_out(server: CrlServer) -> None:
    server.routes["/slow.crl"] = Answer(b"x", delay=3.0)
    started = time.monotonic()
    got = fetch_crl(server.url("/slow.crl"), dataclasses.replace(FetchLimits(), timeout=0.5))
    assert got.failure == "timed out after 0.5 s"
    assert time.monotonic() - started < 2.5


def test_a_dripping_body_meets_the_deadline(server: CrlServer) -> None:
    """Each piece arrives well within the socket timeout; the whole body would take 20 s."""
    server.routes["/drip.crl"] = Answer(bytes(16 * 100), drip=0.2)
    started = time.monotonic()
    got = fetch_crl(server.url("/drip.crl"), dataclasses.replace(FetchLimits(), timeout=1.0))
    assert got.failure == "timed out after 1 s"
    assert time.monotonic() - started < 3.0


def test_only_http_urls_are_opened() -> None:
    for url in ("file:///etc/passwd", "ftp://127.0.0.1/x.crl", "ldap://127.0.0.1/cn=x"):
        got = fetch_crl(url)
        assert got.body is None
        assert got.failure == "skipped: only http and https URLs are fetched"
