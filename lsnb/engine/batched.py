"""Several configs of one architecture trained as one batched model.

One small network leaves a GPU mostly idle, and separate processes only time-slice it
(measured on an H200: eight ResNet-56 processes 15.5k img/s together). Here N configs
that differ only in ``seed`` and ``alpha`` (:func:`group_key`) train as one model: their
weights are stacked (``torch.func.stack_module_state``) and the network is applied to all
of them at once (``torch.func.vmap`` over ``torch.func.functional_call``), which turns N
small convolutions into one grouped one and N small matrix products into one batched one.
It is the single loop run over N members: each member resumes, records its epochs, keeps its
checkpoint and finishes through the same functions as a run of :func:`lsnb.engine.train.train`
(:mod:`lsnb.engine.loop`); only the step is batched.

What each member keeps, so that it is the run its config names:

* its **initialisation** (the model built after ``torch.manual_seed(seed)``, as
  :func:`lsnb.engine.train.train` does);
* its **data order and augmentation**: each member draws them from its own generator
  (:func:`lsnb.engine.train.data_generator`), so it sees exactly the batches it would see alone.
  A shared batch order would save N-1 gathers per step, but then a seed would no longer
  name one run;
* its **loss** (label smoothing with its own alpha, eq. (1), :func:`lsnb.methods.losses.label_smoothing_loss`
  applied per member), its gradient (the members' losses are summed, and each member's
  weights receive only its own loss's gradient), its **gradient clipping** (each member's
  own norm, :func:`clip_per_member`), and the same SGD update, learning-rate schedule
  and batch-norm statistics (vmap computes them per member).

So a member trained without dropout ends with the weights it would have trained alone,
up to floating-point rounding (batched kernels sum in another order); the tests check this
on the CPU. With **dropout** the masks differ: under ``vmap(randomness="different")`` every
member draws its masks from the one generator of the group, so they depend on the group.

**The run store.** A batched member is therefore not what :func:`lsnb.engine.train.train` computes
for its config (other dropout masks, other rounding), and it must not pass for it: batched
runs live in their own store, ``<runs_dir>/batched/`` (:func:`store`), never under the key
of a normally trained run. In there each member is an ordinary run folder -- the same
``config.json``, ``checkpoint.pt``, ``history.json``, ``logits_test.pt`` and ``metrics.json``
(which says ``"batched": N``) -- so :func:`lsnb.engine.train.train` with ``runs_dir=store(...)``
loads it, and resumes an unfinished member on its own. A chapter that wants the batched
runs points its ``runs_dir`` there. A group resumes from its members' last common epoch; if
a kill fell between two members' checkpoint writes, the members finish one by one.

**Precision.** A batched model trains in float32, with TF32 matrix products and
convolutions on CUDA (:func:`batched_precision`; ``metrics.json`` says which), not in the
single loop's bf16 autocast: autocast does not reach every operation under ``vmap`` (on a
CPU, ``F.linear`` with batched weights stays float32 under bf16 autocast while a batched
``mm`` does not), and on an H200 the batched batch-norm failed under it ("Expected
running_mean to have type BFloat16 but got Float"); float32 with TF32 worked there.
On CUDA the batched step is captured as a CUDA graph like the single one
(:mod:`lsnb.engine.cudagraph`); channels-last is not used (the inputs are 5-d). A member that
diverges stops the group; the others keep their checkpoints.
"""
from __future__ import annotations

import contextlib
import copy
import math
import time
from pathlib import Path

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from . import cudagraph, loop, runs, tasks
from . import train as train_mod
from .config import TrainConfig, precision_setting
from ..data.images import Split
from ..methods.losses import label_smoothing_loss
from .runs import Run, default_device
from .store import RunDir

STORE = "batched"


def store(runs_dir: Path | str) -> Path:
    """The run store of batched runs beside the normal one: ``<runs_dir>/batched``."""
    return Path(runs_dir) / STORE


def group_key(config: TrainConfig) -> TrainConfig:
    """Configs with the same key differ only in seed and alpha and can train as one batched model."""
    return config.with_(seed=0, alpha=0.0)


def unbatchable(config: TrainConfig) -> str | None:
    """Why a config trains alone, or None when it can be a member of a batched model."""
    if config.task != "image":
        return "translation batches differ in shape between members"
    if config.teacher is not None:
        return "a student trains on its teacher's outputs"
    if config.snapshots:
        return "weight snapshots are kept by the single loop only"
    if config.optimizer != "sgd":
        return f"only SGD is batched, not {config.optimizer}"
    return None


def units(configs, size: int) -> list:
    """The configs in units of work: members of one batched model (same :func:`group_key`, at most ``size``
    of them, in the order given), and the configs that train alone, each in a unit of one."""
    groups, alone = {}, []
    for c in configs:
        if size > 1 and unbatchable(c) is None:
            groups.setdefault(group_key(c), []).append(c)
        else:
            alone.append([c])
    chunks = [g[i:i + size] for g in groups.values() for i in range(0, len(g), size)]
    return chunks + alone


def batched_precision(device: torch.device) -> str:
    """``"tf32"`` on CUDA (float32 with TF32 matrix products; ``"fp32"`` with ``LSNB_PRECISION=fp32``),
    ``"fp32"`` elsewhere: see the module docstring for why a batched model does not train in bf16."""
    strict = precision_setting() == "fp32"
    return "tf32" if device.type == "cuda" and not strict else "fp32"


@contextlib.contextmanager
def _matmul_precision(precision: str):
    before = torch.get_float32_matmul_precision()
    if precision == "tf32":
        torch.set_float32_matmul_precision("high")
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(before)


def clip_per_member(params: list, max_norm: float) -> None:
    """``clip_grad_norm_`` for each member of stacked parameters (dim 0): each member's gradients are
    scaled by ``min(1, max_norm / (norm + 1e-6))`` of its own total norm, as it would be alone."""
    grads = [p.grad for p in params if p.grad is not None]
    norms = torch.stack([g.flatten(1).norm(dim=1) for g in grads]).norm(dim=0)
    coef = (max_norm / (norms + 1e-6)).clamp(max=1.0)
    for g in grads:
        g.mul_(coef.view(-1, *[1] * (g.ndim - 1)).to(g.dtype))


def train_group(configs, *, runs_dir: Path | str, device=None, progress: bool | None = None,
                on_epoch_end=None) -> list[Run]:
    """Train (or load) ``configs`` -- same :func:`group_key`, no :func:`unbatchable` reason -- as one batched
    model into the run store ``runs_dir`` (pass :func:`store` of the normal one), and return their runs.

    Every member's lock is held while the group trains. Members already finished are loaded; if only one is
    left, or the members stopped at different epochs, they train one by one (:func:`lsnb.engine.train.train`).
    ``on_epoch_end(epoch, records)`` is called after each epoch's checkpoints are written.
    """
    configs = list(dict.fromkeys(configs))
    device = torch.device(device) if device is not None else default_device()
    for c in configs:
        if unbatchable(c) is not None or group_key(c) != group_key(configs[0]):
            raise ValueError(f"config {c.digest()} cannot join this batched model: "
                             f"{unbatchable(c) or 'it differs from the first member in more than seed and alpha'}")
    dirs = [RunDir(Path(runs_dir), c) for c in configs if not RunDir(Path(runs_dir), c).is_finished()]
    if len(dirs) > 1:
        ds = runs.load_data(dirs[0].config)
        with contextlib.ExitStack() as locks:
            for d in sorted(dirs, key=lambda d: d.path.name):  # one order for every process: no deadlock
                locks.enter_context(d.lock())
            dirs = [d for d in dirs if not d.is_finished()]  # finished by another process meanwhile
            if len(dirs) > 1:
                _train(dirs, ds, device, progress, on_epoch_end)
    return [train_mod.train(c, runs_dir=runs_dir, device=device, progress=progress) for c in configs]


def _train(dirs: list, ds, device: torch.device, progress, on_epoch_end) -> None:
    """The batched loop, run while holding every member's lock (the single loop's, per member)."""
    states = [loop.checkpoint(d, device) for d in dirs]
    epochs = {s["epoch"] if s else 0 for s in states}
    if len(epochs) > 1:
        return  # killed between two members' checkpoints: train_group finishes them one by one
    start_epoch = epochs.pop()
    for d in dirs:
        d.prepare()
    cfgs = [d.config for d in dirs]
    c0, n = cfgs[0], len(dirs)
    members = []
    for c in cfgs:
        torch.manual_seed(c.seed)
        members.append(tasks.new_model(c, ds.shape, ds.num_classes).to(device))
    member_opts = [train_mod.make_optimizer(m, c) for m, c in zip(members, cfgs)]  # they hold the checkpoints
    gens = [train_mod.data_generator(c) for c in cfgs]
    histories = [loop.resume(s, m, o, g)[0] for s, m, o, g in zip(states, members, member_opts, gens)]
    if start_epoch:  # the group's one global random state (dropout), as each member kept it
        loop.set_rng_state(states[0]["rng"], device)

    params, buffers = stack_module_state(members)
    optimizer = train_mod.make_optimizer(members[0], c0, params)
    steps_per_epoch = math.ceil(len(ds.train) / c0.batch_size)
    total = steps_per_epoch * c0.epochs
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: train_mod.lr_factor(c0, s, total))
    if start_epoch:
        _momentum_into_group(optimizer, params, members, member_opts)
        scheduler.load_state_dict(states[0]["scheduler"])

    base = copy.deepcopy(members[0]).to("meta")
    forward = vmap(lambda p, b, x: functional_call(base, (p, b), (x,)), randomness="different")
    member_loss = vmap(label_smoothing_loss)
    alphas = torch.tensor([c.alpha for c in cfgs], device=device)
    precision = batched_precision(device)
    sums = (torch.zeros(n, device=device), torch.zeros(n, device=device))

    def step(x, y):
        logits = forward(params, buffers, x)  # (N, B, classes), float32
        loss = member_loss(logits, y, alphas)
        optimizer.zero_grad(set_to_none=True)
        loss.sum().backward()
        if c0.grad_clip is not None:
            clip_per_member(list(params.values()), c0.grad_clip)
        optimizer.step()
        sums[0].add_(loss.detach() * y.shape[1])
        sums[1].add_((logits.detach().argmax(-1) == y).sum(-1))

    graph_off = cudagraph.unavailable(c0, device)
    graph = cudagraph.GraphedStep(step, optimizer, cudagraph.backend(device)) if graph_off is None else None
    task = tasks.of(c0)
    split = Split(ds.train.x.to(device), ds.train.y.to(device))
    n_labels = len(split)
    bar = loop.progress_bar(total, start_epoch * steps_per_epoch, f"{n} x {c0.model} {c0.dataset} batched", progress)
    for epoch in range(start_epoch, c0.epochs):
        base.train()
        t0 = time.perf_counter()
        for s in sums:
            s.zero_()
        orders = [task.batch_order(split, c0.batch_size, g) for g in gens]
        with _matmul_precision(precision):
            for idxs in zip(*orders):
                batches = [task.batch(split, idx.to(device), c0.augment, True, g, device) for idx, g in zip(idxs, gens)]
                x, y = torch.stack([b[0] for b in batches]), torch.stack([b[1] for b in batches])
                if graph is None or len(idxs[0]) != c0.batch_size or not graph(x, y):
                    step(x, y)
                scheduler.step()
                bar.update()
        losses, corrects = sums[0].tolist(), sums[1].tolist()  # the epoch's one host round-trip
        seconds, lr = time.perf_counter() - t0, optimizer.param_groups[0]["lr"]
        _unstack(params, buffers, members)
        records, diverged = [], []
        for i, (d, m) in enumerate(zip(dirs, members)):
            try:
                records.append(loop.epoch_record(d.config, epoch, losses[i] / n_labels, corrects[i] / n_labels,
                                                 lr, seconds, m, ds, d))
            except FloatingPointError as exc:
                records.append(None)
                diverged.append(exc)
        for i, (d, m, o, g, r) in enumerate(zip(dirs, members, member_opts, gens, records)):
            if r is not None:
                histories[i].append(r)
                _momentum_into_member(optimizer, params, m, o, i)
                loop.save_state(d, m, o, scheduler, g, device, histories[i], ds)
        if diverged:
            bar.close()
            raise diverged[0]
        if on_epoch_end is not None:
            on_epoch_end(epoch + 1, records)
    bar.close()
    extra = {"batched": n, **loop.step_kind(graph, graph_off, device)}
    for d, m, h in zip(dirs, members, histories):
        loop.finish(d, m, ds, h, device, precision, extra)


def _unstack(params: dict, buffers: dict, members: list) -> None:
    """Copy member i's slice of the stacked weights and batch-norm statistics into ``members[i]``."""
    for i, m in enumerate(members):
        m.load_state_dict({k: v[i] for k, v in {**params, **buffers}.items()})


def _momentum_into_member(optimizer, params: dict, member: nn.Module, member_opt, i: int) -> None:
    """Give member i's optimiser (the one its checkpoint holds) its slice of the stacked SGD state."""
    for name, p in member.named_parameters():
        buf = optimizer.state[params[name]].get("momentum_buffer")
        if buf is not None:
            member_opt.state[p]["momentum_buffer"] = buf[i].clone()
    for g, gg in zip(member_opt.param_groups, optimizer.param_groups):
        g["lr"] = gg["lr"]


def _momentum_into_group(optimizer, params: dict, members: list, member_opts: list) -> None:
    """The stacked SGD state from the members' resumed optimisers (the inverse of :func:`_momentum_into_member`)."""
    named = [dict(m.named_parameters()) for m in members]
    for name, p in params.items():
        bufs = [o.state[nm[name]].get("momentum_buffer") for o, nm in zip(member_opts, named)]
        if all(b is not None for b in bufs):
            optimizer.state[p]["momentum_buffer"] = torch.stack(bufs)
    for g, gg in zip(optimizer.param_groups, member_opts[0].param_groups):
        g["lr"] = gg["lr"]
