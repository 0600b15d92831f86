"""Pure reduction (tracer.md 3.3, 7.3-7.6, 7.17): snapshots + events -> manifest."""

from __future__ import annotations

import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from tracer.records import (
    ContentKind,
    EventKind,
    FileEvent,
    FileManifest,
    Reason,
    Snapshot,
    StatTuple,
)
from tracer.reduce import (
    ReduceOptions,
    classify_head,
    diff_snapshots,
    needed_head_length,
    reduce_session,
    surviving_candidates,
)
from tracer.sources.base import Scope

R = "/r"
SCOPE = Scope(R, ["/r/.state"])


def snap(files: dict[str, StatTuple]) -> Snapshot:
    return Snapshot(root=R, files=files)


def ev(kind: EventKind, path: str, t: int, **kw: object) -> FileEvent:
    return FileEvent(kind, path, kw.pop("source", "fanotify"), t, **kw)  # type: ignore[arg-type]


def test_classify_edge_cases() -> None:
    assert classify_head(b"") is ContentKind.OTHER
    assert classify_head(b"MZ" + b"\0" * 100) is ContentKind.OTHER  # e_lfanew 0
    head = bytearray(b"MZ" + b"\0" * 0x3E)
    struct.pack_into("<I", head, 0x3C, 0x80)
    head += b"Wine builtin DLL" + b"\0" * (0x80 - 0x40 - 16) + b"PE\0\0"
    assert needed_head_length(bytes(head[:64])) == 0x84
    assert classify_head(bytes(head)) is ContentKind.WINE_BUILTIN
    # Wine's placeholder DLLs (e.g. windows/twain_64/sane.ds of a fresh prefix, 1,032 bytes).
    head[0x40:0x54] = b"Wine placeholder DLL"
    assert classify_head(bytes(head)) is ContentKind.WINE_BUILTIN
    head[0x40:0x54] = b"Wine placeholder\0\0\0\0"
    assert classify_head(bytes(head)) is ContentKind.PE
    head[0x40:0x50] = b"\0" * 16
    assert classify_head(bytes(head)) is ContentKind.PE
    assert classify_head(bytes(head[:0x82])) is ContentKind.OTHER  # truncated before signature
    huge = bytearray(head[:64])
    struct.pack_into("<I", huge, 0x3C, 0xFFFFFFF0)
    assert needed_head_length(bytes(huge)) == 64
    assert classify_head(bytes(huge)) is ContentKind.OTHER


def test_snapshot_diff_created_modified_and_noise() -> None:
    base = snap({"/r/a.dll": (1, 10, 100, 100), "/r/b.txt": (2, 5, 100, 100), "/r/c": (3, 1, 1, 1)})
    final = snap(
        {"/r/a.dll": (1, 10, 100, 200), "/r/b.txt": (2, 5, 100, 100), "/r/new.exe": (4, 9, 9, 9)}
    )
    m = reduce_session(base, final, [], {"/r/a.dll": ContentKind.PE}, SCOPE)
    assert [(e.path, sorted(r.value for r in e.reasons)) for e in m.entries] == [
        ("/r/a.dll", ["modified"]),
        ("/r/new.exe", ["created"]),
    ]
    assert m.entries[0].catalogable
    assert not m.entries[1].catalogable  # content never read -> unknown, not .ps1 etc.
    assert m.entries[1].sources == {"snapshot"}
    assert diff_snapshots(base, final).deleted == {"/r/c"}


def test_transient_with_and_without_hash() -> None:
    events = [
        ev(EventKind.WRITTEN, "/r/t/stub.exe", 1, content=ContentKind.PE, hashes={"h": "1"}),
        ev(EventKind.EXECUTED, "/r/t/stub.exe", 2),
        ev(EventKind.CREATED, "/r/t/gone.tmp", 3, source="watchdog"),
        ev(EventKind.DELETED, "/r/t/gone.tmp", 4, source="watchdog"),
    ]
    m = reduce_session(snap({}), snap({}), events, {}, SCOPE)
    by = {e.path: e for e in m.entries}
    stub = by["/r/t/stub.exe"]
    assert stub.reasons == {Reason.TRANSIENT, Reason.EXECUTED}
    assert stub.hashes_at_close == ({"h": "1"},)
    assert stub.catalogable
    assert not stub.exists_at_stop
    gone = by["/r/t/gone.tmp"]
    assert gone.reasons == {Reason.TRANSIENT}
    assert any("no source captured its hash" in w for w in gone.warnings)


def test_moves_within_into_and_out_of_root() -> None:
    base = snap({"/r/old.dll": (1, 1, 1, 1), "/r/leaving.dll": (2, 1, 1, 1)})
    final = snap({"/r/bin/new.dll": (7, 3, 3, 3), "/r/in.dll": (8, 4, 4, 4)})
    events = [
        ev(EventKind.WRITTEN, "/r/tmp/x.dll", 1, hashes={"h": "x"}, content=ContentKind.PE),
        ev(EventKind.MOVED, "/r/tmp/x.dll", 2, dest="/r/bin/new.dll"),
        ev(EventKind.MOVED, "/elsewhere/in.dll", 3, dest="/r/in.dll"),
        ev(EventKind.WRITTEN, "/r/made.dll", 4, hashes={"h": "m"}),
        ev(EventKind.MOVED, "/r/made.dll", 5, dest="/outside/made.dll"),
        ev(EventKind.MOVED, "/r/leaving.dll", 6, dest="/outside/leaving.dll"),
    ]
    m = reduce_session(base, final, events, {"/r/bin/new.dll": ContentKind.PE}, SCOPE)
    by = {e.path: e for e in m.entries}
    assert set(by) == {"/r/bin/new.dll", "/r/in.dll", "/r/made.dll"}
    assert by["/r/bin/new.dll"].moved_from == "/r/tmp/x.dll"
    assert by["/r/bin/new.dll"].hashes_at_close == ({"h": "x"},)
    assert by["/r/in.dll"].moved_from == "/elsewhere/in.dll"
    assert by["/r/made.dll"].reasons == {Reason.TRANSIENT}
    assert any("moved out of the root" in w for w in by["/r/made.dll"].warnings)


def test_hash_changing_file_is_flagged() -> None:
    final = snap({"/r/a.exe": (1, 2, 3, 4)})
    events = [
        ev(EventKind.WRITTEN, "/r/a.exe", 1, hashes={"h": "1"}),
        ev(EventKind.WRITTEN, "/r/a.exe", 2, hashes={"h": "2"}),
        ev(EventKind.WRITTEN, "/r/a.exe", 3, hashes={"h": "2"}),
    ]
    m = reduce_session(snap({}), final, events, {"/r/a.exe": ContentKind.PE}, SCOPE)
    (e,) = m.entries
    assert e.hashes_at_close == ({"h": "1"}, {"h": "2"})
    assert any("content changed after first hash (2 versions" in w for w in e.warnings)


def test_executed_preexisting_file_and_state_dir_and_outside() -> None:
    base = snap({"/r/tool.exe": (1, 1, 1, 1)})
    final = snap({"/r/tool.exe": (1, 1, 1, 1), "/r/.state/j": (9, 9, 9, 9)})
    events = [
        ev(EventKind.EXECUTED, "/r/tool.exe", 1),
        ev(EventKind.LOADED, "/r/tool.exe", 2, source="processes"),
        ev(EventKind.WRITTEN, "/r/.state/j", 3),
        ev(EventKind.WRITTEN, "/rx/other.exe", 4),
    ]
    m = reduce_session(base, final, events, {"/r/tool.exe": ContentKind.PE}, SCOPE)
    (e,) = m.entries
    assert e.reasons == {Reason.EXECUTED, Reason.LOADED}
    assert e.sources == {"fanotify", "processes"}


def test_patterns_extensions_and_wine_builtins() -> None:
    final = snap({f"/r/{n}": (i, 1, 1, 1) for i, n in enumerate(["a.PS1", "logs/x.log", "w.dll"])})
    content = {"/r/w.dll": ContentKind.WINE_BUILTIN}
    m = reduce_session(snap({}), final, [], content, SCOPE, ReduceOptions(exclude=("logs/*",)))
    assert [e.path for e in m.entries] == ["/r/a.PS1"]
    assert m.entries[0].catalogable  # by extension, case-insensitively
    assert {x.path for x in m.excluded} == {"/r/logs/x.log", "/r/w.dll"}
    m2 = reduce_session(
        snap({}),
        final,
        [],
        content,
        SCOPE,
        ReduceOptions(include=("*.dll",), include_wine_builtins=True),
    )
    assert [e.path for e in m2.entries] == ["/r/w.dll"]


def test_manifest_json_round_trip() -> None:
    final = snap({"/r/a.exe": (1, 2, 3, 4)})
    events = [ev(EventKind.WRITTEN, "/r/a.exe", 1, hashes={"h": "1"})]
    m = reduce_session(
        snap({}),
        final,
        events,
        {"/r/a.exe": ContentKind.PE},
        SCOPE,
        degraded=("x",),
        session_id="s",
    )
    assert FileManifest.from_dict(m.to_dict()) == m


names = st.text(alphabet="abcdefgh", min_size=1, max_size=3)


@settings(max_examples=60, deadline=None)
@given(
    before=st.dictionaries(names, st.integers(0, 3), max_size=20),
    after=st.dictionaries(names, st.integers(0, 3), max_size=20),
)
def test_every_new_or_changed_survivor_is_listed(
    before: dict[str, int], after: dict[str, int]
) -> None:
    base = snap({f"/r/{k}": (1, v, 0, 0) for k, v in before.items()})
    final = snap({f"/r/{k}": (1, v, 0, 0) for k, v in after.items()})
    truth = {f"/r/{k}" for k, v in after.items() if before.get(k) != v}
    m = reduce_session(base, final, [], {}, SCOPE)
    assert {e.path for e in m.entries} == truth
    assert surviving_candidates(base, final, [], SCOPE) == truth


def test_hash_history_keeps_order_and_moves_carry_everything() -> None:
    final = snap({"/r/c.exe": (1, 2, 3, 4)})
    events = [
        ev(EventKind.WRITTEN, "/r/a.exe", 1, hashes={"h": "A"}),
        ev(EventKind.WRITTEN, "/r/a.exe", 2, hashes={"h": "B"}),
        ev(EventKind.WRITTEN, "/r/a.exe", 3, hashes={"h": "A"}),
        ev(EventKind.EXECUTED, "/r/a.exe", 4),
        ev(EventKind.MOVED, "/r/a.exe", 5, dest="/r/b.exe"),
        ev(EventKind.MOVED, "/r/b.exe", 6, dest="/r/c.exe"),
    ]
    m = reduce_session(snap({}), final, events, {"/r/c.exe": ContentKind.PE}, SCOPE)
    (e,) = m.entries  # no transient ghosts at the old names
    assert e.path == "/r/c.exe"
    assert e.moved_from == "/r/a.exe"
    assert e.reasons == {Reason.CREATED, Reason.EXECUTED}
    assert e.hashes_at_close == ({"h": "A"}, {"h": "B"}, {"h": "A"})
    assert any("2 versions" in w for w in e.warnings)


def test_rename_seen_only_as_close_write_is_paired_by_inode() -> None:
    final = snap({"/r/app.dll": (77, 5, 1, 1)})
    written = FileEvent(
        EventKind.WRITTEN, "/r/app.dll.tmp", "fanotify", 1, hashes={"h": "x"}, file_id=77, size=5
    )
    m = reduce_session(snap({}), final, [written], {"/r/app.dll": ContentKind.PE}, SCOPE)
    (e,) = m.entries
    assert e.path == "/r/app.dll"
    assert e.moved_from == "/r/app.dll.tmp"
    assert e.hashes_at_close == ({"h": "x"},)
    # Already unlinked when seen: its inode may have been reused, so never paired.
    gone = FileEvent(
        EventKind.WRITTEN, "/r/t.tmp", "fanotify", 1, hashes={"h": "y"}, file_id=77, size=5,
        unlinked=True,
    )  # fmt: skip
    m = reduce_session(snap({}), final, [gone], {"/r/app.dll": ContentKind.PE}, SCOPE)
    assert {x.path for x in m.entries} == {"/r/app.dll", "/r/t.tmp"}
