"""``inspector makecat``, ``catalog build`` and ``catalog show`` as a user runs them.

Oracles: MakeCat's own output for the oracle CDF (``makecat/unsigned.cat``, decoded with
asn1crypto + signify's CTL schema), sha256sum of member files, osslsigncode (integration test).
The oracle files are copied into a temporary folder laid out as MakeCat saw them
(``sources/`` holding the .cdf, ``files/`` holding the members), never into the project.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import signify.asn1.ctl  # noqa: F401  (registers the CTL content type with asn1crypto)
from asn1crypto.cms import ContentInfo
from typer.testing import CliRunner

from inspector.cli import app, main
from tests.conftest import FIXTURES, require_tool

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


def run_main(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """The console entry point (exception -> exit code mapping included)."""
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.oracle
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


@pytest.mark.oracle
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


def test_build_show_and_cdf_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pe = FIXTURES / "pe"
    inputs = [pe / "hello64.exe", pe / "hello32.exe", pe / "bad" / "signed-then-appended.exe"]
    (tmp_path / "notes.txt").write_text("hello\n")
    cat, cdf = tmp_path / "out" / "app.cat", tmp_path / "app.cdf"
    code, out, err = run_main(
        [
            "catalog", "build", *map(str, inputs), str(tmp_path / "notes.txt"),
            "-o", str(cat), "--cdf", str(cdf), "--page-hashes", "--time", "2026-01-02T03:04:05Z",
            "--json",
        ],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)
    assert doc["schema_version"] == 1
    kinds = {Path(m["path"]).name: (m["kind"], m["page_hashes"]) for m in doc["members"]}
    assert kinds == {
        "hello64.exe": ("pe", True),
        "hello32.exe": ("pe", True),
        "signed-then-appended.exe": ("flat", False),
        "notes.txt": ("flat", False),
    }
    (bad,) = [m for m in doc["members"] if m["path"].endswith("signed-then-appended.exe")]
    assert "non-conformant PE" in bad["notes"][0]
    txt_sha256 = subprocess.run(
        ["sha256sum", str(tmp_path / "notes.txt")], capture_output=True, check=True
    ).stdout.split()[0]
    assert txt_sha256.decode().upper() in {m["identifier"] for m in doc["members"]}
    # the written .cdf rebuilds the same bytes through makecat
    again = tmp_path / "again.cat"
    code, _, err = run_main(
        ["makecat", str(cdf), "-o", str(again), "--time", "2026-01-02T03:04:05Z"], capsys
    )
    assert code == 0, err
    assert again.read_bytes() == cat.read_bytes()
    # show, human and JSON
    code, out, _ = run_main(["catalog", "show", str(cat)], capsys)
    assert code == 0
    assert "version 2 (SHA256) catalog, 8 subjects (4 SHA1 compatibility entries)" in out
    assert "OSAttr = 2:6.2" in out
    assert "unsigned" in out.splitlines()[-1]
    code, out, _ = run_main(["catalog", "show", "--json", str(cat)], capsys)
    shown = json.loads(out)
    assert {m["file"] for m in shown["members"] if not m["compat_entry"]} == {
        "hello64.exe",
        "hello32.exe",
        "signed-then-appended.exe",
        "notes.txt",
    }
    assert sum(m["page_hashes"] for m in shown["members"]) == 2


def test_build_is_deterministic_and_honours_source_date_epoch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")  # 2026-01-01T00:00:00Z
    src = FIXTURES / "pe" / "hello64.exe"
    outputs = []
    for name in ("a.cat", "b.cat"):
        code, _, err = run_main(["catalog", "build", str(src), "-o", str(tmp_path / name)], capsys)
        assert code == 0, err
        outputs.append((tmp_path / name).read_bytes())
    assert outputs[0] == outputs[1]
    code, out, _ = run_main(["catalog", "show", "--json", str(tmp_path / "a.cat")], capsys)
    assert json.loads(out)["this_update"] == "2026-01-01T00:00:00+00:00"
    code, _, _ = run_main(
        ["catalog", "build", str(src), "-o", str(tmp_path / "c.cat"), "--random-id"], capsys
    )
    assert code == 0
    assert (tmp_path / "c.cat").read_bytes() != outputs[0]


@pytest.mark.oracle
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


@pytest.mark.integration
@pytest.mark.oracle
@pytest.mark.parametrize("version", ["--sha256", "--sha1"])
def test_osslsigncode_verifies_members_of_our_signed_catalog(
    oracle_dir: Path, tmp_path: Path, version: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Our catalog, signed by osslsigncode, covers each PE member (digest and page hashes)."""
    tool = require_tool("osslsigncode")
    pki = FIXTURES / "pki"
    members = [
        oracle_dir / "makecat" / "unsigned.exe",
        FIXTURES / "pe" / "hello32.exe",
        FIXTURES / "pe" / "hello64-signed-sha256.exe",
    ]
    unsigned, signed = tmp_path / "app.cat", tmp_path / "signed.cat"
    code, _, err = run_main(
        ["catalog", "build", *map(str, members), "-o", str(unsigned), "--page-hashes", version],
        capsys,
    )
    assert code == 0, err
    subprocess.run(
        [tool, "sign", "-certs", str(pki / "leaf-chain.pem"), "-key", str(pki / "leaf.key.pem"),
         "-h", "sha256", "-in", str(unsigned), "-out", str(signed)],
        check=True, capture_output=True,
    )  # fmt: skip

    def verify(member: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [tool, "verify", "-CAfile", str(pki / "root-ca.pem"), "-ignore-crl",
             "-catalog", str(signed), "-in", str(member)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip

    for member in members:
        done = verify(member)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Calculated page hash" in done.stdout
        assert "MISMATCH" not in done.stdout
    tampered = tmp_path / "unsigned.exe"
    data = bytearray(members[0].read_bytes())
    data[0x700] ^= 0x01  # a byte of .text
    tampered.write_bytes(bytes(data))
    assert verify(tampered).returncode != 0


def test_winappcli_style_cdf_with_drive_map_and_altsipid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Full Windows paths (what WinAppCli writes, formats.md 5.2) mapped with --drive; ALTSIPID."""
    image = tmp_path / "image"
    (image / "App").mkdir(parents=True)
    shutil.copy(FIXTURES / "pe" / "hello64.exe", image / "App" / "app.exe")
    shutil.copy(FIXTURES / "pe" / "hello32.exe", image / "App" / "tool.exe")
    cdf = tmp_path / "app.cdf"
    cdf.write_text(
        "[CatalogHeader]\r\nName=C:\\Out\\app.cat\r\nPublicVersion=1\r\nCatalogVersion=2\r\n"
        "HashAlgorithms=SHA256\r\nPageHashes=true\r\nCATATTR1=0x10010001:OSAttr:2:6.2\r\n\r\n"
        "[CatalogFiles]\r\n<HASH>C:\\App\\app.exe=C:\\App\\app.exe\r\n"
        "<HASH>C:\\App\\tool.exe=C:\\App\\tool.exe\r\n"
        "<HASH>C:\\App\\tool.exeALTSIPID={DE351A42-8E59-11d0-8C47-00C04FC295EE}\r\n",
        newline="",
    )
    code, out, err = run_main(["makecat", str(cdf), "--drive", f"C={image}", "--json"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["output"] == str(image / "Out" / "app.cat")
    kinds = {Path(m["path"]).name: (m["kind"], m["page_hashes"]) for m in doc["members"]}
    assert kinds == {"app.exe": ("pe", True), "tool.exe": ("flat", False)}
    flat = subprocess.run(
        ["sha256sum", str(image / "App" / "tool.exe")], capture_output=True, check=True
    ).stdout.split()[0]
    assert flat.decode().upper() in {m["identifier"] for m in doc["members"]}
    # without the drive map: members cannot be found, and the error says how to map them
    code, _, err = run_main(["makecat", str(cdf)], capsys)
    assert code == 3
    assert "line 10: C:\\App\\app.exe:" in err
    assert "map it" in err


def test_members_without_hash_prefix_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(FIXTURES / "pe" / "hello64.exe", tmp_path / "a.exe")
    cdf = tmp_path / "x.cdf"
    cdf.write_text("[CatalogHeader]\nName=x.cat\n[CatalogFiles]\nAppTag=a.exe\n")
    code, _, err = run_main(["makecat", str(cdf)], capsys)
    assert code == 3
    assert "line 4: AppTag: members without <HASH>" in err
    assert not (tmp_path / "x.cat").exists()
