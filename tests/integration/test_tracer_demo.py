"""``inspector demo``: the scripted install ends in a signed catalog osslsigncode agrees with, and
in signed WDAC policies trusting its signer that OpenSSL verifies (sipolicy.md 6).

Oracles: osslsigncode (catalog membership), ``openssl cms -verify`` (the signed .cip returns the
compiled .cip byte for byte), ``openssl asn1parse`` + ``sha256sum`` (the issuing CA's TBS value,
formats.md 6.2) and ``openssl x509`` (the leaf's CN in the Publisher rule).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from inspector.cli import app, main
from tests.conftest import FIXTURES, require_tool
from tests.support.sessionkit import IS_ROOT, LINUX

PKI = FIXTURES / "pki"


def _openssl_tbs_sha256(cert: Path, tmp: Path) -> str:
    """SHA-256 of the certificate's TBSCertificate bytes, cut out by openssl, hashed by
    sha256sum."""
    openssl = require_tool("openssl")
    listing = subprocess.run(
        [openssl, "asn1parse", "-in", str(cert)], check=True, capture_output=True, text=True
    ).stdout
    # The first element at depth 1 is the TBSCertificate SEQUENCE.
    offset = next(int(m[1]) for m in re.finditer(r"^\s*(\d+):d=1 ", listing, re.MULTILINE))
    out = tmp / "tbs.der"
    subprocess.run(
        [openssl, "asn1parse", "-in", str(cert), "-strparse", str(offset), "-out", str(out),
         "-noout"],
        check=True, capture_output=True,
    )  # fmt: skip
    summed = subprocess.run(
        [require_tool("sha256sum"), str(out)], check=True, capture_output=True, text=True
    ).stdout
    return summed.split()[0].upper()


def _openssl_common_name(cert: Path) -> str:
    subject = subprocess.run(
        [require_tool("openssl"), "x509", "-in", str(cert), "-noout", "-subject", "-nameopt",
         "RFC2253"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    match = re.search(r"CN=([^,\n]+)", subject)
    assert match is not None, subject
    return match[1]


def _show(path: Path) -> dict[str, object]:
    result = CliRunner().invoke(app, ["policy", "show", str(path), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert isinstance(doc, dict)
    return doc


def test_catalog_tbs_of_the_issuing_ca_equals_openssls(tmp_path: Path) -> None:
    expected = _openssl_tbs_sha256(PKI / "issuing-ca.pem", tmp_path)
    result = CliRunner().invoke(app, ["catalog", "tbs", str(PKI / "issuing-ca.pem"), "--json"])
    assert result.exit_code == 0, result.output
    (cert,) = json.loads(result.stdout)["certificates"]
    assert cert["tbs_hash"] == expected


def test_demo_records_writes_signs_and_verifies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INSPECTOR_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    # A folder an earlier demo made is emptied first (its marker says so).
    work = tmp_path / "demo-out"
    work.mkdir()
    (work / ".inspector-demo").write_text("earlier run\n")
    (work / "stale.txt").write_text("from an earlier run\n")
    try:
        main(["demo"])  # default folder: ./demo-out
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "signature ok" in out
    assert f"demo files kept in {work}" in out
    assert not (work / "stale.txt").exists()
    report = json.loads((work / "out" / "DemoApp.report.json").read_text())
    entries = {Path(e["path"]).name: e for e in report["entries"]}
    assert "loaded" in entries["democore.dll"]["reasons"]
    assert entries["nshelper.dll"]["exists_at_stop"] is False
    _check_policies(work / "out", out, tmp_path)
    if not (LINUX and IS_ROOT):
        return
    # osslsigncode, independently: the deleted plug-in is covered by the signed catalog.
    tool = require_tool("osslsigncode")
    done = subprocess.run(
        [tool, "verify", "-CAfile", str(PKI / "root-ca.pem"), "-ignore-crl",
         "-catalog", str(work / "out" / "DemoApp.signed.cat"),
         "-in", str(work / "evidence" / "nshelper.dll")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def _check_policies(out: Path, printed: str, tmp: Path) -> None:
    supp_xml, base_xml = out / "DemoApp-supplemental.xml", out / "DemoBase.xml"
    supp, base = _show(supp_xml), _show(base_xml)
    assert supp["source_format"] == base["source_format"] == "xml"
    assert supp["policy_type"] == "Supplemental Policy"
    assert base["policy_type"] == "Base Policy"
    assert supp["base_policy_id"] == base["policy_id"] == base["base_policy_id"]
    issuing_tbs = _openssl_tbs_sha256(PKI / "issuing-ca.pem", tmp)
    leaf_cn = _openssl_common_name(PKI / "leaf.pem")
    for doc in (supp, base):
        options = doc["options"]
        assert isinstance(options, list)
        option_names = {o["name"] for o in options}
        assert "Enabled:Unsigned System Integrity Policy" not in option_names
        assert doc["update_policy_signers"]
    for xml, doc in ((supp_xml, supp), (base_xml, base)):
        name = f"{doc['policy_id']}.cip"
        compiled, signed = out / name, out / "signed" / name
        assert f"{compiled}\n  ok:" in printed
        assert f"{signed}\n  ok:" in printed
        shown = _show(signed)
        assert shown["source_format"] == "signed"
        assert shown["policy_id"] == doc["policy_id"]
        signature = shown["signature"]
        assert isinstance(signature, dict)
        assert signature["verified"] is True
        assert signature["signed_data_version"] == 1
        assert signature["digest_algorithm"] == "sha256"
        signers = shown["signers"]
        assert isinstance(signers, list)
        assert signers
        # Publisher rules: the issuing CA's TBS (openssl + sha256sum) and the leaf's CN.
        assert {(s["root_type"], s["root"], s["publisher"]) for s in signers} == {
            ("TBS", issuing_tbs, leaf_cn)
        }
        assert shown["update_policy_signers"]
        if doc is base:
            # The signed base accepts the demo's signed supplemental: its
            # SupplementalPolicySigners name the issuing CA's TBS (openssl + sha256sum) and the
            # leaf's CN, the signer the supplemental was signed with.
            by_id = {s["id"]: s for s in signers}
            supp_signers = shown["supplemental_policy_signers"]
            assert isinstance(supp_signers, list)
            assert supp_signers
            assert {(by_id[i]["root"], by_id[i]["publisher"]) for i in supp_signers} == {
                (issuing_tbs, leaf_cn)
            }
        else:
            assert shown["supplemental_policy_signers"] == []
        assert _show(compiled)["source_format"] == "binary"
        verified = subprocess.run(
            [require_tool("openssl"), "cms", "-verify", "-inform", "DER", "-binary", "-noverify",
             "-in", str(signed)],
            capture_output=True, check=False,
        )  # fmt: skip
        assert verified.returncode == 0, verified.stderr
        assert verified.stdout == compiled.read_bytes()
        assert xml.is_file()


def test_demo_refuses_a_folder_it_did_not_make(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("user data\n")
    with pytest.raises(SystemExit) as exc:
        main(["demo", "--dir", str(foreign)])
    assert exc.value.code == 3
    assert "not made by the demo" in capsys.readouterr().err
    assert (foreign / "keep.txt").read_text() == "user data\n"
