"""``makecat``: the catalog a .cdf names stays inside ResultDir.

A hostile .cdf's ``Name=`` must not write anywhere else: ``..``, absolute paths and UNC shares are
refused with exit 3 and a message naming the .cdf line; a symlink planted at the target is
replaced, never followed. The oracle is the file system itself: the victim file's bytes (compared
with what the test wrote) and ``os.lstat`` of the target.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from inspector.cli import main
from tests.conftest import FIXTURES

VICTIM = b"precious data, not a catalog\n"


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, capsys.readouterr().err


def _tree(tmp_path: Path, name: str) -> tuple[Path, Path]:
    """work/pkg.cdf (Name=``name``, ResultDir=out) + work/app.exe; elsewhere/victim.txt."""
    work, elsewhere = tmp_path / "work", tmp_path / "elsewhere"
    work.mkdir()
    elsewhere.mkdir()
    shutil.copy(FIXTURES / "pe" / "hello64.exe", work / "app.exe")
    (elsewhere / "victim.txt").write_bytes(VICTIM)
    cdf = work / "pkg.cdf"
    cdf.write_bytes(
        (
            "[CatalogHeader]\r\n"
            f"Name={name}\r\n"
            "ResultDir=out\r\n"
            "CatalogVersion=2\r\nHashAlgorithms=SHA256\r\n\r\n"
            "[CatalogFiles]\r\n<HASH>app.exe=app.exe\r\n"
        ).encode()
    )
    return cdf, elsewhere / "victim.txt"


@pytest.mark.parametrize(
    "name",
    [
        "..\\..\\elsewhere\\victim.txt",
        "../../elsewhere/victim.txt",
        "sub\\..\\..\\..\\elsewhere\\victim.txt",
        "...\\victim.txt",
        "{victim}",
        "\\\\server\\share\\victim.txt",
        "\\elsewhere\\victim.txt",
    ],
)
def test_name_outside_result_dir_is_refused_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    victim = tmp_path / "elsewhere" / "victim.txt"
    cdf, victim = _tree(tmp_path, name.replace("{victim}", str(victim)))
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    code, err = _run(["makecat", str(cdf)], capsys)
    assert code == 3, err
    assert "line 2: Name=" in err
    assert "ResultDir" in err
    assert victim.read_bytes() == VICTIM
    after = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before  # nothing written anywhere, not even a temp file


def test_symlink_at_the_target_is_replaced_not_followed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cdf, victim = _tree(tmp_path, "pkg.cat")
    out = cdf.parent / "out"
    out.mkdir()
    (out / "pkg.cat").symlink_to(victim)
    code, err = _run(["makecat", str(cdf)], capsys)
    assert code == 0, err
    assert victim.read_bytes() == VICTIM
    target = os.lstat(out / "pkg.cat")
    assert not (out / "pkg.cat").is_symlink()
    assert target.st_size > 0
    assert (out / "pkg.cat").read_bytes()[:1] == b"\x30"  # a DER SEQUENCE: the catalog
    assert sorted(p.name for p in out.iterdir()) == ["pkg.cat"]  # no temp file left


def test_names_inside_result_dir_still_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cdf, victim = _tree(tmp_path, "sub\\pkg.cat")
    code, err = _run(["makecat", str(cdf)], capsys)
    assert code == 0, err
    assert (cdf.parent / "out" / "sub" / "pkg.cat").is_file()
    assert victim.read_bytes() == VICTIM
