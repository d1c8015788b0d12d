"""Independent jobs run by several one-thread processes at once on a CPU.

`count` says how many processes a batch of jobs gets; `starmap` runs a module-level function over argument
tuples in that many spawned processes, each on one torch thread, and returns the results in order. On a
2-core CPU two such processes beat one process with two threads wherever each job is made of many small
steps (training an MLP, AutoAttack on a few dozen images): `benchmarks/bench_ratios.py` measures it.
"""
from __future__ import annotations

import multiprocessing
import os
from typing import Callable, Sequence

import torch


def count(jobs: int, device: torch.device | str | None, workers: int | str = "auto") -> int:
    """How many processes run `jobs` jobs: `auto` is 2 one-thread processes on a CPU with at least two cores and
    at least two jobs, else 1 (on a GPU one process keeps the device busy); an integer >= 1 is taken as given."""
    if workers != "auto":
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers must be 'auto' or an integer >= 1, got {workers!r}.")
        return workers
    from .train import default_device

    dev = torch.device(device) if device is not None else default_device()
    return 2 if dev.type == "cpu" and (os.cpu_count() or 1) >= 2 and jobs >= 2 else 1


def _one_thread() -> None:
    torch.set_num_threads(1)


def starmap(fn: Callable, argsets: Sequence[tuple], processes: int) -> list:
    """`[fn(*args) for args in argsets]`, computed by `processes` spawned one-thread processes (`fn` and its
    arguments must pickle: a module-level function, CPU tensors). An error or an interrupt in any job stops
    every process and is raised here."""
    if isinstance(processes, bool) or not isinstance(processes, int) or processes < 1:
        raise ValueError(f"processes must be an integer >= 1, got {processes!r}.")
    pool = multiprocessing.get_context("spawn").Pool(processes, initializer=_one_thread)
    try:
        results = pool.starmap(fn, list(argsets), chunksize=1)
    except BaseException:
        pool.terminate()
        raise
    else:
        pool.close()
    finally:
        pool.join()
    return results
