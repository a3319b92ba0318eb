"""Preparing a two-step package on a Dask cluster.

Preparing a feature film is the heavy step of two-step delivery, and it splits into
independent position ranges: each worker prepares its share into the package folder (a
filesystem every worker sees) and the driver merges them. The same code runs on a
``LocalCluster`` and on a multi-node cluster::

    from dask.distributed import Client, LocalCluster
    import filigree.dask

    with LocalCluster(n_workers=2, threads_per_worker=1) as cluster, Client(cluster) as client:
        manifest = filigree.dask.prepare(client, "master.mov", "package/", "studio.key",
                                         ladder=[1080, 720, 360])

Only the key file's *path* is sent to the workers: the key itself never enters the task
graph or crosses the cluster's network.
"""

from __future__ import annotations

import os
from typing import Any

import filigree


def _prepare_range(positions: tuple[int, int], src: str, package: str, key_path: str,
                   plan: dict[str, Any]) -> dict[str, Any]:
    # Runs on a worker: one range, written into the shared package folder.
    return filigree.prepare_range(src, package, key_path, positions=positions, **plan)


def prepare(client: Any, src: os.PathLike[str] | str, package: os.PathLike[str] | str,
            key_path: os.PathLike[str] | str, *, positions_per_task: int = 30,
            **plan: Any) -> dict[str, Any]:
    """Prepares ``src`` into ``package`` on the cluster behind ``client``: one task per
    ``positions_per_task`` positions, then the merge. ``plan`` takes the settings of
    ``filigree.prepare_range`` (``title_id``, ``position_seconds``, ``ladder``, ``crf``,
    ``preset``, ``strength``). Returns the package's manifest; a failed task raises here."""
    src, package, key_path = os.fspath(src), os.fspath(package), os.fspath(key_path)
    ranges = filigree.plan_ranges(src, position_seconds=plan.get("position_seconds", 2.0),
                                  positions_per_range=positions_per_task)
    futures = client.map(_prepare_range, ranges, src=src, package=package,
                         key_path=key_path, plan=plan, pure=False)
    client.gather(futures)
    return filigree.finalize(src, package, key_path)
