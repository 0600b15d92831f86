"""``inspector policy ...`` as a user runs it: files, JSON, exit codes, no partial output."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from fixtures.pki import PKI_DIR
from inspector.cli import app
from inspector.cli.exit_codes import exit_code_for
from inspector.pipeline.policies import hashes_policy
from policy.errors import PolicyInputError
from tests.conftest import require_tool

runner = CliRunner()


def invoke(args: list[str]) -> tuple[int, Result]:
    """Run like ``inspector.cli.main``: package errors become the documented exit codes."""
    result = runner.invoke(app, args)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        return int(exit_code_for(result.exception)), result
    return result.exit_code, result


BASE_ID = "{022DB725-D9EE-49FC-9700-BB92F02C02C6}"
THIRD_PARTY_CA_TBS = "CEC1AFD0E310C55C1DCC601AB8E172917706AA32FB5EAF826813547FDF02DD46"


def test_supplemental_compile_show(oracle_dir: Path, tmp_path: Path) -> None:
    xml = tmp_path / "app-supplemental.xml"
    args = ["policy", "supplemental", "--base-policy-id", BASE_ID, "--kernel", "-o", str(xml)]
    signer = ["--signer", str(oracle_dir / "microsoft" / "oem89.cat")]
    code, result = invoke([*args, *signer])
    assert code == 0, result.output
    text = xml.read_text(encoding="utf-8")
    assert THIRD_PARTY_CA_TBS in text
    assert 'PolicyType="Supplemental Policy"' in text
    assert "Microsoft Windows Hardware Compatibility Publisher" in text
    # Same inputs, same bytes.
    again = tmp_path / "again.xml"
    code, result = invoke([*args[:-1], str(again), *signer])
    assert code == 0, result.output
    assert again.read_bytes() == xml.read_bytes()

    cip_template = str(tmp_path / "{PolicyID}.cip")
    code, result = invoke(["policy", "compile", str(xml), "-o", cip_template, "--json"])
    assert code == 0, result.output
    cip = Path(json.loads(result.stdout)["output"])
    assert cip.name.startswith("{")
    assert cip.suffix == ".cip"
    shown = runner.invoke(app, ["policy", "show", str(cip), "--json"])
    assert shown.exit_code == 0, shown.output
    doc = json.loads(shown.stdout)
    assert doc["source_format"] == "binary"
    assert doc["base_policy_id"] == BASE_ID
    assert [s["root"] for s in doc["signers"]] == [THIRD_PARTY_CA_TBS]
    assert sorted(sc["value"] for sc in doc["scenarios"]) == [12, 131]


def test_hashes_from_paths_and_from_a_report(oracle_dir: Path, tmp_path: Path) -> None:
    exe = oracle_dir / "makecat" / "unsigned.exe"
    mof = oracle_dir / "makecat" / "unsigned.mof"
    direct = tmp_path / "direct.xml"
    code, result = invoke(
        ["policy", "hashes", str(exe), str(mof), "-o", str(direct), "--name", "app"]
    )
    assert code == 0, result.output
    report = tmp_path / "report.json"
    hashed = runner.invoke(app, ["hash", "--json", str(exe), str(mof)])
    assert hashed.exit_code == 0, hashed.output
    report.write_text(hashed.stdout)
    via_report = tmp_path / "via-report.xml"
    code, result = invoke(["policy", "hashes", str(report), "-o", str(via_report), "--name", "app"])
    assert code == 0, result.output
    assert via_report.read_bytes() == direct.read_bytes()
    assert (
        b"2D2C7B382C8163A419B9FF214A7B651C33F9EA43335907F11377290C5158A7A4" in direct.read_bytes()
    )


def test_hashes_report_bad_input_but_keeps_going(oracle_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "h.xml"
    missing = tmp_path / "missing.exe"
    exe = oracle_dir / "makecat" / "unsigned.exe"
    code, result = invoke(["policy", "hashes", str(exe), str(missing), "-o", str(out)])
    assert code == 3
    assert "missing.exe" in result.output
    assert out.exists()


def test_supplemental_hashes_need_a_base_id(oracle_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "s.xml"
    exe = str(oracle_dir / "makecat" / "unsigned.exe")
    code, _ = invoke(["policy", "hashes", exe, "--supplemental", "-o", str(out)])
    assert code == 3
    assert not out.exists()


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"<SiPolicy xmlns='urn:schemas-microsoft-com:sipolicy'><Rules>", "malformed XML"),
        (b"not xml at all", "format version"),
    ],
)
def test_compile_bad_input_writes_nothing(tmp_path: Path, content: bytes, fragment: str) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_bytes(content)
    out = tmp_path / "out.cip"
    code, _ = invoke(["policy", "compile", str(bad), "-o", str(out)])
    assert code == 3
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [bad]


def test_compile_strict_and_lenient(policy_oracle_dir: Path, tmp_path: Path) -> None:
    pair = policy_oracle_dir / "pairs" / "hbkmon-allowall-v7"
    out = tmp_path / "x.p7b"
    code, result = invoke(
        ["policy", "compile", str(pair / "WDAC_AllowAll_Audit.xml"), "-o", str(out)]
    )
    assert code == 3
    assert not out.exists()
    code, result = invoke(
        [
            "policy",
            "compile",
            str(pair / "WDAC_AllowAll_Audit.xml"),
            "-o",
            str(out),
            "--lenient",
            "--format",
            "7",
        ],
    )
    assert code == 0, result.output
    assert out.read_bytes() == (pair / "SIPolicy.p7b").read_bytes()


def test_validate_names_the_defect(policy_oracle_dir: Path) -> None:
    path = policy_oracle_dir / "pairs" / "hbkmon-allowall-v7" / "WDAC_AllowAll_Audit.xml"
    code, result = invoke(["policy", "validate", str(path)])
    assert code == 3
    assert "Boot Audit on Failure" in result.output


def test_new_set_merge(oracle_dir: Path, tmp_path: Path) -> None:
    base = tmp_path / "base.xml"
    code, result = invoke(
        [
            "policy",
            "new",
            "-o",
            str(base),
            "--name",
            "Golden",
            "--template",
            "enforced",
            "--option",
            "3",
        ],
    )
    assert code == 0, result.output
    assert "Enabled:Audit Mode" in base.read_text()
    code, result = invoke(["policy", "set", str(base), "--option", "Bogus"])
    assert code == 2  # a bad option value is a usage error (issue 11 item 12)
    code, result = invoke(
        ["policy", "set", str(base), "--remove-option", "3", "--version-ex", "10.0.1.0"]
    )
    assert code == 0, result.output
    text = base.read_text()
    assert "Enabled:Audit Mode" not in text
    assert "<VersionEx>10.0.1.0</VersionEx>" in text
    hashes = tmp_path / "hashes.xml"
    exe = str(oracle_dir / "makecat" / "unsigned.exe")
    assert runner.invoke(app, ["policy", "hashes", exe, "-o", str(hashes)]).exit_code == 0
    merged = tmp_path / "merged.xml"
    code, result = invoke(["policy", "merge", str(base), str(hashes), "-o", str(merged), "--json"])
    assert code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["file_rules"] == 4
    assert doc["policy_id"] in base.read_text()


def test_sign_end_to_end(tmp_path: Path) -> None:
    # The shared fixture PKI (PrintableString names); leaf-chain.pem is leaf, issuing CA, root.
    cert, key, chain = (PKI_DIR / n for n in ("leaf.pem", "leaf.key.pem", "leaf-chain.pem"))
    xml = tmp_path / "base.xml"
    code, result = invoke(
        ["policy", "new", "-o", str(xml), "--name", "S", "--template", "enforced"]
    )
    assert code == 0, result.output
    cip = tmp_path / "base.cip"
    assert invoke(["policy", "compile", str(xml), "-o", str(cip)])[0] == 0
    signed = tmp_path / "signed.cip"
    sign = [
        "policy",
        "sign",
        str(cip),
        "--cert",
        str(cert),
        "--key",
        str(key),
        "--chain",
        str(chain),
    ]
    # Still "Enabled:Unsigned System Integrity Policy" and no UpdatePolicySigner: refused.
    code, result = invoke([*sign, "-o", str(signed)])
    assert code == 3
    assert not signed.exists()
    edit = ["policy", "set", str(xml), "--remove-option", "6", "--update-signer", str(chain)]
    code, result = invoke(edit)
    assert code == 0, result.output
    assert invoke(["policy", "compile", str(xml), "-o", str(cip)])[0] == 0
    code, result = invoke([*sign, "-o", str(signed)])
    assert code == 0, result.output
    code, result = invoke(["policy", "show", str(signed), "--json"])
    assert code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["source_format"] == "signed"
    assert doc["signature"]["verified"] is True
    assert doc["signature"]["signed_data_version"] == 1
    assert doc["update_policy_signers"]
    # "verified" is our own reader's opinion: OpenSSL must agree, and hand back the compiled policy.
    openssl = require_tool("openssl")
    out = subprocess.run(
        [openssl, "cms", "-verify", "-inform", "DER", "-binary", "-noverify", "-in", signed],
        check=True,
        capture_output=True,
    )
    assert out.stdout == cip.read_bytes()


def test_decompile_then_compile_gives_microsofts_bytes(
    policy_oracle_dir: Path, tmp_path: Path
) -> None:
    cip = (
        policy_oracle_dir / "pairs" / "yufan-2025-02" / "{022DB725-D9EE-49FC-9700-BB92F02C02C6}.cip"
    )
    xml = tmp_path / "recovered.xml"
    code, result = invoke(["policy", "decompile", str(cip), "-o", str(xml)])
    assert code == 0, result.output
    out = tmp_path / "again.cip"
    code, result = invoke(["policy", "compile", str(xml), "-o", str(out)])
    assert code == 0, result.output
    assert out.read_bytes() == cip.read_bytes()


def _tbs_sha256(pem: Path) -> str:
    """TBS value computed here (cryptography + hashlib), not by the code under test."""
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(pem.read_bytes())
    return hashlib.sha256(cert.tbs_certificate_bytes).hexdigest().upper()


def test_supplemental_signer_end_to_end(tmp_path: Path) -> None:
    cert, key, chain = (PKI_DIR / n for n in ("leaf.pem", "leaf.key.pem", "leaf-chain.pem"))
    base_xml, supp_xml = tmp_path / "base.xml", tmp_path / "supp.xml"
    base_id = "{7A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D}"
    new = ["policy", "new", "-o", str(base_xml), "--name", "B", "--policy-id", base_id]
    assert invoke(new)[0] == 0
    edit = [
        "policy", "set", str(base_xml), "--remove-option", "6",
        "--update-signer", str(chain), "--update-signer-level", "Publisher",
    ]  # fmt: skip
    assert invoke(edit)[0] == 0
    code, result = invoke(["policy", "supplemental", "--base-policy-id", base_id, "--signer",
                           str(chain), "-o", str(supp_xml)])  # fmt: skip
    assert code == 0, result.output
    assert invoke(["policy", "set", str(supp_xml), "--remove-option", "6",
                   "--update-signer", str(chain)])[0] == 0  # fmt: skip
    # Supplemental policies cannot carry the element: refused, file untouched.
    before = supp_xml.read_bytes()
    code, result = invoke(["policy", "set", str(supp_xml), "--supplemental-signer", str(chain)])
    assert code == 3
    assert "SupplementalPolicySigners" in str(result.exception)
    assert supp_xml.read_bytes() == before
    cip = tmp_path / "supp.cip"
    assert invoke(["policy", "compile", str(supp_xml), "-o", str(cip)])[0] == 0
    sign = ["policy", "sign", str(cip), "--cert", str(cert), "--key", str(key), "--chain",
            str(chain), "--base", str(base_xml), "-o", str(tmp_path / "signed.cip")]  # fmt: skip
    code, result = invoke(sign)
    assert code == 3
    message = str(result.exception)
    assert f"inspector policy set {base_xml} --supplemental-signer" in message
    assert not (tmp_path / "signed.cip").exists()
    add = ["policy", "set", str(base_xml), "--supplemental-signer", str(chain),
           "--supplemental-signer-level", "Publisher"]  # fmt: skip
    assert invoke(add)[0] == 0
    first = base_xml.read_bytes()
    assert invoke(add)[0] == 0
    assert base_xml.read_bytes() == first  # idempotent, deterministic
    code, result = invoke(["policy", "show", str(base_xml), "--json"])
    doc = json.loads(result.stdout)
    # Same certificate, same level as the UpdatePolicySigner: one Signer, two references.
    (signer,) = doc["signers"]
    assert doc["update_policy_signers"] == doc["supplemental_policy_signers"] == [signer["id"]]
    assert signer["root"] == _tbs_sha256(PKI_DIR / "issuing-ca.pem")
    code, result = invoke(sign)
    assert code == 0, result.output
    # The compiled base keeps the reference (block 6), and so does its decompiled XML.
    base_cip = tmp_path / "base.cip"
    assert invoke(["policy", "compile", str(base_xml), "-o", str(base_cip)])[0] == 0
    code, result = invoke(["policy", "show", str(base_cip), "--json"])
    shown = json.loads(result.stdout)
    (bin_signer,) = shown["signers"]
    assert shown["supplemental_policy_signers"] == [bin_signer["id"]]
    assert bin_signer["root"] == signer["root"]


def test_hashes_supplemental_without_base_is_refused_before_hashing(tmp_path: Path) -> None:
    missing = tmp_path / "not-there.dll"
    with pytest.raises(PolicyInputError, match="--supplemental needs --base-policy-id"):
        hashes_policy([missing], tmp_path / "out.xml", supplemental=True)
    assert not (tmp_path / "out.xml").exists()
