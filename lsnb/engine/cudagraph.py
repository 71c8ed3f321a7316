"""The training step as one captured CUDA graph, replayed once per batch.

On a GPU, the book's small networks are launch-bound: ResNet-56 at batch 128 issues
about a thousand small kernels per step, and the GPU waits for Python to launch
them (measured on an H200: eager 6.3k img/s, the same step captured as one CUDA graph
18.4k). :class:`GraphedStep` follows the whole-network recipe of PyTorch's CUDA-graph
notes (``torch.cuda.graph``):

1. **static inputs** -- the batch (images, labels and, for a distilled student, the
   teacher's logits) is copied into buffers allocated once; the graph reads them;
2. **warm-up** -- the first :data:`WARMUP` steps run eagerly on a side stream (they are
   real training steps, not thrown away): lazy initialisations (cuBLAS/cuDNN handles,
   autograd's streams) and the optimiser's momentum buffers happen outside the capture;
3. **capture** -- the step (forward under bf16 autocast with ``cache_enabled=False``,
   the loss, backward into gradients allocated by the capture after
   ``zero_grad(set_to_none=True)``, gradient clipping, the optimiser step, and the
   epoch's loss and accuracy sums added into device scalars) is recorded once per run on
   the warm-up stream; capture executes nothing, so the capture batch is replayed next;
4. **replay** -- one launch per step. The learning rate is a device tensor per parameter
   group, refilled before a replay only when the schedule changed it; nothing is read
   back to the host (the loop reads the loss sums once per epoch).

The optimiser: a captured step must read the learning rate from memory, and PyTorch's
``foreach`` SGD turns a tensor learning rate into a Python number (a device sync, not
capturable). SGD's fused kernel (``fused=True``) takes it as a tensor, so during the
capture each parameter group holds ``lr=<tensor>, fused=True``; right after it, the
groups get back their float learning rate and flags. The optimiser's ``state_dict`` --
the checkpoint -- is therefore the eager loop's (plain floats, same flags): a checkpoint
written by the graph path resumes on the eager path or on a CPU and vice versa. Only SGD
(every image model of the book) is captured; Adam (the Transformer's) stays eager.

What is not captured, and why:

* the **last, partial batch** of an epoch (its shape differs) runs eagerly through the
  same step function, on the same parameters and optimiser state. Dropping it instead
  would change what a config means (another number of steps, examples left out of an
  epoch) and so what its run-store key names; it costs one eager step per epoch;
* the **Transformer** (translation): its batches are cut to their longest sentence, so
  every batch has another shape; padding them all to the longest sentence would spend the
  compute the bucketing saves. It trains eagerly;
* **Adam** configs, and anything when ``LSNB_CUDA_GRAPH=0`` (the switch; eager is the
  fallback and the reference). A capture that fails warns and leaves the run eager.

Dropout inside the graph draws from the default CUDA generator, which PyTorch registers
with every capture: each replay advances its Philox offset by what the captured step
consumed, so successive replays draw fresh masks, as eager steps do.

**What the GPU path promises.** The same data order and the same augmentation as the
eager loop and the CPU (both come from the run's CPU generator, outside the graph); the
same schedule; checkpoints interchangeable with the eager path's. It does *not* promise
bit-identical weights to the eager CUDA loop (the fused SGD kernel rounds differently
from the ``foreach`` one, and cuBLAS/cuDNN may choose other kernels under capture), nor
bit-identical re-runs (as for the eager CUDA loop: some CUDA backward kernels add with
atomics), nor a bit-exact resume on a GPU. On the CPU nothing changes: the graph path is
never taken there, and the CPU loop stays deterministic with a bit-exact resume.

**What was tried** (measured on an H200): drawing the augmentation's random
numbers on the GPU and keeping the batch indices there changed nothing (6,275 vs 6,285
img/s, the step is launch-bound); ``torch.compile(mode="max-autotune-no-cudagraphs")``
ran at 4.7k img/s, slower than eager; ``torch.compile(mode="reduce-overhead")`` failed
("accessing tensor output of CUDAGraphs that has been overwritten by a subsequent run").
The bare step captured by hand, as here, ran 3.0x eager; ``benchmarks/throughput.py`` measures
the engine's own speed with this module on the GPU it runs on.
"""
from __future__ import annotations

import contextlib
import os
import warnings
from dataclasses import dataclass
from typing import Callable, ContextManager

import torch

# Eager steps before the capture: PyTorch's whole-network example warms up for 3.
WARMUP = 3


def unavailable(config, device: torch.device, precision: str = "bf16") -> str | None:
    """Why a run's step is not captured as a CUDA graph, or None when it is."""
    if device.type != "cuda":
        return "not a CUDA device"
    if precision == "fp16":
        return "fp16's gradient scaler decides on the host whether to skip a step, which a graph cannot replay"
    if os.environ.get("LSNB_CUDA_GRAPH", "1") == "0":
        return "LSNB_CUDA_GRAPH=0"
    if config.task != "image":
        return "translation batches change shape from step to step"
    if config.optimizer != "sgd":
        return f"only SGD's step is captured, not {config.optimizer}'s"
    return None


@dataclass(frozen=True)
class Backend:
    """How steps are warmed up and captured: ``side_stream()`` is where the warm-up steps run,
    ``capture(fn)`` records ``fn`` (without running it) and returns the function that replays it.
    :func:`backend` gives the CUDA one; tests put a fake in its place to run the logic on a CPU."""

    side_stream: Callable[[], ContextManager]
    capture: Callable[[Callable[[], None]], Callable[[], None]]


def backend(device: torch.device) -> Backend:
    """Warm-up and capture on one side stream (one stream for both, as ``make_graphed_callables`` does, so
    that library handles created in the warm-up serve the capture); replays run on the current stream."""
    stream = torch.cuda.Stream(device)

    @contextlib.contextmanager
    def side_stream():
        stream.wait_stream(torch.cuda.current_stream(device))
        with torch.cuda.stream(stream):
            yield
        torch.cuda.current_stream(device).wait_stream(stream)

    def capture(fn):
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, stream=stream):  # synchronises the device first
            fn()
        return graph.replay

    return Backend(side_stream, capture)


def _shape(t):
    return None if t is None else (t.shape, t.dtype, t.stride())


class GraphedStep:
    """``step(*inputs)`` -- one training step, no host round-trip -- run through a CUDA graph.

    Call it with a batch's tensors (``None`` for an input a config does not have): it copies
    them into its static buffers (allocated from the first call's), runs the step eagerly
    on the backend's side stream for the first ``warmup`` calls, captures it on the next one,
    and replays it from then on. It returns False, doing nothing, for a batch whose shapes
    differ from the first one's (an epoch's last, partial batch) or once a capture failed:
    the caller runs ``step`` eagerly on that batch.
    """

    def __init__(self, step: Callable, optimizer: torch.optim.Optimizer, backend: Backend, warmup: int = WARMUP):
        if type(optimizer) is not torch.optim.SGD:
            raise ValueError(f"only SGD's step is captured, not {type(optimizer).__name__}'s")
        if warmup < 1:  # the first step creates SGD's momentum buffers: it must not be the captured one
            raise ValueError(f"warmup={warmup} is not allowed: at least one eager step comes before the capture")
        self.step, self.optimizer, self.backend, self.warmup = step, optimizer, backend, warmup
        device = next(p for g in optimizer.param_groups for p in g["params"]).device
        self.lr = [torch.zeros((), device=device) for _ in optimizer.param_groups]  # what the graph reads
        self._lr_held = [None] * len(self.lr)
        self.static = None
        self.replay = None
        self.failed = None
        self.calls = self.replays = 0

    def __call__(self, *inputs) -> bool:
        if self.failed is not None:
            return False
        if self.static is None:
            self.static = [None if t is None else torch.empty_like(t) for t in inputs]
        if [_shape(t) for t in inputs] != [_shape(s) for s in self.static]:
            return False
        for s, t in zip(self.static, inputs):
            if t is not None:
                s.copy_(t)
        if self.calls < self.warmup:
            with self.backend.side_stream():
                self.step(*self.static)
        else:
            if self.replay is None:
                try:
                    self.replay = self._capture()
                except Exception as exc:  # noqa: BLE001 -- any capture failure leaves the run eager, said loudly
                    self.failed = exc
                    warnings.warn(f"CUDA graph capture of the training step failed ({type(exc).__name__}: {exc}); "
                                  "the run continues eagerly (LSNB_CUDA_GRAPH=0 skips the attempt)",
                                  RuntimeWarning, stacklevel=2)
                    return False
            self._hold_lr()
            self.replay()
            self.replays += 1
        self.calls += 1
        return True

    def _hold_lr(self) -> None:
        """Copy each group's (float) learning rate into the tensor the graph reads, when it changed."""
        for i, (t, group) in enumerate(zip(self.lr, self.optimizer.param_groups)):
            if group["lr"] != self._lr_held[i]:
                t.fill_(group["lr"])
                self._lr_held[i] = group["lr"]

    def _capture(self) -> Callable[[], None]:
        groups = self.optimizer.param_groups
        saved = [{k: g[k] for k in ("lr", "fused", "foreach")} for g in groups]
        self._hold_lr()
        for g, t in zip(groups, self.lr):
            g.update(lr=t, fused=True, foreach=False)  # fused SGD reads a tensor lr on the device
        try:
            self.optimizer.zero_grad(set_to_none=True)  # the capture allocates the gradients it writes
            return self.backend.capture(lambda: self.step(*self.static))
        finally:
            for g, s in zip(groups, saved):
                g.update(s)
