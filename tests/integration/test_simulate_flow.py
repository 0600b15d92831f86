"""The project's own flow, end to end through the CLI: catalog, sign, policies, simulate.

An app (two fixture PEs) is catalogued and the catalog signed with the test PKI's leaf; a base
policy (enforced template, allows supplementals) and a supplemental trusting the catalog's signer
(Publisher level) are written by ``inspector policy``. The app must be blocked under the base
alone, allowed with the supplemental and the signed catalog, and blocked again when one byte of a
file changes or when the catalog is signed by a certificate the supplemental does not trust. The
JSON records are checked against what the inputs say independently: the member identifier is the
file's Authenticode SHA256 as osslsigncode's signature in the signed fixture records it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from catalog.pe.signature import decode_certificate_table
from tests.conftest import run_cli

BASE_ID = "{5E0D3A1C-7B2F-4C9E-A6D1-0DE30BA5E0AA}"


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code, out, err = run_cli(capsys, *argv)
    assert code in (0, 1), err
    return code, out


def _simulate(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    _, out = _cli(capsys, "policy", "simulate", "--json", *argv)
    return {Path(str(f["path"])).name: f for f in json.loads(out)["files"]}


def test_demo_app_needs_its_supplemental_and_catalog(
    tmp_path: Path, fixtures_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pki, pe = fixtures_dir / "pki", fixtures_dir / "pe"
    app = tmp_path / "app"
    app.mkdir()
    shutil.copy(pe / "hello64.exe", app / "demoapp.exe")
    shutil.copy(pe / "version64.dll", app / "democore.dll")
    cat, signed, other = tmp_path / "app.cat", tmp_path / "app.signed.cat", tmp_path / "other.cat"
    assert run_cli(capsys, "catalog", "build", str(app), "-o", str(cat), "--page-hashes")[0] == 0
    for leaf, target in (("leaf", signed), ("leaf-rsa3072", other)):
        code, _, err = run_cli(
            capsys,
            "sign",
            str(cat),
            "--cert",
            str(pki / f"{leaf}.pem"),
            "--key",
            str(pki / f"{leaf}.key.pem"),
            "--chain",
            str(pki / "issuing-ca.pem"),
            "-o",
            str(target),
        )
        assert code == 0, err
    base, supp = tmp_path / "base.xml", tmp_path / "supp.xml"
    assert (
        run_cli(
            capsys,
            "policy",
            "new",
            "-o",
            str(base),
            "--template",
            "enforced",
            "--name",
            "Flow base",
            "--policy-id",
            BASE_ID,
        )[0]
        == 0
    )
    assert (
        run_cli(
            capsys,
            "policy",
            "supplemental",
            "--base-policy-id",
            BASE_ID,
            "--signer",
            str(signed),
            "-o",
            str(supp),
        )[0]
        == 0
    )

    alone = _simulate(capsys, "--policy", str(base), "--catalog", str(signed), str(app))
    assert {v["verdict"] for v in alone.values()} == {"blocked"}
    assert all(v["enforced"] is True for v in alone.values())

    with_supp = _simulate(
        capsys, "--policy", str(base), "--policy", str(supp), "--catalog", str(signed), str(app)
    )
    for name, v in with_supp.items():
        assert v["verdict"] == "allowed", name
        (decision,) = v["decided_by"]
        assert decision["kind"] == "Publisher"
        (sig,) = v["signature"]
        assert sig["source"] == "catalog"
        assert sig["catalog"] == str(signed)
    # The member identifier is the Authenticode SHA256 osslsigncode recorded in the signed twin.
    signed_twin = (pe / "hello64-signed-sha256.exe").read_bytes()
    table_at = signed_twin.rfind(b"\x00\x02\x02\x00") - 4
    expected = decode_certificate_table(signed_twin[table_at:]).digest.hex().upper()
    assert with_supp["demoapp.exe"]["signature"][0]["member"] == expected

    # Without the catalog the files are unsigned: blocked.
    no_cat = _simulate(capsys, "--policy", str(base), "--policy", str(supp), str(app))
    assert {v["verdict"] for v in no_cat.values()} == {"blocked"}

    # One byte changed: no longer the catalogued file.
    data = bytearray((app / "democore.dll").read_bytes())
    data[0x400] ^= 0x01
    (app / "democore.dll").write_bytes(bytes(data))
    changed = _simulate(
        capsys, "--policy", str(base), "--policy", str(supp), "--catalog", str(signed), str(app)
    )
    assert changed["democore.dll"]["verdict"] == "blocked"
    assert changed["demoapp.exe"]["verdict"] == "allowed"

    # A catalog signed by a certificate the supplemental does not name.
    untrusted = _simulate(
        capsys, "--policy", str(base), "--policy", str(supp), "--catalog", str(other), str(app)
    )
    assert untrusted["demoapp.exe"]["verdict"] == "blocked"
    nearest = untrusted["demoapp.exe"]["nearest"]
    assert any("Inspector Test Code Signing RSA 3072" in n["failed"] for n in nearest)

    # The human table and --explain name the deciding rule and the reasoning.
    code, text = _cli(
        capsys,
        "policy",
        "simulate",
        "--explain",
        "--policy",
        str(base),
        "--policy",
        str(supp),
        "--catroot",
        str(tmp_path),
        str(app / "demoapp.exe"),
    )
    assert code == 0
    assert "allowed" in text
    assert "Publisher" in text
    assert "signature catalog" in text


def test_compiled_and_signed_policies_decide_like_their_xml(
    tmp_path: Path, fixtures_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same base as XML, as a .cip (policy compile) and signed (policy sign); a signed
    policy's signature is verified on reading, and the verdicts do not change."""
    pki, pe = fixtures_dir / "pki", fixtures_dir / "pe"
    app = tmp_path / "app"
    app.mkdir()
    shutil.copy(pe / "hello64.exe", app / "demoapp.exe")
    cat, signed = tmp_path / "app.cat", tmp_path / "app.signed.cat"
    assert run_cli(capsys, "catalog", "build", str(app), "-o", str(cat))[0] == 0
    identity = (
        "--cert",
        str(pki / "leaf.pem"),
        "--key",
        str(pki / "leaf.key.pem"),
        "--chain",
        str(pki / "issuing-ca.pem"),
    )
    assert run_cli(capsys, "sign", str(cat), *identity, "-o", str(signed))[0] == 0
    base, supp = tmp_path / "base.xml", tmp_path / "supp.xml"
    assert (
        run_cli(
            capsys,
            "policy",
            "new",
            "-o",
            str(base),
            "--template",
            "audit",
            "--name",
            "Signed base",
            "--policy-id",
            BASE_ID,
        )[0]
        == 0
    )
    code, _, err = run_cli(
        capsys,
        "policy",
        "set",
        str(base),
        "--remove-option",
        "6",
        "--update-signer",
        str(signed),
        "--supplemental-signer",
        str(signed),
    )
    assert code == 0, err
    assert (
        run_cli(
            capsys,
            "policy",
            "supplemental",
            "--base-policy-id",
            BASE_ID,
            "--signer",
            str(signed),
            "-o",
            str(supp),
        )[0]
        == 0
    )
    cip, signed_cip = tmp_path / "base.cip", tmp_path / "signed" / "base.cip"
    signed_cip.parent.mkdir()
    assert run_cli(capsys, "policy", "compile", str(base), "-o", str(cip))[0] == 0
    code, _, err = run_cli(capsys, "policy", "sign", str(cip), *identity, "-o", str(signed_cip))
    assert code == 0, err
    exe = str(app / "demoapp.exe")
    for form in (base, cip, signed_cip):
        alone = _simulate(capsys, "-p", str(form), "-c", str(signed), exe)["demoapp.exe"]
        assert (alone["verdict"], alone["enforced"]) == ("blocked", False), form
        both = _simulate(capsys, "-p", str(form), "-p", str(supp), "-c", str(signed), exe)
        assert both["demoapp.exe"]["verdict"] == "allowed", form
    # A signed policy whose bytes were changed after signing is refused, not evaluated.
    tampered = tmp_path / "tampered.cip"
    data = bytearray(signed_cip.read_bytes())
    inner = cip.read_bytes()
    at = bytes(data).find(inner[0x40:0x80])  # inside the policy the signature covers
    assert at > 0
    data[at] ^= 0x01
    tampered.write_bytes(bytes(data))
    code, _, err = run_cli(capsys, "policy", "simulate", "-p", str(tampered), exe)
    assert code == 1
    assert "messageDigest mismatch" in err
