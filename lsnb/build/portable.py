"""The portable numeric mode: the same commit prints the same numbers on every x86-64 machine.

A trained network's last digits depend on how the floating-point sums inside it are
ordered, and that order is chosen by the machine: the instruction set that ATen,
oneDNN (convolutions) and MKL (matrix products) dispatch to (AVX2, AVX-512, AMX), the
number of threads that split a reduction, and bf16 autocast where the CPU multiplies
bf16 natively. Measured on the smoke FCN, AlexNet and ResNet: each of these settings
alone gives other weights after one epoch (each setting repeatable run to run).

The golden notebooks (``make golden``, and their ``pytest --nbval`` check in ``make
test``) are therefore executed with :data:`PORTABLE_ENV`, which pins every one of
them to what any x86-64 CPU of the last decade has:

* CPU only, even where CUDA exists, in float32 (no autocast);
* one thread (OpenMP and MKL);
* ATen's vectorised kernels and oneDNN's JIT kernels capped at AVX2, MKL on its
  vendor-neutral SSE2 branch (``MKL_CBWR=COMPATIBLE``).

These variables are read when torch loads, so they are set in the environment of the
process (or Jupyter kernel) *before* it imports torch: ``python -m lsnb.build.portable CMD ...``
runs ``CMD`` with them, and ``tests/conftest.py`` starts the nbval kernels with them.

On other processors (ARM, or x86-64 without AVX2) the pinned kernels do not exist, so
the golden comparison is skipped there with the reason (:func:`unsupported_reason`).
"""
from __future__ import annotations

import os
import platform
import sys

from ..engine.machine import cpu_flags

PORTABLE_ENV = {
    "CUDA_VISIBLE_DEVICES": "",     # no GPU: kernels and reductions differ there
    "LSNB_PRECISION": "fp32",       # no bf16 autocast (lsnb.engine.train.training_precision)
    "OMP_NUM_THREADS": "1",         # torch's intra-op threads: the split of every reduction
    "MKL_NUM_THREADS": "1",
    "ATEN_CPU_CAPABILITY": "avx2",  # ATen's vectorised kernels (also on AVX-512 and AMX machines)
    "ONEDNN_MAX_CPU_ISA": "AVX2",   # oneDNN's JIT convolutions and matmuls
    # MKL (matrix products, exp): its SSE2 branch. MKL_CBWR=AVX2 is not enough: MKL honours it on Intel CPUs
    # only (an AMD EPYC ran its own branch and gave other sums than an Intel AVX2 CPU); COMPATIBLE runs
    # the same code on both.
    "MKL_CBWR": "COMPATIBLE",
    "PYTHONHASHSEED": "0",
}


def environ(base=None) -> dict:
    """``base`` (default: ``os.environ``) with :data:`PORTABLE_ENV` laid over it."""
    env = dict(os.environ if base is None else base)
    env.update(PORTABLE_ENV)
    return env


def unsupported_reason() -> str | None:
    """Why this machine cannot run the portable mode, or None where it can."""
    machine = platform.machine().lower()
    if machine not in ("x86_64", "amd64"):
        return (f"the golden notebooks pin x86-64 AVX2 kernels; this is a {platform.machine()} machine, whose "
                f"kernels print other last digits (the unit tests still run)")
    flags = cpu_flags()
    if flags and not {"avx2", "fma"} <= flags:
        return "the golden notebooks pin AVX2 kernels, and this x86-64 CPU has no AVX2/FMA"
    return None


def is_active() -> bool:
    """True when this process runs with every setting of :data:`PORTABLE_ENV`."""
    return all(os.environ.get(k) == v for k, v in PORTABLE_ENV.items())


def main(argv=None) -> int:
    """``python -m lsnb.build.portable CMD [ARGS...]``: run CMD in the portable numeric mode."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print("usage: python -m lsnb.build.portable CMD [ARGS...]\n"
              "runs CMD with " + " ".join(f"{k}={v}" for k, v in PORTABLE_ENV.items()), file=sys.stderr)
        return 2
    reason = unsupported_reason()
    if reason:
        print(f"lsnb.build.portable: {reason}", file=sys.stderr)
        return 3
    os.execvpe(argv[0], argv, environ())
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
