"""The signing seam's backends in-process: RFC 7512 URIs, the exec: program, and Azure Key Vault /
Trusted Signing against a loopback server speaking their documented REST shapes.

Oracles: every signature is checked with the fixture certificate's public key through
cryptography (the key the fake service holds is the fixture key, not anything the client made);
request shapes are read from the server's own log.
"""

from __future__ import annotations

import base64
import hashlib
import re
import sys
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils

from catalog.cms.backends import backend_of
from catalog.cms.backends.azure import (
    KEYVAULT_API,
    RestClient,
    open_keyvault_signer,
    open_trusted_signing_signer,
    parse_keyvault_uri,
    parse_metadata,
    parse_trusted_signing_uri,
    service_url,
)
from catalog.cms.backends.command import decode_signature, open_command_signer
from catalog.cms.backends.pkcs11 import parse_uri
from catalog.cms.signer import (
    SignerEnvironmentError,
    SignerInputError,
    SignerVerificationError,
    preflight_signer,
)
from tests.support.azure_server import TOKEN, AzureConfig, running_azure
from tests.support.signing import NOW, pki

DIGEST = hashlib.sha256(b"what a catalog signs").digest()


def _verifies(signature: bytes, digest: bytes = DIGEST) -> bool:
    public = pki().leaf.cert.public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    try:
        public.verify(signature, digest, padding.PKCS1v15(), utils.Prehashed(hashes.SHA256()))
    except Exception:  # noqa: BLE001
        return False
    return True


def _config(mode: str = "good", *, pending_polls: int = 2, throttle_count: int = 2) -> AzureConfig:
    leaf = pki().leaf
    assert isinstance(leaf.key, rsa.RSAPrivateKey)
    chain = (leaf.cert, pki().issuing.cert, pki().root.cert)
    return AzureConfig(leaf.key, chain, mode, pending_polls, throttle_count)


def _token(scope: str) -> str:
    return TOKEN


# --- choosing the backend, URIs --------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "backend"),
    [
        ("leaf.key.pem", "file"),
        ("pkcs11:token=t;object=k", "pkcs11"),
        ("azure-keyvault://v/keys/k", "azure-keyvault"),
        ("trusted-signing://eus.codesigning.azure.net/a/p", "trusted-signing"),
        ("exec:/usr/bin/signer --x", "command"),
    ],
)
def test_backend_is_chosen_by_the_key_value(key: str, backend: str) -> None:
    assert backend_of(key) == backend


def test_rfc7512_uri_is_decoded_and_shown_without_the_pin() -> None:
    # RFC 7512 section 3 example, with a PIN and a binary CKA_ID.
    uri = parse_uri(
        "pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;object=my-key;id=%01%a2"
        "?pin-value=1234&module-path=/usr/lib/x.so"
    )
    assert uri.get("token") == "The Software PKCS#11 Softtoken"
    assert uri.get("object") == "my-key"
    assert uri.raw("id") == b"\x01\xa2"
    assert uri.get("pin-value") == "1234"
    assert "1234" not in uri.display
    assert uri.display.startswith("pkcs11:token=The Software PKCS#11 Softtoken;object=my-key")


@pytest.mark.parametrize("bad", ["pkcs11:token=a;frobnicate=1", "pkcs11:token=a;token=b"])
def test_rfc7512_uri_refuses_unknown_or_repeated_attributes(bad: str) -> None:
    with pytest.raises(SignerInputError):
        parse_uri(bad)


def test_azure_uris_and_metadata() -> None:
    ref = parse_keyvault_uri("azure-keyvault://contoso/keys/release/0123abcd")
    assert (ref.vault, ref.name, ref.version) == ("contoso.vault.azure.net", "release", "0123abcd")
    assert parse_keyvault_uri("azure-keyvault://contoso/keys/release").version is None
    with pytest.raises(SignerInputError):
        parse_keyvault_uri("azure-keyvault://contoso/secrets/release")
    ts = parse_trusted_signing_uri("trusted-signing://eus.codesigning.azure.net/acct/prof")
    assert (ts.endpoint, ts.account, ts.profile) == ("eus.codesigning.azure.net", "acct", "prof")
    meta = parse_metadata(
        b'{"Endpoint": "https://eus.codesigning.azure.net", "CodeSigningAccountName": "acct",'
        b' "CertificateProfileName": "prof", "CorrelationId": "x"}',
        "metadata.json",
    )
    assert (meta.endpoint, meta.account, meta.profile) == (
        "https://eus.codesigning.azure.net",
        "acct",
        "prof",
    )
    with pytest.raises(SignerInputError, match="CertificateProfileName"):
        parse_metadata(b'{"Endpoint": "x"}', "metadata.json")


def test_plain_http_only_to_loopback() -> None:
    assert service_url("contoso.vault.azure.net") == "https://contoso.vault.azure.net"
    assert service_url("127.0.0.1:8080") == "http://127.0.0.1:8080"
    with pytest.raises(SignerInputError, match="https"):
        service_url("http://contoso.vault.azure.net")


# --- exec: ------------------------------------------------------------------------------------

_SIGNER_SCRIPT = """
import sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, utils
algorithm, hexdigest = sys.stdin.read().split()
assert algorithm == "sha256", algorithm
key = serialization.load_pem_private_key(open(sys.argv[1], "rb").read(), None)
sig = key.sign(bytes.fromhex(hexdigest), padding.PKCS1v15(), utils.Prehashed(hashes.SHA256()))
print(sig.hex() if sys.argv[2] == "hex" else __import__("base64").b64encode(sig).decode())
"""


def _script(tmp_path: Path, body: str) -> str:
    script = tmp_path / "signer.py"
    script.write_text(body)
    return f"exec:{sys.executable} {script}"


@pytest.mark.parametrize("form", ["hex", "base64"])
def test_exec_program_signs_the_digest(tmp_path: Path, form: str) -> None:
    key_pem = tmp_path / "k.pem"
    key_pem.write_bytes(pki().leaf.key_pem())
    signer = open_command_signer(
        f"{_script(tmp_path, _SIGNER_SCRIPT)} {key_pem} {form}",
        pki().leaf.cert,
        (pki().issuing.cert,),
    )
    preflight_signer(signer, NOW)
    assert _verifies(signer.sign_digest(DIGEST))


def test_exec_program_failure_shows_its_stderr(tmp_path: Path) -> None:
    key = _script(tmp_path, "import sys; sys.stderr.write('HSM says: slot 3 offline'); sys.exit(7)")
    signer = open_command_signer(key, pki().leaf.cert, ())
    with pytest.raises(SignerEnvironmentError, match=r"exit 7.*HSM says: slot 3 offline"):
        signer.sign_digest(DIGEST)


def test_exec_program_is_time_limited(tmp_path: Path) -> None:
    key = _script(tmp_path, "import sys, time; sys.stderr.write('waiting'); time.sleep(20)")
    signer = open_command_signer(key, pki().leaf.cert, (), timeout=1.0)
    start = time.monotonic()
    with pytest.raises(SignerEnvironmentError, match=r"did not answer within 1 s"):
        signer.sign_digest(DIGEST)
    assert time.monotonic() - start < 10


def test_exec_program_with_another_key_is_caught_before_signing(tmp_path: Path) -> None:
    other = tmp_path / "other.pem"
    other.write_bytes(pki().leaf_rsa3072.key_pem())
    key = f"{_script(tmp_path, _SIGNER_SCRIPT)} {other} hex"
    signer = open_command_signer(key, pki().leaf.cert, (pki().issuing.cert,))
    with pytest.raises(SignerVerificationError, match="does not belong to certificate"):
        preflight_signer(signer, NOW)


def test_signature_output_forms() -> None:
    raw = bytes(range(256))
    assert decode_signature(raw.hex().encode(), 256) == raw
    assert decode_signature(base64.b64encode(raw) + b"\n", 256) == raw
    assert decode_signature(b"not a signature", 256) is None


# --- Azure Key Vault --------------------------------------------------------------------------


def test_keyvault_signs_with_the_vault_certificate() -> None:
    config = _config()
    with running_azure(config) as host:
        signer = open_keyvault_signer(f"azure-keyvault://{host}/keys/release", tokens=_token)
        preflight_signer(signer, NOW)
        signature = signer.sign_digest(DIGEST)
    assert _verifies(signature)
    assert signer.certificate == pki().leaf.cert
    assert signer.requires_timestamp
    methods = [(m, p.split("?")[0]) for m, p, _ in config.requests]
    assert methods[:2] == [("GET", "/keys/release"), ("GET", "/certificates/release")]
    method, path, body = config.requests[-1]
    assert (method, path) == ("POST", f"/keys/release/v1/sign?api-version={KEYVAULT_API}")
    assert body["alg"] == "RS256"
    assert base64.urlsafe_b64decode(body["value"] + "=") == DIGEST
    assert "=" not in body["value"]


@pytest.mark.parametrize(
    ("mode", "token", "message"),
    [
        ("good", "expired-token", r"HTTP 401.*az login"),
        ("forbidden", TOKEN, r"HTTP 403.*Key Vault Crypto User"),
        ("rs384-only", TOKEN, r"HTTP 400.*Invalid length of the digest: 32 bytes"),
    ],
)
def test_keyvault_errors_name_the_backend_and_the_fix(mode: str, token: str, message: str) -> None:
    config = _config(mode)
    with running_azure(config) as host, pytest.raises(SignerEnvironmentError) as err:
        _keyvault_sign(f"azure-keyvault://{host}/keys/release/v9", token)
    assert str(err.value).startswith("azure-keyvault:")
    assert re.search(message, str(err.value))


def _keyvault_sign(key: str, token: str) -> bytes:
    return open_keyvault_signer(key, tokens=lambda scope: token).sign_digest(DIGEST)


def test_keyvault_throttling_waits_for_retry_after() -> None:
    config = _config("throttle", throttle_count=2)
    waits: list[float] = []
    with running_azure(config) as host:
        signer = open_keyvault_signer(
            f"azure-keyvault://{host}/keys/release", tokens=_token, sleep=waits.append
        )
        assert _verifies(signer.sign_digest(DIGEST))
    assert waits == [1.0, 1.0]


def test_keyvault_signature_that_does_not_verify_is_refused() -> None:
    with running_azure(_config("bad-signature")) as host:
        signer = open_keyvault_signer(f"azure-keyvault://{host}/keys/release", tokens=_token)
        with pytest.raises(SignerVerificationError, match="does not verify"):
            signer.sign_digest(DIGEST)


def test_keyvault_key_of_another_certificate_is_caught_in_preflight() -> None:
    with running_azure(_config("wrong-key")) as host:
        signer = open_keyvault_signer(f"azure-keyvault://{host}/keys/release", tokens=_token)
        with pytest.raises(SignerVerificationError, match="does not belong"):
            preflight_signer(signer, NOW)


def test_wrong_digest_length_is_refused_before_any_request() -> None:
    config = _config()
    with running_azure(config) as host:
        signer = open_keyvault_signer(f"azure-keyvault://{host}/keys/release", tokens=_token)
        sent = len(config.requests)
        with pytest.raises(SignerInputError, match="32 bytes, got 20"):
            signer.sign_digest(hashlib.sha1(b"x").digest())
    assert len(config.requests) == sent


def test_silent_service_times_out() -> None:
    with running_azure(_config("silent")) as host:
        start = time.monotonic()
        with pytest.raises(SignerEnvironmentError, match=r"no answer within 0.5 s"):
            open_keyvault_signer(
                f"azure-keyvault://{host}/keys/release", tokens=_token, timeout=0.5
            )
        assert time.monotonic() - start < 5


def test_client_refuses_a_redirect_off_its_service() -> None:
    client = RestClient("http://127.0.0.1:9", "trusted-signing", "scope", _token)
    with pytest.raises(SignerEnvironmentError, match="outside"):
        client.call("GET", "http://198.51.100.7/codesigningaccounts/x")


# --- Trusted Signing --------------------------------------------------------------------------


def test_trusted_signing_polls_the_operation_and_returns_the_chain() -> None:
    config = _config(pending_polls=2)
    with running_azure(config) as host:
        ref = parse_trusted_signing_uri(f"trusted-signing://{host}/acct/prof")
        signer = open_trusted_signing_signer(ref, tokens=_token, sleep=lambda s: None)
        preflight_signer(signer, NOW)
        signature = signer.sign_digest(DIGEST)
    assert _verifies(signature)
    assert signer.certificate == pki().leaf.cert
    assert signer.chain == (pki().issuing.cert, pki().root.cert)
    posts = [r for r in config.requests if r[0] == "POST"]
    assert posts[0][1].startswith("/codesigningaccounts/acct/certificateprofiles/prof:sign?")
    assert posts[-1][2] == {
        "signatureAlgorithm": "RS256",
        "digest": base64.b64encode(DIGEST).decode(),
    }
    polls = [p for m, p, _ in config.requests if m == "GET"]
    assert len(polls) == 3 * len(posts)  # two InProgress answers, then Succeeded, per operation
    assert all("/certificateprofiles/prof/sign/op" in p for p in polls)


def test_trusted_signing_forbidden_and_silent() -> None:
    with running_azure(_config("forbidden")) as host:
        ref = parse_trusted_signing_uri(f"trusted-signing://{host}/acct/prof")
        with pytest.raises(SignerEnvironmentError, match="Certificate Profile Signer"):
            open_trusted_signing_signer(ref, tokens=_token)
    with running_azure(_config("silent")) as host:
        ref = parse_trusted_signing_uri(f"trusted-signing://{host}/acct/prof")
        with pytest.raises(SignerEnvironmentError, match=r"no answer within 0\.5 s"):
            open_trusted_signing_signer(ref, tokens=_token, timeout=0.5)


def test_trusted_signing_bad_signature_is_refused() -> None:
    with running_azure(_config("bad-signature")) as host:
        ref = parse_trusted_signing_uri(f"trusted-signing://{host}/acct/prof")
        with pytest.raises(SignerVerificationError, match="does not verify with any certificate"):
            open_trusted_signing_signer(ref, tokens=_token, sleep=lambda s: None)
