"""The run store: ``runs/<config-hash>/`` holds one trained model per config.

* ``config.json``   -- the full :class:`~lsnb.engine.config.TrainConfig` (its hash is the folder name);
* ``checkpoint.pt`` -- model, optimiser and RNG states after the last finished epoch;
* ``history.json``  -- per-epoch training curves;
* ``logits_test.pt`` (and ``logits_val.pt`` once asked for) -- float32 logits for the evaluation chapters;
* ``metrics.json``  -- written last: its presence means the run is finished;
* ``.lock``         -- held by the one process that trains the run (released by the OS if it dies).

Every file is written to a temporary name in the same folder and renamed into place,
so a killed process never leaves a half-written file under the real name (the
temporary files it leaves are removed by the next process that takes the lock). A
checkpoint carries the SHA-256 of its payload in a header line; a file whose payload
does not match is reported as corrupt, never loaded, and checkpoints are unpickled
with ``weights_only=True``, so a crafted file in a shared run store cannot run code.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import os
import pickle
import sys
import tempfile
from pathlib import Path

import filelock
import torch

from ..data.files import CorruptRunFile, atomic_write_bytes, atomic_write_json, read_json, remedy

_MAGIC = b"lsnb-checkpoint sha256="


class CorruptCheckpoint(CorruptRunFile):
    """A checkpoint's payload does not match its checksum (or it is not an lsnb checkpoint)."""


def default_runs_dir() -> Path:
    """``$LSNB_RUNS`` or ``./runs``."""
    return Path(os.environ.get("LSNB_RUNS", "runs"))


def writable_dir(path: Path | str, what: str, create: bool = True) -> Path:
    """Check that files can be written in the folder ``path`` (made here unless ``create=False``).

    ``what`` names the parameter the folder came from, for the error message: an
    unwritable folder is reported before any work, not after hours of training. With
    ``create=False`` nothing is left behind: the probe file goes into the nearest
    folder that exists, where the missing ones would be made.
    """
    path = Path(path)
    probe = path if create else next((p for p in (path, *path.parents) if p.exists()), Path("."))
    try:
        if create:
            path.mkdir(parents=True, exist_ok=True)
        elif not probe.is_dir():
            raise NotADirectoryError(20, f"{probe} is not a folder")
        with tempfile.TemporaryFile(dir=probe):
            pass
    except OSError as exc:
        raise PermissionError(f"{what}={str(path)!r} is not a folder this process can write to "
                              f"({exc.strerror or exc}): pass a writable folder") from None
    return path


def save_checkpoint(path: Path, state: dict) -> None:
    buf = io.BytesIO()
    torch.save(state, buf)
    payload = buf.getvalue()
    atomic_write_bytes(path, _MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload)


def load_checkpoint(path: Path, map_location="cpu") -> dict:
    """Load a checkpoint written by :func:`save_checkpoint`, verifying its checksum first."""
    blob = Path(path).read_bytes()
    header, _, payload = blob.partition(b"\n")
    if not header.startswith(_MAGIC) or header[len(_MAGIC):] != hashlib.sha256(payload).hexdigest().encode():
        raise CorruptCheckpoint(f"{path} is corrupt (its checksum does not match its contents); {remedy(path)}")
    try:
        return torch.load(io.BytesIO(payload), map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CorruptCheckpoint(f"{path} holds objects other than tensors and plain data, which lsnb never "
                                f"writes; it is not loaded (that could run code): {remedy(path)}. "
                                f"({str(exc).splitlines()[0]})") from None


def logits_path(run_path: Path, split: str) -> Path:
    """Where a finished run keeps its float32 logits on ``split`` (``"val"`` or ``"test"``)."""
    return Path(run_path) / f"logits_{split}.pt"


class RunDir:
    """One run's folder in the store."""

    def __init__(self, root: Path, config):
        self.config = config
        self.path = Path(root) / config.digest()

    checkpoint = property(lambda self: self.path / "checkpoint.pt")
    config_file = property(lambda self: self.path / "config.json")
    history_file = property(lambda self: self.path / "history.json")
    metrics_file = property(lambda self: self.path / "metrics.json")

    def is_finished(self) -> bool:
        return self.metrics_file.exists() and self.checkpoint.exists()

    def check_config(self) -> None:
        """The folder's ``config.json`` must be the config its name is the hash of."""
        if read_json(self.config_file, dict) != self.config.to_dict():
            raise CorruptRunFile(f"{self.config_file} holds a different config than its hash says; "
                                 f"delete {self.path} to retrain that run")

    @contextlib.contextmanager
    def lock(self):
        """Hold the run's lock: one process at a time trains (and writes) a run.

        Another process asking for the same run waits here, then finds it finished.
        The OS releases the lock of a process that dies, so a killed run never blocks.
        """
        writable_dir(self.path.parent, "runs_dir")
        self.path.mkdir(exist_ok=True)
        lock = filelock.FileLock(self.path / ".lock")
        try:
            lock.acquire(timeout=0)
        except filelock.Timeout:
            print(f"lsnb: run {self.path.name} is being trained by another process; waiting for it",
                  file=sys.stderr, flush=True)
            lock.acquire()
        try:
            yield self
        finally:
            lock.release()

    def prepare(self) -> None:
        """Under the lock: write (or check) ``config.json`` and drop what killed writers left behind."""
        if self.config_file.exists():
            self.check_config()
        else:
            atomic_write_json(self.config_file, self.config.to_dict())
        for tmp in [*self.path.glob(".*.tmp"), *self.path.glob("snapshots/.*.tmp")]:
            tmp.unlink(missing_ok=True)
