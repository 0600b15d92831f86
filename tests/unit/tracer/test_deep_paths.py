"""Files deeper than PATH_MAX: found by the walk, classified and opened by name (issue 11, item 7).

The tree is built here through directory fds (``mkdir``/``open`` with ``dir_fd``), the only way to
reach it; oracles are the bytes written and hashlib over them.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import pytest

from tests.support.sessionkit import fake_pe
from tracer.records import ContentKind
from tracer.reduce import ReduceOptions, scan_manifest
from tracer.sources.base import Scope, content_of_path, open_deep
from tracer.sources.snapshot import take_snapshot

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX PATH_MAX and dir fds")
LEVELS, NAME = 40, "d" * 120  # 40 x 121 bytes: beyond PATH_MAX (4096)


def _deep_tree(root: Path, files: dict[str, bytes]) -> str:
    fd = os.open(root, os.O_RDONLY)
    try:
        for _ in range(LEVELS):
            os.mkdir(NAME, dir_fd=fd)
            nxt = os.open(NAME, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = nxt
        for name, data in files.items():
            w = os.open(name, os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
            os.write(w, data)
            os.close(w)
    finally:
        os.close(fd)
    return str(root) + ("/" + NAME) * LEVELS


def test_deep_file_is_walked_classified_and_readable(tmp_path: Path) -> None:
    pe = fake_pe(b"deep")
    deep = _deep_tree(tmp_path, {"deep.exe": pe, "notes.txt": b"text"})
    assert len(os.fsencode(deep)) > 4096
    with pytest.raises(OSError, match="too long"):
        Path(deep + "/deep.exe").stat()  # the premise: not reachable by name
    snap = take_snapshot(str(tmp_path))
    assert set(snap.files) == {deep + "/deep.exe", deep + "/notes.txt"}
    assert content_of_path(deep + "/deep.exe") is ContentKind.PE
    assert content_of_path(deep + "/notes.txt") is ContentKind.OTHER
    fd = open_deep(deep + "/deep.exe", os.O_RDONLY)
    try:
        got = os.read(fd, 1 << 16)
    finally:
        os.close(fd)
    assert hashlib.sha256(got).hexdigest() == hashlib.sha256(pe).hexdigest()
    content = {p: content_of_path(p) for p in snap.files}
    m = scan_manifest(snap, content, Scope(str(tmp_path)), ReduceOptions())
    assert [(e.path, e.catalogable) for e in m.entries if e.catalogable] == [
        (deep + "/deep.exe", True)
    ]


def test_open_deep_never_follows_a_link_in_the_directories(tmp_path: Path) -> None:
    base = tmp_path / "tree"
    base.mkdir()
    deep = _deep_tree(base, {})
    other = tmp_path / "other"
    other.mkdir()
    (other / "x.exe").write_bytes(b"MZ")
    # Swap the deepest directory for a link to elsewhere: the opener must refuse, not follow.
    parent_fd = open_deep(deep.rpartition("/")[0], os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.rmdir(NAME, dir_fd=parent_fd)
        os.symlink(str(other), NAME, dir_fd=parent_fd)
    finally:
        os.close(parent_fd)
    with pytest.raises(OSError, match=r"symbolic links|Not a directory"):
        os.close(open_deep(deep + "/x.exe", os.O_RDONLY))
    assert content_of_path(deep + "/x.exe") is ContentKind.UNKNOWN
