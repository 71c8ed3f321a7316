"""A chapter's grid of configs, trained concurrently on local processes, a Dask cluster or a SLURM queue.

The run store is what makes this simple: a finished run is loaded, not trained again;
an interrupted one resumes from its last epoch; and the lock in each run folder
(:meth:`lsnb.engine.store.RunDir.lock`) lets one worker at a time train a config, so two
workers handed the same config never train it twice. :func:`train_many` therefore
only hands each unfinished config to an executor -- any object with
``submit(fn, *args)`` returning a future with ``result()``:

* ``None`` (default): :func:`default_workers` local processes
  (``concurrent.futures.ProcessPoolExecutor``), or this process when that is 1;
* ``distributed.Client(...)``: a Dask cluster, local or across machines;
* ``submitit.AutoExecutor(...)``: a SLURM queue.

On other machines the run store must be a shared filesystem (``runs_dir``). Students
are handed out after their teachers have finished (they train on the teachers' logits).
If a worker dies, call :func:`train_many` again: it picks up where the store stands.

``batched=N`` trains up to N configs that differ only in seed and alpha as one batched
model (:mod:`lsnb.engine.batched`): one unit of work for the executor instead of N. Such runs
are not bit-for-bit the configs' normal runs, so the whole grid then lives in the store
``<runs_dir>/batched`` (configs that cannot be batched, such as students, train alone in
there too, beside their teachers).
"""
from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import BrokenExecutor, ProcessPoolExecutor
from pathlib import Path

import torch

from . import batched as batched_mod
from . import train as train_mod
from .config import TrainConfig, workers_setting
from .runs import Run, default_device
from .store import RunDir, default_runs_dir


def default_workers(device: torch.device) -> int:
    """How many configs to train at once: ``$LSNB_WORKERS``, else 1 on a CPU (one training already uses
    every core) and up to 8 on a GPU, whose small kernels leave it idle for one training (the issue's
    measurement on an H200: 8 ResNet-56 processes 15.5k img/s together, one alone 6.3k)."""
    workers = workers_setting()
    if workers is not None:
        return workers
    return 1 if device.type == "cpu" else min(8, os.cpu_count() or 1)


class GridError(RuntimeError):
    """A grid stopped before every config finished: the message names the unfinished ones and the remedy."""


def watch_parent(parent: int, interval: float = 1.0) -> None:
    """In a worker process: exit as soon as ``parent`` is no longer this process's parent (it died, and the
    worker was handed to another process). Otherwise a worker whose grid was killed trains on and then
    waits for work that never comes, holding its memory; its interrupted run resumes next time."""
    def watch():
        while os.getppid() == parent:
            time.sleep(interval)
        os._exit(1)
    threading.Thread(target=watch, name="lsnb-watch-parent", daemon=True).start()


def _describe(config: TrainConfig) -> str:
    return f"{config.digest()} ({config.model}, alpha {config.alpha:g}, seed {config.seed})"


def train_one(config: dict, runs_dir: str, device: str | None, threads: int | None) -> str:
    """What a worker runs: train (or load) one config into the shared run store; returns its digest."""
    if threads:
        torch.set_num_threads(threads)
    cfg = TrainConfig.from_dict(config)
    train_mod.train(cfg, runs_dir=runs_dir, device=device, progress=False)
    return cfg.digest()


def train_batch(configs: list, runs_dir: str, device: str | None, threads: int | None) -> list[str]:
    """What a worker runs for a unit of several configs: train (or load) them as one batched model
    (:func:`lsnb.engine.batched.train_group`); returns their digests."""
    if threads:
        torch.set_num_threads(threads)
    cfgs = [TrainConfig.from_dict(c) for c in configs]
    batched_mod.train_group(cfgs, runs_dir=runs_dir, device=device, progress=False)
    return [c.digest() for c in cfgs]


def waves(configs: list) -> list:
    """The configs in rounds: each round's teachers are finished or trained in an earlier round."""
    digests = {c.digest() for c in configs}
    first = [c for c in configs if c.teacher not in digests]
    rest = [c for c in configs if c.teacher in digests]
    return [first] + (waves(rest) if rest else [])


def train_many(configs, *, runs_dir: Path | str | None = None, device=None, executor=None,
               workers: int | None = None, threads: int | None = None, progress: bool | None = None,
               batched: int = 0) -> list[Run]:
    """Train (or load) every config, several at once, and return their :class:`~lsnb.engine.runs.Run` in order.

    ``executor``: see the module docstring; ``workers`` sizes the default local pool
    (None: :func:`default_workers`); ``threads`` sets each worker's torch threads
    (None: the cores shared out among the local workers); ``progress`` as in :func:`lsnb.engine.train.train`
    for what trains in this process; ``batched=N`` (N > 1) trains groups of up to N configs as one
    batched model into the store ``<runs_dir>/batched`` (:mod:`lsnb.engine.batched`).
    """
    configs = list(configs)
    runs_dir = Path(runs_dir) if runs_dir is not None else default_runs_dir()
    if batched > 1:
        runs_dir = batched_mod.store(runs_dir)
    device = torch.device(device) if device is not None else default_device()
    todo = [c for c in dict.fromkeys(configs) if not RunDir(runs_dir, c).is_finished()]
    workers = workers or default_workers(device)
    if todo and (executor is not None or workers > 1):
        own = executor is None
        if own:  # spawn: a forked child cannot use CUDA (or OpenMP) state of its parent
            if device.type == "cpu" and threads is None:
                threads = max(1, (os.cpu_count() or 1) // workers)
            executor = ProcessPoolExecutor(min(workers, len(todo)), mp_context=multiprocessing.get_context("spawn"),
                                           initializer=watch_parent, initargs=(os.getpid(),))
        try:
            for wave in waves(todo):
                futures = [executor.submit(train_one, u[0].to_dict(), str(runs_dir), str(device), threads)
                           if len(u) == 1 else
                           executor.submit(train_batch, [c.to_dict() for c in u], str(runs_dir), str(device), threads)
                           for u in batched_mod.units(wave, batched)]
                for f in futures:
                    try:
                        f.result()
                    except Exception as exc:
                        # a worker that died (killed, out of memory): its config's own errors pass as they are
                        if not (isinstance(exc, BrokenExecutor) or type(exc).__name__ == "KilledWorker"):
                            raise
                        unfinished = [c for c in todo if not RunDir(runs_dir, c).is_finished()]
                        raise GridError(
                            f"the grid stopped ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}) "
                            f"with {len(unfinished)} of {len(todo)} configs unfinished: "
                            + ", ".join(_describe(c) for c in unfinished[:6])
                            + (f" and {len(unfinished) - 6} more" if len(unfinished) > 6 else "")
                            + f". Run it again to resume: finished runs in {runs_dir} are kept and interrupted "
                              "ones resume from their last epoch") from exc
        finally:
            if own:
                executor.shutdown()
    elif todo and batched > 1:
        for wave in waves(todo):
            for unit in batched_mod.units(wave, batched):
                if len(unit) > 1:
                    batched_mod.train_group(unit, runs_dir=runs_dir, device=device, progress=progress)
    return [train_mod.train(c, runs_dir=runs_dir, device=device, progress=progress) for c in configs]
