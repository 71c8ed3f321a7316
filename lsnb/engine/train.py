"""The one training loop of the book, with the run store around it.

:func:`train` takes a :class:`~lsnb.engine.config.TrainConfig` and returns a trained
:class:`Run`. A finished run is loaded from the store instead of trained again; an
interrupted run resumes from the checkpoint of its last finished epoch and, on CPU,
ends with exactly the weights an uninterrupted run would have (the data order,
augmentation and dropout random states are part of the checkpoint).

Everything an experiment varies -- model, loss (label smoothing alpha), optimiser,
per-group weight decay, learning-rate schedule, gradient clipping, epochs -- is
configuration; chapters never write their own loop.

One step (:func:`train_step`) makes no host round-trip: the epoch's loss and accuracy
are summed on the device and read once per epoch. On a CUDA device the step of an image
model is captured once per run as a CUDA graph and replayed (:mod:`lsnb.engine.cudagraph`;
``LSNB_CUDA_GRAPH=0`` keeps it eager); on a CPU the loop runs it eagerly, which keeps its resume bit-exact.
What the loop does around its steps -- resume, progress, the epoch's record and checkpoint, the finished
run's files -- is :mod:`lsnb.engine.loop`, which the batched loop (:mod:`lsnb.engine.batched`) calls too.
"""
from __future__ import annotations

import collections
import functools
import math
import time
from pathlib import Path

import torch
from torch import nn

from . import cudagraph, loop, runs, tasks, teachers
from ..methods.distillation import distillation_loss
from .config import TrainConfig, precision_setting
from .machine import cpu_flags
from ..data.images import Split
from ..methods.losses import IGNORE_INDEX, label_smoothing_loss
from .runs import Run, default_device, split_logits
from .store import CorruptRunFile, RunDir, default_runs_dir, load_checkpoint, read_json

def param_groups(model: nn.Module, weight_decay: float, params: dict | None = None) -> list:
    """Two groups: parameters the model says take L2 decay (``model.decays(name)``), and the rest.

    ``params`` (name -> tensor) stands in for the model's own parameters: the stacked ones of
    :mod:`lsnb.engine.batched`, which go into the groups by the same names."""
    decay, rest = [], []
    for name, p in (params.items() if params is not None else model.named_parameters()):
        (decay if weight_decay and model.decays(name) else rest).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]


def make_optimizer(model: nn.Module, config: TrainConfig, params: dict | None = None) -> torch.optim.Optimizer:
    groups = param_groups(model, config.weight_decay, params)
    if config.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum, nesterov=config.nesterov)
    return torch.optim.Adam(groups, lr=config.lr)


def lr_factor(config: TrainConfig, step: int, total_steps: int) -> float:
    """Learning-rate multiplier at ``step``: constant, piecewise (x ``lr_decay`` at each milestone), or linear to 0,
    after a linear warm-up from 0 over the first ``warmup`` fraction of training."""
    progress = step / total_steps
    if config.warmup and progress < config.warmup:
        return progress / config.warmup * lr_factor(config.with_(warmup=0.0), step, total_steps)
    if config.schedule == "piecewise":
        return config.lr_decay ** sum(progress >= m for m in config.milestones)
    if config.schedule == "linear":
        return max(0.0, 1.0 - progress)
    return 1.0


def cpu_has_native_bf16() -> bool:
    """True on CPUs with bf16 matrix units (Intel AMX, AVX512-BF16), where oneDNN runs bf16 matmuls fast."""
    return bool({"amx_tile", "avx512_bf16"} & cpu_flags())


def training_precision(device: torch.device) -> str:
    """How a run trains on ``device``: ``"bf16"`` autocast on GPUs of compute capability 8.0 and up (A100,
    H100, H200, ...) and on CPUs with native bf16 matmuls; ``"fp16"`` autocast with a gradient scaler on
    older GPUs, which have fp16 tensor cores but no bf16 ones (Colab's T4 7.5, V100 7.0, Kaggle's P100
    6.0); else ``"fp32"``.

    ``LSNB_PRECISION=fp32`` forces full precision, ``fp16`` the fp16 path anywhere. The choice depends
    on the hardware, so it is recorded in each run's ``metrics.json``. Evaluation (:func:`lsnb.engine.runs.predict`)
    always runs in float32.
    """
    setting = precision_setting()
    if setting != "auto":
        return setting
    if device.type == "cuda":
        return "bf16" if torch.cuda.get_device_capability(device) >= (8, 0) else "fp16"
    return "bf16" if cpu_has_native_bf16() else "fp32"


AUTOCAST = {"bf16": torch.bfloat16, "fp16": torch.float16}


def grad_scaler(precision: str, device: torch.device):
    """The gradient scaler fp16 training needs (its small range underflows small gradients; the scaler
    multiplies the loss, skips a step whose gradients overflowed and lowers the scale), None otherwise."""
    return torch.amp.GradScaler(device.type) if precision == "fp16" else None


def _labels_count(y: torch.Tensor) -> torch.Tensor:
    return (y != IGNORE_INDEX).sum()


def data_generator(config: TrainConfig) -> torch.Generator:
    """The CPU generator of a run's data order and augmentation (kept in its checkpoint)."""
    return torch.Generator().manual_seed(config.seed + 1_000_003)


def train_step(model: nn.Module, optimizer: torch.optim.Optimizer, config: TrainConfig, x: torch.Tensor,
               y: torch.Tensor, teacher_logits: torch.Tensor | None, *, sums: tuple, precision: str,
               teacher: nn.Module | None = None, graph_safe: bool = False, scaler=None) -> None:
    """One optimisation step on the batch ``(x, y)``, adding its summed loss and its number of correct
    predictions into ``sums`` (two device scalars): no value comes back to the host.

    The loss is label smoothing's cross-entropy (eq. (1)), or for a student (``config.teacher``) the
    distillation loss against ``teacher_logits`` -- or against ``teacher(x)`` when the teacher scores each
    augmented batch (:func:`lsnb.engine.teachers.teacher_mode`). Then backward, gradient clipping at
    ``config.grad_clip``, and the optimiser's step. ``graph_safe`` is the form :mod:`lsnb.engine.cudagraph`
    captures: autocast without its cast cache, and no masking of ignored labels (a boolean mask has a
    data-dependent shape; image labels have none to ignore, so the loss is the same number). With
    ``scaler`` (:func:`grad_scaler`, fp16) the loss is scaled for backward, the gradients unscaled before
    clipping, and a step whose gradients overflowed is skipped.
    """
    with torch.autocast(x.device.type, dtype=AUTOCAST.get(precision, torch.bfloat16), enabled=precision in AUTOCAST,
                        cache_enabled=False if graph_safe else None):
        logits = model(x)
        if teacher is not None:
            with torch.no_grad():
                teacher_logits = teacher(x)
    logits, y = logits.flatten(0, -2), y.flatten()
    if config.teacher is None:
        loss = label_smoothing_loss(logits, y, config.alpha, ignore_index=None if graph_safe else IGNORE_INDEX)
    else:
        loss = distillation_loss(logits, y, teacher_logits, temperature=config.distill_temperature,
                                 beta=config.distill_beta, t2=config.distill_t2, alpha=config.alpha)
    optimizer.zero_grad(set_to_none=True)
    if scaler is None:
        loss.backward()
        if config.grad_clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
    else:
        scaler.scale(loss).backward()
        if config.grad_clip is not None:
            scaler.unscale_(optimizer)  # clip the true gradients, not the scaled ones
            nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        scaler.step(optimizer)
        scaler.update()
    sums[0].add_(loss.detach() * _labels_count(y))
    sums[1].add_((logits.detach().argmax(-1) == y).sum())


def snapshot_steps(config: TrainConfig, total_steps: int) -> list:
    """The steps at which a run with ``config.snapshots = n`` keeps its weights: 0 and n evenly spaced ones."""
    n = config.snapshots
    return sorted({round(k * total_steps / n) for k in range(n + 1)}) if n else []


def _teacher(config: TrainConfig, runs_dir: Path, ds, device):
    """The teacher run of a distillation config, and its training-set logits when they can be precomputed."""
    if config.teacher is None:
        return None, None, None
    teacher = train(teachers.teacher_config(config, runs_dir), runs_dir=runs_dir, device=device)
    mode = teachers.teacher_mode(teacher.config, config)
    logits = None
    if mode != "on the fly":
        logits, labels = split_logits(teacher, "train")
        n = len(ds.train)   # the student's images are the first n of the teacher's (teachers.check_teacher)
        logits, labels = logits[:n], labels[:n]
        if not torch.equal(labels.cpu(), ds.train.y.cpu()):
            raise ValueError(f"teacher {teacher.path.name} kept logits for another training set than the student's "
                             f"({config.dataset}, n_train={config.n_train}): give both the same dataset and n_train")
        logits = logits.to(device)
    teacher.model.eval()
    return teacher, mode, logits


def train(config: TrainConfig, *, runs_dir: Path | str | None = None, device=None, progress: bool | None = None,
          on_epoch_end=None) -> Run:
    """Train ``config`` (or load it from the run store when it is finished) and return the :class:`Run`.

    ``progress=None`` shows a progress bar unless ``LSNB_PROGRESS=0``.
    ``on_epoch_end(epoch, record)`` is called after each epoch's checkpoint is written
    (it may raise to stop, as an interruption would).
    """
    device = torch.device(device) if device is not None else default_device()
    run_dir = RunDir(Path(runs_dir) if runs_dir is not None else default_runs_dir(), config)
    if run_dir.is_finished():
        return _handed_out(_load_finished(run_dir, device))

    ds = runs.load_data(config)
    teacher, teacher_mode, teacher_logits = _teacher(config, run_dir.path.parent, ds, device)
    with run_dir.lock():
        if run_dir.is_finished():  # another process finished it while this one waited for the lock
            return _handed_out(_load_finished(run_dir, device))
        return _handed_out(_train(config, run_dir, ds, device, teacher, teacher_mode, teacher_logits, progress,
                                  on_epoch_end))


# How the runs that train() handed out in this process were trained (each run's recorded precision), so that
# a chapter's page says how its numbers were made -- runs loaded from the store may come from another machine.
_PRECISIONS: dict = {}  # run folder -> its precision: a run handed out twice counts once


def _handed_out(run: Run) -> Run:
    _PRECISIONS[str(run.path)] = run.metrics.get("precision", "not recorded")
    return run


def precisions_used() -> dict:
    """``{precision: number of runs}`` of the distinct runs :func:`train` returned since :func:`forget_precisions`."""
    return dict(collections.Counter(_PRECISIONS.values()))


def forget_precisions() -> None:
    """Start counting :func:`precisions_used` afresh (a chapter's setup does, so each page counts its own)."""
    _PRECISIONS.clear()


def _load_finished(run_dir: RunDir, device: torch.device) -> Run:
    """A finished run from the store, after checking that its files belong together.

    The checkpoint must hold the model after the last epoch: a process that trained the
    same config without the lock (or another version of lsnb) could have replaced it with an
    earlier epoch's, and that model must not pass for the finished one.
    """
    config = run_dir.config
    run_dir.check_config()
    history, final = read_json(run_dir.history_file, list), read_json(run_dir.metrics_file, dict)
    state = load_checkpoint(run_dir.checkpoint, map_location=device)
    if state["epoch"] != config.epochs or len(history) != config.epochs:
        raise CorruptRunFile(
            f"{run_dir.checkpoint} holds the model after epoch {state['epoch']}, but the run finished "
            f"{len(history)} of {config.epochs} epochs (another process overwrote it): "
            f"delete {run_dir.path} to retrain that run")
    model = tasks.new_model(config, tuple(state["in_shape"]), state["num_classes"]).to(device)
    model.load_state_dict(state["model"])
    model.eval()
    return Run(config, model, history, final, run_dir.path)


def build_model(config: TrainConfig, ds, device: torch.device) -> tuple[nn.Module, bool]:
    """The model a run trains, seeded and on ``device``, and whether its images go channels-last (conv nets on
    CUDA, where cuDNN's fastest kernels want that layout): ``(model, channels_last)``."""
    torch.manual_seed(config.seed)
    model = tasks.new_model(config, ds.shape, ds.num_classes).to(device)
    channels_last = device.type == "cuda" and len(ds.shape) == 3
    return (model.to(memory_format=torch.channels_last) if channels_last else model), channels_last



def _train(config, run_dir, ds, device, teacher, teacher_mode, teacher_logits, progress, on_epoch_end) -> Run:
    """The loop itself, run while holding the run's lock; :mod:`lsnb.engine.loop` does what it does around the
    steps, as it does for the batched loop's members."""
    run_dir.prepare()
    model, channels_last = build_model(config, ds, device)
    optimizer = make_optimizer(model, config)
    steps_per_epoch = math.ceil(len(ds.train) / config.batch_size)
    total = steps_per_epoch * config.epochs
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(config, s, total))
    gen = data_generator(config)
    state = loop.checkpoint(run_dir, device)
    history, start_epoch = loop.resume(state, model, optimizer, gen, scheduler)
    if state is not None:
        loop.set_rng_state(state["rng"], device)

    task = tasks.of(config)
    train_split = Split(ds.train.x.to(device), ds.train.y.to(device))
    n_labels = _labels_count(train_split.y).item()
    keep_at = set(snapshot_steps(config, total))
    # a run resumed elsewhere (fp16 on a T4, then an A100) goes on in the precision it started in: one run, one
    # precision, and its scaler's state is used
    resumed = state or {}
    precision = resumed.get("precision") or training_precision(device)
    scaler = grad_scaler(precision, device)
    if scaler is not None and resumed.get("scaler") is not None:
        scaler.load_state_dict(resumed["scaler"])
    sums = (torch.zeros((), device=device), torch.zeros((), device=device))  # the epoch's loss and correct
    graph_off = cudagraph.unavailable(config, device, precision)
    step = functools.partial(train_step, model, optimizer, config, sums=sums, precision=precision,
                             teacher=teacher.model if teacher_mode == "on the fly" else None,
                             graph_safe=graph_off is None, scaler=scaler)
    graph = cudagraph.GraphedStep(step, optimizer, cudagraph.backend(device)) if graph_off is None else None
    bar = loop.progress_bar(total, start_epoch * steps_per_epoch,
                            f"{config.model} {config.dataset} alpha={config.alpha} seed={config.seed}", progress)
    for epoch in range(start_epoch, config.epochs):
        model.train()
        t0 = time.perf_counter()
        for s in sums:
            s.zero_()
        for i, idx in enumerate(task.batch_order(train_split, config.batch_size, gen)):
            step_index = epoch * steps_per_epoch + i
            if step_index in keep_at:
                loop.save_snapshot(run_dir.path, model, step_index, steps_per_epoch, ds)
            idx = idx.to(device)
            x, y = task.batch(train_split, idx, config.augment, True, gen, device)
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            t_logits = teacher_logits[idx] if teacher_logits is not None else None
            if graph is None or len(idx) != config.batch_size or not graph(x, y, t_logits):
                step(x, y, t_logits)  # eager: on a CPU, and a graph's partial last batch
            scheduler.step()
            bar.update()
        loss_sum, correct = sums[0].item(), sums[1].item()  # the epoch's one host round-trip
        try:
            record = loop.epoch_record(config, epoch, loss_sum / n_labels, correct / n_labels,
                                       optimizer.param_groups[0]["lr"], time.perf_counter() - t0, model, ds, run_dir)
        except FloatingPointError:
            bar.close()
            raise
        history.append(record)
        bar.set_postfix(loss=f"{record['train_loss']:.3f}", val=f"{record.get('val_accuracy', float('nan')):.3f}")
        loop.save_state(run_dir, model, optimizer, scheduler, gen, device, history, ds, scaler, precision)
        if on_epoch_end is not None:
            on_epoch_end(epoch + 1, record)
    bar.close()
    if total in keep_at:
        loop.save_snapshot(run_dir.path, model, total, steps_per_epoch, ds)
    extra = {"teacher_targets": teacher_mode} if teacher is not None else {}
    extra.update(loop.step_kind(graph, graph_off, device))
    return loop.finish(run_dir, model, ds, history, device, precision, extra)
