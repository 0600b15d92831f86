"""A loopback RFC 3161 timestamp server for tests (127.0.0.1, one thread, bounded lifetime).

Tokens are built with asn1crypto's CMS classes and signed with cryptography, independently of the
project's own SignedData writer, using the test PKI's TSA certificate. ``mode`` makes it misbehave
on purpose (wrong nonce, wrong imprint, rejection, garbage) for the client's negative tests.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as a_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

GEN_TIME = dt.datetime(2025, 6, 1, 12, 0, 0, tzinfo=dt.UTC)
POLICY = "1.3.6.1.4.1.99999.1"


@dataclass
class TsaConfig:
    cert: x509.Certificate
    key: rsa.RSAPrivateKey
    chain: tuple[x509.Certificate, ...] = ()
    mode: str = "good"
    """good | bad-nonce | bad-imprint | reject | garbage | no-cert"""
    requests: list[bytes] = field(default_factory=list)


def make_token(config: TsaConfig, request: tsp.TimeStampReq) -> bytes:
    imprint = request["message_imprint"]
    hashed = imprint["hashed_message"].native
    if config.mode == "bad-imprint":
        hashed = bytes(len(hashed))
    nonce = request["nonce"].native
    if config.mode == "bad-nonce":
        nonce = (nonce or 0) + 1
    info = tsp.TSTInfo(
        {
            "version": "v1",
            "policy": POLICY,
            "message_imprint": {
                "hash_algorithm": imprint["hash_algorithm"],
                "hashed_message": hashed,
            },
            "serial_number": len(config.requests),
            "gen_time": GEN_TIME,
            "nonce": nonce,
        }
    )
    info_der = info.dump()
    cert_der = config.cert.public_bytes(serialization.Encoding.DER)
    a_cert = a_x509.Certificate.load(cert_der)
    signed_attrs = cms.CMSAttributes(
        [
            cms.CMSAttribute({"type": "content_type", "values": ["tst_info"]}),
            cms.CMSAttribute(
                {"type": "message_digest", "values": [hashlib.sha256(info_der).digest()]}
            ),
            cms.CMSAttribute(
                {
                    "type": "signing_certificate_v2",
                    "values": [
                        {"certs": [{"cert_hash": hashlib.sha256(cert_der).digest()}]},
                    ],
                }
            ),
        ]
    )
    to_sign = signed_attrs.dump()
    signature = config.key.sign(to_sign, padding.PKCS1v15(), hashes.SHA256())
    certs = [] if config.mode == "no-cert" else [a_cert]
    certs += [
        a_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in config.chain
    ]
    signed_data = cms.SignedData(
        {
            "version": "v3",
            "digest_algorithms": [algos.DigestAlgorithm({"algorithm": "sha256"})],
            "encap_content_info": {
                "content_type": "tst_info",
                "content": core.ParsableOctetString(info_der),
            },
            "certificates": certs,
            "signer_infos": [
                {
                    "version": "v1",
                    "sid": cms.SignerIdentifier(
                        {
                            "issuer_and_serial_number": {
                                "issuer": a_cert.issuer,
                                "serial_number": a_cert.serial_number,
                            }
                        }
                    ),
                    "digest_algorithm": {"algorithm": "sha256"},
                    "signed_attrs": signed_attrs,
                    "signature_algorithm": {"algorithm": "rsassa_pkcs1v15"},
                    "signature": signature,
                }
            ],
        }
    )
    token: bytes = cms.ContentInfo({"content_type": "signed_data", "content": signed_data}).dump()
    return token


def make_response(config: TsaConfig, body: bytes) -> bytes:
    config.requests.append(body)
    if config.mode == "garbage":
        return b"this is not DER"
    if config.mode == "reject":
        # asn1crypto insists on a token, so the rejection (status only) is wrapped by hand.
        status = tsp.PKIStatusInfo({"status": "rejection", "status_string": ["policy says no"]})
        body_der: bytes = status.dump()
        return b"\x30" + bytes((len(body_der),)) + body_der
    request = tsp.TimeStampReq.load(body)
    token = cms.ContentInfo.load(make_token(config, request))
    resp = tsp.TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": token})
    return bytes(resp.dump())


@contextmanager
def running_tsa(config: TsaConfig, timeout: float = 10.0) -> Iterator[str]:
    """Serve ``config`` on 127.0.0.1 (random port); yield its URL; stop within ``timeout``."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            if self.headers.get("Content-Type") != "application/timestamp-query":
                self.send_error(415, "expected application/timestamp-query")
                return
            reply = make_response(config, body)
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.timeout = timeout
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host!s}:{port}/tsa"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout)
