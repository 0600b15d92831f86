"""Pure reduction: baseline + final snapshot + live events -> ``FileManifest`` (tracer.md 3.3, 6).

No I/O here. The snapshot pair is authoritative for files that exist at stop (compared by path on
``(file id, size, mtime_ns, ctime_ns)``; moves are never inferred from inode matches because freed
inodes are reused - tracer.md 4.5 measured 93 bogus "moves" that way). Live events add files that
vanished before stop (``transient``, with their close-time hashes when a source captured them),
files only executed or loaded, and where a moved file came from.

Catalogable files are decided here by content (bytes handed in: ``MZ`` ... ``PE\\0\\0``) and by
extension (scripts and installer packages WDAC checks), without importing the catalog package.
"""

# Plain str paths on purpose: 200,000-entry walks cannot afford pathlib objects.

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from tracer.content import (
    DEFAULT_EXTENSIONS,
    HEAD_PROBE,
    classify_head,
    extension_catalogable,
    needed_head_length,
)
from tracer.records import (
    ContentKind,
    EventKind,
    ExcludedEntry,
    FileEvent,
    FileManifest,
    Hashes,
    ManifestEntry,
    Reason,
    Snapshot,
    SourceStatus,
    dumps_json,
)
from tracer.sources.base import Scope


@dataclass(frozen=True, slots=True)
class ReduceOptions:
    """Filters applied to the result (patterns are globs on the path relative to the root)."""

    include: tuple[str, ...] = ()
    """When not empty, only paths matching one of these stay in the manifest."""
    exclude: tuple[str, ...] = ()
    extensions: frozenset[str] = DEFAULT_EXTENSIONS
    include_wine_builtins: bool = False


@dataclass(slots=True)
class _Acc:
    """Evidence gathered for one path while folding events (internal, mutable)."""

    written: bool = False
    created: bool = False
    executed: bool = False
    loaded: bool = False
    moved_away_to: str | None = None
    moved_from: str | None = None
    sources: set[str] = field(default_factory=set)
    hashes: list[Hashes] = field(default_factory=list)
    content: ContentKind = ContentKind.UNKNOWN
    notes: list[str] = field(default_factory=list)
    file_id: int | None = None
    size: int | None = None
    unlinked: bool = False

    def add_hash(self, h: Hashes) -> None:
        # Consecutive duplicates collapse; A -> B -> A stays three versions, so the last one
        # is always the content as last closed.
        if not self.hashes or self.hashes[-1] != h:
            self.hashes.append(h)


@dataclass(frozen=True, slots=True)
class SnapshotDiff:
    created: frozenset[str]
    modified: frozenset[str]
    deleted: frozenset[str]


def diff_snapshots(baseline: Snapshot, final: Snapshot) -> SnapshotDiff:
    """Path-keyed compare; any change of file id, size, mtime or ctime counts as modified."""
    before = baseline.files
    created: list[str] = []
    modified: list[str] = []
    for path, st in final.files.items():
        old = before.get(path)
        if old is None:
            created.append(path)
        elif old != st:
            modified.append(path)
    after = final.files
    deleted = [p for p in before if p not in after]
    return SnapshotDiff(frozenset(created), frozenset(modified), frozenset(deleted))


def fold_events(events: Iterable[FileEvent], scope: Scope) -> dict[str, _Acc]:
    """Fold events in arrival order into per-path evidence; moves carry evidence to the new name."""
    acc: dict[str, _Acc] = {}

    def get(p: str) -> _Acc:
        a = acc.get(p)
        if a is None:
            a = acc[p] = _Acc()
        return a

    for ev in events:
        src_in = scope.contains(ev.path)
        if ev.kind is EventKind.MOVED:
            dest = ev.dest
            dest_in = dest is not None and scope.contains(dest)
            old = acc.get(ev.path) if src_in else None
            if src_in:
                a = get(ev.path)
                a.sources.add(ev.source)
                a.moved_away_to = dest
            if dest_in:
                assert dest is not None
                d = get(dest)
                d.sources.add(ev.source)
                d.created = True
                d.moved_away_to = None
                d.moved_from = (old.moved_from if old is not None else None) or ev.path
                if old is not None:
                    d.written = d.written or old.written
                    d.executed = d.executed or old.executed
                    d.loaded = d.loaded or old.loaded
                    for h in old.hashes:
                        d.add_hash(h)
                    if old.content is not ContentKind.UNKNOWN:
                        d.content = old.content
                    # The evidence went with the file; the old name only records the move.
                    old.written = old.created = old.executed = old.loaded = False
                    old.hashes = []
            continue
        if not src_in:
            continue
        a = get(ev.path)
        a.sources.add(ev.source)
        if ev.kind is EventKind.CREATED:
            a.created = True
            a.moved_away_to = None
        elif ev.kind in (EventKind.WRITTEN, EventKind.MODIFIED):
            a.written = True
            a.moved_away_to = None
        elif ev.kind is EventKind.EXECUTED:
            a.executed = True
        elif ev.kind is EventKind.LOADED:
            a.loaded = True
        elif ev.kind is EventKind.HASHED and not (a.created or a.written):
            # A late hash of a path nobody saw written: not evidence on its own.
            if ev.hashes is not None:
                a.add_hash(ev.hashes)
            continue
        if ev.hashes is not None:
            a.add_hash(ev.hashes)
        if ev.file_id is not None:
            a.file_id, a.size, a.unlinked = ev.file_id, ev.size, ev.unlinked
        if ev.content is not ContentKind.UNKNOWN:
            a.content = ev.content
        if ev.note and ev.note not in a.notes:
            a.notes.append(ev.note)
    return acc


@dataclass(slots=True)
class Evidence:
    """Snapshot diff and folded events, computed once per stop (they are the expensive part)."""

    diff: SnapshotDiff
    acc: dict[str, _Acc]

    def candidates(self, final: Snapshot) -> set[str]:
        """Paths existing at stop that will be in the manifest: their content must be read."""
        out = set(self.diff.created) | set(self.diff.modified)
        for p, a in self.acc.items():
            if p in final.files and (a.created or a.written or a.executed or a.loaded):
                out.add(p)
        return out


def gather(
    baseline: Snapshot, final: Snapshot, events: Iterable[FileEvent], scope: Scope
) -> Evidence:
    diff = diff_snapshots(baseline, final)
    acc = fold_events(events, scope)
    _resolve_renames(acc, diff, final)
    return Evidence(diff, acc)


def surviving_candidates(
    baseline: Snapshot, final: Snapshot, events: Iterable[FileEvent], scope: Scope
) -> set[str]:
    """Paths existing at stop that will be in the manifest: those whose content must be read."""
    return gather(baseline, final, events, scope).candidates(final)


def _resolve_renames(acc: dict[str, _Acc], diff: SnapshotDiff, final: Snapshot) -> None:
    """Temp-file-then-rename seen only as a close-write of the temp name (fanotify has no
    rename events): a vanished file whose inode *and* size at close match exactly one new or
    changed survivor was renamed to it. Files the source saw already unlinked are never matched,
    so an inode freed and reused by another file cannot fake a rename (tracer.md 4.5).
    """
    by_ino: dict[int, list[str]] = {}
    for p in diff.created | diff.modified:
        by_ino.setdefault(final.files[p][0], []).append(p)
    for path, a in list(acc.items()):
        if path in final.files or a.file_id is None or a.unlinked or a.moved_away_to:
            continue
        if not (a.created or a.written):
            continue
        match = [q for q in by_ino.get(a.file_id, ()) if final.files[q][1] == a.size]
        if len(match) != 1:
            continue
        dest = acc.get(match[0]) or _Acc()
        acc[match[0]] = dest
        dest.moved_from = dest.moved_from or path
        dest.sources |= a.sources
        dest.hashes = [*a.hashes, *(h for h in dest.hashes if h not in a.hashes)]
        if dest.content is ContentKind.UNKNOWN:
            dest.content = a.content
        dest.executed = dest.executed or a.executed
        dest.loaded = dest.loaded or a.loaded
        del acc[path]


def _relative(path: str, root: str) -> str:
    rel = path[len(root) :] if path.startswith(root) else path
    if rel.startswith(os.sep):
        rel = rel[1:]
    return rel.replace(os.sep, "/")


def _matches(rel: str, patterns: tuple[str, ...]) -> str | None:
    name = rel.rsplit("/", 1)[-1]
    for pat in patterns:
        if fnmatch.fnmatchcase(rel, pat) or ("/" not in pat and fnmatch.fnmatchcase(name, pat)):
            return pat
    return None


def _with_installer(
    entries: list[ManifestEntry],
    installer: str,
    kind: ContentKind,
    scope: Scope,
    options: ReduceOptions,
) -> list[ManifestEntry]:
    """Package Inspector's ``-path``: the installer belongs in the catalog, as it ran."""
    for i, e in enumerate(entries):
        if e.path == installer:
            entries[i] = replace(
                e, reasons=e.reasons | {Reason.EXECUTED}, sources=e.sources | {"installer"}
            )
            return entries
    warn: tuple[str, ...] = ()
    if not scope.contains(installer):
        warn = (
            "installer (-path) lies outside the recorded root; copy installers into the root "
            "before start so what ran is what was recorded",
        )
    entry = ManifestEntry(
        path=installer,
        reasons=frozenset({Reason.EXECUTED}),
        sources=frozenset({"installer"}),
        exists_at_stop=True,
        content=kind,
        catalogable=kind is ContentKind.PE or extension_catalogable(installer, options.extensions),
        warnings=warn,
    )
    return sorted([*entries, entry], key=lambda e: e.path)


def reduce_session(
    baseline: Snapshot,
    final: Snapshot,
    events: Iterable[FileEvent],
    content: Mapping[str, ContentKind],
    scope: Scope,
    options: ReduceOptions = ReduceOptions(),
    *,
    sources: Iterable[SourceStatus] = (),
    warnings: Iterable[str] = (),
    degraded: Iterable[str] = (),
    session_id: str | None = None,
    installer: str | None = None,
    started_ns: int = 0,
    stopped_ns: int = 0,
    evidence: Evidence | None = None,
) -> FileManifest:
    """Build the manifest. ``content`` maps surviving candidate paths to what their bytes are.

    ``evidence`` is ``gather(baseline, final, events, scope)`` when the caller already has it.
    """
    if evidence is None:
        evidence = gather(baseline, final, events, scope)
    diff, acc = evidence.diff, evidence.acc
    paths = set(diff.created) | set(diff.modified) | set(acc)
    entries: list[ManifestEntry] = []
    excluded: list[ExcludedEntry] = []
    for path in sorted(paths):
        if not scope.contains(path):
            continue
        a = acc.get(path) or _Acc()
        exists = path in final.files
        reasons: set[Reason] = set()
        srcs = set(a.sources)
        warn: list[str] = list(a.notes)
        if exists:
            if path in diff.created:
                reasons.add(Reason.CREATED)
                srcs.add("snapshot")
            elif path in diff.modified:
                reasons.add(Reason.MODIFIED)
                srcs.add("snapshot")
            elif a.created or a.written:
                # Live evidence of a rewrite the metadata compare did not see.
                reasons.add(Reason.MODIFIED)
            kind = content.get(path, a.content)
            size: int | None = final.files[path][1]
        else:
            if a.created or a.written or a.executed or a.loaded:
                if a.moved_away_to is not None and scope.contains(a.moved_away_to):
                    continue  # represented by its new name
                reasons.add(Reason.TRANSIENT)
                if a.moved_away_to is not None:
                    warn.append(f"moved out of the root to {a.moved_away_to}")
                if not a.hashes:
                    warn.append("gone before stop and no source captured its hash")
            kind = a.content
            size = None
        if a.executed:
            reasons.add(Reason.EXECUTED)
        if a.loaded:
            reasons.add(Reason.LOADED)
        if not reasons:
            continue
        versions = len({dumps_json(dict(h)) for h in a.hashes})
        if versions > 1:
            warn.append(
                f"content changed after first hash ({versions} versions seen while recording)"
            )
        rel = _relative(path, scope.root) if options.include or options.exclude else ""
        pat = _matches(rel, options.exclude)
        if pat is not None:
            excluded.append(ExcludedEntry(path, f"matches exclude pattern {pat!r}"))
            continue
        if options.include and _matches(rel, options.include) is None:
            excluded.append(ExcludedEntry(path, "matches no include pattern"))
            continue
        if kind is ContentKind.WINE_BUILTIN and not options.include_wine_builtins:
            excluded.append(ExcludedEntry(path, "Wine builtin DLL (marker at 0x40)"))
            continue
        catalogable = kind is ContentKind.PE or extension_catalogable(path, options.extensions)
        entries.append(
            ManifestEntry(
                path=path,
                reasons=frozenset(reasons),
                sources=frozenset(srcs),
                exists_at_stop=exists,
                content=kind,
                catalogable=catalogable,
                hashes_at_close=tuple(a.hashes),
                moved_from=a.moved_from,
                size=size,
                warnings=tuple(warn),
            )
        )
    if installer is not None and installer in content:
        entries = _with_installer(entries, installer, content[installer], scope, options)
    walk_warnings = list(warnings)
    if final.stats.unreadable_dirs:
        n = len(final.stats.unreadable_dirs)
        walk_warnings.append(
            f"{n} {'directory' if n == 1 else 'directories'} could not be read; files "
            "in them are not covered (see walk.unreadable_dirs)"
        )
    return FileManifest(
        root=scope.root,
        entries=tuple(entries),
        excluded=tuple(excluded),
        sources=tuple(sources),
        warnings=tuple(walk_warnings),
        degraded=tuple(degraded),
        walk=final.stats,
        session_id=session_id,
        installer=installer,
        started_ns=started_ns,
        stopped_ns=stopped_ns,
    )


def scan_manifest(
    snap: Snapshot,
    content: Mapping[str, ContentKind],
    scope: Scope,
    options: ReduceOptions = ReduceOptions(),
) -> FileManifest:
    """``scan``: every file of one walk is ``present``; the same filters as a recording."""
    empty = Snapshot(root=snap.root, files={})
    m = reduce_session(empty, snap, [], content, scope, options)
    entries = tuple(
        replace(e, reasons=frozenset({Reason.PRESENT}), sources=frozenset({"scan"}))
        for e in m.entries
    )
    return replace(m, entries=entries)


__all__ = [
    "DEFAULT_EXTENSIONS",
    "HEAD_PROBE",
    "Evidence",
    "ReduceOptions",
    "SnapshotDiff",
    "classify_head",
    "diff_snapshots",
    "extension_catalogable",
    "fold_events",
    "gather",
    "needed_head_length",
    "reduce_session",
    "scan_manifest",
    "surviving_candidates",
]
