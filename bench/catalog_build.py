"""Benchmark: build (and re-read) a v2 catalog of many members from synthetic digests.

Measures catalog.ctl.build_catalog alone - no hashing - for N members (default 10,000): each a PE
with a small page table or a flat file, with a ``File`` attribute, as MakeCat would write them
(20,000 trusted subjects with the SHA1 compat entries). Reports wall time, peak Python memory
(tracemalloc, separate run) and the catalog size; the target is under 2 s for 10,000 members.

Signing time is not included: ``SIGN_HOOK`` is where the signing helper plugs in a callable
``(unsigned_der) -> signed_der`` so that the same run reports build + sign.

    .venv/bin/python -m bench.catalog_build [--members 10000] [--v1] [--read]
"""

from __future__ import annotations

import argparse
import hashlib
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime

from catalog.ctl import CatalogMember, CatalogSpec, MemberKind, NameValue, build_catalog
from catalog.reader import parse_catalog
from catalog.records import HashAlgorithm, PageHashTable

SIGN_HOOK: Callable[[bytes], bytes] | None = None
"""Set by the signing code (e.g. ``lambda der: sign_catalog(der, key, chain)``) to time signing."""


def synthetic_members(count: int, version: int) -> list[CatalogMember]:
    """Deterministic fake members: every fourth one a PE with a 9-entry page table."""
    members: list[CatalogMember] = []
    alg = HashAlgorithm.SHA1 if version == 1 else HashAlgorithm.SHA256
    for i in range(count):
        seed = i.to_bytes(4, "little")
        sha256 = hashlib.sha256(seed).digest()
        sha1 = hashlib.sha1(seed).digest()
        name = f"file{i:05d}.{'dll' if i % 4 == 0 else 'txt'}"
        table = None
        if i % 4 == 0:
            digest = sha1 if version == 1 else sha256
            entries = tuple((0x1000 * k, digest) for k in range(8))
            table = PageHashTable(alg, (*entries, (0x8000, bytes(alg.digest_size))))
        members.append(
            CatalogMember(
                name,
                MemberKind.PE if table is not None else MemberKind.FLAT,
                sha1,
                sha256,
                page_table_sha1=table if version == 1 else None,
                page_table_sha256=table if version == 2 else None,
                attributes=(NameValue.text("File", name, 0x11010001),),
            )
        )
    return members


def run(count: int, version: int, read_back: bool) -> dict[str, float]:
    members = synthetic_members(count, version)
    spec = CatalogSpec(
        version,
        datetime(2026, 1, 1, tzinfo=UTC),
        tuple(members),
        (NameValue.text("OSAttr", "2:10.0"),),
    )
    # Time without tracemalloc (it slows allocation-heavy code several-fold), best of three;
    # then measure peak memory in a separate run.
    build_s = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        built = build_catalog(spec)
        build_s = min(build_s, time.perf_counter() - start)
    tracemalloc.start()
    build_catalog(spec)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    result = {
        "members": float(count),
        "subjects": float(built.subject_count),
        "build_s": build_s,
        "peak_mib": peak / 2**20,
        "catalog_mib": len(built.der) / 2**20,
    }
    if SIGN_HOOK is not None:
        start = time.perf_counter()
        SIGN_HOOK(built.der)
        result["sign_s"] = time.perf_counter() - start
    if read_back:
        start = time.perf_counter()
        parse_catalog(built.der)
        result["read_s"] = time.perf_counter() - start
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--v1", action="store_true", help="build a v1 (SHA1) catalog")
    parser.add_argument("--read", action="store_true", help="also time parsing it back")
    args = parser.parse_args()
    result = run(args.members, 1 if args.v1 else 2, args.read)
    print(
        f"catalog v{1 if args.v1 else 2}: {int(result['members'])} members, "
        f"{int(result['subjects'])} subjects, {result['catalog_mib']:.1f} MiB"
    )
    print(f"build: {result['build_s']:.3f} s (target < 2 s), peak {result['peak_mib']:.1f} MiB")
    if "sign_s" in result:
        print(f"sign: {result['sign_s']:.3f} s")
    if "read_s" in result:
        print(f"read back: {result['read_s']:.3f} s")


if __name__ == "__main__":
    main()
