"""A dask.distributed client for fanning work out: a LocalCluster on this machine by default,
or any running cluster by address (a SLURM cluster from dask-jobqueue, for instance)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def dask_client(workers: int, scheduler: str | None = None) -> Iterator[Any]:
    """A connected client; a LocalCluster of `workers` one-thread processes when no scheduler
    address is given, closed with the client."""
    from distributed import Client, LocalCluster

    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
