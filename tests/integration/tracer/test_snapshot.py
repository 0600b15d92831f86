"""The snapshot walker (tracer.md 3.3b, 7.7, 7.23): links, loops, unreadable dirs, long paths."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import PROJECT_ROOT, require_tool
from tests.support.tracer_snapshot import POSIX, _tree
from tracer.sources.snapshot import take_snapshot


def _run_without_dac(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run Python as root minus CAP_DAC_OVERRIDE/READ_SEARCH, so file modes apply (setpriv)."""
    setpriv = require_tool("setpriv")
    return subprocess.run(
        [
            setpriv,
            "--bounding-set=-dac_override,-dac_read_search",
            sys.executable,
            "-c",
            code,
            *args,
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=PROJECT_ROOT,
    )


@POSIX
def test_unreadable_directory_is_counted_and_named(tmp_path: Path) -> None:
    _tree(tmp_path)
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "hidden.exe").write_bytes(b"MZ")
    locked.chmod(0)
    try:
        if os.geteuid() == 0:
            code = (
                "import sys,json;from tracer.sources.snapshot import take_snapshot;"
                "s=take_snapshot(sys.argv[1]);"
                "print(json.dumps([list(s.stats.unreadable_dirs), sorted(s.files)]))"
            )
            res = _run_without_dac(code, str(tmp_path))
            assert res.returncode == 0, res.stderr
            unreadable, files = json.loads(res.stdout)
        else:
            snap = take_snapshot(str(tmp_path))
            unreadable, files = list(snap.stats.unreadable_dirs), sorted(snap.files)
        assert [u.split(" (")[0] for u in unreadable] == [str(locked)]
        assert str(locked / "hidden.exe") not in files
        assert len(files) == 36
    finally:
        locked.chmod(0o755)
