"""Finished runs and what the chapters read from them: the data a config trains on, the
model's outputs over a split, its kept logits and its weight snapshots.

Every evaluation of the book goes through one loop (:func:`outputs`): the model in
eval mode, no gradients, the task's test-time batches (:mod:`lsnb.engine.tasks`), float32
logits of the positions that count (padding left out), the model's mode restored after.
:func:`predict`, :func:`evaluate` and :func:`token_logits` only collect or reduce it.
"""
from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..data import images as data
from ..models.modes import evaluating
from . import tasks
from .config import TrainConfig
from ..methods.losses import IGNORE_INDEX
from .store import CorruptCheckpoint, CorruptRunFile, atomic_write_json, load_checkpoint, logits_path, read_json, save_checkpoint


@dataclass(frozen=True)
class Run:
    """A trained model with its config, per-epoch history and final metrics."""

    config: TrainConfig
    model: nn.Module
    history: list
    metrics: dict
    path: Path


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@functools.lru_cache(maxsize=4)
def _cached_load(task, dataset, n_val, n_train, n_test, classes=()):
    only = {"classes": classes} if classes else {}  # image networks of a class subset (TrainConfig.classes)
    return tasks.TASKS[task].load(dataset, n_val=n_val, n_train=n_train, n_test=n_test, **only)


def load_data(config: TrainConfig) -> data.Dataset:
    """The dataset a config trains on, loaded by its task (cached in memory: chapters train many configs on one
    dataset)."""
    return _cached_load(config.task, config.dataset, config.n_val, config.n_train, config.n_test, config.classes)


def outputs(model: nn.Module, split: data.Split, task: tasks.Task, augment: str, batch_size: int,
            with_features: bool = False):
    """The one evaluation loop: per batch, float32 ``(logits, labels, features or None)`` on the CPU,
    one row per example (images) or per non-padding target token (translation)."""
    device = next(model.parameters()).device
    with evaluating(model):
        for i in range(0, len(split), batch_size):
            x, y = task.batch(split, slice(i, i + batch_size), augment, False, None, device)
            f = model.features(x)
            logits, y = model.head(f).float().flatten(0, -2), y.flatten()
            keep = y != IGNORE_INDEX
            yield logits[keep].cpu(), y[keep].cpu(), f.float().flatten(0, -2)[keep].cpu() if with_features else None


def predict(model: nn.Module, split: data.Split, augment: str, batch_size: int = 1000, with_features: bool = False):
    """Logits (and, with ``with_features``, penultimate activations) of an image split, on the CPU, in float32."""
    rows = list(outputs(model, split, tasks.IMAGE, augment, batch_size, with_features))
    logits = torch.cat([r[0] for r in rows])
    return (logits, torch.cat([r[2] for r in rows])) if with_features else logits


def token_logits(model: nn.Module, split: data.Split, batch_size: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """Float32 logits (n_tokens, V) and labels (n_tokens,) of every non-padding target token given the
    correct prefix (teacher forcing), for the paper's token-level calibration (Figure 3).

    Padded positions are left out: counting them would add easy, meaningless "predictions" to ECE and NLL.
    """
    rows = list(outputs(model, split, tasks.TRANSLATION, "tokens", batch_size))
    return torch.cat([r[0] for r in rows]), torch.cat([r[1] for r in rows])


def evaluate(model: nn.Module, split: data.Split, config: TrainConfig, batch_size: int = 500) -> dict:
    """Accuracy and NLL over a split (over its non-padding tokens for translation), in float32, batch by batch."""
    nll = correct = count = 0.0
    for logits, y, _ in outputs(model, split, tasks.of(config), config.augment, batch_size):
        nll += F.cross_entropy(logits, y, reduction="sum").item()
        correct += (logits.argmax(-1) == y).sum().item()
        count += len(y)
    return {"accuracy": correct / count, "nll": nll / count}


def last_epoch_accuracy(runs) -> list:
    """The training accuracy (%) over the last epoch of each run, in seed order: how far each one fitted its
    training set (measured while training, so a little below its final weights')."""
    return [100 * r.history[-1]["train_accuracy"] for r in sorted(runs, key=lambda r: r.config.seed)]


def split_logits(run: Run, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Float32 logits and labels of a finished image run on its ``"train"``, ``"val"`` or ``"test"`` split.

    Computed once (on the test-time view of the images) and kept in the run's folder
    (``logits_<split>.pt``, checksummed like a checkpoint), so that every chapter and
    every student of a teacher reads them back.
    """
    if split not in ("train", "val", "test"):
        raise ValueError(f"split={split!r} is unknown: use 'train', 'val' or 'test'")
    path = logits_path(run.path, split)
    if path.exists():
        try:
            blob = load_checkpoint(path)
            return blob["logits"], blob["labels"]
        except CorruptCheckpoint as exc:  # a cache of the model's outputs: computed again, never used
            warnings.warn(f"{exc} (recomputing it now)", stacklevel=2)
    data_split = getattr(load_data(run.config), split)
    if data_split is None:
        raise ValueError(f"{run.config.dataset} run {run.path.name} has no validation split (n_val=0)")
    logits = predict(run.model, data_split, run.config.augment)
    save_checkpoint(path, {"logits": logits, "labels": data_split.y})
    return logits, data_split.y


def derived(run: Run, folder: str, name: str, compute, version: int | None = None):
    """JSON numbers derived from a finished run, computed once and kept in its folder (``<folder>/<name>.json``).

    Like the logits (:func:`split_logits`): a warm rebuild of the book reads what a chapter
    measured on a network instead of measuring it again. ``name`` must say everything the
    numbers depend on besides the run (split, examples, classes); ``version``, the method's, is appended to it
    (``<name>_v<version>``): a new version is computed afresh beside the old one's file.
    """
    name = name if version is None else f"{name}_v{version}"
    path = run.path / folder / f"{name}.json"
    if path.exists():
        try:
            return read_json(path)
        except CorruptRunFile:  # a cache, not the run: measured again below, as the logits are
            pass
    value = compute()
    atomic_write_json(path, value)
    return value


def snapshots(run: Run, device=None) -> list:
    """``(step, epoch, model)`` for every weight snapshot of a finished run, in training order.

    The models are in eval mode on ``device`` (default: the device of ``run.model``).
    """
    device = torch.device(device) if device is not None else next(run.model.parameters()).device
    out = []
    for path in sorted((run.path / "snapshots").glob("step_*.pt")):
        state = load_checkpoint(path)
        model = tasks.new_model(run.config, tuple(state["in_shape"]), state["num_classes"])
        model.load_state_dict(state["model"])
        out.append((state["step"], state["epoch"], model.to(device).eval()))
    return out
