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

from tests.conftest import FIXTURES
from tests.support.inspector_catalog_cli import run_main


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
