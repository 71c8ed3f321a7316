"""What a training loop does around its steps, for each run it trains.

The single loop (:func:`lsnb.engine.train.train`) trains one run; the batched one
(:func:`lsnb.engine.batched.train_group`) trains N members at once. Both are the same loop:
resume from a checkpoint (:func:`resume`, :func:`set_rng_state`), a progress bar
(:func:`progress_bar`), then per epoch its steps, the epoch's record (:func:`epoch_record`)
and checkpoint (:func:`save_state`) -- for each member -- and after the last epoch the test
metrics and the files that mark a run finished (:func:`finish`). What is here is written once,
so that a batched member's files are those of a single run.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import torch
from torch import nn

try:  # a widget progress bar in notebooks that can show one (Colab, Kaggle), text otherwise
    import ipywidgets  # noqa: F401
    from tqdm.auto import tqdm
except ImportError:
    from tqdm import tqdm

from . import tasks
from ..methods import metrics
from .config import TrainConfig
from .runs import Run, evaluate, predict
from .store import RunDir, atomic_write_json, load_checkpoint, logits_path, save_checkpoint


def progress_enabled() -> bool:
    """Progress bars on, unless ``LSNB_PROGRESS=0`` (golden notebooks, whose outputs must not change)."""
    return os.environ.get("LSNB_PROGRESS", "1") != "0"


def progress_bar(total: int, initial: int, desc: str, progress: bool | None = None):
    """The bar of a loop's ``total`` steps, ``initial`` of them done before a resume; ``progress=None``
    shows it unless ``LSNB_PROGRESS=0``."""
    shown = progress_enabled() if progress is None else progress
    return tqdm(total=total, initial=initial, disable=not shown, unit="step", mininterval=5.0, desc=desc, leave=False)


def rng_state(device: torch.device) -> dict:
    """torch's global random state (dropout's masks): the CPU's, and the device's on CUDA."""
    state = {"cpu": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def set_rng_state(state: dict, device: torch.device) -> None:
    """Restore what :func:`rng_state` kept."""
    torch.set_rng_state(state["cpu"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


def checkpoint(run_dir: RunDir, device: torch.device) -> dict | None:
    """The checkpoint of a run's last finished epoch, or None for a run that has not finished one."""
    return load_checkpoint(run_dir.checkpoint, map_location=device) if run_dir.checkpoint.exists() else None


def resume(state: dict | None, model: nn.Module, optimizer, gen: torch.Generator, scheduler=None) -> tuple[list, int]:
    """Put a run's checkpoint ``state`` (None: a fresh run) back into its model, optimiser, data generator and
    learning-rate schedule: ``(history, epochs done)``. torch's global random state is the loop's, restored
    once with :func:`set_rng_state`."""
    if state is None:
        return [], 0
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None:
        scheduler.load_state_dict(state["scheduler"])
    gen.set_state(state["data_rng"])
    return list(state["history"]), state["epoch"]


def epoch_record(config: TrainConfig, epoch: int, loss: float, accuracy: float, lr: float, seconds: float,
                 model: nn.Module, ds, run_dir: RunDir) -> dict:
    """The history row of a finished epoch: mean training loss and accuracy, learning rate, seconds, and the
    validation accuracy and NLL (after every epoch, or only the last where the config says
    ``validate_every_epoch=False``). A non-finite training loss raises :class:`FloatingPointError`: the run stays
    unfinished, at its last checkpoint."""
    record = {"epoch": epoch + 1, "train_loss": loss, "train_accuracy": accuracy, "lr": lr, "seconds": seconds}
    if not math.isfinite(record["train_loss"]):
        raise FloatingPointError(
            f"{config.model} {config.dataset} alpha={config.alpha} seed={config.seed} diverged in epoch "
            f"{epoch + 1} (training loss {record['train_loss']}): lower lr or set grad_clip; run "
            f"{run_dir.path.name} is not marked finished and keeps the checkpoint of epoch {epoch}")
    if ds.val is not None and (config.validate_every_epoch or epoch + 1 == config.epochs):
        val = evaluate(model, ds.val, config)
        record.update(val_accuracy=val["accuracy"], val_nll=val["nll"])
    return record


def save_state(run_dir: RunDir, model: nn.Module, optimizer, scheduler, gen: torch.Generator, device,
               history: list, ds, scaler=None, precision: str | None = None) -> None:
    """The checkpoint after an epoch: everything a resumed run needs to go on as if never stopped (its
    precision, and the gradient scaler's scale where fp16 training has one)."""
    state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
             "data_rng": gen.get_state(), "rng": rng_state(device), "history": history, "epoch": len(history),
             "in_shape": list(ds.shape), "num_classes": ds.num_classes}
    if precision is not None:
        state["precision"] = precision
    if scaler is not None:
        state["scaler"] = scaler.state_dict()
    save_checkpoint(run_dir.checkpoint, state)


def save_snapshot(run_path: Path, model: nn.Module, step: int, steps_per_epoch: int, ds) -> None:
    """The weights at ``step`` (Figure 6's time axis), beside the run's checkpoint."""
    save_checkpoint(run_path / "snapshots" / f"step_{step:07d}.pt", {
        "model": model.state_dict(), "step": step, "epoch": step / steps_per_epoch,
        "in_shape": list(ds.shape), "num_classes": ds.num_classes})


def step_kind(graph, graph_off: str | None, device: torch.device) -> dict:
    """How the loop's step ran, for ``metrics.json``: a replayed CUDA graph, or eager and why; nothing on a CPU
    (where the step is always eager)."""
    if graph is None and device.type != "cuda":
        return {}
    return {"step": "cuda graph" if graph is not None and graph.replays else f"eager ({graph_off or 'no capture'})"}


def finish(run_dir: RunDir, model: nn.Module, ds, history: list, device, precision: str, extra: dict) -> Run:
    """After the last epoch: test metrics (and the test logits of an image run), then ``history.json`` and
    ``metrics.json`` -- written last, it marks the run finished."""
    config = run_dir.config
    task = tasks.of(config)
    if task.keeps_test_logits:  # one label per example: keep the test logits for the calibration chapters
        test_logits = predict(model, ds.test, config.augment)
        save_checkpoint(logits_path(run_dir.path, "test"), {"logits": test_logits, "labels": ds.test.y})
        test = {"accuracy": metrics.accuracy(test_logits, ds.test.y), "nll": metrics.nll(test_logits, ds.test.y)}
    else:
        test = evaluate(model, ds.test, config)
    final = {"test_accuracy": test["accuracy"], "test_nll": test["nll"],
             "train_seconds": sum(r["seconds"] for r in history), "device": str(device),
             "precision": precision, **extra}
    if ds.digest is not None:  # the en_de corpus depends on the machine's gettext catalogs
        final["data_digest"] = ds.digest
    if ds.val is not None:
        final.update(val_accuracy=history[-1]["val_accuracy"], val_nll=history[-1]["val_nll"])
    atomic_write_json(run_dir.history_file, history)
    atomic_write_json(run_dir.metrics_file, final)  # last: marks the run finished
    model.eval()
    return Run(config, model, history, final, run_dir.path)
