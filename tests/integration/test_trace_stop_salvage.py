"""``stop`` finishes whatever the recorder or the file names did.

Real recorder processes through the real CLI. Oracles: the files each test wrote itself (their
names as bytes from ``os.listdir(bytes)``, their contents hashed with hashlib: a flat member's
subject identifier is the SHA256 of its bytes), the catalog decoded with asn1crypto and signify's
CTL schema, and the corrupt journal bytes the test wrote.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest
import signify.asn1.ctl  # noqa: F401  (registers the CTL content type with asn1crypto)
from asn1crypto.cms import ContentInfo

from inspector.cli.exit_codes import ExitCode
from tests.conftest import run_cli
from tests.support.sessionkit import recorder_pid, state_dir  # noqa: F401 - fixture
from tracer.control import request
from tracer.state import find_session

pytestmark = pytest.mark.usefixtures("state_dir")

HOSTILE = {
    b"evil\nname.ps1": b"Write-Host 'line feed'\n",
    b"carriage\rreturn.js": b"WScript.Echo('cr');\n",
    b"latin1-\xe9\xff.vbs": b'MsgBox "not utf-8"\n',
}


def _subjects(cat: Path) -> set[bytes]:
    ctl = ContentInfo.load(cat.read_bytes())["content"]["encap_content_info"]["content"]
    return {s["subject_identifier"].native for s in ctl["trusted_subjects"]}


def _wait_events(root: Path, n: int, timeout: float = 30.0) -> None:
    info = find_session(str(root))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if request(info, {"cmd": "status"}, 5.0)["events"] >= n:
            return
        time.sleep(0.1)
    raise AssertionError(f"recorder journaled fewer than {n} events in {timeout} s")


def test_hostile_names_are_reported_kept_in_the_catalog_and_out_of_the_cdf(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, out = tmp_path / "root", tmp_path / "out"
    root.mkdir()
    code, _, err = run_cli(capsys, "start", str(root))
    assert code == 0, err
    for name, data in HOSTILE.items():
        Path(os.fsdecode(os.fsencode(root) + b"/" + name)).write_bytes(data)
    (root / "good.ps1").write_bytes(b"Write-Host 'fine'\n")
    code, _, err = run_cli(capsys, "stop", str(root), "-name", str(out / "pkg.cat"))
    assert code == 0, err
    names = set(os.listdir(os.fsencode(root)))  # noqa: PTH208 - names as bytes
    assert names == {*HOSTILE, b"good.ps1"}
    # the catalog holds every file (flat members: SHA256 of the bytes the test wrote)
    subjects = _subjects(out / "pkg.cat")
    for data in (*HOSTILE.values(), b"Write-Host 'fine'\n"):
        assert hashlib.sha256(data).digest() in subjects
    # the .cdf holds only the name MakeCat can express
    cdf = (out / "pkg.cdf").read_bytes()
    members = cdf.split(b"[CatalogFiles]")[1].split(b"\r\n")
    assert [m for m in members if m] == [
        b"<HASH>" + os.fsencode(root / "good.ps1") + b"=" + os.fsencode(root / "good.ps1")
    ]
    # the report names each hostile file and round-trips its bytes
    report = json.loads((out / "pkg.report.json").read_bytes())
    by_bytes = {bytes.fromhex(e["path_bytes"]): e for e in report["entries"] if "path_bytes" in e}
    assert set(by_bytes) == {os.fsencode(root) + b"/" + n for n in HOSTILE}
    for raw, entry in by_bytes.items():
        assert os.fsencode(entry["path"]) == raw
        assert any(repr(entry["path"]) in w and ".cdf" in w for w in report["warnings"])
    assert "good.ps1" in json.dumps([e["path"] for e in report["entries"]])
    assert not [
        e for e in report["entries"] if e["path"].endswith("good.ps1") and "path_bytes" in e
    ]


def _kill_recorder(root: Path) -> None:
    pid = recorder_pid(find_session(str(root)))
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


@pytest.mark.parametrize("damage", ["garbage-file", "corrupt-event-row"])
def test_damaged_journal_and_dead_recorder_still_write_every_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: str
) -> None:
    root, out = tmp_path / "root", tmp_path / "out"
    (root / "pre").mkdir(parents=True)
    (root / "pre" / "old.ps1").write_bytes(b"Write-Host 'was there before'\n")
    code, _, err = run_cli(capsys, "start", str(root))
    assert code == 0, err
    created = {f"app{i}.ps1": f"Write-Host {i}\n".encode() for i in range(5)}
    (root / "app").mkdir()
    for name, data in created.items():
        (root / "app" / name).write_bytes(data)
    _wait_events(root, 1)
    journal = Path(find_session(str(root)).journal_path)
    _kill_recorder(root)
    if damage == "garbage-file":
        for extra in ("-wal", "-shm"):
            Path(str(journal) + extra).unlink(missing_ok=True)
        garbage = b"this is not an SQLite database " * 64
        journal.write_bytes(garbage)
    else:
        with sqlite3.connect(journal) as db:
            db.execute("UPDATE events SET data = '{not json' WHERE seq = 1")
        garbage = None
    code, _, err = run_cli(capsys, "stop", str(root), "-name", str(out / "pkg.cat"))
    # a degraded recording: success, or the CLI's own "degraded" code where it has one
    assert code == int(getattr(ExitCode, "DEGRADED", ExitCode.OK)), err
    assert "journal damaged" in err
    report = json.loads((out / "pkg.report.json").read_bytes())
    assert report["recovered"] is True
    assert any(d.startswith("journal damaged") for d in report["degraded"])
    kept = Path(report["damaged_journal"])
    assert kept.parent == out
    assert str(kept) in err
    if garbage is not None:
        assert kept.read_bytes() == garbage
    # the snapshot guarantee: every file created during the recording is catalogued
    subjects = _subjects(out / "pkg.cat")
    for data in created.values():
        assert hashlib.sha256(data).digest() in subjects
    cdf = (out / "pkg.cdf").read_bytes()
    for name in created:
        assert os.fsencode(root / "app" / name) in cdf
    old = os.fsencode(root / "pre" / "old.ps1")
    if damage == "garbage-file":  # baseline lost: listed rather than missed, and said so
        assert old in cdf
        assert any("baseline is lost" in d for d in report["degraded"])
    else:  # baseline intact: the two walks still tell new from old
        assert old not in cdf
    assert not list((tmp_path / "state").glob("sessions/*"))  # session discarded after writing
