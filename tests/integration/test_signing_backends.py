"""``inspector sign`` / ``policy sign`` through every backend, as real processes.

PKCS#11: a real SoftHSM2 token (key imported, key file deleted). Azure Key Vault and Trusted
Signing: the loopback server of tests/support/azure_server.py. exec: a Python program. Oracles:
osslsigncode verify (catalog signature, chain to the fixture root, RFC 3161 timestamp) and
``openssl cms -verify`` (a signed policy gives back the compiled policy byte for byte).
Every failure must name the backend, exit 4 (environment) or 1 (verification), and leave no file.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from fixtures.pki import PKI_DIR
from inspector.pipeline import policies
from tests.conftest import require_tool
from tests.support.azure_server import TOKEN, AzureConfig, running_azure
from tests.support.signing import pki
from tests.support.softhsm import PIN, SoftHsm, make_softhsm
from tests.support.tsa_server import TsaConfig, running_tsa

ROOT_PEM = PKI_DIR / "root-ca.pem"
ISSUING_PEM = PKI_DIR / "issuing-ca.pem"
TOKEN_LABEL = "inspector-token"
BARE_TOKEN = "no-cert-token"


def inspector(
    *args: str | Path, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "inspector", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


def verify_cat(cat: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require_tool("osslsigncode"), "verify", "-CAfile", ROOT_PEM, "-TSA-CAfile", ROOT_PEM,
         "-ignore-crl", "-in", cat],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def hsm(tmp_path_factory: pytest.TempPathFactory) -> SoftHsm:
    token = make_softhsm(tmp_path_factory.mktemp("softhsm"))
    token.add_token(TOKEN_LABEL)
    token.import_key(TOKEN_LABEL, pki().leaf, "signing-key", "01")
    token.import_cert(TOKEN_LABEL, pki().leaf, "signing-key", "01")
    token.add_token(BARE_TOKEN)
    token.import_key(BARE_TOKEN, pki().leaf, "lonely-key", "02")
    token.generate_ec_key(BARE_TOKEN, "ec-key", "03")
    assert not list(token.folder.glob("*.pem")), "the key files must be gone"
    return token


@pytest.fixture
def catalog(tmp_path: Path, oracle_dir: Path) -> Path:
    shutil.copy(oracle_dir / "makecat" / "unsigned.cat", tmp_path / "app.cat")
    return tmp_path / "app.cat"


@pytest.fixture
def tsa_url() -> Iterator[str]:
    tsa = pki().tsa
    with running_tsa(TsaConfig(tsa.cert, tsa.key, chain=tsa.chain[:1])) as url:  # type: ignore[arg-type]
        yield url


def _policy_cip(tmp_path: Path) -> Path:
    """An enforced base policy with the issuing CA as UpdatePolicySigner, compiled."""
    xml, cip = tmp_path / "base.xml", tmp_path / "base.cip"
    policies.new_base_policy(xml, template="enforced", name="Signed")
    policies.edit_policy(xml, None, remove_options=["6"], update_signer=PKI_DIR / "leaf-chain.pem")
    policies.compile_file(xml, str(cip))
    return cip


def _cms_content(signed: Path) -> bytes:
    done = subprocess.run(
        [require_tool("openssl"), "cms", "-verify", "-inform", "DER", "-binary", "-CAfile",
         ROOT_PEM, "-purpose", "any", "-in", signed],
        capture_output=True, check=False, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


# --- PKCS#11 (SoftHSM2) -----------------------------------------------------------------------


def test_pkcs11_catalog_with_token_certificate_and_fallback_timestamp(
    hsm: SoftHsm, catalog: Path, tsa_url: str
) -> None:
    pin_file = hsm.folder / "pin.txt"
    pin_file.write_text(PIN + "\n")
    out = catalog.with_name("signed.cat")
    done = inspector(
        "sign", catalog, "-o", out, "--chain", ISSUING_PEM,
        "--key", f"pkcs11:token={TOKEN_LABEL};object=signing-key?pin-source=file:{pin_file}",
        "--pkcs11-module", hsm.module,
        # a dead server first: the list is tried in order
        "--timestamp", "http://127.0.0.1:9/none", "--timestamp", tsa_url, "--json",
        env=hsm.env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["backend"] == "pkcs11"
    assert PIN not in done.stdout + done.stderr
    checked = verify_cat(out)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Signature verification: ok" in checked.stdout
    assert "Timestamp Server Signature verification: ok" in checked.stdout


def test_pkcs11_policy_pin_and_module_from_environment(hsm: SoftHsm, tmp_path: Path) -> None:
    cip = _policy_cip(tmp_path)
    signed = tmp_path / "signed.cip"
    env = {**hsm.env, "INSPECTOR_PKCS11_PIN": PIN, "INSPECTOR_PKCS11_MODULE": hsm.module}
    done = inspector(
        "policy", "sign", cip, "-o", signed, "--chain", ISSUING_PEM,
        "--key", f"pkcs11:token={TOKEN_LABEL};id=%01",
        "--cert", f"pkcs11:token={TOKEN_LABEL};object=signing-key",
        env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert _cms_content(signed) == cip.read_bytes()


@pytest.mark.parametrize(
    ("key", "extra", "code", "message"),
    [
        (f"pkcs11:token={TOKEN_LABEL};object=signing-key?pin-value=999999", [], 4, "wrong PIN"),
        (f"pkcs11:token={TOKEN_LABEL};object=absent?pin-value={PIN}", [], 4, "no private key"),
        (f"pkcs11:token=no-such-token;object=k?pin-value={PIN}", [], 4, "no token matches"),
        (f"pkcs11:token={BARE_TOKEN};object=lonely-key?pin-value={PIN}", [], 4, "--cert"),
        (
            f"pkcs11:token={TOKEN_LABEL};object=signing-key?pin-value={PIN}",
            ["--cert", str(PKI_DIR / "leaf-rsa3072.pem")],
            1,
            "does not belong",
        ),
    ],
    ids=["wrong-pin", "missing-object", "missing-token", "token-without-cert", "key-cert-mismatch"],
)
def test_pkcs11_bad_input_is_named_and_writes_nothing(
    hsm: SoftHsm, catalog: Path, key: str, extra: list[str], code: int, message: str
) -> None:
    _refused(hsm, catalog, key, extra, code, message)


def test_pkcs11_ecdsa_key_is_refused(hsm: SoftHsm, catalog: Path) -> None:
    key = f"pkcs11:token={BARE_TOKEN};object=ec-key?pin-value={PIN}"
    _refused(hsm, catalog, key, ["--cert", str(PKI_DIR / "leaf.pem")], 3, "not RSA")


def _refused(
    hsm: SoftHsm, catalog: Path, key: str, extra: list[str], code: int, message: str
) -> None:
    out = catalog.with_name("signed.cat")
    done = inspector(
        "sign", catalog, "-o", out, "--key", key, "--pkcs11-module", hsm.module, *extra,
        env=hsm.env,
    )  # fmt: skip
    assert done.returncode == code, done.stdout + done.stderr
    assert "pkcs11" in done.stderr
    assert message in done.stderr
    assert "999999" not in done.stderr
    assert PIN not in done.stderr
    assert not out.exists()


# --- exec: ------------------------------------------------------------------------------------

_PROGRAM = """
import sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, utils
algorithm, digest = sys.stdin.read().split()
key = serialization.load_pem_private_key(open(sys.argv[1], "rb").read(), None)
print(key.sign(bytes.fromhex(digest), padding.PKCS1v15(), utils.Prehashed(hashes.SHA256())).hex())
"""


def test_exec_program_catalog_verifies_with_osslsigncode(catalog: Path, tmp_path: Path) -> None:
    program = tmp_path / "sign.py"
    program.write_text(_PROGRAM)
    out = catalog.with_name("signed.cat")
    done = inspector(
        "sign", catalog, "-o", out, "--cert", PKI_DIR / "leaf.pem", "--chain", ISSUING_PEM,
        "--key", f"exec:{sys.executable} {program} {PKI_DIR / 'leaf.key.pem'}",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    checked = verify_cat(out)
    assert checked.returncode == 0, checked.stdout + checked.stderr


# --- Azure Key Vault / Trusted Signing (loopback) ---------------------------------------------


def _azure(mode: str = "good") -> AzureConfig:
    leaf = pki().leaf
    assert isinstance(leaf.key, rsa.RSAPrivateKey)
    return AzureConfig(leaf.key, (leaf.cert, pki().issuing.cert, pki().root.cert), mode)


AZURE_ENV = {**os.environ, "INSPECTOR_AZURE_ACCESS_TOKEN": TOKEN}


def test_trusted_signing_metadata_catalog_is_timestamped_and_verifies(
    catalog: Path, tmp_path: Path, tsa_url: str
) -> None:
    with running_azure(_azure()) as host:
        metadata = tmp_path / "metadata.json"
        metadata.write_text(
            json.dumps(
                {
                    "Endpoint": f"http://{host}",
                    "CodeSigningAccountName": "acct",
                    "CertificateProfileName": "prof",
                }
            )
        )
        out = catalog.with_name("signed.cat")
        unstamped = inspector("sign", catalog, "-o", out, "--metadata", metadata, env=AZURE_ENV)
        assert unstamped.returncode == 3, unstamped.stderr
        assert "--timestamp" in unstamped.stderr
        assert not out.exists()
        done = inspector(
            "sign", catalog, "-o", out, "--metadata", metadata, "--timestamp", tsa_url,
            env=AZURE_ENV,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    checked = verify_cat(out)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Timestamp Server Signature verification: ok" in checked.stdout


def test_keyvault_policy_verifies_with_openssl(tmp_path: Path, tsa_url: str) -> None:
    cip = _policy_cip(tmp_path)
    signed = tmp_path / "signed.cip"
    with running_azure(_azure()) as host:
        done = inspector(
            "policy", "sign", cip, "-o", signed, "--key", f"azure-keyvault://{host}/keys/wdac",
            "--chain", ISSUING_PEM, "--timestamp", tsa_url, "--json", env=AZURE_ENV,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["timestamped"] is True
    assert _cms_content(signed) == cip.read_bytes()


@pytest.mark.parametrize(
    ("mode", "code", "message"),
    [("bad-signature", 1, "does not verify"), ("silent", 4, "no answer within 1 s")],
)
def test_service_failures_exit_cleanly(catalog: Path, mode: str, code: int, message: str) -> None:
    out = catalog.with_name("signed.cat")
    with running_azure(_azure(mode)) as host:
        start = time.monotonic()
        done = inspector(
            "sign", catalog, "-o", out, "--key", f"trusted-signing://{host}/acct/prof",
            "--no-timestamp-required", "--sign-timeout", "1", env=AZURE_ENV,
        )  # fmt: skip
        elapsed = time.monotonic() - start
    assert done.returncode == code, done.stderr
    assert done.stderr.startswith("error: trusted-signing")
    assert message in done.stderr
    assert not out.exists()
    assert elapsed < 15
