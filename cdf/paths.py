"""Map a member path as written in a .cdf to a host path, without touching the file system (5.1).

A .cdf is a Windows file: member paths use ``\\`` (Windows also accepts ``/``), may be relative to
the folder MakeCat runs in (OSS-SAMPLE runs it beside the .cdf: ``..\\files\\unsigned.exe``), may
carry a drive letter (``C:\\Program Files\\App\\app.exe``, what Package Inspector-style tools
write), a UNC share (``\\\\server\\share\\x.dll``) or a Win32 namespace prefix
(``\\\\?\\C:\\...``, ``\\\\?\\UNC\\server\\share\\...``, ``\\\\.\\C:\\...``).

``resolve_member_path`` gives the same answer on every OS for the same arguments; ``style`` says
which kind of host path to produce (default: the running OS's). ``..`` is folded lexically, which is
what Windows' own path normalisation (GetFullPathName) does too, so ``C:\\a\\..\\b`` is ``C:\\b``
even when ``C:\\a`` is a link.

POSIX hosts: a drive letter or UNC share must be in ``drive_map`` (``{"C": "/mnt/image"}``,
``{"\\\\\\\\server\\\\share": "/mnt/share"}``); a path starting with a single ``/`` is taken as an
absolute host path (a .cdf written on Linux); a root-relative ``\\dir\\x`` lands on the drive
whose mapped folder holds the .cdf. Windows hosts: mapped drives are rewritten, others kept.
"""

from __future__ import annotations

import ntpath
import os
import posixpath
import re
from collections.abc import Mapping
from pathlib import PurePath, PurePosixPath, PureWindowsPath
from typing import Literal

from cdf.errors import CdfInputError

__all__ = ["HostStyle", "resolve_member_path", "windows_basename"]

HostStyle = Literal["posix", "windows"]

_DRIVE_RE = re.compile(r"([A-Za-z]):(.*)\Z", re.DOTALL)


def windows_basename(path: str) -> str:
    """The last component of a Windows-style path (``\\`` and ``/`` both separate)."""
    last = re.split(r"[\\/]", path.rstrip("\\/"))[-1]
    return last[2:] if _DRIVE_RE.match(last) else last


def _split_root(path: str) -> tuple[str, str, str]:
    """(kind, root, rest) with kind in drive | unc | rooted | relative | driverel.

    ``root`` is ``"C"`` for drives, ``"\\\\server\\share"`` for UNC; ``rest`` uses ``\\``.
    """
    p = path.replace("/", "\\")
    low = p[:8].upper()
    if low.startswith(("\\\\?\\UNC\\", "\\\\.\\UNC\\")):
        p = "\\\\" + p[8:]
    elif low.startswith(("\\\\?\\", "\\\\.\\", "\\??\\")):
        p = p[4:]
    match = _DRIVE_RE.match(p)
    if match is not None:
        drive, rest = match.group(1).upper(), match.group(2)
        if not rest.startswith("\\"):
            return "driverel", drive, rest
        return "drive", drive, rest
    if p.startswith("\\\\"):
        parts = p[2:].split("\\")
        if len(parts) < 2 or not parts[0] or not parts[1]:
            raise CdfInputError(
                f"UNC path {path!r} needs a server and a share: write \\\\server\\share\\file"
            )
        root = f"\\\\{parts[0]}\\{parts[1]}"
        return "unc", root, "\\" + "\\".join(parts[2:])
    if p.startswith("\\"):
        return "rooted", "", p
    return "relative", "", p


def _normalise_key(key: str) -> tuple[str, str]:
    if re.fullmatch(r"[A-Za-z]:?[\\/]?", key):
        return "drive", key[0].upper()
    kind, root, rest = _split_root(key)
    if kind == "unc" and rest.strip("\\") == "":
        return "unc", root.upper()
    raise CdfInputError(
        f"drive map key {key!r} is neither a drive letter (C or C:) nor a share (\\\\server\\share)"
    )


def resolve_member_path(
    path: str,
    cdf_dir: str | PurePath,
    drive_map: Mapping[str, str | PurePath] | None = None,
    *,
    style: HostStyle | None = None,
) -> PurePath:
    """The host path of member ``path``, for a .cdf in folder ``cdf_dir``.

    ``cdf_dir`` must be absolute in the host style. Raises ``CdfInputError`` (saying which
    mapping to add) when a drive or share has no host folder.
    """
    host: HostStyle = style or ("windows" if os.name == "nt" else "posix")
    if not path:
        raise CdfInputError("the member path is empty: give the file's path")
    mapping: dict[tuple[str, str], str] = {}
    for key, folder in (drive_map or {}).items():
        mapping[_normalise_key(key)] = str(folder)
    base = str(cdf_dir)
    if host == "posix":
        if path.startswith("/") and not path.startswith("//"):
            return PurePosixPath(posixpath.normpath(path))
        kind, root, rest = _split_root(path)
        if kind == "driverel":
            raise CdfInputError(
                f"path {path!r} is relative to the current folder of drive {root}: write "
                f"{root}:\\{rest}"
            )
        parts = [part for part in rest.split("\\") if part]
        if kind == "relative":
            return PurePosixPath(posixpath.normpath(posixpath.join(base, *parts)))
        if kind == "rooted":
            drive_root = _root_holding(base, mapping)
            if drive_root is None:
                raise CdfInputError(
                    f"path {path!r} starts at the root of the current drive, and no drive map "
                    f"entry holds the .cdf folder {base}: write the drive letter"
                )
            return _under(drive_root, parts)
        lookup = ("drive", root) if kind == "drive" else ("unc", root.upper())
        target = mapping.get(lookup)
        if target is None:
            label = f"{root}:" if kind == "drive" else root
            example = f"{root}=/mnt/image" if kind == "drive" else f"{root}=/mnt/share"
            raise CdfInputError(
                f"path {path} is on {label}, which has no host folder: map it to the folder "
                f"that holds that drive's files (makecat --drive {example})"
            )
        return _under(target, parts)

    kind, root, rest = _split_root(path)
    if kind == "driverel":
        raise CdfInputError(
            f"path {path!r} is relative to the current folder of drive {root}: write "
            f"{root}:\\{rest}"
        )
    parts = [part for part in rest.split("\\") if part]
    if kind == "relative":
        return PureWindowsPath(ntpath.normpath(ntpath.join(base, *parts)))
    if kind == "rooted":
        return PureWindowsPath(ntpath.normpath(ntpath.splitdrive(base)[0] + "\\" + rest))
    lookup = ("drive", root) if kind == "drive" else ("unc", root.upper())
    target = mapping.get(lookup)
    if target is None:
        prefix = f"{root}:\\" if kind == "drive" else root + "\\"
        return PureWindowsPath(ntpath.normpath(prefix + "\\".join(parts)))
    return PureWindowsPath(ntpath.normpath(ntpath.join(target, *_clamp(parts))))


def _clamp(parts: list[str]) -> list[str]:
    # fold ".." without climbing above the drive root: on Windows "C:\..\x" is "C:\x"
    kept: list[str] = []
    for part in parts:
        if part == "..":
            if kept:
                kept.pop()
        elif part != ".":
            kept.append(part)
    return kept


def _under(root: str, parts: list[str]) -> PurePosixPath:
    return PurePosixPath(posixpath.normpath(posixpath.join(root, *_clamp(parts))))


def _root_holding(base: str, mapping: Mapping[tuple[str, str], str]) -> str | None:
    best: str | None = None
    norm = posixpath.normpath(base)
    for (kind, _), target in sorted(mapping.items()):
        if kind != "drive":
            continue
        t = posixpath.normpath(target)
        if (norm == t or norm.startswith(t.rstrip("/") + "/")) and (
            best is None or len(t) > len(best)
        ):
            best = t
    return best
