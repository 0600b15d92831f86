"""``inspector start|stop|status|scan`` end to end (tracer.md 1.1, formats.md 5.2).

Runs the real CLI entry point (exit codes from exit_codes.py) with real recorder processes; the
expected file lists are what each test wrote itself.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from inspector.pipeline import outputs, trace
from tests.conftest import FIXTURES, run_cli
from tests.support.sessionkit import (  # noqa: F401 - state_dir is used through usefixtures
    assert_stopped,
    state_dir,
)

pytestmark = pytest.mark.usefixtures("state_dir")


cli = run_cli


def test_package_inspector_spellings_end_to_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "root"
    (root / "pre").mkdir(parents=True)
    (root / "pre" / "old.dll").write_bytes(b"old")
    installer = root / "setup.exe"
    installer.write_bytes(b"MZ-not-really")
    out_dir = tmp_path / "out"
    monkeypatch.chdir(tmp_path)
    code, out, err = cli(capsys, "START", str(root), "-Path", str(installer))
    assert code == 0, err
    session_id = out.strip()
    code, out, _ = cli(capsys, "Status", "--json")
    assert code == 0
    (listed,) = json.loads(out)
    assert listed["session_id"] == session_id
    assert listed["state"] == "recording"
    (root / "app").mkdir()
    (root / "app" / "app.ps1").write_text("Write-Host hi")
    (root / "app" / "readme.txt").write_text("hello")
    code, out, err = cli(
        capsys,
        "Stop",
        str(root),
        "-OUT",
        "list",
        "-ListPath",
        str(out_dir / "files.txt"),
        "-Report",
        str(out_dir / "report.json"),
    )
    # 5: the recording is degraded where fanotify is unavailable (not root): outputs written
    assert_stopped(code, err)
    assert "wrote" in out
    assert (out_dir / "files.txt").read_text().splitlines() == [
        str(root / "app" / "app.ps1"),
        str(root / "app" / "readme.txt"),
        str(installer),
    ]
    report = json.loads((out_dir / "report.json").read_text())
    assert report["schema_version"] == 1
    assert report["session_id"] == session_id
    entries = {e["path"]: e for e in report["entries"]}
    assert entries[str(root / "app" / "app.ps1")]["catalogable"] is True
    assert entries[str(root / "app" / "readme.txt")]["catalogable"] is False
    assert entries[str(installer)]["reasons"] == ["executed"]
    assert entries[str(installer)]["sources"] == ["installer"]
    assert {s["name"] for s in report["sources"]} >= {"processes"}
    code, out, _ = cli(capsys, "status")
    assert out.strip() == "no sessions"


def test_stop_without_start_is_a_clear_error_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(capsys, "stop", str(tmp_path), "-out", "list")
    assert code == 3
    assert "no recording session" in err
    assert not [p for p in tmp_path.iterdir() if p.suffix in (".txt", ".json", ".cat", ".cdf")]


def test_start_twice_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "r"
    root.mkdir()
    assert cli(capsys, "start", str(root))[0] == 0
    code, _, err = cli(capsys, "start", str(root))
    assert code == 3
    assert "already being recorded" in err
    code, out, err = cli(
        capsys, "stop", str(root), "-out", "list", "-listpath", str(tmp_path / "l")
    )
    assert_stopped(code, out + err)


def test_default_outputs_are_package_inspectors_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "r"
    root.mkdir()
    assert cli(capsys, "start", str(root))[0] == 0
    (root / "x.ps1").write_text("1")
    code, out, err = cli(capsys, "stop", str(root), "-resdir", str(tmp_path / "res"), "--json")
    assert_stopped(code, err)
    res = tmp_path / "res"
    names = ("InspectedPackage.cat", "InspectedPackage.cdf", "InspectedPackage.report.json")
    assert json.loads(out)["written"] == [str(res / n) for n in names]
    assert sorted(p.name for p in res.iterdir()) == sorted(names)


def test_scan_lists_every_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tree = tmp_path / "tree"
    (tree / "a").mkdir(parents=True)
    for name in ("a/x.dll", "b.txt", "c.vbs"):
        (tree / name).write_bytes(b"1")
    code, _, err = cli(
        capsys, "scan", str(tree), "-out", "LIST", "-listpath", str(tmp_path / "s.txt")
    )
    assert code == 0, err
    assert (tmp_path / "s.txt").read_text().splitlines() == [
        str(tree / "a" / "x.dll"),
        str(tree / "b.txt"),
        str(tree / "c.vbs"),
    ]
    report = json.loads((tmp_path / "s.report.json").read_text())
    assert {tuple(e["reasons"]) for e in report["entries"]} == {("present",)}


def test_bad_option_values_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(capsys, "scan", str(tmp_path), "-ph", "maybe")[0] == 2
    assert cli(capsys, "scan", str(tmp_path), "-out", "zip")[0] == 2


def test_output_naming_rules(tmp_path: Path) -> None:
    p = outputs.plan_outputs(outputs.OutputOptions(), str(tmp_path))
    assert (p.cat, p.cdf) == (
        str(tmp_path / "InspectedPackage.cat"),
        str(tmp_path / "InspectedPackage.cdf"),
    )
    assert p.report == str(tmp_path / "InspectedPackage.report.json")
    p = outputs.plan_outputs(outputs.OutputOptions(name="app.cat", resdir=str(tmp_path / "r")))
    assert p.cat == str(tmp_path / "r" / "app.cat")
    assert p.cdf == str(tmp_path / "r" / "app.cdf")
    p = outputs.plan_outputs(
        outputs.OutputOptions(out="cat", name=str(tmp_path / "x.cat"), cdf_path="y.cdf"),
        str(tmp_path),
    )
    assert (p.cat, p.cdf, p.listing) == (str(tmp_path / "x.cat"), str(tmp_path / "y.cdf"), None)
    p = outputs.plan_outputs(outputs.OutputOptions(out="cdf"), str(tmp_path))
    assert (p.cat, p.cdf) == (None, str(tmp_path / "InspectedPackage.cdf"))
    assert trace.normalise_root_arg("C:") == "C:" + os.sep
    assert trace.normalise_root_arg("/x") == "/x"


def test_scan_report_keeps_first_page_hashes_only_and_shows_progress(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    for i in range(6):
        shutil.copy(FIXTURES / "pe" / "hello64.exe", tree / f"app{i}.exe")
    code, _, err = cli(
        capsys, "scan", str(tree), "-ph", "true", "-resdir", str(tmp_path / "res"), "--progress"
    )
    assert code == 0, err
    assert "6/6 files" in err
    report = json.loads((tmp_path / "res" / "InspectedPackage.report.json").read_text())
    for entry in report["entries"]:
        hashes = entry["hashes_at_stop"]
        assert hashes["page_hash_sha256"] is not None
        assert not any(key.startswith("page_table_") for key in hashes)
