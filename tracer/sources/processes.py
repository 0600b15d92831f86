"""psutil process sampling: images executed and DLLs/``.so`` loaded from the root (tracer.md 3.1).

A complement, not an exec tracker: polling misses processes that live less than one tick
(tracer.md measured 1-2 of 200 one-millisecond processes), but ``memory_maps()`` reliably shows
what long-lived processes map - including the Windows ``.exe``/``.dll`` files Wine maps from a
prefix (wine.md 4.3), which fanotify only reports as plain opens. To stay cheap when idle
(< 1% of a core), processes born during the session are sampled every tick and the rest of the
system only every ``full_interval`` seconds. The only module allowed to import psutil.
"""

# Plain str paths on purpose: hot loops and OS handles, no pathlib objects.
# ruff: noqa: PTH119

from __future__ import annotations

import os
import sys
import threading
import time

import psutil  # type: ignore[import-untyped, unused-ignore]

from tracer.records import EventKind, FileEvent
from tracer.sources.base import EventSink, LiveSource, Scope

_DELETED = " (deleted)"
_LINUX = sys.platform.startswith("linux")
_YOUNG_INTERVAL = 1.0


class ProcessSource(LiveSource):
    """Samples new processes' executable and memory maps; reports files under the root."""

    name = "processes"

    def __init__(
        self,
        scope: Scope,
        *,
        interval: float = 0.25,
        full_interval: float = 30.0,
        ignore_pids: frozenset[int] = frozenset(),
    ) -> None:
        super().__init__()
        self._scope = scope
        self._interval = interval
        self._full_interval = full_interval
        self._ignore = frozenset({os.getpid(), *ignore_pids})
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._sink: EventSink | None = None
        self._known: set[int] = set()
        self._young: dict[int, psutil.Process] = {}
        self._seen: set[tuple[int, str, EventKind]] = set()
        self._started = time.time()

    def arm(self, sink: EventSink) -> None:
        self._sink = sink
        self._known = set(psutil.pids())
        self._started = time.time()
        self._thread = threading.Thread(target=self._run, name="processes", daemon=True)
        self._thread.start()
        self._armed = True
        self._detail = f"every {self._interval:g} s (all processes every {self._full_interval:g} s)"

    def close(self) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join()
        self._thread = None
        self.sweep(full=False)  # last look at the session's processes

    def _run(self) -> None:
        last_full = last_young = time.monotonic()
        while not self._stop.wait(self._interval):
            now = time.monotonic()
            full = now - last_full >= self._full_interval
            young = now - last_young >= _YOUNG_INTERVAL
            if full:
                last_full = now
            if young:
                last_young = now
            try:
                self.sweep(full=full, resample_young=young)
            except Exception as exc:  # noqa: BLE001 - sampling is best effort
                self.mark_degraded(f"sampling failed: {exc!r}")

    def sweep(self, *, full: bool, resample_young: bool = True) -> None:
        """One sampling pass (public so tests and ``close`` can force one).

        New processes are sampled as soon as they are seen; processes born during the session
        are sampled again when ``resample_young`` (DLLs loaded later); the rest only when ``full``.
        """
        pids = set(psutil.pids())
        fresh: list[psutil.Process] = []
        for pid in pids - self._known:
            if pid in self._ignore:
                continue
            try:
                proc = psutil.Process(pid)
            except psutil.Error:
                continue
            self._young[pid] = proc
            fresh.append(proc)
        self._known = pids
        for pid in list(self._young):
            if pid not in pids:
                del self._young[pid]
        targets = list(self._young.values()) if resample_young else fresh
        if full:
            young = set(self._young)
            for pid in pids - young - self._ignore:
                try:
                    targets.append(psutil.Process(pid))
                except psutil.Error:
                    continue
        for proc in targets:
            self._sample(proc)

    def _emit(self, pid: int, path: str, kind: EventKind, note: str | None = None) -> None:
        if path.endswith(_DELETED):
            path = path[: -len(_DELETED)]
        if not self._scope.contains(path):
            return
        key = (pid, path, kind)
        if key in self._seen:
            return
        self._seen.add(key)
        sink = self._sink
        assert sink is not None
        sink(FileEvent(kind, path, self.name, time.time_ns(), pid=pid, note=note))
        self._count()

    def _maps(self, proc: psutil.Process) -> list[str]:
        if _LINUX:
            # /proc/pid/maps is an order of magnitude cheaper than psutil's smaps-based
            # memory_maps() (which sums RSS per mapping): it keeps the idle recorder under 1%.
            paths: set[str] = set()
            with open(f"/proc/{proc.pid}/maps", encoding="utf-8", errors="surrogateescape") as f:
                for line in f:
                    parts = line.rstrip("\n").split(None, 5)
                    if len(parts) == 6 and parts[5].startswith("/"):
                        paths.add(parts[5])
            return sorted(paths)
        return [m.path for m in proc.memory_maps(grouped=True)]

    def _sample(self, proc: psutil.Process) -> None:
        try:
            with proc.oneshot():
                exe = proc.exe()
                name = proc.name()
            maps = self._maps(proc)
        except (psutil.Error, OSError):
            return
        pid = proc.pid
        if exe:
            self._emit(pid, exe, EventKind.EXECUTED)
        for path in maps:
            if not path or path.startswith("[") or path.removesuffix(_DELETED) == exe:
                continue
            base = os.path.basename(path.removesuffix(_DELETED))
            # Wine runs every .exe through its loader: /proc/pid/exe is wine64, the image is a
            # mapping and the process name is the exe's name cut to 15 characters (wine.md 4.2).
            if path != exe and name and base.lower().endswith(".exe") and base[:15] == name[:15]:
                self._emit(pid, path, EventKind.EXECUTED, "image mapped by a Wine process")
            self._emit(pid, path, EventKind.LOADED)
