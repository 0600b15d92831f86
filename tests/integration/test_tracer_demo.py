"""``inspector demo``: the scripted install ends in a signed catalog osslsigncode agrees with."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from inspector.cli import main
from tests.conftest import FIXTURES, require_tool
from tests.tracer.sessionkit import IS_ROOT, LINUX

pytestmark = pytest.mark.integration


def test_demo_records_writes_signs_and_verifies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INSPECTOR_STATE_DIR", str(tmp_path / "state"))
    try:
        main(["demo", "--dir", str(tmp_path / "demo")])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "signature ok" in out
    report = json.loads((tmp_path / "demo" / "out" / "DemoApp.report.json").read_text())
    entries = {Path(e["path"]).name: e for e in report["entries"]}
    assert "loaded" in entries["democore.dll"]["reasons"]
    assert entries["nshelper.dll"]["exists_at_stop"] is False
    if not (LINUX and IS_ROOT):
        return
    # osslsigncode, independently: the deleted plug-in is covered by the signed catalog.
    tool = require_tool("osslsigncode")
    done = subprocess.run(
        [tool, "verify", "-CAfile", str(FIXTURES / "pki" / "root-ca.pem"), "-ignore-crl",
         "-catalog", str(tmp_path / "demo" / "out" / "DemoApp.signed.cat"),
         "-in", str(tmp_path / "demo" / "evidence" / "nshelper.dll")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
