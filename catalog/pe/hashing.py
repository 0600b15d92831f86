"""Files in, ``FileDigests`` out: one read per file, every digest in that pass, all cores busy.

The I/O edge of the hasher. ``hash_buffer`` is pure (bytes in); ``hash_file`` reads one file
(whole, when it is at most ``SMALL_FILE_LIMIT`` bytes; in ``CHUNK_SIZE`` pieces otherwise, so memory
stays bounded); ``hash_paths`` expands folders and runs files on a thread pool (hashlib releases the
GIL on large buffers, so threads use both cores). Per-file problems never stop a batch: they come
back as ``FileFailure`` records.

Files are read with ``read``, not ``mmap``: a file truncated by another process while mapped
would kill the whole process with SIGBUS, and the tracer hashes files that installers are still
touching. A file that changes while it is read is reported, never hashed half-old, half-new.
"""

from __future__ import annotations

import errno
import mmap
import os
import stat
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain, islice
from pathlib import Path
from typing import Protocol

from catalog.errors import CatalogEnvironmentError, CatalogError, CatalogInputError
from catalog.pe.digests import CHUNK_SIZE, DigestResults, DigestSession, digest_buffer
from catalog.pe.headers import Parsed, parse_layouts
from catalog.pe.layout import (
    BytesLike,
    IncompleteHeadersError,
    NonConformantPeError,
    NotAPeError,
    PeLayout,
    parse_pe_layout,
)
from catalog.pe.pool import default_workers, run_ordered
from catalog.pe.signature import decode_certificate_table
from catalog.pe.versioninfo import read_version_strings
from catalog.records import (
    ALL_ALGORITHMS,
    FileDigests,
    FileFailure,
    FileKind,
    HashAlgorithm,
    HashResult,
    PeMetadata,
)

SMALL_FILE_LIMIT = 64 << 20
"""Files up to this size are read whole (one read, shared with the metadata parser)."""

_HEADER_LIMIT = 64 << 20
"""Headers deeper into the file than this are absurd (e_lfanew far out): not worth reading."""


@dataclass(frozen=True, slots=True)
class HashOptions:
    """What to compute. Everything by default."""

    algorithms: frozenset[HashAlgorithm] = ALL_ALGORITHMS
    page_hashes: bool = True
    """The header page's digest (WDAC's "Hash Page") and, with ``page_tables``, the whole table."""
    page_tables: bool = True
    """Keep the whole page-hash table (catalogs need it; ``inspector hash`` only on request)."""
    metadata: bool = True
    """Read version-resource strings (OriginalFilename, FileVersion, ...)."""
    signature: bool = True
    """Decode the digest embedded in a signed PE's own signature."""
    flat: bool = True
    """Flat hashes of conformant PEs too. Files hashed flat (non-PE, non-conformant) always get
    them: they are those files' catalog and WDAC digests."""


class HashProgress(Protocol):
    """Listener for long batches; the CLI draws a progress bar with it."""

    def started(self, total_files: int, total_bytes: int) -> None: ...

    def file_done(self, result: HashResult) -> None: ...


@dataclass(frozen=True, slots=True)
class _Classified:
    kind: FileKind
    layout: PeLayout | None
    reason: str | None
    pe_format: str | None


def _classified(parsed: Parsed) -> _Classified:
    if isinstance(parsed, PeLayout):
        return _Classified(FileKind.PE, parsed, None, parsed.pe_format)
    if isinstance(parsed, NotAPeError):
        return _Classified(FileKind.FLAT, None, parsed.reason, None)
    if isinstance(parsed, NonConformantPeError):
        return _Classified(FileKind.PE_NONCONFORMANT, None, parsed.reason, parsed.pe_format)
    raise parsed


def _classify(header: BytesLike, file_size: int) -> _Classified:
    try:
        return _classified(parse_pe_layout(header, file_size))
    except (NotAPeError, NonConformantPeError) as exc:
        return _classified(exc)


def _session(size: int, c: _Classified, options: HashOptions) -> DigestSession:
    return DigestSession(
        size,
        options.algorithms,
        c.layout,
        page_hashes=options.page_hashes,
        page_tables=options.page_tables,
        keep_certificate_table=options.signature,
        flat=options.flat or c.layout is None,
    )


def _feed_buffer(session: DigestSession, view: memoryview) -> None:
    for start in range(0, len(view), CHUNK_SIZE):
        session.feed(view[start : start + CHUNK_SIZE])


DIRECT_LIMIT = SMALL_FILE_LIMIT
"""In-memory files up to this size are hashed range by range (``digest_buffer``: measured 13 %
less CPU than the session on 4-64 MiB PEs); larger ones through a ``DigestSession``."""


def _hash_classified(
    data: BytesLike, path: str, classified: _Classified, opts: HashOptions
) -> FileDigests:
    view = memoryview(data).cast("B")
    if len(view) <= DIRECT_LIMIT:
        results = digest_buffer(
            view,
            opts.algorithms,
            classified.layout,
            page_hashes=opts.page_hashes,
            page_tables=opts.page_tables,
            keep_certificate_table=opts.signature,
            flat=opts.flat or classified.layout is None,
        )
    else:
        session = _session(len(view), classified, opts)
        _feed_buffer(session, view)
        results = session.finish()
    return _assemble(path, len(view), classified, results, opts, data)


def hash_buffer(
    data: BytesLike, path: str = "<memory>", options: HashOptions | None = None
) -> FileDigests:
    """Hash a file's complete content held in memory. Pure: never raises for bad content."""
    opts = options or HashOptions()
    view = memoryview(data).cast("B")
    return _hash_classified(data, path, _classify(view, len(view)), opts)


def hash_file(path: str | os.PathLike[str], options: HashOptions | None = None) -> FileDigests:
    """Hash one file. Raises ``CatalogInputError`` (not a regular file) or
    ``CatalogEnvironmentError`` (missing, unreadable, changed while read)."""
    opts = options or HashOptions()
    name = os.fspath(path)
    fd = _open(name)
    try:
        before = _regular(fd, name)
        size = before.st_size
        if size <= SMALL_FILE_LIMIT:
            result = _hash_small(fd, name, size, opts)
        else:
            result = _hash_large(fd, name, size, opts)
        _unchanged(fd, name, before)
        return result
    except OSError as exc:
        raise CatalogEnvironmentError(f"{name}: read failed: {exc.strerror or exc}") from exc
    finally:
        os.close(fd)


def _regular(fd: int, name: str) -> os.stat_result:
    before = os.fstat(fd)
    if stat.S_ISDIR(before.st_mode):
        raise CatalogInputError(f"{name}: is a directory; pass it as a folder argument instead")
    if not stat.S_ISREG(before.st_mode):
        raise CatalogInputError(
            f"{name}: not a regular file (FIFO, socket or device); only files can be hashed"
        )
    return before


def _unchanged(fd: int, name: str, before: os.stat_result) -> None:
    after = os.fstat(fd)
    if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
        raise CatalogEnvironmentError(
            f"{name}: changed while it was being hashed (size {before.st_size} -> "
            f"{after.st_size}); hash it again once the writer has finished"
        )


def _open(name: str) -> int:
    # O_NONBLOCK: opening a FIFO must not hang waiting for a writer (it is refused after fstat).
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        return _open_long(name, flags)
    except FileNotFoundError as exc:
        raise CatalogEnvironmentError(f"{name}: no such file (it may have been deleted)") from exc
    except IsADirectoryError as exc:
        raise CatalogInputError(f"{name}: is a directory; pass it as a folder argument") from exc
    except PermissionError as exc:
        raise CatalogEnvironmentError(
            f"{name}: permission denied; run as a user who can read it"
        ) from exc
    except OSError as exc:
        raise CatalogEnvironmentError(f"{name}: cannot open: {exc.strerror or exc}") from exc


def _open_long(name: str, flags: int) -> int:
    """``os.open``; an absolute path over ``PATH_MAX`` is opened one directory fd at a time."""
    try:
        return os.open(name, flags)
    except OSError as exc:
        if exc.errno != errno.ENAMETOOLONG or os.open not in os.supports_dir_fd:
            raise
        if not name.startswith(os.sep):
            raise
    head, _, leaf = name.rpartition(os.sep)
    dir_flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(os.sep, dir_flags)
    try:
        for part in head.split(os.sep):  # noqa: PTH206 - components of a str path
            if part:
                nxt = os.open(part, dir_flags, dir_fd=fd)
                os.close(fd)
                fd = nxt
        return os.open(leaf, flags, dir_fd=fd)
    finally:
        os.close(fd)


def _read_into(fd: int, view: memoryview, name: str, offset: int) -> None:
    """Fill ``view`` from the current position; a short read means the file shrank."""
    done = 0
    while done < len(view):
        got = os.readv(fd, [view[done:]]) if hasattr(os, "readv") else _read_some(fd, view[done:])
        if got == 0:
            raise CatalogEnvironmentError(
                f"{name}: file shrank while being read (ended at offset {offset + done}); "
                "hash it again once the writer has finished"
            )
        done += got


def _read_some(fd: int, view: memoryview) -> int:  # pragma: no cover - Windows only
    data = os.read(fd, len(view))
    view[: len(data)] = data
    return len(data)


def _read_whole(fd: int, name: str, size: int) -> bytes:
    # os.read fills a fresh bytes object directly; bytearray(size) would zero it first (a
    # wasted pass over memory). Short reads (signals, >2 GiB) fall back to reading the rest.
    data = os.read(fd, size)
    if len(data) < size:
        rest = bytearray(size - len(data))
        _read_into(fd, memoryview(rest), name, len(data))
        data += rest
    return data


def _hash_small(fd: int, name: str, size: int, opts: HashOptions) -> FileDigests:
    return hash_buffer(_read_whole(fd, name, size), name, opts)


def _hash_large(fd: int, name: str, size: int, opts: HashOptions) -> FileDigests:
    chunk = bytearray(min(CHUNK_SIZE, size))
    view = memoryview(chunk)
    _read_into(fd, view, name, 0)
    classified = _classify_large(fd, name, view, size)
    session = _session(size, classified, opts)
    session.feed(view)
    position = len(view)
    while position < size:
        piece = view[: min(len(view), size - position)]
        _read_into(fd, piece, name, position)
        session.feed(piece)
        position += len(piece)
    results = session.finish()
    metadata_source: BytesLike | None = None
    if opts.metadata and classified.pe_format is not None:
        metadata_source = _sparse_image(fd, size, classified.layout)
    return _assemble(name, size, classified, results, opts, metadata_source)


def _classify_large(fd: int, name: str, first: memoryview, size: int) -> _Classified:
    try:
        return _classify(first, size)
    except IncompleteHeadersError as exc:
        if exc.needed > _HEADER_LIMIT:
            return _Classified(
                FileKind.PE_NONCONFORMANT,
                None,
                f"PE headers extend to offset {exc.needed:#x}, beyond {_HEADER_LIMIT >> 20} MiB; "
                "not a loadable image",
                None,
            )
        header = os.pread(fd, exc.needed, 0)
        if len(header) < exc.needed:
            raise CatalogEnvironmentError(f"{name}: file shrank while being read") from exc
        return _classify(header, size)


def _sparse_image(fd: int, size: int, layout: PeLayout | None) -> mmap.mmap | None:
    """A file-sized anonymous map holding the headers and the resource section only.

    pefile wants the whole image; copying a large file would defeat bounded memory, and mapping the
    file itself risks SIGBUS if it is truncated meanwhile. Untouched pages of an anonymous map cost
    nothing.
    """
    if layout is None:
        return None
    image = mmap.mmap(-1, size)
    ranges = [(0, min(layout.size_of_headers or CHUNK_SIZE, size))]
    low, high = layout.resource_rva, layout.resource_rva + layout.resource_size
    ranges.extend(
        (s.pointer_to_raw_data, s.size_of_raw_data)
        for s in layout.sections
        if s.size_of_raw_data
        and (
            s.name == ".rsrc"
            or (
                s.virtual_address < high
                and low < s.virtual_address + max(s.virtual_size, s.size_of_raw_data)
            )
        )
    )
    for start, length in ranges:
        image[start : start + length] = os.pread(fd, length, start).ljust(length, b"\0")
    return image


def _assemble(
    path: str,
    size: int,
    c: _Classified,
    results: DigestResults,
    opts: HashOptions,
    metadata_source: BytesLike | None,
) -> FileDigests:
    metadata: PeMetadata | None = None
    if opts.metadata and c.layout is not None and metadata_source is not None:
        metadata, _note = read_version_strings(metadata_source, c.layout)
    elif opts.metadata and c.pe_format is not None and metadata_source is not None:
        # Non-conformant PEs (rare) have no layout to walk: the full parser reads them.
        source = metadata_source
        if not isinstance(source, bytes | bytearray | mmap.mmap):
            source = bytes(source)
        # Imported here: pefile costs every worker process 5 MB and is needed for these only.
        from catalog.pe.metadata import read_metadata

        metadata, _note = read_metadata(source)
    signature = None
    signature_note = None
    layout = c.layout
    if layout is not None and layout.signed and results.certificate_table is not None:
        try:
            signature = decode_certificate_table(results.certificate_table)
        except CatalogInputError as exc:
            signature_note = f"embedded signature unreadable: {exc}"
    page_note = None
    if layout is not None and opts.page_hashes and layout.page_hash_problem is not None:
        page_note = layout.page_hash_problem
    sha1, sha256 = HashAlgorithm.SHA1, HashAlgorithm.SHA256
    tables = results.page_tables
    return FileDigests(
        path=path,
        size=size,
        kind=c.kind,
        reason=c.reason,
        pe_format=c.pe_format,
        flat_sha1=results.flat.get(sha1),
        flat_sha256=results.flat.get(sha256),
        authenticode_sha1=results.authenticode.get(sha1),
        authenticode_sha256=results.authenticode.get(sha256),
        page_table_sha1=tables.get(sha1),
        page_table_sha256=tables.get(sha256),
        page_hash_sha1=results.first_pages.get(sha1),
        page_hash_sha256=results.first_pages.get(sha256),
        page_hash_note=page_note,
        signed=layout is not None and layout.signed,
        signature=signature,
        signature_note=signature_note,
        metadata=metadata,
    )


def iter_files(paths: Iterable[str | os.PathLike[str]]) -> Iterator[str | FileFailure]:
    """Expand folders recursively (sorted; links to folders skipped); files pass through.

    Unreadable folders and broken links come back as ``FileFailure`` records in place.
    """
    for item in paths:
        name = os.fspath(item)
        try:
            folder = Path(name).is_dir() and not Path(name).is_symlink()
        except OSError:  # e.g. ENAMETOOLONG: not statable by name; hash_file opens it by parts
            folder = False
        if folder:
            yield from _walk(name)
        else:
            yield name


def _walk(top: str) -> Iterator[str | FileFailure]:
    try:
        entries = sorted(os.scandir(top), key=lambda e: e.name)
    except OSError as exc:
        yield FileFailure(top, f"cannot list folder: {exc.strerror or exc}", "environment")
        return
    for entry in entries:
        try:
            is_dir = entry.is_dir(follow_symlinks=False)
        except OSError as exc:
            yield FileFailure(entry.path, f"cannot stat: {exc.strerror or exc}", "environment")
            continue
        if is_dir:
            yield from _walk(entry.path)
        elif entry.is_symlink() and Path(entry.path).is_dir():
            continue  # links to folders are not followed (loops, trees counted twice)
        else:
            yield entry.path


def hash_one(path: str, options: HashOptions) -> HashResult:
    """``hash_file`` with every per-file problem turned into a ``FileFailure``."""
    try:
        return hash_file(path, options)
    except CatalogInputError as exc:
        return FileFailure(path, str(exc), "input")
    except CatalogError as exc:
        return FileFailure(path, str(exc), "environment")
    except OSError as exc:
        return FileFailure(path, f"{path}: {exc.strerror or exc}", "environment")
    except MemoryError:
        return FileFailure(path, f"{path}: out of memory while hashing", "environment")


GROUP_BYTES = 4 << 20
"""Inside a batch, files are read, header-parsed together and hashed in groups of at most this
many bytes (or ``GROUP_FILES`` files): memory per worker stays bounded whatever the batch size."""
GROUP_FILES = 64
BATCH_FILES = 32
"""Files per batch sent to a worker process: large enough to amortise the round trip."""
BATCH_BYTES = 8 << 20
"""A batch closes at this many bytes of files too, so that large files spread over the workers."""
WINDOW_BATCHES = 8
"""Batches in flight per worker: results come back in order, so a slow batch at the head must
not leave the other workers without work (2 -> 8 took 0.25 s off 760 real PEs with page tables)."""
PROCESS_MIN_FILES = 128
"""Fewer files than this are hashed on threads: starting worker processes would cost more."""


def hash_batch(paths: Sequence[str], options: HashOptions) -> list[HashResult]:
    """Hash a list of files; one result per path, in order, per-file problems as ``FileFailure``.

    A pure top-level function (paths and options in, picklable records out) so that it can run in
    a worker process or on a Dask worker unchanged. Files are read whole (one ``read``, no
    ``mmap``), then the headers of a group of files are parsed in one batched pass
    (``catalog.pe.headers``) before each file's digests are computed from the bytes read.
    """
    results: list[HashResult | None] = [None] * len(paths)
    group: list[tuple[int, str, bytes]] = []
    group_bytes = 0
    for index, path in enumerate(paths):
        try:
            data = _read_checked(path, options)
        except Exception as exc:  # noqa: BLE001 - every failure becomes that file's record
            results[index] = _failure(path, exc)
            continue
        if isinstance(data, FileDigests):
            results[index] = data
            continue
        group.append((index, path, data))
        group_bytes += len(data)
        if group_bytes >= GROUP_BYTES or len(group) >= GROUP_FILES:
            _hash_group(group, options, results)
            group, group_bytes = [], 0
    _hash_group(group, options, results)
    return [
        r if r is not None else FileFailure(p, f"{p}: not hashed", "environment")
        for r, p in zip(results, paths, strict=True)
    ]


def _read_checked(path: str, options: HashOptions) -> bytes | FileDigests:
    """The whole content of a small file (checked unchanged), or a large file's finished digests."""
    fd = _open(path)
    try:
        before = _regular(fd, path)
        if before.st_size > SMALL_FILE_LIMIT:
            result: bytes | FileDigests = _hash_large(fd, path, before.st_size, options)
        else:
            result = _read_whole(fd, path, before.st_size)
        _unchanged(fd, path, before)
        return result
    except OSError as exc:
        raise CatalogEnvironmentError(f"{path}: read failed: {exc.strerror or exc}") from exc
    finally:
        os.close(fd)


def _hash_group(
    group: list[tuple[int, str, bytes]], options: HashOptions, results: list[HashResult | None]
) -> None:
    if not group:
        return
    parsed = parse_layouts([data for _, _, data in group], [len(data) for _, _, data in group])
    for (index, path, data), layout in zip(group, parsed, strict=True):
        try:
            results[index] = _hash_classified(data, path, _classified(layout), options)
        except Exception as exc:  # noqa: BLE001 - one bad file never stops a batch
            results[index] = _failure(path, exc)


def _failure(path: str, exc: BaseException) -> FileFailure:
    if isinstance(exc, CatalogInputError):
        return FileFailure(path, str(exc), "input")
    if isinstance(exc, CatalogError):
        return FileFailure(path, str(exc), "environment")
    if isinstance(exc, OSError):
        return FileFailure(path, f"{path}: {exc.strerror or exc}", "environment")
    if isinstance(exc, MemoryError):
        return FileFailure(path, f"{path}: out of memory while hashing", "environment")
    raise exc


def hash_paths(
    paths: Iterable[str | os.PathLike[str]],
    options: HashOptions | None = None,
    *,
    workers: int | None = None,
    progress: HashProgress | None = None,
    hasher: Callable[[str, HashOptions], HashResult] | None = None,
    processes: bool | None = None,
) -> Iterator[HashResult]:
    """Hash files and folders; results stream out in input order as they finish.

    Batches of files go to ``workers`` processes (default: one per core) when there are at least
    ``PROCESS_MIN_FILES`` files (``processes`` forces the choice), to threads otherwise or where
    processes cannot start. Memory does not grow with the number of files unless ``progress`` is
    given (then the file list is expanded first, for the totals).
    """
    opts = options or HashOptions()
    count = workers or default_workers()
    items: Iterator[str | FileFailure] = iter_files(paths)
    if progress is not None:
        listed = list(items)
        progress.started(len(listed), sum(_size(i) for i in listed if isinstance(i, str)))
        items = iter(listed)
    head = list(islice(items, PROCESS_MIN_FILES))
    use_processes = processes
    if use_processes is None:
        use_processes = len(head) >= PROCESS_MIN_FILES and count > 1
    fn: Callable[[list[str | FileFailure], HashOptions], list[HashResult]] = _hash_slots
    size = BATCH_FILES if use_processes else 4
    if hasher is not None:
        fn, use_processes, size = _PerFile(hasher), False, 1
    window = WINDOW_BATCHES * count
    for _batch, results in run_ordered(
        fn,
        _batches(chain(head, items), size, BATCH_BYTES if use_processes else None),
        opts,
        workers=count,
        processes=use_processes,
        window=window,
    ):
        for result in results:
            if progress is not None:
                progress.file_done(result)
            yield result


def _hash_slots(slots: list[str | FileFailure], options: HashOptions) -> list[HashResult]:
    """``hash_batch`` over the paths of a batch; walk failures stay in their place."""
    done = iter(hash_batch([s for s in slots if isinstance(s, str)], options))
    return [next(done) if isinstance(s, str) else s for s in slots]


class _PerFile:
    """Adapt a per-file hasher (tests, custom callers) to the batch contract."""

    def __init__(self, hasher: Callable[[str, HashOptions], HashResult]) -> None:
        self._hasher = hasher

    def __call__(self, slots: list[str | FileFailure], options: HashOptions) -> list[HashResult]:
        return [self._hasher(s, options) if isinstance(s, str) else s for s in slots]


def _batches(
    items: Iterable[str | FileFailure], size: int, max_bytes: int | None = None
) -> Iterator[list[str | FileFailure]]:
    """Batches of at most ``size`` items and (when ``max_bytes`` is given) about ``max_bytes``
    bytes of files: one batch of large files would leave the other workers idle at the end."""
    batch: list[str | FileFailure] = []
    held = 0
    for item in items:
        batch.append(item)
        if max_bytes is not None and isinstance(item, str):
            held += _size(item)
        if len(batch) >= size or (max_bytes is not None and held >= max_bytes):
            yield batch
            batch, held = [], 0
    if batch:
        yield batch


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size  # noqa: PTH116 - a str path: no Path object per file
    except OSError:
        return 0
