"""Hashing throughput: our hasher against raw hashlib and the peers (CONTRIBUTING.md, Performance;
formats.md 1.2, 2.2, 3 define what is hashed).

``python -m bench.hash_throughput [CORPUS_DIR]`` (no CORPUS_DIR: ``bench.corpus`` builds one). One
run measures, on the same files, with a warm page cache and a thread pool of ``--workers`` (2)
threads over files for every method (hashlib releases the GIL on large buffers):

- ``raw-*``: the physical limit: every byte hashed once, with one algorithm, read with ``read()``
  (whole file) or over ``mmap``.
- ``reference``: hashlib doing the six digest passes our hasher must do, over one ``mmap`` per
  file: for SHA1 and for SHA256, (1) the whole file (flat hash), (2) the whole file again (stand-in
  for the image hash), (3) the raw data of every section, as one digest (stand-in for the page
  hashes; no per-page digests).
- ``ours-*``: ``catalog.pe.hashing.hash_paths`` with several ``HashOptions``.
- ``signify``: signify's ``Fingerprinter`` hashing the Authenticode image ranges (SHA1+SHA256).
- ``lief``: ``lief.PE.parse`` then ``authentihash`` for SHA1 and SHA256.
- ``osslsigncode``: ``osslsigncode extract-data`` on a subset, one process per file.

It also checks correctness while measuring (any mismatch is printed loudly and the exit status is
1): our flat SHA256 against hashlib; our Authenticode SHA1/SHA256 against LIEF's and signify's
where they must agree (signed files, or sizes that are multiples of 8: neither peer adds the 8-byte
padding Windows gives unsigned files); the digest embedded in each signed file's own signature;
and our image hash inside osslsigncode's extracted SpcIndirectDataContent. Peak RSS is reported,
and files over 64 MiB are hashed in a child process to show memory stays bounded. Not a timed
test.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import mmap
import os
import resource
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import lief
from signify.fingerprinter import Fingerprinter, Range

from catalog import FileDigests, FileKind, HashResult
from catalog.pe import SMALL_FILE_LIMIT, HashOptions, hash_file, hash_paths

T = TypeVar("T")

SHA1, SHA256 = "sha1", "sha256"
_READ_CHUNK = 1 << 20

FULL = HashOptions(metadata=False)
"""Everything a catalog needs: 2 image hashes, 2 page tables, 2 flat hashes, signature decode."""
WITH_METADATA = HashOptions()
IMAGE_ONLY = HashOptions(page_hashes=False, flat=False, metadata=False, signature=False)

TARGET_FULL_VS_REFERENCE = 0.80
TARGET_IMAGE_VS_SIGNIFY = 1.2
TARGET_IMAGE_VS_LIEF = 4.0
LARGE_PROBE_LIMIT_MIB = 64
"""Growth of peak RSS allowed while hashing one file over 64 MiB: far below the file's size."""


# ---------------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True, slots=True)
class Measurement:
    """One method timed over a set of files (best of the repetitions)."""

    key: str
    label: str
    seconds: float
    """Best wall-clock time."""
    cpu_seconds: float
    """Least CPU time (user + system, every thread, child processes included)."""
    files: int
    total_bytes: int
    peak_rss_kib: int
    """The process's peak RSS once this method had run (monotonic across methods)."""

    @property
    def mb_per_s(self) -> float:
        return self.total_bytes / 1e6 / self.seconds if self.seconds > 0 else float("inf")

    @property
    def files_per_s(self) -> float:
        return self.files / self.seconds if self.seconds > 0 else float("inf")

    @property
    def mb_per_cpu_s(self) -> float:
        """Throughput per CPU second: what the method costs, whatever else the machine runs."""
        return self.total_bytes / 1e6 / self.cpu_seconds if self.cpu_seconds > 0 else float("inf")


@dataclass(frozen=True, slots=True)
class Ratio:
    name: str
    value: float
    """Ratio of wall-clock MB/s."""
    cpu_value: float
    """Ratio of MB per CPU second."""
    target: float | None
    """None: shown for context only."""

    @property
    def met(self) -> bool:
        return self.target is None or self.value >= self.target


@dataclass(frozen=True, slots=True)
class LargeProbe:
    """Peak-RSS growth of a child process hashing one file over ``SMALL_FILE_LIMIT``."""

    path: str
    size: int
    metadata: bool
    growth_kib: int
    matches_hashlib: bool

    @property
    def bounded(self) -> bool:
        return self.growth_kib < LARGE_PROBE_LIMIT_MIB * 1024


@dataclass
class Checks:
    """Correctness observed while measuring. ``mismatches`` must stay empty."""

    mismatches: list[str] = field(default_factory=list)
    kinds: dict[str, int] = field(default_factory=dict)
    flat_vs_hashlib: int = 0
    lief_agree: int = 0
    lief_not_comparable: int = 0
    """Unsigned PEs whose size is not a multiple of 8 (LIEF does not pad) or LIEF parse failures."""
    lief_unparsed: int = 0
    signify_agree: int = 0
    signature_matches: int = 0
    signature_undecoded: int = 0
    osslsigncode_agree: int = 0


@dataclass
class BenchmarkReport:
    files: int
    total_bytes: int
    workers: int
    repetitions: int
    measurements: dict[str, Measurement] = field(default_factory=dict)
    ratios: list[Ratio] = field(default_factory=list)
    checks: Checks = field(default_factory=Checks)
    probes: list[LargeProbe] = field(default_factory=list)
    osslsigncode_files: int = 0


# ---------------------------------------------------------------------------------------------
# Per-file work of each method (each runs on a worker thread)


def raw_read(algorithm: str) -> Callable[[str], bytes]:
    def run(path: str) -> bytes:
        with open(path, "rb") as stream:
            return hashlib.new(algorithm, stream.read()).digest()

    return run


def raw_mmap(algorithm: str) -> Callable[[str], bytes]:
    def run(path: str) -> bytes:
        with open(path, "rb") as stream:
            if os.fstat(stream.fileno()).st_size == 0:
                return hashlib.new(algorithm).digest()
            with mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
                return hashlib.new(algorithm, mapped).digest()

    return run


_IN_CACHE = memoryview(bytes(range(256)) * (_READ_CHUNK // 256))


def in_memory_sha1_sha256(path: str) -> int:
    """The CPU ceiling of an image hash: SHA1 and SHA256 over as many bytes as the file has,
    taken from a buffer that stays in cache (no I/O, no parsing). Returns the bytes hashed."""
    size = left = Path(path).stat().st_size
    sha1, sha256 = hashlib.sha1(), hashlib.sha256()
    while left > 0:
        piece = _IN_CACHE[: min(left, len(_IN_CACHE))]
        sha1.update(piece)
        sha256.update(piece)
        left -= len(piece)
    return size


@dataclass(frozen=True, slots=True)
class _PeRanges:
    """What the peers' own header parsing finds (parsed here, independently of catalog/)."""

    checksum_offset: int
    cert_entry_offset: int
    cert_offset: int
    cert_size: int
    sections: tuple[tuple[int, int], ...]
    """``(PointerToRawData, SizeOfRawData)`` of each section."""


def _pe_ranges(path: str) -> _PeRanges | None:
    """Minimal PE header walk (DOS header, COFF header, optional header, section table)."""
    with open(path, "rb") as stream:
        head = stream.read(4096)
        if len(head) < 0x40 or head[:2] != b"MZ":
            return None
        (e_lfanew,) = struct.unpack_from("<I", head, 0x3C)
        stream.seek(e_lfanew)
        coff = stream.read(24 + 2)
        if len(coff) < 26 or coff[:4] != b"PE\0\0":
            return None
        count, opt_size = struct.unpack_from("<H12xH", coff, 6)
        (magic,) = struct.unpack_from("<H", coff, 24)
        directories = {0x10B: 96, 0x20B: 112}.get(magic)
        if directories is None or opt_size < directories + 5 * 8:
            return None
        oh = e_lfanew + 24
        stream.seek(oh)
        optional = stream.read(opt_size)
        table = stream.read(40 * count)
        if len(optional) < opt_size or len(table) < 40 * count:
            return None
    cert_entry = directories + 4 * 8
    cert_offset, cert_size = struct.unpack_from("<II", optional, cert_entry)
    sections = tuple(
        (pointer, raw)
        for raw, pointer in (struct.unpack_from("<II", table, 40 * i + 16) for i in range(count))
    )
    return _PeRanges(oh + 64, oh + cert_entry, cert_offset, cert_size, sections)


def reference_six(path: str) -> tuple[bytes, ...]:
    """The six hashlib passes over one mmap: flat, flat again, section bytes; SHA1 and SHA256."""
    ranges = _pe_ranges(path)
    sections = ranges.sections if ranges is not None else ()
    digests: list[bytes] = []
    with open(path, "rb") as stream:
        size = os.fstat(stream.fileno()).st_size
        if size == 0:
            return tuple(
                hashlib.new(a).digest() for a in (SHA1, SHA1, SHA1, SHA256, SHA256, SHA256)
            )
        with (
            mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) as mapped,
            memoryview(mapped) as view,
        ):
            for algorithm in (SHA1, SHA256):
                digests.append(hashlib.new(algorithm, view).digest())
                digests.append(hashlib.new(algorithm, view).digest())
                pages = hashlib.new(algorithm)
                for pointer, length in sections:
                    if length:
                        pages.update(view[pointer : min(pointer + length, size)])
                digests.append(pages.digest())
    return tuple(digests)


def signify_image(path: str) -> tuple[bytes, bytes] | None:
    """signify's Fingerprinter over the Authenticode image ranges, the way signify's own PE
    fingerprinter sets them up (its ``signify.authenticode`` package cannot be imported here): the
    whole file minus CheckSum, the certificate-table entry and the certificate table; no padding.
    """
    found = _pe_ranges(path)
    if found is None:
        return None
    omit = sorted(
        [(found.checksum_offset, 4), (found.cert_entry_offset, 8)]
        + ([(found.cert_offset, found.cert_size)] if found.cert_size else [])
    )
    with open(path, "rb") as stream:
        printer = Fingerprinter(stream)
        size = os.fstat(stream.fileno()).st_size
        ranges: list[Range] = []
        start = 0
        for offset, length in omit:
            if offset > start:
                ranges.append(Range(start, offset))
            start = offset + length
        if start < size:
            ranges.append(Range(start, size))
        printer.add_hashers(hashlib.sha1, hashlib.sha256, ranges=ranges, description="authentihash")
        result = printer.hash()
    return result[SHA1], result[SHA256]


def lief_image(path: str) -> tuple[bytes, bytes] | None:
    binary = lief.PE.parse(path)
    if binary is None:
        return None
    return (
        bytes(binary.authentihash(lief.PE.ALGORITHMS.SHA_1)),
        bytes(binary.authentihash(lief.PE.ALGORITHMS.SHA_256)),
    )


def osslsigncode_extract(path: str) -> bytes | None:
    """``osslsigncode extract-data`` (SHA256): the DER blob that would be signed, or None."""
    with tempfile.TemporaryDirectory(prefix="bench-ossl-") as scratch:
        out = Path(scratch) / "data.der"
        done = subprocess.run(
            ["osslsigncode", "extract-data", "-h", "sha256", "-in", path, "-out", str(out)],
            check=False,
            capture_output=True,
        )
        return out.read_bytes() if done.returncode == 0 and out.is_file() else None


# ---------------------------------------------------------------------------------------------
# Timing


def _size(path: str) -> int:
    return Path(path).stat().st_size


def _peak_rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def _pool_map(fn: Callable[[str], T], paths: Sequence[str], workers: int) -> list[T]:
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bench") as pool:
        return list(pool.map(fn, paths))


def _ours(options: HashOptions, workers: int) -> Callable[[Sequence[str]], list[HashResult]]:
    def run(paths: Sequence[str]) -> list[HashResult]:
        return list(hash_paths(paths, options, workers=workers))

    return run


class Rounds:
    """Times methods run in interleaved rounds; keeps each method's best wall and CPU time.

    Interleaving (every method once per round, best of the rounds) keeps a burst of load from
    other processes on a shared machine from landing on one method only. CPU time (all threads
    of this process, plus child processes) is nearly insensitive to such load.
    """

    def __init__(self, say: Callable[[str], None]) -> None:
        self._say = say
        self._labels: dict[str, str] = {}
        self._wall: dict[str, float] = {}
        self._cpu: dict[str, float] = {}
        self._paths: dict[str, Sequence[str]] = {}
        self._rss: dict[str, int] = {}

    def run(
        self,
        key: str,
        label: str,
        batch: Callable[[Sequence[str]], list[T]],
        paths: Sequence[str],
    ) -> list[T]:
        if key not in self._labels:
            self._say(f"  {label}")
        cpu_before = _cpu_seconds()
        started = time.perf_counter()
        results = batch(paths)
        wall = time.perf_counter() - started
        cpu = _cpu_seconds() - cpu_before
        self._labels[key] = label
        self._paths[key] = paths
        self._wall[key] = min(wall, self._wall.get(key, wall))
        self._cpu[key] = min(cpu, self._cpu.get(key, cpu))
        self._rss.setdefault(key, _peak_rss_kib())
        return results

    def measurements(self) -> dict[str, Measurement]:
        return {
            key: Measurement(
                key,
                label,
                self._wall[key],
                self._cpu[key],
                len(self._paths[key]),
                sum(_size(p) for p in self._paths[key]),
                self._rss[key],
            )
            for key, label in self._labels.items()
        }


def _cpu_seconds() -> float:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def warm_cache(paths: Iterable[str]) -> int:
    """Read every byte once (1 MiB at a time) so every method starts from the page cache."""
    total = 0
    buffer = bytearray(_READ_CHUNK)
    for path in paths:
        with open(path, "rb", buffering=0) as stream:
            while got := stream.readinto(buffer):
                total += got
    return total


# ---------------------------------------------------------------------------------------------
# The run


def run_benchmark(
    paths: Sequence[str],
    *,
    workers: int = 2,
    repetitions: int = 3,
    osslsigncode_every: int = 0,
    progress: Callable[[str], None] | None = None,
) -> BenchmarkReport:
    """Measure every method over ``paths`` and check the results agree.

    ``osslsigncode_every``: also run osslsigncode on every n-th file (0: not at all).
    """
    say = progress or (lambda _message: None)
    ordered = sorted(paths, key=lambda p: (-_size(p), p))  # big first: balanced pool
    report = BenchmarkReport(len(ordered), warm_cache(ordered), workers, repetitions)
    subset = ordered[::osslsigncode_every] if osslsigncode_every > 0 else []
    report.osslsigncode_files = len(subset)
    lief.logging.disable()

    def pooled(fn: Callable[[str], T]) -> Callable[[Sequence[str]], list[T]]:
        return lambda batch: _pool_map(fn, batch, workers)

    rounds = Rounds(say)
    run = rounds.run
    for number in range(1, max(1, repetitions) + 1):
        say(f"round {number}/{max(1, repetitions)}")
        # Ours first: in round 1 the peak RSS after them is ours (plus interpreter and imports).
        ours = run("ours-full", "ours: hash_file(metadata=False)", _ours(FULL, workers), ordered)
        run("ours-image", "ours: two image hashes only", _ours(IMAGE_ONLY, workers), ordered)
        run("ours-meta", "ours: hash_file(metadata=True)", _ours(WITH_METADATA, workers), ordered)
        run("raw-read-sha1", "hashlib SHA1, read()", pooled(raw_read(SHA1)), ordered)
        flat256 = run(
            "raw-read-sha256", "hashlib SHA256, read()", pooled(raw_read(SHA256)), ordered
        )
        run("raw-mmap-sha1", "hashlib SHA1, mmap", pooled(raw_mmap(SHA1)), ordered)
        run("raw-mmap-sha256", "hashlib SHA256, mmap", pooled(raw_mmap(SHA256)), ordered)
        run("reference", "hashlib six passes, mmap (reference)", pooled(reference_six), ordered)
        label = "hashlib SHA1+SHA256, in-cache buffer, no I/O (ceiling)"
        run("ceiling", label, pooled(in_memory_sha1_sha256), ordered)
        signify = run(
            "signify", "signify Fingerprinter, image SHA1+SHA256", pooled(signify_image), ordered
        )
        lief_results = run(
            "lief", "LIEF parse + authentihash SHA1+SHA256", pooled(lief_image), ordered
        )
        blobs = (
            run(
                "osslsigncode",
                "osslsigncode extract-data (subset)",
                pooled(osslsigncode_extract),
                subset,
            )
            if subset
            else []
        )

    report.measurements = rounds.measurements()
    report.ratios = compute_ratios(report.measurements)
    ossl = dict(zip(subset, blobs, strict=True))
    report.checks = check_results(ordered, ours, flat256, lief_results, signify, ossl)
    return report


def compute_ratios(ms: dict[str, Measurement]) -> list[Ratio]:
    def ratio(name: str, a: str, b: str, target: float | None) -> Ratio:
        wall = ms[a].mb_per_s / ms[b].mb_per_s
        return Ratio(name, wall, ms[a].mb_per_cpu_s / ms[b].mb_per_cpu_s, target)

    return [
        ratio(
            "ours full (metadata=False) / hashlib reference",
            "ours-full",
            "reference",
            TARGET_FULL_VS_REFERENCE,
        ),
        ratio("ours image-only / signify", "ours-image", "signify", TARGET_IMAGE_VS_SIGNIFY),
        ratio("ours image-only / LIEF", "ours-image", "lief", TARGET_IMAGE_VS_LIEF),
        ratio("ceiling / signify (best any image hasher can do)", "ceiling", "signify", None),
        ratio("ours image-only / ceiling", "ours-image", "ceiling", None),
        ratio("signify / ceiling", "signify", "ceiling", None),
    ]


def check_results(
    paths: Sequence[str],
    ours: Sequence[HashResult],
    flat256: Sequence[bytes],
    lief_results: Sequence[tuple[bytes, bytes] | None],
    signify: Sequence[tuple[bytes, bytes] | None],
    ossl: dict[str, bytes | None],
) -> Checks:
    """Compare our digests with independent computations of the same values."""
    checks = Checks()
    bad = checks.mismatches
    for path, mine, flat, peer_lief, peer_signify in zip(
        paths, ours, flat256, lief_results, signify, strict=True
    ):
        if not isinstance(mine, FileDigests):
            bad.append(f"{path}: our hasher failed: {mine.error}")
            continue
        checks.kinds[mine.kind.value] = checks.kinds.get(mine.kind.value, 0) + 1
        if mine.flat_sha256 == flat:
            checks.flat_vs_hashlib += 1
        else:
            bad.append(f"{path}: flat SHA256 differs from hashlib")
        if mine.kind is not FileKind.PE:
            continue
        ours_pair = (mine.authenticode_sha1, mine.authenticode_sha256)
        comparable = mine.signed or mine.size % 8 == 0
        if peer_lief is None:
            checks.lief_unparsed += 1
            checks.lief_not_comparable += 1
        elif not comparable:
            checks.lief_not_comparable += 1
        elif ours_pair == peer_lief:
            checks.lief_agree += 1
        else:
            bad.append(
                f"{path}: Authenticode differs from LIEF (ours sha256 "
                f"{_hex(mine.authenticode_sha256)}, LIEF {peer_lief[1].hex()})"
            )
        if comparable and peer_signify is not None:
            if ours_pair == peer_signify:
                checks.signify_agree += 1
            else:
                bad.append(f"{path}: Authenticode differs from signify's fingerprinter")
        if mine.signed:
            verdict = mine.signature_matches()
            if verdict is None:
                checks.signature_undecoded += 1
            elif verdict:
                checks.signature_matches += 1
            else:
                bad.append(f"{path}: image hash differs from the digest in its own signature")
        if path in ossl:
            blob = ossl[path]
            if (
                blob is not None
                and mine.authenticode_sha256 is not None
                and (mine.authenticode_sha256 in blob)
            ):
                checks.osslsigncode_agree += 1
            elif blob is not None:
                bad.append(f"{path}: our SHA256 image hash is not in osslsigncode's extract-data")
    return checks


def _hex(value: bytes | None) -> str:
    return "-" if value is None else value.hex()


# ---------------------------------------------------------------------------------------------
# Large files: bounded memory, measured in a child process


def probe_large_file(path: str, metadata: bool) -> LargeProbe:
    """Hash one big file in a fresh interpreter and report how much its peak RSS grew."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.hash_throughput", "--rss-probe", path]
        + (["--metadata"] if metadata else []),
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    data = json.loads(done.stdout)
    expected = hashlib.sha256()
    with open(path, "rb", buffering=0) as stream:
        while chunk := stream.read(_READ_CHUNK):
            expected.update(chunk)
    return LargeProbe(
        path,
        _size(path),
        metadata,
        int(data["growth_kib"]),
        data["flat_sha256"] == expected.hexdigest(),
    )


def _status_kib(field_name: str) -> int | None:
    try:
        text = Path("/proc/self/status").read_text(encoding="ascii")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    return None


def _reset_peak_rss() -> bool:
    """Reset the kernel's RSS high-water mark (Linux >= 4.0), so that import-time peaks cannot
    hide the hasher's own peak."""
    try:
        Path("/proc/self/clear_refs").write_text("5", encoding="ascii")
    except OSError:
        return False
    return True


def _rss_probe(path: str, metadata: bool) -> dict[str, int | str | None]:
    """In the child: peak-RSS growth caused by hashing ``path`` (imports already done)."""
    precise = _reset_peak_rss() and _status_kib("VmRSS") is not None
    baseline = (_status_kib("VmRSS") if precise else None) or _peak_rss_kib()
    result = hash_file(path, HashOptions(metadata=metadata))
    peak = (_status_kib("VmHWM") if precise else None) or _peak_rss_kib()
    return {
        "growth_kib": peak - baseline,
        "flat_sha256": None if result.flat_sha256 is None else result.flat_sha256.hex(),
    }


def write_synthetic_large_pe(path: Path, size: int = 96 << 20) -> None:
    """An unsigned PE32+ of ``size`` bytes: 0x400 bytes of headers, one section with the rest."""
    header = bytearray(0x400)
    header[0:2] = b"MZ"
    struct.pack_into("<I", header, 0x3C, 0x80)
    header[0x80:0x84] = b"PE\0\0"
    struct.pack_into("<HH", header, 0x84, 0x8664, 1)
    struct.pack_into("<H", header, 0x80 + 20, 112 + 16 * 8)
    oh = 0x80 + 24
    struct.pack_into("<H", header, oh, 0x20B)
    struct.pack_into("<II", header, oh + 32, 0x1000, 0x200)
    struct.pack_into("<I", header, oh + 60, 0x400)
    struct.pack_into("<I", header, oh + 108, 16)
    table = oh + 112 + 16 * 8
    struct.pack_into("<8s8xII", header, table, b".text", size - 0x400, 0x400)
    pattern = bytes((i * 7 + 3) & 0xFF for i in range(256)) * (_READ_CHUNK // 256)
    with open(path, "wb") as sink:
        sink.write(header)
        left = size - len(header)
        while left > 0:
            left -= sink.write(pattern[: min(left, len(pattern))])


def large_file_probes(paths: Sequence[str], scratch: Path) -> list[LargeProbe]:
    """Probe up to two corpus files over ``SMALL_FILE_LIMIT``, or a synthetic one if none."""
    big = [p for p in paths if _size(p) > SMALL_FILE_LIMIT][:2]
    if not big:
        synthetic = scratch / "large-synthetic.exe"
        write_synthetic_large_pe(synthetic)
        big = [str(synthetic)]
    return [probe_large_file(p, metadata) for p in big for metadata in (False, True)]


# ---------------------------------------------------------------------------------------------
# Output


def render(report: BenchmarkReport) -> str:
    ms = report.measurements
    reference = ms.get("reference")
    lines = [
        f"{report.files} files, {report.total_bytes / 1e6:.1f} MB, {report.workers} worker "
        f"threads, best of {report.repetitions}; MB = 10^6 bytes",
        "",
        "| method | MB/s | files/s | wall s | MB per CPU s | vs reference | peak RSS (MiB) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for m in ms.values():
        versus = f"{m.mb_per_s / reference.mb_per_s:.2f}" if reference else "-"
        if m.key == "osslsigncode":
            versus = f"({report.osslsigncode_files} files)"
        lines.append(
            f"| {m.label} | {m.mb_per_s:.1f} | {m.files_per_s:.1f} | {m.seconds:.2f} "
            f"| {m.mb_per_cpu_s:.1f} | {versus} "
            f"| {m.peak_rss_kib / 1024:.0f} |"
        )
    lines += [
        "",
        "| ratio | wall MB/s ratio | CPU ratio | target | met (wall) |",
        "|---|---:|---:|---:|---|",
    ]
    for r in report.ratios:
        target = "-" if r.target is None else f">= {r.target:.2f}"
        verdict = "-" if r.target is None else ("yes" if r.met else "NO")
        lines.append(f"| {r.name} | {r.value:.2f} | {r.cpu_value:.2f} | {target} | {verdict} |")
    c = report.checks
    lines += [
        "",
        f"kinds (ours): {c.kinds}",
        f"flat SHA256 = hashlib: {c.flat_vs_hashlib}/{report.files}",
        f"Authenticode SHA1+SHA256 = LIEF: {c.lief_agree} (not comparable: "
        f"{c.lief_not_comparable}, of which LIEF could not parse {c.lief_unparsed})",
        f"Authenticode SHA1+SHA256 = signify fingerprinter: {c.signify_agree}",
        f"signed files whose own signature digest matches: {c.signature_matches} "
        f"(undecoded: {c.signature_undecoded})",
    ]
    if report.osslsigncode_files:
        lines.append(
            f"SHA256 image hash found in osslsigncode extract-data: {c.osslsigncode_agree}/"
            f"{report.osslsigncode_files}"
        )
    for p in report.probes:
        lines.append(
            f"large file {Path(p.path).name} ({p.size / 1e6:.1f} MB, metadata={p.metadata}): "
            f"peak RSS grew {p.growth_kib / 1024:.1f} MiB "
            f"({'bounded' if p.bounded else 'NOT BOUNDED'}), flat SHA256 "
            f"{'= hashlib' if p.matches_hashlib else 'MISMATCH'}"
        )
    if c.mismatches:
        lines += ["", "!!! MISMATCHES !!!", *(f"!!! {m}" for m in c.mismatches)]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("corpus", nargs="?", help="folder of files (default: build bench/corpus)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument(
        "--osslsigncode-every",
        type=int,
        default=5,
        help="run osslsigncode on every n-th file (0: never)",
    )
    parser.add_argument("--json", type=Path, help="also write the measurements as JSON here")
    parser.add_argument(
        "--no-large-probe", action="store_true", help="skip the memory probe of files over 64 MiB"
    )
    parser.add_argument("--rss-probe", help=argparse.SUPPRESS)
    parser.add_argument("--metadata", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rss_probe:
        print(json.dumps(_rss_probe(args.rss_probe, args.metadata)))
        return 0

    from bench.corpus import build_corpus, list_files, summarize

    folder = Path(args.corpus) if args.corpus else build_corpus()
    files = list_files(folder)
    if not files:
        print(f"no files under {folder}", file=sys.stderr)
        return 2
    print(f"corpus {folder}: {summarize(files).describe()}", file=sys.stderr)
    print(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, Python "
        f"{sys.version.split()[0]}, LIEF {getattr(lief, '__version__', '?')}",
        file=sys.stderr,
    )
    paths = [str(p) for p in files]
    report = run_benchmark(
        paths,
        workers=args.workers,
        repetitions=args.repetitions,
        osslsigncode_every=args.osslsigncode_every,
        progress=lambda message: print(message, file=sys.stderr),
    )
    if not args.no_large_probe:
        with tempfile.TemporaryDirectory(prefix="bench-large-") as scratch:
            report.probes = large_file_probes(paths, Path(scratch))
    print(render(report))
    if args.json:
        args.json.write_text(json.dumps(_as_json(report), indent=2) + "\n", encoding="utf-8")
    bounded = all(p.bounded and p.matches_hashlib for p in report.probes)
    return 1 if report.checks.mismatches or not bounded else 0


def _as_json(report: BenchmarkReport) -> dict[str, object]:
    return {
        "files": report.files,
        "total_bytes": report.total_bytes,
        "workers": report.workers,
        "methods": {
            k: {
                "mb_per_s": m.mb_per_s,
                "mb_per_cpu_s": m.mb_per_cpu_s,
                "files_per_s": m.files_per_s,
                "seconds": m.seconds,
                "files": m.files,
                "peak_rss_kib": m.peak_rss_kib,
            }
            for k, m in report.measurements.items()
        },
        "ratios": {r.name: {"value": r.value, "target": r.target} for r in report.ratios},
        "mismatches": report.checks.mismatches,
    }


if __name__ == "__main__":
    raise SystemExit(main())
