"""Issue 11 items 8, 9, 11, 12, 13 and 15, in-process through ``inspector.cli.main``.

Digests are checked against hashlib; file system facts (FIFOs, sizes) are made by the test itself.
The real-process versions (exit codes, FIFOs, /dev/zero, unreadable files) are in
tests/integration/test_cli_exit_codes.py and test_cli_hostile_inputs.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

import pytest

from catalog.errors import CatalogInputError
from inspector.cli.text import count
from inspector.pipeline import files
from inspector.pipeline.files import check_arguments, read_input
from tests.conftest import run_cli

# -- item 9: one input reader -----------------------------------------------------------------


def test_read_input_refuses_a_fifo_without_opening_it(tmp_path: Path) -> None:
    fifo = tmp_path / "p"
    os.mkfifo(fifo)
    outcome: list[BaseException] = []

    def attempt() -> None:
        try:
            read_input(fifo, "catalog")
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            outcome.append(exc)

    reader = threading.Thread(target=attempt, daemon=True)
    reader.start()
    reader.join(10)
    if reader.is_alive():  # a blocking open waits for a writer: be that writer, then fail
        with open(fifo, "wb"):
            pass
        reader.join(10)
        pytest.fail("read_input blocked on a FIFO")
    (error,) = outcome
    assert isinstance(error, CatalogInputError)
    assert "FIFO (named pipe), expected a catalog" in str(error)


def test_read_input_refuses_devices_and_folders(tmp_path: Path) -> None:
    # /dev/null, not /dev/zero: a regression must not fill this process's memory (the
    # /dev/zero case runs in a memory-limited child: tests/integration/test_cli_hostile_inputs.py)
    with pytest.raises(CatalogInputError, match="a device"):
        read_input(Path("/dev/null"), "policy")
    with pytest.raises(CatalogInputError, match="is a folder"):
        read_input(tmp_path, "policy")


def test_read_input_caps_the_size_and_reads_in_pieces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = os.urandom(3 * 1024 + 17)
    path = tmp_path / "x.bin"
    path.write_bytes(data)
    monkeypatch.setattr(files, "CHUNK", 1024)  # several pieces, reassembled in order
    assert read_input(path, "catalog", limit=len(data)) == data
    with pytest.raises(CatalogInputError, match="more than a catalog may be"):
        read_input(path, "catalog", limit=len(data) - 1)


def test_read_input_names_a_missing_file_as_bad_input(tmp_path: Path) -> None:
    with pytest.raises(CatalogInputError, match="catalog not found; check the path"):
        read_input(tmp_path / "nope.cat", "catalog")
    with pytest.raises(CatalogInputError, match="name too long"):
        read_input(tmp_path / ("x" * 300), "catalog")


# -- item 8: one bad argument never stops a batch ---------------------------------------------


def test_check_arguments_splits_usable_from_bad(tmp_path: Path) -> None:
    good = tmp_path / "good"
    good.write_bytes(b"x")
    (tmp_path / "loop").symlink_to("loop")
    usable, bad = check_arguments([tmp_path / ("y" * 300), good, tmp_path / "loop", "a\0b"])
    assert usable == [str(good)]
    reasons = [f.error for f in bad]
    assert "name too long" in reasons[0]
    assert "too many levels of symbolic links" in reasons[1]
    assert "not a valid path" in reasons[2]
    assert {f.category for f in bad} == {"input"}


def test_hash_over_long_name_is_one_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.bin"
    good.write_bytes(b"hash me")
    code, out, err = run_cli(capsys, "hash", "--json", str(tmp_path / ("z" * 300)), str(good))
    assert code == 3, err
    doc = json.loads(out)
    (entry,) = doc["files"]
    assert entry["path"] == str(good)
    assert hashlib.sha256(b"hash me").hexdigest().upper() in json.dumps(entry).upper()
    assert len(doc["failures"]) == 1
    assert "1 of 2 files could not be hashed" in err


# -- item 11: internal errors are 70 with a hint; --debug prints the traceback ------------------


def _plant_bug(monkeypatch: pytest.MonkeyPatch) -> None:
    import inspector.cli.commands_hash as commands

    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("planted")

    monkeypatch.setattr(commands, "stream_inputs", broken)


def test_internal_error_is_70_with_one_line_and_a_hint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _plant_bug(monkeypatch)
    code, _, err = run_cli(capsys, "hash", str(tmp_path))
    assert code == 70
    lines = err.strip().splitlines()
    assert lines[0] == "internal error (in hash): KeyError: 'planted'"
    assert "--debug" in lines[1]
    assert "Traceback" not in err


@pytest.mark.parametrize("where", ["first", "last"])
def test_debug_is_accepted_anywhere_and_prints_the_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    _plant_bug(monkeypatch)
    args = ["hash", str(tmp_path)]
    args = ["--debug", *args] if where == "first" else [*args, "--debug"]
    code, _, err = run_cli(capsys, *args)
    assert code == 70
    assert "Traceback (most recent call last)" in err
    assert "KeyError: 'planted'" in err


def test_debug_without_an_error_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "g"
    good.write_bytes(b"g")
    code, out, _ = run_cli(capsys, "--debug", "hash", str(good))
    assert code == 0
    assert hashlib.sha1(b"g").hexdigest().upper() in out


# -- item 12: bad option values are usage errors ----------------------------------------------


@pytest.mark.parametrize(
    "extra",
    [[], ["--chain", "ca.pem"]],
)
def test_sign_identity_options_are_checked_as_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str]
) -> None:
    code, _, err = run_cli(capsys, "sign", str(tmp_path / "app.cat"), *extra)
    assert code == 2, err
    assert "--key" in err


@pytest.mark.parametrize("command", [["hash"], ["catalog", "build", "-o", "x.cat"], ["verify"]])
def test_negative_workers_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    good = tmp_path / "good"
    good.write_bytes(b"x")
    code, _, err = run_cli(capsys, *command, str(good), "-j", "-1")
    assert code == 2, err


# -- item 13: repeated -out --------------------------------------------------------------------


def _tree(tmp_path: Path) -> Path:
    root = tmp_path / "app"
    root.mkdir()
    (root / "tool.ps1").write_text("Write-Host hi\n")
    return root


def test_out_cat_and_out_cdf_write_both(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _tree(tmp_path)
    name = tmp_path / "out" / "app.cat"
    code, _, err = run_cli(
        capsys, "scan", str(root), "-out", "cat", "-out", "cdf", "-name", str(name)
    )
    assert code == 0, err
    assert name.is_file()
    cdf = name.with_suffix(".cdf")
    assert cdf.is_file()
    data = cdf.read_bytes()
    assert b"tool.ps1" in data or "tool.ps1".encode("utf-16-le") in data


def test_out_cdf_with_name_names_the_cdf(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _tree(tmp_path)
    name = tmp_path / "out" / "only.cdf"
    code, _, err = run_cli(capsys, "scan", str(root), "-out", "cdf", "-name", str(name))
    assert code == 0, err
    assert name.is_file()
    assert not list((tmp_path / "out").glob("*.cat"))


def test_out_list_with_cat_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _tree(tmp_path)
    code, _, err = run_cli(capsys, "scan", str(root), "-out", "list", "-out", "cat")
    assert code == 2
    assert "cannot be combined" in err


# -- item 15: messages ---------------------------------------------------------------------------


def test_unmapped_drive_message_is_words_not_a_dict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cdf = tmp_path / "app.cdf"
    cdf.write_text("[CatalogHeader]\nName=app.cat\n[CatalogFiles]\n<HASH>a=D:\\app\\a.exe\n")
    code, _, err = run_cli(capsys, "makecat", str(cdf))
    assert code == 3
    assert "{" not in err
    assert "--drive D=/mnt/image" in err
    assert "path D:\\app\\a.exe is on D:" in err


def test_mistyped_path_is_not_called_deleted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(capsys, "hash", str(tmp_path / "typo.exe"))
    assert code == 3
    assert "may have been deleted" not in err
    assert "no such file or folder; check the path" in err


def test_counts_have_plurals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "one"
    good.write_bytes(b"1")
    code, out, _ = run_cli(capsys, "hash", str(good))
    assert code == 0
    assert "1 file hashed" in out
    assert "1 files" not in out
    assert [count(n, "file") for n in (0, 1, 2)] == ["0 files", "1 file", "2 files"]
    assert count(2, "entry") == "2 entries"
    assert count(1, "policy") == "1 policy"


def test_identical_members_are_summarised(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "same"
    folder.mkdir()
    for i in range(127):
        (folder / f"copy{i:03}.txt").write_bytes(b"identical content\n")
    out_cat = tmp_path / "same.cat"
    code, out, err = run_cli(capsys, "catalog", "build", str(folder), "-o", str(out_cat))
    assert code == 0, err
    notes = [line for line in out.splitlines() if "same file as another member" in line]
    assert len(notes) == 1, notes
    assert "126 members are the same file as another member" in notes[0]
    code, out, _ = run_cli(capsys, "catalog", "build", str(folder), "-o", str(out_cat), "-v")
    assert code == 0
    assert sum("same file as another member" in line for line in out.splitlines()) == 126
