"""The hash cache shared by real processes: two ``inspector hash --cache`` at once on one file,
then an edited file (size and mtime restored) seen by a third run. Oracle: sha256sum."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT


def _sha256sum(path: Path) -> str:
    out = subprocess.run(["sha256sum", str(path)], capture_output=True, text=True, check=True)
    return out.stdout.split()[0]


def _inspector(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "inspector", *args],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _flat(doc: dict[str, object]) -> dict[str, str]:
    files = doc["files"]
    assert isinstance(files, list)
    return {f["path"]: f["flat_sha256"] for f in files}


@pytest.mark.slow
def test_two_processes_write_one_cache_then_an_edit_is_noticed(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    for i in range(300):
        (tree / f"f{i:03}.bin").write_bytes(os.urandom(2000 + i))
    time.sleep(2.2)  # older than the cache's racy window, so entries are stored
    cache = tmp_path / "hashes.db"
    runs = [
        _inspector("hash", "--cache", str(cache), "--json", "-a", "sha256", str(tree))
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=300) for p in runs]
    for proc, (_, err) in zip(runs, outputs, strict=True):
        assert proc.returncode == 0, err
    oracle = {str(p): _sha256sum(p) for p in tree.iterdir()}
    for out, _ in outputs:
        got = {k: v.lower() for k, v in _flat(json.loads(out)).items()}
        assert got == oracle
    stats = _inspector("cache", "stats", str(cache), "--json")
    out, err = stats.communicate(timeout=120)
    assert stats.returncode == 0, err
    assert json.loads(out)["entries"] == 300

    target = tree / "f123.bin"
    before = target.stat()
    data = bytearray(target.read_bytes())
    data[0] ^= 1
    target.write_bytes(bytes(data))
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    third = _inspector("hash", "--cache", str(cache), "--json", "-a", "sha256", str(tree))
    out, err = third.communicate(timeout=300)
    assert third.returncode == 0, err
    got = {k: v.lower() for k, v in _flat(json.loads(out)).items()}
    assert got[str(target)] == _sha256sum(target)
    assert got[str(target)] != oracle[str(target)]

    (tree / "f000.bin").unlink()
    prune = _inspector("cache", "prune", str(cache), "--json")
    out, err = prune.communicate(timeout=120)
    assert prune.returncode == 0, err
    pruned = json.loads(out)
    assert pruned["dropped"] == 2  # the deleted file, and the edited one's stale entry
    assert pruned["entries"] == 298
