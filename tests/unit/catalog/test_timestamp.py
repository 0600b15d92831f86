"""RFC 3161 client against a loopback TSA whose tokens are built with asn1crypto, not our code."""

from __future__ import annotations

import socket

import pytest
from asn1crypto import cms, tsp

from catalog.cms.timestamp import Rfc3161Timestamper, build_request, http_transport, parse_response
from catalog.errors import CatalogEnvironmentError, CatalogVerificationError
from tests.support.catalog_timestamp import _config
from tests.support.signing import pki
from tests.support.tsa_server import GEN_TIME, TsaConfig, make_response, running_tsa


def test_request_shape() -> None:
    req = tsp.TimeStampReq.load(build_request(b"signature bytes", nonce=42))
    assert req["version"].native == "v1"
    assert req["nonce"].native == 42
    assert req["cert_req"].native is True
    imprint = req["message_imprint"]
    assert imprint["hash_algorithm"]["algorithm"].native == "sha256"
    import hashlib

    assert imprint["hashed_message"].native == hashlib.sha256(b"signature bytes").digest()


def test_loopback_tsa_over_http() -> None:
    config = _config()
    with running_tsa(config) as url:
        stamper = Rfc3161Timestamper(url, nonce_source=lambda: 7)
        token = stamper(b"encrypted digest")
    assert len(config.requests) == 1
    info = cms.ContentInfo.load(token)
    tst = tsp.TSTInfo.load(info["content"]["encap_content_info"]["content"].parsed.dump())
    assert tst["gen_time"].native == GEN_TIME
    assert tst["nonce"].native == 7


@pytest.mark.parametrize(
    ("mode", "needle"),
    [
        ("bad-nonce", "nonce"),
        ("bad-imprint", "imprint"),
        ("reject", "refused.*policy says no"),
        ("garbage", "not an RFC 3161"),
    ],
)
def test_bad_replies_are_refused(mode: str, needle: str) -> None:
    config = _config(mode)

    def transport(url: str, body: bytes) -> bytes:
        return make_response(config, body)

    with pytest.raises(CatalogVerificationError, match=needle):
        Rfc3161Timestamper("http://tsa.invalid/", transport, lambda: 99)(b"sig")


def test_tsa_certificate_without_timestamping_eku() -> None:
    leaf = pki().leaf  # a code-signing certificate posing as a TSA
    config = TsaConfig(leaf.cert, leaf.key, chain=leaf.chain[:1])  # type: ignore[arg-type]
    body = build_request(b"sig", 5)
    with pytest.raises(CatalogVerificationError, match="timeStamping"):
        parse_response(make_response(config, body), b"sig", 5, "tsa")


def test_unreachable_server_is_an_environment_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # Nothing listens on the port any more: connection refused, quickly.
    with pytest.raises(CatalogEnvironmentError, match="timestamp server"):
        http_transport(f"http://127.0.0.1:{port}/", b"x", timeout=5)
    with pytest.raises(CatalogEnvironmentError, match="http"):
        http_transport("file:///etc/passwd", b"x")
