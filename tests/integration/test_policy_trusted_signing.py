"""Trusted Signing in policies: a signer bound to a customer EKU, and the Device Guard-style
default policy for a signing service's signer.

Oracles: ``openssl asn1parse`` decodes the EKU value's OID body (our 01-length-body blob with the
01 turned into the DER OBJECT IDENTIFIER tag 06) and finds the RFC 3161 timestamp attribute in the
signed policy; ``openssl cms -verify`` returns the compiled policy byte for byte; TBS hashes are
SHA-256 over cryptography's ``tbs_certificate_bytes``; the customer EKU OID is the test's constant.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from typer.testing import CliRunner

from fixtures.pki import PKI_DIR
from inspector.cli import app
from inspector.cli.exit_codes import exit_code_for
from tests.conftest import require_tool
from tests.support.azure_server import TOKEN, AzureConfig, running_azure
from tests.support.signing import CUSTOMER_EKU, customer_eku_leaf, pki, write_identity
from tests.support.tsa_server import TsaConfig, running_tsa

NS = {"p": "urn:schemas-microsoft-com:sipolicy"}
ROOT_PEM = PKI_DIR / "root-ca.pem"
BASE_ID = "{3B5C2E8A-1D4F-4A6B-9C7E-2F0A1B3C5D7E}"
runner = CliRunner()


def invoke(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        return int(exit_code_for(result.exception)), str(result.exception)
    return result.exit_code, result.output


def openssl(*args: str | Path, data: bytes | None = None) -> bytes:
    done = subprocess.run(
        [require_tool("openssl"), *map(str, args)],
        input=data,
        capture_output=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def oid_of_eku_value(value: str) -> str:
    """openssl's reading of an EKU value: 01 -> 06 makes the blob a DER OBJECT IDENTIFIER."""
    blob = bytes.fromhex(value)
    text = openssl("asn1parse", "-inform", "DER", data=b"\x06" + blob[1:]).decode()
    found = re.search(r"OBJECT\s*:(\S+)", text)
    assert found, text
    return found.group(1)


def tbs_sha256(cert_pem: Path) -> str:
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(cert_pem.read_bytes())
    return hashlib.sha256(cert.tbs_certificate_bytes).hexdigest().upper()


@pytest.fixture
def tsa_url() -> Iterator[str]:
    tsa = pki().tsa
    with running_tsa(TsaConfig(tsa.cert, tsa.key, chain=tsa.chain[:1])) as url:  # type: ignore[arg-type]
        yield url


def _ekus(xml: Path) -> tuple[dict[str, str], list[list[str]]]:
    root = ET.parse(xml).getroot()
    ekus = {e.get("ID", ""): e.get("Value", "") for e in root.iterfind("p:EKUs/p:EKU", NS)}
    refs = [
        [r.get("ID", "") for r in s.iterfind("p:CertEKU", NS)]
        for s in root.iterfind("p:Signers/p:Signer", NS)
    ]
    return ekus, refs


def test_customer_eku_signer_compiles_signs_and_rereads(
    tmp_path: Path, tsa_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ident = customer_eku_leaf()
    cert_pem, _key_pem, issuing_pem = write_identity(ident, tmp_path)
    bundle = tmp_path / "profile-chain.pem"
    bundle.write_bytes(cert_pem.read_bytes() + issuing_pem.read_bytes())
    xml, cip, signed = tmp_path / "base.xml", tmp_path / "base.cip", tmp_path / "signed.cip"
    assert invoke("policy", "new", "-o", xml, "--name", "TS", "--template", "enforced")[0] == 0
    code, out = invoke(
        "policy", "set", xml, "--remove-option", "6", "--update-signer", bundle,
        "--eku", CUSTOMER_EKU,
    )  # fmt: skip
    assert code == 0, out
    ekus, refs = _ekus(xml)
    assert [oid_of_eku_value(v) for v in ekus.values()] == [CUSTOMER_EKU]
    assert refs == [list(ekus)]  # the one signer references that EKU
    code, out = invoke("policy", "compile", xml, "-o", cip)
    assert code == 0, out
    value = next(iter(ekus.values()))
    assert cip.read_bytes().count(bytes.fromhex(value)) == 1  # copied verbatim into the binary

    # A certificate of the same CA without the customer EKU is refused before signing.
    plain: list[str | Path] = ["--cert", PKI_DIR / "leaf.pem", "--key", PKI_DIR / "leaf.key.pem"]
    code, out = invoke("policy", "sign", cip, "-o", signed, *plain, "--chain", issuing_pem)
    assert code == 3
    assert f"requires EKU {CUSTOMER_EKU}" in out
    assert not signed.exists()

    # The Trusted Signing profile's certificate carries it: signed through the service.
    assert isinstance(ident.key, rsa.RSAPrivateKey)
    config = AzureConfig(ident.key, (ident.cert, pki().issuing.cert))
    monkeypatch.setenv("INSPECTOR_AZURE_ACCESS_TOKEN", TOKEN)
    with running_azure(config) as host:
        code, out = invoke(
            "policy", "sign", cip, "-o", signed, "--key", f"trusted-signing://{host}/acct/prof",
            "--timestamp", tsa_url,
        )  # fmt: skip
    assert code == 0, out
    assert openssl(
        "cms", "-verify", "-inform", "DER", "-binary", "-CAfile", ROOT_PEM, "-purpose", "any",
        "-in", signed,
    ) == cip.read_bytes()  # fmt: skip
    parsed = openssl("asn1parse", "-inform", "DER", "-in", signed).decode()
    assert ":1.3.6.1.4.1.311.3.3.1" in parsed  # the RFC 3161 timestamp attribute
    assert ":1.3.6.1.4.1.311.79.1" in parsed  # policy content type

    code, out = invoke("policy", "show", signed, "--json")
    assert code == 0, out
    doc = json.loads(out)
    assert doc["signature"]["verified"] is True
    back = tmp_path / "back.xml"
    assert invoke("policy", "decompile", signed, "-o", back)[0] == 0
    back_ekus, back_refs = _ekus(back)
    assert [oid_of_eku_value(v) for v in back_ekus.values()] == [CUSTOMER_EKU]
    assert back_refs == [list(back_ekus)]


def test_supplemental_signer_with_customer_eku(tmp_path: Path) -> None:
    chain = PKI_DIR / "leaf-chain.pem"
    xml, cip = tmp_path / "supp.xml", tmp_path / "supp.cip"
    code, out = invoke(
        "policy", "supplemental", "--base-policy-id", BASE_ID, "--signer", chain,
        "--level", "PcaCertificate", "--eku", CUSTOMER_EKU, "-o", xml,
    )  # fmt: skip
    assert code == 0, out
    ekus, refs = _ekus(xml)
    assert [oid_of_eku_value(v) for v in ekus.values()] == [CUSTOMER_EKU]
    assert refs == [list(ekus)]
    assert invoke("policy", "compile", xml, "-o", cip)[0] == 0
    assert cip.read_bytes().count(bytes.fromhex(next(iter(ekus.values())))) == 1
    code, out = invoke("policy", "supplemental", "--base-policy-id", BASE_ID, "--signer", chain,
                       "--eku", "not-an-oid", "-o", tmp_path / "bad.xml")  # fmt: skip
    assert code == 3
    assert not (tmp_path / "bad.xml").exists()


def test_default_policy_for_a_signing_service_merges(tmp_path: Path, oracle_dir: Path) -> None:
    cat = tmp_path / "service.cat"
    shutil.copy(oracle_dir / "makecat" / "unsigned.cat", cat)
    code, out = invoke(
        "sign", cat, "--cert", PKI_DIR / "leaf.pem", "--key", PKI_DIR / "leaf.key.pem",
        "--chain", PKI_DIR / "issuing-ca.pem",
    )  # fmt: skip
    assert code == 0, out
    default = tmp_path / "default.xml"
    code, out = invoke("policy", "default-for-signer", cat, "-o", default)
    assert code == 0, out
    root = ET.parse(default).getroot()
    options = [o.text for o in root.iterfind("p:Rules/p:Rule/p:Option", NS)]
    assert "Enabled:Audit Mode" in options
    signers = list(root.iterfind("p:Signers/p:Signer", NS))
    assert len(signers) == 1
    cert_root = signers[0].find("p:CertRoot", NS)
    assert cert_root is not None
    assert cert_root.get("Value", "").upper() == tbs_sha256(PKI_DIR / "issuing-ca.pem")
    assert signers[0].find("p:CertPublisher", NS) is None  # PcaCertificate level
    sid = signers[0].get("ID")
    updaters = [r.get("SignerId") for r in root.iterfind("p:UpdatePolicySigners/*", NS)]
    assert updaters == [sid]
    allowed = root.findall(
        "p:SigningScenarios/p:SigningScenario[@Value='12']/p:ProductSigners/p:AllowedSigners/"
        "p:AllowedSigner",
        NS,
    )
    assert [a.get("SignerId") for a in allowed] == [sid]

    device = tmp_path / "device.xml"
    code, out = invoke(
        "policy", "hashes", oracle_dir / "makecat" / "unsigned.exe", "-o", device, "--audit"
    )
    assert code == 0, out
    merged = tmp_path / "merged.xml"
    code, out = invoke("policy", "merge", default, device, "-o", merged)
    assert code == 0, out
    code, out = invoke("policy", "show", merged, "--json")
    doc = json.loads(out)
    assert [s["root"].upper() for s in doc["signers"]] == [tbs_sha256(PKI_DIR / "issuing-ca.pem")]
    assert doc["file_rules"]
    assert invoke("policy", "compile", merged, "-o", tmp_path / "merged.cip")[0] == 0
    # The signer certificate itself works too (PEM instead of a catalog): same rule.
    from_cert = tmp_path / "from-cert.xml"
    assert (
        invoke("policy", "default-for-signer", PKI_DIR / "leaf-chain.pem", "-o", from_cert)[0] == 0
    )
    assert _signer_roots(from_cert) == _signer_roots(default)


def _signer_roots(xml: Path) -> list[str]:
    root = ET.parse(xml).getroot()
    return [c.get("Value", "") for c in root.iterfind("p:Signers/p:Signer/p:CertRoot", NS)]
