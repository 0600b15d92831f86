"""``inspector catalog diff`` / ``merge`` on catalogs built by the real CLI.

Oracles: sha256sum of the member files (flat members' SIP digests), MakeCat's own
``makecat/unsigned.cat`` (diffed against our build of the same files), osslsigncode verifying
members against a merged catalog it signed, and the UTF-16LE attribute bytes in the DER.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, run_cli


def _sha256sum(path: Path) -> str:
    out = subprocess.run(["sha256sum", str(path)], capture_output=True, text=True, check=True)
    return out.stdout.split()[0].upper()


def _tree(root: Path, files: dict[str, bytes]) -> Path:
    root.mkdir(parents=True)
    for name, data in files.items():
        (root / name).write_bytes(data)
    return root


def _build(capsys: pytest.CaptureFixture[str], src: Path, out: Path, *extra: str) -> None:
    code, _, err = run_cli(capsys, "catalog", "build", str(src), "-o", str(out), *extra)
    assert code == 0, err


@pytest.fixture
def versions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, Path, Path, Path]:
    old = _tree(tmp_path / "v1", {"a.txt": b"same", "b.txt": b"old b", "c.txt": b"gone"})
    new = _tree(tmp_path / "v2", {"a.txt": b"same", "b.txt": b"new b", "d.txt": b"fresh"})
    shutil.copy(FIXTURES / "pe" / "hello32.exe", old / "app.exe")
    shutil.copy(FIXTURES / "pe" / "hello64.exe", new / "app.exe")
    old_cat, new_cat = tmp_path / "old.cat", tmp_path / "new.cat"
    _build(capsys, old, old_cat, "--catalog-attr", "0x10010001:Release:1.0")
    _build(capsys, new, new_cat, "--catalog-attr", "0x10010001:Release:2.0")
    return old, new, old_cat, new_cat


def test_diff_reports_added_removed_changed_by_file_name(
    versions: tuple[Path, Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    old, new, old_cat, new_cat = versions
    code, out, err = run_cli(capsys, "catalog", "diff", str(old_cat), str(new_cat), "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert [m["name"] for m in doc["added"]] == ["d.txt"]
    assert doc["added"][0]["digest"] == _sha256sum(new / "d.txt")
    assert [m["name"] for m in doc["removed"]] == ["c.txt"]
    assert doc["removed"][0]["digest"] == _sha256sum(old / "c.txt")
    changed = {c["name"]: c for c in doc["changed"]}
    assert set(changed) == {"app.exe", "b.txt"}
    assert changed["b.txt"]["old"]["digest"] == _sha256sum(old / "b.txt")
    assert changed["b.txt"]["new"]["digest"] == _sha256sum(new / "b.txt")
    assert changed["app.exe"]["content_changed"] is True
    assert doc["unchanged"] == 1  # a.txt
    assert doc["catalog_attributes"] == [{"name": "Release", "old": "1.0", "new": "2.0"}]
    code, table, _ = run_cli(capsys, "catalog", "diff", str(old_cat), str(new_cat))
    assert code == 0
    assert "+ d.txt" in table
    assert "- c.txt" in table
    assert "1 added, 1 removed, 2 changed, 1 unchanged" in table
    code, same, _ = run_cli(capsys, "catalog", "diff", str(old_cat), str(old_cat), "--json")
    assert json.loads(same)["changed"] == []


def test_merge_is_a_deterministic_union_later_input_wins(
    versions: tuple[Path, Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new, old_cat, new_cat = versions
    merged, again = tmp_path / "m.cat", tmp_path / "m2.cat"
    code, out, err = run_cli(
        capsys, "catalog", "merge", str(old_cat), str(new_cat), "-o", str(merged), "--json"
    )
    assert code == 0, err
    assert json.loads(out)["members"] == 7  # a, old b, new b, c, d, two app.exe
    code, _, _ = run_cli(capsys, "catalog", "merge", str(old_cat), str(new_cat), "-o", str(again))
    assert code == 0
    assert merged.read_bytes() == again.read_bytes()
    data = merged.read_bytes()
    for path in [*old.glob("*.txt"), *new.glob("*.txt")]:
        assert bytes.fromhex(_sha256sum(path)) in data
    assert "2.0\0".encode("utf-16-le") in data
    assert "1.0\0".encode("utf-16-le") not in data
    code, shown, _ = run_cli(capsys, "catalog", "diff", str(new_cat), str(merged), "--json")
    doc = json.loads(shown)
    assert {m["name"] for m in doc["added"]} == {"app.exe", "b.txt", "c.txt"}
    assert doc["removed"] == []


def test_merge_refuses_mixed_versions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _tree(tmp_path / "src", {"x.txt": b"x"})
    v1, v2 = tmp_path / "v1.cat", tmp_path / "v2.cat"
    _build(capsys, src, v1, "--sha1")
    _build(capsys, src, v2, "--sha256")
    code, _, err = run_cli(capsys, "catalog", "merge", str(v1), str(v2), "-o", str(tmp_path / "o"))
    assert code == 3
    assert "different or unknown versions" in err
    assert not (tmp_path / "o").exists()


def test_scan_previous_reports_what_an_update_changed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = tmp_path / "app"
    app.mkdir()
    pe = FIXTURES / "pe"
    shutil.copy(pe / "hello32.exe", app / "app.exe")
    shutil.copy(pe / "version32.dll", app / "lib.dll")
    shutil.copy(pe / "version64.dll", app / "old.dll")
    first, second = tmp_path / "v1.cat", tmp_path / "v2.cat"
    code, _, err = run_cli(capsys, "scan", str(app), "-name", str(first))
    assert code == 0, err
    shutil.copy(pe / "hello64.exe", app / "app.exe")  # the vendor's update
    (app / "old.dll").unlink()
    shutil.copy(pe / "many-sections.exe", app / "new.exe")
    code, out, err = run_cli(
        capsys, "scan", str(app), "-name", str(second), "--previous", str(first), "--json"
    )
    assert code == 0, err
    changes = json.loads(out)["changes"]
    assert [m["name"] for m in changes["added"]] == ["new.exe"]
    assert [m["name"] for m in changes["removed"]] == ["old.dll"]
    assert [c["name"] for c in changes["changed"]] == ["app.exe"]
    assert changes["unchanged"] == 1
    code, text, _ = run_cli(
        capsys, "scan", str(app), "-name", str(second), "--previous", str(first)
    )
    assert code == 0
    assert "changes since the previous catalog:" in text
    assert "1 added, 1 removed, 1 changed, 1 unchanged" in text


def test_scan_with_a_cache_writes_the_same_catalog_from_cached_digests(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = tmp_path / "app"
    app.mkdir()
    for name in ("hello32.exe", "hello64.exe", "version32.dll"):
        shutil.copy(FIXTURES / "pe" / name, app / name)
    time.sleep(2.1)  # older than the cache's racy window: digests are stored
    cache = tmp_path / "hashes.db"
    plain, first, second = (tmp_path / f"{n}.cat" for n in ("plain", "first", "second"))
    assert run_cli(capsys, "scan", str(app), "-name", str(plain))[0] == 0
    for out in (first, second):
        code, _, err = run_cli(capsys, "scan", str(app), "-name", str(out), "--cache", str(cache))
        assert code == 0, err
    code, stats, _ = run_cli(capsys, "cache", "stats", str(cache), "--json")
    assert json.loads(stats)["entries"] == 3
    assert first.read_bytes() == plain.read_bytes() == second.read_bytes()
