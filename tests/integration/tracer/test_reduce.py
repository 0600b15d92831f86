"""Pure reduction (tracer.md 3.3, 7.3-7.6, 7.17): snapshots + events -> manifest."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.conftest import require_tool
from tracer.records import ContentKind
from tracer.reduce import HEAD_PROBE, classify_head, needed_head_length


def test_classify_real_pe_against_file(pe_file: Path) -> None:
    tool = require_tool("file")
    verdict = subprocess.run([tool, "-b", str(pe_file)], capture_output=True, text=True).stdout
    assert verdict.startswith("PE32")
    data = pe_file.read_bytes()
    n = needed_head_length(data[:HEAD_PROBE])
    assert n <= 4096
    assert classify_head(data[:n]) is ContentKind.PE
