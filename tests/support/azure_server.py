"""A loopback stand-in for Azure Key Vault and Trusted Signing (127.0.0.1 only, bounded lifetime).

It implements the documented request/response shapes the client uses, independently of the client:

* Key Vault 7.4: ``GET /keys/{name}[/{version}]`` -> ``{"key": {"kid", "kty", "n", "e"}}``,
  ``GET /certificates/{name}`` -> ``{"cer": base64 DER}``, ``POST /keys/{name}/{version}/sign``
  ``{"alg": "RS256", "value": base64url digest}`` -> ``{"kid", "value": base64url signature}``;
  errors as ``{"error": {"code", "message"}}``.
* Trusted Signing: ``POST /codesigningaccounts/{a}/certificateprofiles/{p}:sign``
  ``{"signatureAlgorithm", "digest"}`` -> 202 + ``Operation-Location`` + ``{"operationId",
  "status": "InProgress"}``; ``GET .../sign/{id}`` -> InProgress ``pending_polls`` times, then
  ``{"status": "Succeeded", "signature", "signingCertificate"}`` (base64 of a base64 PKCS#7
  certificate bundle, the way jsign decodes it).

Every request needs ``Authorization: Bearer <token>`` (401 otherwise). ``mode`` misbehaves on
purpose: ``forbidden`` (403), ``throttle`` (429 + Retry-After for the first ``throttle_count``
requests), ``silent`` (accepts, then says nothing for 20 s), ``bad-signature`` (a corrupted
signature), ``wrong-key`` (signs with another key), ``rs384-only`` (the key wants 48-byte digests).
"""

from __future__ import annotations

import base64
import http.server
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils
from cryptography.hazmat.primitives.serialization import pkcs7

TOKEN = "loopback-test-token"
"""The fake bearer token the loopback server accepts."""
SILENCE = 20.0


@dataclass
class AzureConfig:
    key: rsa.RSAPrivateKey
    certificates: tuple[x509.Certificate, ...]
    """Leaf first, then its issuers (what Trusted Signing returns)."""
    mode: str = "good"
    pending_polls: int = 2
    throttle_count: int = 2
    requests: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    """Set when the test ends: a ``silent`` handler stops waiting."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _n_e(key: rsa.RSAPrivateKey) -> tuple[str, str]:
    numbers = key.public_key().public_numbers()
    n = numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")
    e = numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")
    return _b64url(n), _b64url(e)


def _sign(config: AzureConfig, digest: bytes) -> bytes:
    key = config.key
    if config.mode == "wrong-key":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    signature = key.sign(digest, padding.PKCS1v15(), utils.Prehashed(hashes.SHA256()))
    if config.mode == "bad-signature":
        signature = signature[:-1] + bytes([signature[-1] ^ 1])
    return signature


@contextmanager
def running_azure(config: AzureConfig, timeout: float = 10.0) -> Iterator[str]:
    """Serve ``config`` on 127.0.0.1 (random port); yield ``127.0.0.1:PORT``."""
    operations: dict[str, bytes] = {}
    polls: dict[str, int] = {}
    counter = {"requests": 0}
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _send(
            self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
        ) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def _error(self, status: int, code: str, message: str, **headers: str) -> None:
            self._send(status, {"error": {"code": code, "message": message}}, headers)

        def _handle(self, method: str) -> None:
            length = int(self.headers.get("Content-Length", "0") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else {}
            with lock:
                config.requests.append((method, self.path, body))
                counter["requests"] += 1
                n = counter["requests"]
            if config.mode == "silent":
                config.release.wait(SILENCE)
                return
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self._error(401, "Unauthorized", "AKV10000: Request is missing a Bearer token")
                return
            if config.mode == "forbidden":
                self._error(403, "Forbidden", "The user does not have sign permission")
                return
            if config.mode == "throttle" and n <= config.throttle_count:
                self._error(429, "Throttled", "Too many requests", **{"Retry-After": "1"})
                return
            path, _, _query = self.path.partition("?")
            parts = [p for p in path.split("/") if p]
            host = f"http://{self.headers.get('Host')}"
            if parts[:1] == ["keys"]:
                self._keyvault(method, parts, body, host)
            elif parts[:1] == ["certificates"] and method == "GET":
                der = config.certificates[0].public_bytes(serialization.Encoding.DER)
                self._send(200, {"cer": base64.b64encode(der).decode(), "id": host + path})
            elif parts[:1] == ["codesigningaccounts"]:
                self._trusted_signing(method, parts, body, host)
            else:
                self._error(404, "NotFound", f"no route {path}")

        def _keyvault(self, method: str, parts: list[str], body: dict[str, Any], host: str) -> None:
            name = parts[1]
            if method == "GET":
                n_b64, e_b64 = _n_e(config.key)
                kid = f"{host}/keys/{name}/{parts[2] if len(parts) > 2 else 'v1'}"
                self._send(200, {"key": {"kid": kid, "kty": "RSA-HSM", "n": n_b64, "e": e_b64}})
                return
            if len(parts) != 4 or parts[3] != "sign":
                self._error(404, "NotFound", "no such operation")
                return
            wanted = 48 if config.mode == "rs384-only" else 32
            digest = _unb64url(str(body.get("value", "")))
            if body.get("alg") != ("RS384" if wanted == 48 else "RS256") or len(digest) != wanted:
                self._error(
                    400,
                    "BadParameter",
                    f"Invalid length of the digest: {len(digest)} bytes for algorithm "
                    f"{body.get('alg')}",
                )
                return
            kid = f"{host}/keys/{name}/{parts[2]}"
            self._send(200, {"kid": kid, "value": _b64url(_sign(config, digest))})

        def _trusted_signing(
            self, method: str, parts: list[str], body: dict[str, Any], host: str
        ) -> None:
            if method == "POST" and len(parts) == 4 and parts[3].endswith(":sign"):
                digest = base64.b64decode(str(body.get("digest", "")))
                if body.get("signatureAlgorithm") != "RS256" or len(digest) != 32:
                    self._send(
                        400,
                        {"errorDetail": {"code": "BadRequest", "message": "digest length"}},
                    )
                    return
                op = f"op{len(operations) + 1}"
                operations[op] = digest
                polls[op] = 0
                profile = parts[3][: -len(":sign")]
                location = (
                    f"{host}/codesigningaccounts/{parts[1]}/certificateprofiles/{profile}/sign/{op}"
                    "?api-version=2023-06-15-preview"
                )
                self._send(
                    202,
                    {"operationId": op, "status": "InProgress"},
                    {"Operation-Location": location, "Retry-After": "0"},
                )
                return
            if method == "GET" and len(parts) == 6 and parts[4] == "sign":
                op = parts[5]
                if op not in operations:
                    self._error(404, "NotFound", "no such operation")
                    return
                polls[op] += 1
                if polls[op] <= config.pending_polls:
                    self._send(
                        200, {"operationId": op, "status": "InProgress"}, {"Retry-After": "0"}
                    )
                    return
                bundle = pkcs7.serialize_certificates(
                    list(config.certificates), serialization.Encoding.DER
                )
                self._send(
                    200,
                    {
                        "operationId": op,
                        "status": "Succeeded",
                        "signature": base64.b64encode(_sign(config, operations[op])).decode(),
                        "signingCertificate": base64.b64encode(base64.b64encode(bundle)).decode(),
                    },
                )
                return
            self._error(404, "NotFound", "no such route")

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"{host!s}:{port}"
    finally:
        config.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout)
