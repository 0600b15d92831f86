"""The snapshot walker (tracer.md 3.3b, 7.7, 7.23): links, loops, unreadable dirs, long paths."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.support.tracer_snapshot import POSIX, _tree
from tracer.reduce import diff_snapshots
from tracer.sources.snapshot import take_snapshot


def _find_files(root: Path) -> set[str]:
    """Independent oracle: GNU find's list of regular files (never follows links)."""
    out = subprocess.run(
        ["find", str(root), "-type", "f", "-print0"], check=True, capture_output=True
    ).stdout
    return {os.fsdecode(p) for p in out.split(b"\0") if p}


def test_walk_matches_find(tmp_path: Path) -> None:
    _tree(tmp_path)
    snap = take_snapshot(str(tmp_path))
    assert set(snap.files) == _find_files(tmp_path)
    st = os.lstat(tmp_path / "d3" / "inner" / "f5.bin")
    assert snap.files[str(tmp_path / "d3" / "inner" / "f5.bin")] == (
        st.st_ino,
        5,
        st.st_mtime_ns,
        st.st_ctime_ns,
    )
    assert snap.stats.directories == 11


@POSIX
def test_symlink_loops_and_outside_links_are_not_followed(tmp_path: Path) -> None:
    root = tmp_path / "root"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.dll").write_bytes(b"MZ")
    _tree(root)
    (root / "d0" / "inner" / "loop").symlink_to("..")
    (root / "self").symlink_to(".")
    (root / "out").symlink_to(outside)
    (root / "filelink.dll").symlink_to(outside / "secret.dll")
    snap = take_snapshot(str(root))
    assert set(snap.files) == _find_files(root)
    assert snap.stats.links_skipped == 4
    assert not any("secret" in p for p in snap.files)


@POSIX
@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() != 0, reason="needs root for bind")
def test_bind_mount_loop_is_cut(tmp_path: Path) -> None:
    root = tmp_path / "root"
    _tree(root)
    target = root / "d1" / "again"
    target.mkdir()
    if subprocess.run(["mount", "--bind", str(root), str(target)], check=False).returncode:
        pytest.skip("bind mounts are not allowed here")
    try:
        snap = take_snapshot(str(root))
    finally:
        subprocess.run(["umount", str(target)], check=True)
    assert snap.stats.loops_skipped == 1
    assert len(snap.files) == 36


@POSIX
def test_paths_longer_than_path_max(tmp_path: Path) -> None:
    # 40 levels of 120-character names: ~4,900 bytes, beyond PATH_MAX (4096).
    name = "d" * 120
    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        for _ in range(40):
            os.mkdir(name, dir_fd=fd)
            nfd = os.open(name, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = nfd
        wfd = os.open("deep.exe", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(wfd, b"MZdeep")
        os.close(wfd)
    finally:
        os.close(fd)
    snap = take_snapshot(str(tmp_path))
    (path,) = snap.files
    assert len(os.fsencode(path)) > 4096
    assert path.endswith("/deep.exe")
    assert path == str(tmp_path) + ("/" + name) * 40 + "/deep.exe"
    assert snap.files[path][1] == 6


@POSIX
def test_unicode_and_undecodable_names(tmp_path: Path) -> None:
    (tmp_path / "Ünïcødé 文件.dll").write_bytes(b"MZ")
    raw = os.fsencode(str(tmp_path)) + b"/bad\xff\xfename.exe"
    with open(raw, "wb") as f:
        f.write(b"MZ")
    snap = take_snapshot(str(tmp_path))
    assert set(snap.files) == _find_files(tmp_path)
    assert os.fsdecode(raw) in snap.files


def test_excluded_dirs_are_skipped(tmp_path: Path) -> None:
    _tree(tmp_path)
    snap = take_snapshot(str(tmp_path), [str(tmp_path / "d2")])
    assert not any("/d2/" in p or "\\d2\\" in p for p in snap.files)
    assert snap.stats.excluded == 1


@POSIX
def test_same_size_edit_with_restored_mtime_is_modified(tmp_path: Path) -> None:
    files = []
    for i in range(50):
        p = tmp_path / f"f{i}.dll"
        p.write_bytes(b"A" * 100)
        files.append(p)
    before = take_snapshot(str(tmp_path))
    for p in files:
        st = p.stat()
        with open(p, "r+b") as f:
            f.write(b"B")
        os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
    after = take_snapshot(str(tmp_path))
    diff = diff_snapshots(before, after)
    assert diff.modified == {str(p) for p in files}
    assert not diff.created
    assert not diff.deleted
