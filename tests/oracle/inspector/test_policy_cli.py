"""``inspector policy ...`` as a user runs it: files, JSON, exit codes, no partial output."""

from __future__ import annotations

import json
from pathlib import Path

from inspector.cli import app
from tests.support.inspector_policy_cli import invoke, runner

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
