"""``inspector makecat``, ``catalog build`` and ``catalog show`` as a user runs them.

Oracles: MakeCat's own output for the oracle CDF (``makecat/unsigned.cat``, decoded with
asn1crypto + signify's CTL schema), sha256sum of member files, osslsigncode (integration test).
The oracle files are copied into a temporary folder laid out as MakeCat saw them
(``sources/`` holding the .cdf, ``files/`` holding the members), never into the project.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import signify.asn1.ctl  # noqa: F401  (registers the CTL content type with asn1crypto)
from asn1crypto.cms import ContentInfo
from typer.testing import CliRunner

from inspector.cli import app
from tests.support.inspector_catalog_cli import run_main

runner = CliRunner()
MAKECAT_FILES = ("exe", "msi", "ex_", "ps1", "psc1", "mof", "js")
ORACLE_TIME = "2025-06-05T08:00:48Z"
ORACLE_LIST_ID = "39BBA8F55B5D8B4A83172DCB3C937FDF"
CAB_SHA256 = "FDBE6BF9FD1586A76CA86EC3EE9E7AF0BDB4EE324D268957D0D90B6C0336EA96"


def subjects(der: bytes) -> dict[bytes, bytes]:
    ctl = ContentInfo.load(der)["content"]["encap_content_info"]["content"]
    return {s["subject_identifier"].native: s.dump() for s in ctl["trusted_subjects"]}


@pytest.fixture
def makecat_tree(oracle_dir: Path, tmp_path: Path) -> Path:
    """sources/CatalogDefinitionFileName.cdf + files/unsigned.*, as the CDF expects."""
    (tmp_path / "sources").mkdir()
    (tmp_path / "files").mkdir()
    shutil.copy(oracle_dir / "makecat" / "CatalogDefinitionFileName.cdf", tmp_path / "sources")
    for suffix in MAKECAT_FILES:
        shutil.copy(oracle_dir / "makecat" / f"unsigned.{suffix}", tmp_path / "files")
    return tmp_path


def test_makecat_reproduces_makecat_subjects(makecat_tree: Path, oracle_dir: Path) -> None:
    cdf = makecat_tree / "sources" / "CatalogDefinitionFileName.cdf"
    args = ["makecat", "-v", str(cdf), "--time", ORACLE_TIME, "--list-id", ORACLE_LIST_ID]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    written = makecat_tree / "files" / "unsigned.cat"  # ResultDir=..\files, Name=unsigned.cat
    ours = subjects(written.read_bytes())
    expected = subjects((oracle_dir / "makecat" / "unsigned.cat").read_bytes())
    cab = bytes.fromhex(CAB_SHA256)
    cab_sha1 = [i for i, s in expected.items() if len(i) == 20 and b"\x81\x00" in s]
    # every member but the CAB file is byte-identical to MakeCat's (ids and attributes)
    assert {i: s for i, s in expected.items() if i != cab and i not in cab_sha1} == {
        i: s for i, s in ours.items() if i in expected
    }
    flat_cab = subprocess.run(
        ["sha256sum", str(makecat_tree / "files" / "unsigned.ex_")], capture_output=True, check=True
    ).stdout.split()[0]
    assert bytes.fromhex(flat_cab.decode()) in ours  # the CAB file went in flat, as documented
    assert "CABfile: CAB file: catalogued as a flat member" in result.stdout
    assert "line 39: PEfile: pe, page hashes 2D2C7B38" in result.stdout
    assert list((makecat_tree / "files").glob(".*tmp")) == []


def test_missing_member_names_the_cdf_line_and_writes_nothing(
    makecat_tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (makecat_tree / "files" / "unsigned.ps1").unlink()
    (makecat_tree / "files" / "unsigned.js").unlink()
    cdf = makecat_tree / "sources" / "CatalogDefinitionFileName.cdf"
    code, _, err = run_main(["makecat", str(cdf)], capsys)
    assert code == 3
    assert "line 50: PS1file:" in err
    assert "line 59: JSfile:" in err
    assert "unsigned.ps1: file not found" in err
    assert "nothing was written" in err
    assert sorted(p.name for p in (makecat_tree / "files").iterdir()) == [
        f"unsigned.{s}" for s in sorted(MAKECAT_FILES) if s not in ("ps1", "js")
    ]
    # -r stops at the first one
    code, _, err = run_main(["makecat", "-r", str(cdf)], capsys)
    assert code == 3
    assert "first bad member: line 50: PS1file" in err
    assert "JSfile" not in err
    assert not (makecat_tree / "files" / "unsigned.cat").exists()
    # -n writes the catalog without them, still exit 3
    code, _, err = run_main(["makecat", "-n", "--json", str(cdf)], capsys)
    assert code == 3
    written = makecat_tree / "files" / "unsigned.cat"
    assert written.exists()
    assert len(subjects(written.read_bytes())) == 10  # 5 files x (primary + compat)


def test_show_reads_microsoft_catalogs_and_refuses_others(
    oracle_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_main(
        ["catalog", "show", str(oracle_dir / "microsoft" / "oem89.cat")], capsys
    )
    assert code == 0
    assert "B1E795B69B4C2A901A8BC8E8B36E988C6C05D836" in out
    assert "amdacpbtscoext.inf" in out
    assert "signed by CN=Microsoft Windows Hardware Compatibility Publisher" in out
    code, _, err = run_main(
        ["catalog", "show", str(oracle_dir / "makecat" / "unsigned.exe")], capsys
    )
    assert code == 3
    assert "not a readable Windows catalog" in err
    assert "offset 0" in err
