"""cdf.paths: member path -> host path, pure, same answers on every OS."""

from __future__ import annotations

import os
from pathlib import PurePosixPath, PureWindowsPath

import pytest

from cdf.errors import CdfInputError
from cdf.paths import resolve_member_path, windows_basename

MAP = {"C": "/mnt/image", "d:": "/mnt/data", "\\\\srv\\Share": "/mnt/share"}
CDF_DIR = "/mnt/image/work/cdfs"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("..\\files\\unsigned.exe", "/mnt/image/work/files/unsigned.exe"),  # OSS-SAMPLE style
        ("unsigned.exe", "/mnt/image/work/cdfs/unsigned.exe"),
        (".\\sub\\.\\x.dll", "/mnt/image/work/cdfs/sub/x.dll"),
        ("sub/x.dll", "/mnt/image/work/cdfs/sub/x.dll"),
        ("C:\\Program Files\\App\\a b.exe", "/mnt/image/Program Files/App/a b.exe"),
        ("c:/Program Files/App/x=y.exe", "/mnt/image/Program Files/App/x=y.exe"),
        ("C:\\Windows\\..\\..\\..\\x.exe", "/mnt/image/x.exe"),  # never above the drive root
        ("D:\\data\\\\double\\x", "/mnt/data/data/double/x"),
        ("\\\\srv\\share\\dir\\x.dll", "/mnt/share/dir/x.dll"),  # share names ignore case
        ("\\\\?\\C:\\long\\x.exe", "/mnt/image/long/x.exe"),
        ("\\\\.\\C:\\dev\\x.exe", "/mnt/image/dev/x.exe"),
        ("\\\\?\\UNC\\SRV\\share\\x.dll", "/mnt/share/x.dll"),
        ("\\Windows\\System32\\x.dll", "/mnt/image/Windows/System32/x.dll"),  # drive of the .cdf
        ("/opt/app/x.so", "/opt/app/x.so"),  # a .cdf written on a POSIX host
        ("C:\\Ünïcödé\\日本.dll", "/mnt/image/Ünïcödé/日本.dll"),
    ],
)
def test_posix(path: str, expected: str) -> None:
    got = resolve_member_path(path, CDF_DIR, MAP, style="posix")
    assert isinstance(got, PurePosixPath)
    assert got == PurePosixPath(expected)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("..\\files\\unsigned.exe", "D:\\work\\files\\unsigned.exe"),
        ("C:\\Program Files\\x.exe", "E:\\image\\Program Files\\x.exe"),  # mapped
        ("f:\\x.exe", "F:\\x.exe"),  # unmapped: kept
        ("\\\\srv\\share\\x.dll", "\\\\srv\\share\\x.dll"),
        ("\\\\?\\UNC\\srv\\share\\x.dll", "\\\\srv\\share\\x.dll"),
        ("\\Windows\\x.dll", "D:\\Windows\\x.dll"),
        ("C:/a/../b.exe", "E:\\image\\b.exe"),
    ],
)
def test_windows(path: str, expected: str) -> None:
    got = resolve_member_path(path, "D:\\work\\cdfs", {"C:": "E:\\image"}, style="windows")
    assert isinstance(got, PureWindowsPath)
    assert got == PureWindowsPath(expected)


@pytest.mark.parametrize(
    ("path", "drive_map", "fragment"),
    [
        ("E:\\x.exe", MAP, "E:, which has no host folder"),
        ("\\\\other\\share\\x", MAP, "no host folder"),
        ("C:x.exe", MAP, "relative to the current folder of drive C"),
        ("\\Windows\\x.dll", {}, "write the drive letter"),
        ("\\\\server", MAP, "needs a server and a share"),
        ("", MAP, "empty"),
        ("x", {"CC": "/x"}, "neither a drive letter"),
    ],
)
def test_posix_errors(path: str, drive_map: dict[str, str], fragment: str) -> None:
    with pytest.raises(CdfInputError, match=fragment):
        resolve_member_path(path, CDF_DIR, drive_map, style="posix")


def test_default_style_is_the_running_os() -> None:
    base = "C:\\cdfs" if os.name == "nt" else "/tmp/cdfs"
    got = resolve_member_path("a\\b.exe", base)
    assert isinstance(got, PureWindowsPath if os.name == "nt" else PurePosixPath)
    assert got.name == "b.exe"
    assert got.parent.name == "a"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("C:\\App\\app.exe", "app.exe"),
        ("..\\files\\unsigned.ex_", "unsigned.ex_"),
        ("a/b/c.js", "c.js"),
        ("C:x.exe", "x.exe"),
        ("plain.txt", "plain.txt"),
        ("C:\\dir\\", "dir"),
        ("", ""),
    ],
)
def test_windows_basename(path: str, expected: str) -> None:
    assert windows_basename(path) == expected
