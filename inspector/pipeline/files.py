"""File I/O shared by the pipelines: inputs read with clear errors, outputs written atomically
(``catalog.files.write_atomically``, re-exported here for the pipelines).

One reader for every command's inputs (.cdf, .cat, policy XML/.cip, certificates, keys, JSON
reports): regular files only, a size cap per kind of input, read in bounded pieces. A FIFO or a
device is refused from ``stat`` before it is opened, and the open itself is non-blocking (a path
swapped for a FIFO between the two checks cannot hang the command); ``/dev/zero`` cannot exhaust
memory because nothing beyond the cap is ever read.

Command-line arguments naming many files (``hash``, ``catalog build``, ``verify``, ``policy
hashes``) go through ``check_arguments``: an argument that cannot even be looked at (missing,
name too long, permission denied, a link loop) becomes a per-file failure and the others are
processed.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable
from pathlib import Path

from catalog import CatalogEnvironmentError, CatalogInputError, FileFailure, write_atomically

MiB = 1024 * 1024

# Size caps per kind of input (README "Limits"). Generous for real files (Microsoft's largest
# catalogs are tens of MiB, policies a few MiB), small enough that a hostile or mistaken input
# (/dev/zero, a disk image) is refused instead of read into memory.
MAX_CATALOG = 256 * MiB
"""A .cat, or a signed file/PKCS#7 read for its certificates."""
MAX_DEFINITION = 64 * MiB
"""A .cdf catalog definition."""
MAX_POLICY = 64 * MiB
"""A policy: XML, binary .cip or signed .p7b."""
MAX_CERTIFICATE = 4 * MiB
"""A certificate, chain, private key or PFX."""
MAX_REPORT = 512 * MiB
"""A JSON report (``inspector hash --json`` given to ``policy hashes``)."""

CHUNK = 1 * MiB
"""Inputs are read in pieces of this size: never one unbounded ``read()``."""

# errno values that mean "this argument names nothing usable": bad input (exit 3), not a broken
# environment.
_INPUT_ERRNOS = {errno.ENOENT, errno.ENOTDIR, errno.ENAMETOOLONG, errno.ELOOP, errno.EISDIR}


def _describe(exc: OSError) -> str:
    """What went wrong with a path the user gave, and what to do, in words (no Python reprs)."""
    code = exc.errno
    if code == errno.ENOENT:
        return "no such file or folder; check the path"
    if code == errno.ENOTDIR:
        return "a part of the path is a file, not a folder; check the path"
    if code == errno.ENAMETOOLONG:
        return "name too long for this file system; check the path"
    if code == errno.ELOOP:
        return "too many levels of symbolic links (a link loop?)"
    if code in (errno.EACCES, errno.EPERM):
        return "permission denied; run as a user who can read it"
    return f"cannot read: {exc.strerror or exc}"


def _kind_of(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _size_text(size: int) -> str:
    return f"{size / MiB:,.0f} MiB" if size >= MiB else f"{size:,} bytes"


def read_input(path: Path, what: str, *, limit: int = MAX_DEFINITION) -> bytes:
    """The bytes of an input file; errors name the file and what it was supposed to be.

    Regular files of at most ``limit`` bytes only: folders, FIFOs, sockets and devices are refused
    without blocking, larger files without reading them.
    """
    try:
        before = os.stat(path)  # noqa: PTH116 - one call, errno kept
    except OSError as exc:
        return _raise_for(path, what, exc)
    if stat.S_ISDIR(before.st_mode):
        raise CatalogInputError(f"{path}: is a folder, expected a {what} file")
    if not stat.S_ISREG(before.st_mode):
        raise CatalogInputError(
            f"{path}: {_kind_of(before.st_mode)}, expected a {what} file (only regular files are "
            "read)"
        )
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        return _raise_for(path, what, exc)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):  # swapped between stat and open
            raise CatalogInputError(f"{path}: {_kind_of(info.st_mode)}, expected a {what} file")
        if info.st_size > limit:
            raise CatalogInputError(
                f"{path}: {_size_text(info.st_size)} is more than a {what} may be "
                f"({_size_text(limit)}); is this the right file?"
            )
        pieces: list[bytes] = []
        total = 0
        while True:
            piece = os.read(fd, min(CHUNK, limit + 1 - total))
            if not piece:
                break
            pieces.append(piece)
            total += len(piece)
            if total > limit:
                raise CatalogInputError(
                    f"{path}: grew beyond {_size_text(limit)} while being read; a {what} may "
                    "not be larger"
                )
        return b"".join(pieces)
    except OSError as exc:
        raise CatalogEnvironmentError(f"{path}: cannot read the {what}: {exc.strerror}") from exc
    finally:
        os.close(fd)


def _raise_for(path: Path, what: str, exc: OSError) -> bytes:
    if exc.errno in _INPUT_ERRNOS:
        if exc.errno == errno.ENOENT:
            raise CatalogInputError(f"{path}: {what} not found; check the path") from exc
        raise CatalogInputError(f"{path}: {_describe(exc)}") from exc
    raise CatalogEnvironmentError(f"{path}: cannot read the {what}: {_describe(exc)}") from exc


def check_arguments(paths: Iterable[str | os.PathLike[str]]) -> tuple[list[str], list[FileFailure]]:
    """Split command-line paths into those that exist and per-argument failures.

    Each argument is looked at once (``stat``, following links, so a dangling link is reported
    too); a folder that cannot be listed is left to the walk, which reports it per folder.
    """
    usable: list[str] = []
    failures: list[FileFailure] = []
    for item in paths:
        name = os.fspath(item)
        try:
            os.stat(name)  # noqa: PTH116
        except OSError as exc:
            category = "input" if exc.errno in _INPUT_ERRNOS else "environment"
            failures.append(FileFailure(name, f"{name}: {_describe(exc)}", category))
            continue
        except ValueError:  # an embedded NUL byte
            failures.append(FileFailure(name, f"{name!r}: not a valid path", "input"))
            continue
        usable.append(name)
    return usable, failures


__all__ = ["check_arguments", "read_input", "write_atomically"]
