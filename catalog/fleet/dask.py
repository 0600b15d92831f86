"""The Dask engine behind ``BatchExecutor`` (the only module importing Dask; extra ``[fleet]``).

``--dask tcp://host:8786`` connects to a running cluster; ``--dask local[:N]`` starts a
LocalCluster of N single-threaded worker processes on 127.0.0.1 (one per core by default). Each
batch is one task running the same batch function as the local pool; at most ``window`` batches
are in flight and results are taken in submission order. A worker that dies mid-batch: the
scheduler re-runs its tasks on another worker (Dask's ``allowed-failures``); a task that raises
is retried ``retries`` times. Workers must see the inputs under the same paths (a shared mount).
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from catalog.errors import CatalogEnvironmentError, CatalogInputError
from catalog.fleet.executors import BatchFn
from catalog.pe import HashOptions, default_workers
from catalog.records import HashResult

LOCAL_PREFIX = "local"


def parse_local(address: str) -> int | None:
    """``local`` -> one worker per core, ``local:N`` -> N; None for a scheduler address."""
    if address != LOCAL_PREFIX and not address.startswith(f"{LOCAL_PREFIX}:"):
        return None
    _, _, count = address.partition(":")
    if not count:
        return default_workers()
    if not count.isdigit() or not 0 < int(count) <= 256:
        raise CatalogInputError(f"--dask {address}: expected local or local:N with N in 1..256")
    return int(count)


class DaskExecutor:
    def __init__(
        self, address: str, *, retries: int = 2, timeout: float = 30.0, window: int | None = None
    ) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:
            raise CatalogEnvironmentError(
                "--dask needs Dask: pip install 'wdac-package-inspector[fleet]'"
            ) from exc
        self._cluster: Any = None
        local = parse_local(address)
        try:
            if local is not None:
                self._cluster = LocalCluster(  # type: ignore[no-untyped-call]
                    n_workers=local,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address="127.0.0.1:0",  # loopback only, any free port
                )
                self._client: Any = Client(self._cluster, timeout=timeout)  # type: ignore[no-untyped-call]
            else:
                if "://" not in address:
                    raise CatalogInputError(
                        f"--dask {address}: expected a scheduler address like "
                        "tcp://host:8786, or local[:N]"
                    )
                self._client = Client(address, timeout=timeout)  # type: ignore[no-untyped-call]
        except (OSError, TimeoutError) as exc:
            self.close()
            raise CatalogEnvironmentError(
                f"--dask {address}: cannot reach the scheduler ({exc}); is it running?"
            ) from exc
        self._retries = retries
        self._window = window
        self.batches_done = 0

    @property
    def workers(self) -> int:
        info = self._client.scheduler_info()
        threads = sum(int(w.get("nthreads", 1)) for w in info.get("workers", {}).values())
        return max(1, threads)

    def map_ordered(
        self, fn: BatchFn, batches: Iterable[list[str]], options: HashOptions
    ) -> Iterator[list[HashResult]]:
        run = uuid.uuid4().hex[:12]
        source = enumerate(batches)
        pending: deque[Any] = deque()
        window = self._window or 2 * self.workers
        try:
            while True:
                for index, batch in islice(source, max(0, window - len(pending))):
                    if not batch:
                        pending.append(None)
                        continue
                    pending.append(
                        self._client.submit(
                            fn,
                            batch,
                            options,
                            key=f"inspector-hash-{run}-{index}",
                            pure=False,
                            retries=self._retries,
                        )
                    )
                if not pending:
                    return
                future = pending.popleft()
                if future is None:
                    yield []
                    continue
                try:
                    result: list[HashResult] = future.result()
                except Exception as exc:
                    raise CatalogEnvironmentError(
                        f"a hashing batch failed on the Dask cluster after "
                        f"{self._retries} retries: {exc}"
                    ) from exc
                self.batches_done += 1
                yield result
        finally:
            for future in pending:
                if future is not None:
                    future.cancel()

    def close(self) -> None:
        client = getattr(self, "_client", None)
        if client is not None:
            client.close()
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None
