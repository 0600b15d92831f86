"""A loopback CRL server (127.0.0.1, port 0) and a small PKI whose leaf names it as its CRL
distribution point, made at test time with cryptography (independently of the code under test).

``CrlServer.routes`` maps a path to what it answers: a body (served as application/pkix-crl), an
HTTP status, a redirect, a declared-but-huge Content-Length, an endless body or a delay.
"""

from __future__ import annotations

import datetime as dt
import http.server
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from catalog.cms.signed_data import OID_CTL, SignOptions, resign
from fixtures.pki import VALID_FROM, VALID_UNTIL
from tests.support.chains import SIGNING_TIME, unsigned_catalog

THIS_UPDATE = dt.datetime(2025, 12, 1, tzinfo=dt.UTC)
NEXT_UPDATE = dt.datetime(2046, 1, 1, tzinfo=dt.UTC)
REVOKED_AT = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
"""Before the catalogs' signingTime (2026-01-01)."""


@dataclass
class Answer:
    """What the server sends for one path."""

    body: bytes = b""
    status: int = 200
    location: str | None = None
    declared_length: int | None = None
    """Send this Content-Length (and only ``body``) instead of the real length."""
    endless: bool = False
    """Close-delimited body of zeros that never ends (until the client hangs up)."""
    delay: float = 0.0
    drip: float = 0.0
    """Send the body 16 bytes at a time with this pause between pieces."""


@dataclass
class CrlServer:
    port: int
    routes: dict[str, Answer] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)
    sent: dict[str, int] = field(default_factory=dict)
    """Bytes of body written per path (endless answers stop when the client closes)."""

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@contextmanager
def crl_server() -> Iterator[CrlServer]:
    state = CrlServer(0)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_GET(self) -> None:
            state.hits.append(self.path)
            answer = state.routes.get(self.path, Answer(status=404))
            if answer.delay:
                time.sleep(answer.delay)
            self.send_response(answer.status)
            if answer.location is not None:
                self.send_header("Location", answer.location)
            self.send_header("Content-Type", "application/pkix-crl")
            if not answer.endless:
                length = answer.declared_length or len(answer.body)
                self.send_header("Content-Length", str(length))
            self.end_headers()
            written = 0
            try:
                if answer.endless:
                    chunk = bytes(256 * 1024)
                    while written < 1 << 30:
                        self.wfile.write(chunk)
                        written += len(chunk)
                elif answer.drip:
                    for at in range(0, len(answer.body), 16):
                        self.wfile.write(answer.body[at : at + 16])
                        self.wfile.flush()
                        written += len(answer.body[at : at + 16])
                        time.sleep(answer.drip)
                else:
                    self.wfile.write(answer.body)
                    written = len(answer.body)
            except OSError:
                pass  # the client hung up: what the size cap is for
            state.sent[self.path] = written

        def log_message(self, format: str, *args: object) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- the PKI -------------------------------------------------------------------------------------


@cache
def key_for(name: str) -> rsa.RSAPrivateKey:
    """One RSA 2048 key per name per test session."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Inspector CRL Test PKI"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _ku(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _cdp(urls: tuple[str, ...]) -> x509.CRLDistributionPoints:
    return x509.CRLDistributionPoints(
        [
            x509.DistributionPoint(
                full_name=[x509.UniformResourceIdentifier(u)],
                relative_name=None,
                reasons=None,
                crl_issuer=None,
            )
            for u in urls
        ]
    )


@dataclass(frozen=True, slots=True)
class CrlPki:
    root: x509.Certificate
    root_key: rsa.RSAPrivateKey
    chain: tuple[tuple[x509.Certificate, rsa.RSAPrivateKey], ...]
    """Issued certificates with keys, leaf first (intermediates after it, root excluded)."""

    @property
    def leaf(self) -> x509.Certificate:
        return self.chain[0][0]

    def pem(self, cert: x509.Certificate) -> bytes:
        return cert.public_bytes(serialization.Encoding.PEM)

    def signed_catalog(self) -> bytes:
        """A small catalog signed by the leaf (intermediates embedded), signingTime 2026-01-01."""
        leaf, key = self.chain[0]
        return resign(
            unsigned_catalog(),
            "crl.cat",
            leaf.public_bytes(serialization.Encoding.DER),
            [c.public_bytes(serialization.Encoding.DER) for c, _ in self.chain[1:]],
            lambda data: key.sign(data, padding.PKCS1v15(), hashes.SHA256()),
            SignOptions(signing_time=SIGNING_TIME),
            expected_content_type=OID_CTL,
        )


def _cert(
    subject: str,
    key: rsa.RSAPrivateKey,
    issuer: tuple[x509.Name, rsa.RSAPrivateKey],
    serial: int,
    *,
    ca: bool,
    urls: tuple[str, ...] = (),
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer[0])
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(VALID_FROM)
        .not_valid_after(VALID_UNTIL)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(_ku(ca=ca), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer[0] != _name(subject):
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer[1].public_key()),
            critical=False,
        )
    if not ca:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False
        )
    if urls:
        builder = builder.add_extension(_cdp(urls), critical=False)
    return builder.sign(issuer[1], hashes.SHA256())


def make_pki(leaf_urls: tuple[str, ...], ca_urls: tuple[str, ...] | None = None) -> CrlPki:
    """Root -> leaf, or root -> issuing CA (with ``ca_urls``) -> leaf when ``ca_urls`` is given."""
    root_key = key_for("root")
    root = _cert("CRL Test Root", root_key, (_name("CRL Test Root"), root_key), 0x100, ca=True)
    chain: list[tuple[x509.Certificate, rsa.RSAPrivateKey]] = []
    issuer = (root.subject, root_key)
    if ca_urls is not None:
        ca_key = key_for("issuing")
        ca = _cert("CRL Test Issuing CA", ca_key, issuer, 0x200, ca=True, urls=ca_urls)
        chain.append((ca, ca_key))
        issuer = (ca.subject, ca_key)
    leaf_key = key_for("leaf")
    leaf = _cert("CRL Test Signer", leaf_key, issuer, 0x3A5E, ca=False, urls=leaf_urls)
    return CrlPki(root, root_key, ((leaf, leaf_key), *chain))


def make_crl(
    issuer: x509.Name,
    key: rsa.RSAPrivateKey,
    revoked: tuple[int, ...] = (),
    *,
    this_update: dt.datetime = THIS_UPDATE,
    next_update: dt.datetime = NEXT_UPDATE,
    reason: x509.ReasonFlags | None = x509.ReasonFlags.key_compromise,
) -> x509.CertificateRevocationList:
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer)
        .last_update(this_update)
        .next_update(next_update)
    )
    for serial in revoked:
        entry = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(REVOKED_AT)
        if reason is not None:
            entry = entry.add_extension(x509.CRLReason(reason), critical=False)
        builder = builder.add_revoked_certificate(entry.build())
    return builder.sign(key, hashes.SHA256())


def der(crl: x509.CertificateRevocationList) -> bytes:
    return crl.public_bytes(serialization.Encoding.DER)
