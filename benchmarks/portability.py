"""Does the portable numeric mode (lsnb/build/portable.py) make training independent of the processor?

Trains the smoke FCN, AlexNet and ResNet for one epoch on 512 Fashion-MNIST images in
child processes and prints a hash of each model's weights: first in the portable mode,
then with one of its variables left to the machine (each should change some hash),
and, with ``--qemu CPU``, in the portable mode on an emulated processor (Debian's
``qemu-user-static``; e.g. ``--qemu Haswell``, an Intel CPU without AVX-512), which
must give the portable hashes again. Slow under emulation (about 7 minutes).

    .venv/bin/python benchmarks/portability.py [--qemu Haswell]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

from lsnb.build import portable

CHILD = """
import hashlib, sys, torch
from lsnb.engine import recipes, train
out = []
for name, cfg in [("fcn", recipes.fcn_config("smoke")), ("alexnet", recipes.alexnet_config("smoke")),
                  ("resnet", recipes.resnet_config("smoke"))]:
    run = train.train(cfg.with_(n_train=512), runs_dir=sys.argv[1], device="cpu", progress=False)
    w = b"".join(v.detach().cpu().numpy().tobytes() for v in run.model.state_dict().values())
    out.append(f"{name}={hashlib.sha256(w).hexdigest()[:10]}")
print(torch.backends.cpu.get_cpu_capability(), torch.get_num_threads(), run.metrics["precision"], *out)
"""

# One variable of the portable mode at a time, set back to what a machine would pick by itself.
RELEASED = {"2 threads": {"OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2"},
            "ATen: machine's ISA": {"ATEN_CPU_CAPABILITY": None},
            "oneDNN: machine's ISA": {"ONEDNN_MAX_CPU_ISA": None},
            "MKL: MKL_CBWR=AVX2": {"MKL_CBWR": "AVX2"},
            "bf16 where native": {"LSNB_PRECISION": "auto"}}


def hashes(env: dict, prefix=()) -> str:
    with tempfile.TemporaryDirectory() as runs:
        out = subprocess.run([*prefix, sys.executable, "-c", CHILD, runs], env=env, capture_output=True, text=True)
    if out.returncode:
        return "failed: " + out.stderr.strip().splitlines()[-1]
    return out.stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qemu", metavar="CPU", help="also run in the portable mode under qemu-x86_64-static -cpu CPU")
    args = parser.parse_args()
    base = portable.environ()
    rows = [("portable mode", hashes(base))]
    for name, change in RELEASED.items():
        env = dict(base)
        for k, v in change.items():
            env.pop(k) if v is None else env.__setitem__(k, v)
        rows.append((name, hashes(env)))
    if args.qemu:
        rows.append((f"portable mode, QEMU {args.qemu}", hashes(base, ("qemu-x86_64-static", "-cpu", args.qemu))))
    ref = rows[0][1].split()[3:]
    for name, line in rows:
        same = [a == b for a, b in zip(line.split()[3:], ref)]
        print(f"{name:28s} {line}   {'same as portable' if all(same) and same else 'differs'}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("LSNB_PROGRESS", "0")
    sys.exit(main())
