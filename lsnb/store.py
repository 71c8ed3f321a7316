"""The run store: ``runs/<config-hash>/`` holds one trained model per config.

* ``config.json``   -- the full :class:`~lsnb.profiles.TrainConfig` (its hash is the folder name);
* ``checkpoint.pt`` -- model, optimiser and RNG states after the last finished epoch;
* ``history.json``  -- per-epoch training curves;
* ``logits_test.pt`` (and ``logits_val.pt`` once asked for) -- float32 logits for the evaluation chapters;
* ``metrics.json``  -- written last: its presence means the run is finished.

Every file is written to a temporary name in the same folder and renamed into place,
so a killed process never leaves a half-written file under the real name. A
checkpoint carries the SHA-256 of its payload in a header line; a file whose payload
does not match is reported as corrupt, never loaded.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from pathlib import Path

import torch

_MAGIC = b"lsnb-checkpoint sha256="


class CorruptCheckpoint(RuntimeError):
    """A checkpoint's payload does not match its checksum (or it is not an lsnb checkpoint)."""


def default_runs_dir() -> Path:
    """``$LSNB_RUNS`` or ``./runs``."""
    return Path(os.environ.get("LSNB_RUNS", "runs"))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a run store may be shared
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, obj) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=1, sort_keys=True) + "\n").encode())


def read_json(path: Path):
    return json.loads(Path(path).read_text())


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
        raise CorruptCheckpoint(
            f"{path} is corrupt (its checksum does not match its contents); delete it to retrain that run")
    return torch.load(io.BytesIO(payload), map_location=map_location, weights_only=False)


def logits_path(run_path: Path, split: str) -> Path:
    """Where a finished run keeps its float32 logits on ``split`` (``"val"`` or ``"test"``)."""
    return Path(run_path) / f"logits_{split}.pt"


class RunDir:
    """One run's folder in the store."""

    def __init__(self, root: Path, config):
        self.config = config
        self.path = Path(root) / config.digest()

    checkpoint = property(lambda self: self.path / "checkpoint.pt")
    history_file = property(lambda self: self.path / "history.json")
    metrics_file = property(lambda self: self.path / "metrics.json")

    def is_finished(self) -> bool:
        return self.metrics_file.exists() and self.checkpoint.exists()

    def prepare(self) -> None:
        cfg_file = self.path / "config.json"
        if cfg_file.exists():
            if read_json(cfg_file) != self.config.to_dict():
                raise RuntimeError(f"{cfg_file} holds a different config than its hash says; delete {self.path}")
        else:
            atomic_write_json(cfg_file, self.config.to_dict())
