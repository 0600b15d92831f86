"""Azure backends: Key Vault keys and Trusted Signing certificate profiles signing digests over
their documented REST APIs. azure-identity (optional extra ``azure``) is imported only here.

Key Vault (``--key azure-keyvault://VAULT/keys/NAME[/VERSION]``; VAULT is ``myvault`` for
``https://myvault.vault.azure.net``, or a host name): ``GET {vault}/keys/{name}[/{version}]``
resolves the key version and type, ``GET {vault}/certificates/{name}`` gives the certificate
(``cer``, DER in base64) unless ``--cert`` is given, and ``POST
{vault}/keys/{name}/{version}/sign`` with ``{"alg": "RS256", "value": base64url(digest)}``
returns ``{"kid", "value": base64url(signature)}`` (api-version 7.4, token scope
``https://vault.azure.net/.default``).

Trusted Signing (``--key trusted-signing://ENDPOINT/ACCOUNT/PROFILE``, or ``--metadata`` JSON with
``Endpoint``, ``CodeSigningAccountName``, ``CertificateProfileName`` as the signtool dlib reads it):
``POST {endpoint}/codesigningaccounts/{account}/certificateprofiles/{profile}:sign`` with
``{"signatureAlgorithm": "RS256", "digest": base64(digest)}`` starts a long-running operation
(202, ``Operation-Location``, ``{"operationId", "status"}``), polled until ``status`` is
``Succeeded`` with ``signature`` (base64) and ``signingCertificate`` (base64 of the certificate
chain; the chain is embedded in the signature). Token scope ``https://codesigning.azure.net/.default``.

Both: HTTPS only, except to a loopback host (tests); every request has a time limit; 429/503
are retried after ``Retry-After`` (bounded); 401/403 and other errors name the backend and the fix.
Signatures from these keys require an RFC 3161 timestamp by default (Trusted Signing certificates
live three days).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509

from catalog.asn1 import certificates_in
from catalog.cms.keys import UnsupportedKeyError, load_certificates, order_chain
from catalog.cms.signer import (
    KEY_CHECK_DIGEST,
    RemoteSigner,
    SignerEnvironmentError,
    SignerInputError,
    SignerVerificationError,
    verify_digest_signature,
)
from catalog.errors import CatalogInputError

KEYVAULT = "azure-keyvault"
TRUSTED_SIGNING = "trusted-signing"
KEYVAULT_API = "7.4"
TRUSTED_SIGNING_API = "2023-06-15-preview"
KEYVAULT_SCOPE = "https://vault.azure.net/.default"
TRUSTED_SIGNING_SCOPE = "https://codesigning.azure.net/.default"
TOKEN_ENV = "INSPECTOR_AZURE_ACCESS_TOKEN"  # noqa: S105 - a variable name, not a secret
DEFAULT_TIMEOUT = 30.0
_LOOPBACK = ("127.0.0.1", "localhost", "[::1]")
_JWS_ALG = {"sha256": "RS256", "sha384": "RS384", "sha512": "RS512"}

TokenSource = Callable[[str], str]
"""scope -> bearer token."""


def default_token_source(env: Mapping[str, str] | None = None) -> TokenSource:
    """``INSPECTOR_AZURE_ACCESS_TOKEN`` when set, else azure-identity's DefaultAzureCredential."""
    environ = os.environ if env is None else env
    fixed = environ.get(TOKEN_ENV)
    if fixed:
        return lambda scope: fixed

    def from_identity(scope: str) -> str:
        try:
            from azure.identity import DefaultAzureCredential
        except ImportError:
            raise SignerEnvironmentError(
                "azure: azure-identity is not installed; pip install "
                f"'wdac-package-inspector[azure]', or set {TOKEN_ENV} to a bearer token "
                "(az account get-access-token --scope ...)"
            ) from None
        try:
            token: str = DefaultAzureCredential().get_token(scope).token
        except Exception as exc:  # noqa: BLE001 - azure-identity raises many unrelated types
            raise SignerEnvironmentError(
                f"azure: no credential for {scope} ({type(exc).__name__}); run 'az login' or set "
                "AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET"
            ) from None
        return token

    return from_identity


def service_url(host: str) -> str:
    """``https://host``; ``http://`` only for a loopback host (tests), never anything else."""
    parsed = urllib.parse.urlsplit(host if "://" in host else f"//{host}")
    scheme = (parsed.scheme or "https").lower()
    hostname = (parsed.hostname or "").lower()
    if not hostname:
        raise SignerInputError(f"azure: {host!r} names no host")
    loopback = hostname in ("127.0.0.1", "localhost", "::1")
    if scheme == "http" and not loopback:
        raise SignerInputError(f"azure: {host!r} must use https://")
    if scheme not in ("http", "https"):
        raise SignerInputError(f"azure: {host!r} is not an http(s) endpoint")
    if not parsed.scheme:
        scheme = "http" if loopback else "https"
    return f"{scheme}://{parsed.netloc}"


@dataclass(frozen=True, slots=True)
class RestClient:
    """JSON over HTTP(S) with a bearer token, time limits and bounded 429/503 retries."""

    base: str
    backend: str
    scope: str
    tokens: TokenSource
    timeout: float = DEFAULT_TIMEOUT
    retries: int = 4
    max_wait: float = 30.0
    sleep: Callable[[float], None] = time.sleep
    permission_fix: str = "grant the identity the signing role"
    _token: list[str] = field(default_factory=list)

    def _bearer(self) -> str:
        if not self._token:
            self._token.append(self.tokens(self.scope))
        return self._token[0]

    def url(self, path: str) -> str:
        return self.base + path

    def call(
        self, method: str, url: str, body: dict[str, Any] | None = None
    ) -> tuple[int, Mapping[str, str], dict[str, Any]]:
        if not url.startswith(self.base + "/"):
            raise SignerEnvironmentError(
                f"{self.backend}: the service pointed to {url[:80]!r}, outside {self.base}; refused"
            )
        data = None if body is None else json.dumps(body).encode()
        for attempt in range(self.retries):
            request = urllib.request.Request(  # noqa: S310 - scheme checked by service_url
                url,
                data=data,
                method=method,
                headers={
                    "Authorization": f"Bearer {self._bearer()}",
                    "Content-Type": "application/json",
                    "Accept": "application/json",
                },
            )
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                    return response.status, dict(response.headers), _json(response.read())
            except urllib.error.HTTPError as exc:
                status, headers = exc.code, dict(exc.headers or {})
                try:
                    payload = _json(exc.read())
                except OSError:
                    payload = {}
            except (TimeoutError, urllib.error.URLError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                silent = isinstance(reason, TimeoutError) or "timed out" in str(reason)
                what = (
                    f"no answer within {self.timeout:g} s"
                    if silent
                    else f"cannot connect ({reason})"
                )
                raise SignerEnvironmentError(
                    f"{self.backend}: {self.base}: {what}; check the endpoint and the network "
                    "(or raise --sign-timeout)"
                ) from None
            if status in (429, 503) and attempt + 1 < self.retries:
                self.sleep(_retry_after(headers, self.max_wait))
                continue
            raise SignerEnvironmentError(self._explain(status, payload))
        raise SignerEnvironmentError(f"{self.backend}: still throttled after {self.retries} tries")

    def _explain(self, status: int, payload: dict[str, Any]) -> str:
        detail = _error_text(payload)
        prefix = f"{self.backend}: {self.base} answered HTTP {status}"
        if status == 401:
            return (
                f"{prefix} (unauthorized{detail}); the token was refused - run 'az login', set "
                f"the AZURE_* service principal variables, or a fresh {TOKEN_ENV}"
            )
        if status == 403:
            return f"{prefix} (forbidden{detail}); {self.permission_fix}"
        if status == 429:
            return f"{prefix} (throttled{detail}) after {self.retries} tries; try again later"
        if status == 404:
            return f"{prefix} (not found{detail}); check the vault/account, key and profile names"
        return f"{prefix}{detail or ''}; check the request and the service status"


def _json(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {"_text": raw[:200].decode("utf-8", "replace")}
    return value if isinstance(value, dict) else {"_value": value}


def _error_text(payload: dict[str, Any]) -> str:
    error = payload.get("error") or payload.get("errorDetail")
    if isinstance(error, dict):
        return f": {error.get('code', '?')} - {str(error.get('message', ''))[:300]}"
    if "_text" in payload:
        return f": {payload['_text']}"
    return ""


def _retry_after(headers: Mapping[str, str], cap: float, default: float = 2.0) -> float:
    """Seconds to wait: the Retry-After header (delay-seconds form), bounded by ``cap``."""
    for name, value in headers.items():
        if name.lower() == "retry-after":
            try:
                return max(0.0, min(float(value), cap))
            except ValueError:
                return min(5.0, cap)
    return min(default, cap)


def _b64(text: object, what: str, backend: str, *, url_safe: bool = False) -> bytes:
    if not isinstance(text, str):
        raise SignerEnvironmentError(f"{backend}: the service's answer has no {what}")
    padded = text + "=" * (-len(text) % 4)
    try:
        if url_safe:
            return base64.urlsafe_b64decode(padded)
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        raise SignerEnvironmentError(f"{backend}: the service's {what} is not base64") from None


# --- Key Vault -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeyVaultRef:
    vault: str
    name: str
    version: str | None


def parse_keyvault_uri(key: str) -> KeyVaultRef:
    rest = key[len("azure-keyvault://") :].strip("/")
    parts = rest.split("/")
    if len(parts) not in (3, 4) or parts[1].lower() != "keys" or not parts[0] or not parts[2]:
        raise SignerInputError(
            f"{KEYVAULT}: {key!r} is not azure-keyvault://VAULT/keys/NAME[/VERSION]"
        )
    vault = parts[0] if ("." in parts[0] or ":" in parts[0]) else f"{parts[0]}.vault.azure.net"
    return KeyVaultRef(vault, parts[2], parts[3] if len(parts) == 4 else None)


def open_keyvault_signer(
    key: str,
    *,
    cert_data: bytes | None = None,
    cert_source: str = "certificate",
    chain: tuple[x509.Certificate, ...] = (),
    tokens: TokenSource | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    sleep: Callable[[float], None] = time.sleep,
) -> RemoteSigner:
    """A signer for a Key Vault RSA key; the certificate from ``cert_data`` or the vault."""
    ref = parse_keyvault_uri(key)
    client = RestClient(
        service_url(ref.vault),
        KEYVAULT,
        KEYVAULT_SCOPE,
        tokens or default_token_source(),
        timeout,
        sleep=sleep,
        permission_fix="grant the identity 'Key Vault Crypto User' (keys/sign) on the vault",
    )
    version_path = f"/{ref.version}" if ref.version else ""
    _, _, info = client.call(
        "GET", client.url(f"/keys/{ref.name}{version_path}?api-version={KEYVAULT_API}")
    )
    found = info.get("key")
    jwk: dict[str, Any] = found if isinstance(found, dict) else {}
    kid = str(jwk.get("kid", ""))
    kty = str(jwk.get("kty", ""))
    if kty.startswith("EC"):
        raise UnsupportedKeyError(
            f"{KEYVAULT}: key {ref.name} is {kty}; WDAC signer rules need RSA 2048/3072/4096"
        )
    version = ref.version or kid.rstrip("/").rsplit("/", 1)[-1]
    if not version or not kty.startswith("RSA"):
        raise SignerEnvironmentError(
            f"{KEYVAULT}: the vault's answer for key {ref.name} has no RSA key/kid; check the name"
        )
    if cert_data is not None:
        certs = load_certificates(cert_data, cert_source)
        where = cert_source
    else:
        _, _, cert_info = client.call(
            "GET", client.url(f"/certificates/{ref.name}?api-version={KEYVAULT_API}")
        )
        der = _b64(cert_info.get("cer"), "certificate (cer)", KEYVAULT)
        certs = [x509.load_der_x509_certificate(der)]
        where = f"{ref.vault}/certificates/{ref.name}"
    sign_url = client.url(f"/keys/{ref.name}/{version}/sign?api-version={KEYVAULT_API}")

    def operation(digest: bytes, hash_name: str) -> bytes:
        body = {"alg": _JWS_ALG[hash_name], "value": _b64url(digest)}
        _, _, answer = client.call("POST", sign_url, body)
        return _b64(answer.get("value"), "signature value", KEYVAULT, url_safe=True)

    return RemoteSigner(
        backend=KEYVAULT,
        source=f"{ref.vault}/keys/{ref.name}/{version}",
        certificate=certs[0],
        chain=order_chain(certs[0], (*certs[1:], *chain), where),
        operation=operation,
        requires_timestamp=True,
        fix=f"the certificate ({where}) is not the key's, or the vault misbehaved",
    )


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# --- Trusted Signing -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TrustedSigningRef:
    endpoint: str
    account: str
    profile: str


def parse_trusted_signing_uri(key: str) -> TrustedSigningRef:
    parts = key[len("trusted-signing://") :].strip("/").split("/")
    if len(parts) != 3 or not all(parts):
        raise SignerInputError(
            f"{TRUSTED_SIGNING}: {key!r} is not trusted-signing://ENDPOINT/ACCOUNT/PROFILE "
            "(e.g. trusted-signing://eus.codesigning.azure.net/myaccount/myprofile)"
        )
    return TrustedSigningRef(parts[0], parts[1], parts[2])


def parse_metadata(data: bytes, source: str) -> TrustedSigningRef:
    """The signtool dlib's metadata.json: its Endpoint, CodeSigningAccountName and
    CertificateProfileName."""
    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise SignerInputError(f"{source}: not JSON ({exc})") from None
    keys = ("Endpoint", "CodeSigningAccountName", "CertificateProfileName")
    if not isinstance(doc, dict) or not all(isinstance(doc.get(k), str) and doc[k] for k in keys):
        raise SignerInputError(
            f"{source}: a Trusted Signing metadata file needs the strings {', '.join(keys)}"
        )
    return TrustedSigningRef(
        doc["Endpoint"], doc["CodeSigningAccountName"], doc["CertificateProfileName"]
    )


_PENDING = frozenset({"", "notstarted", "inprogress", "running"})


@dataclass(frozen=True, slots=True)
class _TrustedSigningOperation:
    client: RestClient
    path: str
    poll_limit: float

    def run(self, digest: bytes, hash_name: str) -> tuple[bytes, list[bytes]]:
        """Start a sign operation, poll it to the end: (signature, certificates DER)."""
        client = self.client
        body = {
            "signatureAlgorithm": _JWS_ALG[hash_name],
            "digest": base64.b64encode(digest).decode(),
        }
        url = client.url(f"{self.path}:sign?api-version={TRUSTED_SIGNING_API}")
        _, headers, answer = client.call("POST", url, body)
        location = next((v for k, v in headers.items() if k.lower() == "operation-location"), None)
        if location is not None and location.startswith("/"):
            location = client.url(location)
        op_id = str(answer.get("operationId") or answer.get("id") or "")
        deadline = time.monotonic() + self.poll_limit
        while _status(answer) in _PENDING:
            if time.monotonic() > deadline:
                raise SignerEnvironmentError(
                    f"{TRUSTED_SIGNING}: sign operation {op_id or '?'} still running after "
                    f"{self.poll_limit:g} s; try again later"
                )
            client.sleep(_retry_after(headers, 5.0, default=0.5))
            poll = location or client.url(
                f"{self.path}/sign/{op_id}?api-version={TRUSTED_SIGNING_API}"
            )
            if not op_id and not location:
                raise SignerEnvironmentError(
                    f"{TRUSTED_SIGNING}: the service gave no operation id to poll"
                )
            _, headers, answer = client.call("GET", poll)
        if _status(answer) != "succeeded":
            raise SignerEnvironmentError(
                f"{TRUSTED_SIGNING}: sign operation {op_id or '?'} ended {answer.get('status')!r}"
                f"{_error_text(answer)}; check the certificate profile is active"
            )
        signature = _b64(answer.get("signature"), "signature", TRUSTED_SIGNING)
        certs = _certificates(
            _b64(answer.get("signingCertificate"), "certificate", TRUSTED_SIGNING)
        )
        return signature, certs


def _status(answer: dict[str, Any]) -> str:
    return str(answer.get("status") or "").replace(" ", "").lower()


def _certificates(blob: bytes) -> list[bytes]:
    """The chain the service returned: PKCS#7, PEM or DER, possibly base64 once more."""
    for candidate in (blob, _maybe_b64(blob)):
        if candidate is None:
            continue
        try:
            found = certificates_in(candidate, "signingCertificate")
        except CatalogInputError:
            continue
        if found:
            return found
    raise SignerEnvironmentError(
        f"{TRUSTED_SIGNING}: the returned signingCertificate holds no readable certificate"
    )


def _maybe_b64(blob: bytes) -> bytes | None:
    try:
        return base64.b64decode(b"".join(blob.split()), validate=True)
    except (binascii.Error, ValueError):
        return None


def open_trusted_signing_signer(
    ref: TrustedSigningRef,
    *,
    tokens: TokenSource | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    poll_limit: float = 120.0,
    sleep: Callable[[float], None] = time.sleep,
) -> RemoteSigner:
    """A signer for a Trusted Signing certificate profile; the chain comes with a test signature."""
    client = RestClient(
        service_url(ref.endpoint),
        TRUSTED_SIGNING,
        TRUSTED_SIGNING_SCOPE,
        tokens or default_token_source(),
        timeout,
        sleep=sleep,
        permission_fix="grant the identity 'Trusted Signing Certificate Profile Signer' on the "
        "certificate profile",
    )
    path = f"/codesigningaccounts/{ref.account}/certificateprofiles/{ref.profile}"
    op = _TrustedSigningOperation(client, path, poll_limit)
    signature, ders = op.run(KEY_CHECK_DIGEST, "sha256")
    certs = [x509.load_der_x509_certificate(d) for d in ders]
    leaf = next(
        (c for c in certs if verify_digest_signature(c, signature, KEY_CHECK_DIGEST, "sha256")),
        None,
    )
    if leaf is None:
        raise SignerVerificationError(
            f"{TRUSTED_SIGNING}: the signature returned for profile {ref.profile} does not verify "
            "with any certificate returned with it; the service misbehaved - try again or "
            "contact its support"
        )

    def operation(digest: bytes, hash_name: str) -> bytes:
        return op.run(digest, hash_name)[0]

    return RemoteSigner(
        backend=TRUSTED_SIGNING,
        source=f"{client.base}{path}",
        certificate=leaf,
        chain=order_chain(leaf, certs, f"{ref.profile} chain"),
        operation=operation,
        requires_timestamp=True,
        fix="the service returned a signature its certificate does not verify; try again",
    )
