"""``inspector policy simulate``: read policies, catalogs and files; evaluate; report.

The I/O edge of ``policy.evaluate``: policies in any form ``load_policy`` reads (XML, binary,
signed), catalogs given one by one or as a catroot folder, files and folders to judge. Files are
read and hashed on a thread pool (hashlib releases the GIL), each once; one unreadable file becomes
a failure record, never the end of the batch. A catalog that cannot be read is reported and left
out (Windows ignores a broken catalog too).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from catalog import CatalogError, FileFailure
from catalog.pe import iter_files
from inspector.pipeline.files import read_input
from inspector.pipeline.policies import load_policy
from policy.evaluate import (
    SCHEMA_VERSION,
    CatalogFacts,
    FileFacts,
    PolicySet,
    Verdict,
    evaluate,
    gather_facts,
    index_policy,
    policy_set,
    read_catalog,
)

MAX_FILE_SIZE = 1 << 30
"""Files are read whole once; larger ones are refused for this file only."""


@dataclass(frozen=True, slots=True)
class SimulateReport:
    verdicts: tuple[Verdict, ...]
    failures: tuple[FileFailure, ...]
    notes: tuple[str, ...]
    policies: tuple[str, ...]
    catalogs: tuple[str, ...]

    @property
    def blocked(self) -> int:
        return sum(1 for v in self.verdicts if not v.allowed)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "policies": list(self.policies),
            "catalogs": list(self.catalogs),
            "notes": list(self.notes),
            "files": [v.to_dict() for v in self.verdicts],
            "failures": [f.to_dict() for f in self.failures],
        }


def load_policy_set(paths: Sequence[Path]) -> tuple[PolicySet, tuple[str, ...]]:
    """Read and index every policy (signed ones are verified) and group bases/supplementals."""
    indexed = [index_policy(load_policy(p).policy, str(p)) for p in paths]
    return policy_set(indexed), tuple(
        f"{p}: {i.policy_id}" for p, i in zip(paths, indexed, strict=True)
    )


def catalog_paths(catalogs: Sequence[Path], catroot: Path | None) -> list[Path]:
    found = list(catalogs)
    if catroot is not None:
        if not catroot.is_dir():
            raise CatalogError(f"{catroot}: --catroot must be a folder of .cat files")
        found += sorted(p for p in catroot.rglob("*") if p.suffix.lower() == ".cat" and p.is_file())
    return found


def load_catalogs(paths: Sequence[Path]) -> tuple[list[CatalogFacts], list[str]]:
    out: list[CatalogFacts] = []
    notes: list[str] = []
    for path in paths:
        try:
            out.append(read_catalog(read_input(path, "catalog"), str(path)))
        except CatalogError as exc:
            notes.append(f"catalog left out: {exc}")
    return out, notes


def _facts(path: str, catalogs: Sequence[CatalogFacts]) -> FileFacts | FileFailure:
    try:
        size = Path(path).stat().st_size
        if size > MAX_FILE_SIZE:
            return FileFailure(
                path, f"{path}: {size} bytes is over the {MAX_FILE_SIZE}-byte limit", "input"
            )
        return gather_facts(read_input(Path(path), "file"), path, catalogs)
    except CatalogError as exc:
        return FileFailure(path, str(exc), "input")
    except OSError as exc:
        return FileFailure(path, f"{path}: {exc.strerror or exc}", "environment")


def gather_all(
    paths: Sequence[str | os.PathLike[str]],
    catalogs: Sequence[CatalogFacts],
    workers: int | None = None,
) -> Iterator[FileFacts | FileFailure]:
    """Facts for every file under ``paths`` (folders expanded), in order, on a thread pool."""
    items = list(iter_files(paths))
    count = workers or os.cpu_count() or 1
    with ThreadPoolExecutor(max_workers=count, thread_name_prefix="facts") as pool:
        names = [i for i in items if isinstance(i, str)]
        results = iter(pool.map(lambda p: _facts(p, catalogs), names))
        for item in items:
            yield item if isinstance(item, FileFailure) else next(results)


def simulate(
    policies: Sequence[Path],
    paths: Sequence[Path],
    *,
    catalogs: Sequence[Path] = (),
    catroot: Path | None = None,
    scenario: int | None = None,
    workers: int | None = None,
) -> SimulateReport:
    """Evaluate every file under ``paths`` against ``policies`` (with catalog signatures)."""
    pset, names = load_policy_set(policies)
    cats, notes = load_catalogs(catalog_paths(catalogs, catroot))
    verdicts: list[Verdict] = []
    failures: list[FileFailure] = []
    for facts in gather_all(paths, cats, workers):
        if isinstance(facts, FileFailure):
            failures.append(facts)
        else:
            verdicts.append(evaluate(pset, facts, scenario))
    return SimulateReport(
        tuple(verdicts),
        tuple(failures),
        tuple(notes) + pset.notes,
        names,
        tuple(c.path for c in cats),
    )


def demo_check(
    files: Sequence[Path], base: Path, supplemental: Path, catalog: Path
) -> list[tuple[str, bool, str]]:
    """The demo's last step: the app is blocked under its base alone and allowed with the
    supplemental and the signed catalog. ``(step name, passed, one line)`` per step."""
    alone = simulate([base], files, catalogs=[catalog])
    both = simulate([base, supplemental], files, catalogs=[catalog])
    blocked = [Path(v.path).name for v in alone.verdicts if not v.allowed]
    allowed = [Path(v.path).name for v in both.verdicts if v.allowed]
    rules = sorted({f"{d.kind} {d.rule_id}" for v in both.verdicts if (d := v.deciding)})
    total = len(files)
    return [
        (
            "simulate: base alone",
            len(blocked) == total and not alone.failures,
            f"{len(blocked)}/{total} blocked ({', '.join(blocked)}); audit mode, so "
            "Windows would log, not stop them",
        ),
        (
            "simulate: base + supplemental + catalog",
            len(allowed) == total and not both.failures,
            f"{len(allowed)}/{total} allowed by {', '.join(rules) or 'nothing'} through the "
            "signed catalog",
        ),
    ]
