"""Benchmark: hash N real files, then build and sign their catalog (issue target: build + sign of
10,000 members, given their hashes, under 2 s, memory proportional to the member count).

Makes N files in a temporary folder (every fourth a PE: a fixture program with a unique overlay,
so every PE has its own image hash and a page table; the rest small scripts), then times, in one
run and on the same files:

1. hashing them (``catalog.pe.hashing.hash_paths``, both cores);
2. building the v2 catalog from those digests (``catalog.ctl.build.build_catalog``), page hashes on;
3. signing it with the fixture test PKI (``inspector.pipeline.signing.sign_catalog_bytes``);
4. optionally reading it back (``catalog.ctl.read.parse_catalog``).

Memory: tracemalloc peak of build + sign at N/10 and at N members, to show it grows linearly.

    .venv/bin/python -m bench.catalog_build [--members 10000] [--v1] [--read]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from catalog import FileDigests
from catalog.cms import SigningIdentity, identity_from_pem
from catalog.ctl import CatalogMember, CatalogSpec, NameValue, build_catalog, parse_catalog
from catalog.pe import HashOptions, hash_paths
from fixtures.pki import load_pki
from inspector.pipeline.catalogs import catalog_member
from inspector.pipeline.signing import sign_catalog_bytes

FIXED_TIME = datetime(2026, 1, 1, tzinfo=UTC)
FIXTURE_PE = Path(__file__).resolve().parent.parent / "fixtures" / "pe" / "hello64.exe"


def make_files(folder: Path, count: int) -> list[Path]:
    """``count`` distinct files: a quarter PEs (unique overlays), the rest small scripts."""
    program = FIXTURE_PE.read_bytes()
    paths: list[Path] = []
    for i in range(count):
        if i % 4 == 0:
            path = folder / f"bin{i:05d}.dll"
            path.write_bytes(program + i.to_bytes(8, "little"))
        else:
            path = folder / f"script{i:05d}.ps1"
            path.write_text(f"Write-Output {i}\n")
        paths.append(path)
    return paths


def members_of(digests: Sequence[FileDigests], version: int) -> list[CatalogMember]:
    members: list[CatalogMember] = []
    for d in digests:
        name = Path(d.path).name
        attribute = NameValue("File", 0x10010001, (name + "\0").encode("utf-16-le"))
        member, _notes = catalog_member(
            name, d, version=version, page_hashes=True, attributes=(attribute,)
        )
        members.append(member)
    return members


def build_and_sign(
    members: list[CatalogMember], version: int, identity: SigningIdentity
) -> tuple[bytes, bytes, float, float]:
    spec = CatalogSpec(version=version, this_update=FIXED_TIME, members=tuple(members))
    start = time.perf_counter()
    built = build_catalog(spec)
    built_at = time.perf_counter()
    signed, _subjects = sign_catalog_bytes(built.der, "bench", identity, now=FIXED_TIME)
    signed_at = time.perf_counter()
    return built.der, signed, built_at - start, signed_at - built_at


def peak_memory(members: list[CatalogMember], version: int, identity: SigningIdentity) -> int:
    tracemalloc.start()
    build_and_sign(members, version, identity)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def run(count: int, version: int, read_back: bool) -> dict[str, float]:
    leaf = load_pki().leaf
    identity = identity_from_pem(leaf.chain_pem(), leaf.key_pem())
    with tempfile.TemporaryDirectory(prefix="catalog-bench-") as tmp:
        paths = make_files(Path(tmp), count)
        start = time.perf_counter()
        results = list(hash_paths(paths, HashOptions(metadata=False), workers=2))
        hashed = time.perf_counter() - start
    digests = [r for r in results if isinstance(r, FileDigests)]
    if len(digests) != count:
        raise SystemExit(f"only {len(digests)} of {count} files hashed")
    members = members_of(digests, version)
    unsigned, signed, build_s, sign_s = build_and_sign(members, version, identity)
    figures = {
        "members": float(count),
        "hash_s": hashed,
        "build_s": build_s,
        "sign_s": sign_s,
        "build_sign_s": build_s + sign_s,
        "catalog_bytes": float(len(signed)),
        "unsigned_bytes": float(len(unsigned)),
        "peak_mib_tenth": peak_memory(members[: count // 10], version, identity) / 2**20,
        "peak_mib_full": peak_memory(members, version, identity) / 2**20,
    }
    if read_back:
        start = time.perf_counter()
        parse_catalog(signed, "bench")
        figures["read_s"] = time.perf_counter() - start
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--v1", action="store_true", help="build a v1 (SHA1) catalog")
    parser.add_argument("--read", action="store_true", help="also time parsing it back")
    args = parser.parse_args()
    f = run(args.members, 1 if args.v1 else 2, args.read)
    n = int(f["members"])
    print(f"{n} members (a quarter PEs with page hashes), v{1 if args.v1 else 2} catalog")
    print(f"  hash the files (2 threads)  {f['hash_s']:7.3f} s")
    print(f"  build the catalog           {f['build_s']:7.3f} s")
    print(f"  sign it                     {f['sign_s']:7.3f} s")
    verdict = "met" if f["build_sign_s"] < 2 else "MISSED"
    print(f"  build + sign                {f['build_sign_s']:7.3f} s  (target < 2 s: {verdict})")
    if "read_s" in f:
        print(f"  read it back                {f['read_s']:7.3f} s")
    print(f"  catalog size                {f['catalog_bytes'] / 2**20:7.2f} MiB")
    print(
        f"  peak memory of build + sign {f['peak_mib_tenth']:7.1f} MiB at {n // 10} members, "
        f"{f['peak_mib_full']:.1f} MiB at {n} "
        f"(x{f['peak_mib_full'] / max(f['peak_mib_tenth'], 1e-9):.1f} for x10 members)"
    )


if __name__ == "__main__":
    main()
