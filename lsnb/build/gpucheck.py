"""One command for a GPU machine: check it, measure it, add the next chapters to the GPU edition, return one archive.

GPU time is short and rare (a lent machine for minutes, no network there), so everything it is
for happens in one call of ``make gpu-check`` (``python -m lsnb.build.gpucheck``), each step timed:

1. set-up from what the checkout carries: the notebook tools (papermill, jupytext, ipykernel,
   nbval) from a folder of wheels (``--wheels``) into ``.gpu-deps/`` where the machine's Python
   lacks them, and the prepared data under ``$LSNB_DATA`` (Fashion-MNIST may come as its ``.gz``
   IDX files, half the size to carry: they are unpacked beside themselves);
2. the CUDA tests (``tests/test_cuda.py``);
3. the throughput benchmark in a short mode (``benchmarks/throughput.py``: engine with and without
   the CUDA graph, DataLoader, bare loop, N configs at once);
4. the next chapter group the edition lacks, or the chapters named, executed on ``gpu`` and added
   to the edition (:func:`lsnb.build.editions.make_chapters`);
5. one archive ``gpu-check.tar.gz`` in ``--out``: the edition's new chapters and manifest, the
   benchmark's JSON, the tests' output and ``summary.txt`` (what ran, how long, what failed).

A failed step is recorded and the next ones still run (a failing CUDA test must not cost the
edition); the exit status is 1 when any step failed. ``--dry`` runs the same steps on the CPU on
the ``smoke`` profile with a tiny benchmark and an edition in ``--out`` (not the committed one),
so that ``make test`` keeps the command from rotting while no GPU is around.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path

from ..data.images import default_root, prepare_fashion_mnist
from ..book.glue import duration_text
from .editions import next_group
from .execute import ROOT, chapter_names
from .manifest import with_dependencies

TOOLS = ("papermill", "jupytext", "ipykernel", "nbval")
DEPS = ".gpu-deps"


def missing_tools() -> list[str]:
    """The notebook tools this Python cannot import."""
    return [name for name in TOOLS if importlib.util.find_spec(name) is None]


def setup_command(wheels: Path, target: Path, tools) -> list[str]:
    """pip, offline, from the carried wheels into ``target`` (a folder on ``PYTHONPATH``, no venv needed)."""
    return [sys.executable, "-m", "pip", "install", "-q", "--no-index", "--find-links", str(wheels), "--target",
            str(target), *tools]


def benchmark_command(out: Path, dry: bool) -> list[str]:
    """The benchmark's short mode: every model at its default precision on 3,000 images, 4 configs at once
    (about 90 s on one H200, estimated), seconds with ``dry`` on a CPU."""
    size = ["--model", "fcn", "--small", "--images", "256", "--epochs", "1", "--data", "synthetic"] if dry else \
        ["--images", "3000", "--epochs", "2", "--concurrent", "4", "--precisions", "default"]
    return [sys.executable, str(ROOT / "benchmarks" / "throughput.py"), *size, "--out", str(out)]


def run_step(name: str, command: list[str], log: Path, env: dict, timeout: float | None = None) -> dict:
    """Run one step, its output in ``log``; ``{"step", "ok", "seconds", "log"}``."""
    t0 = time.perf_counter()
    with open(log, "w") as f:
        try:
            ok = subprocess.run(command, stdout=f, stderr=subprocess.STDOUT, cwd=ROOT, env=env,
                                timeout=timeout).returncode == 0
        except subprocess.TimeoutExpired:
            f.write(f"\n[stopped after {timeout:.0f} s]\n")
            ok = False
    return {"step": name, "ok": ok, "seconds": round(time.perf_counter() - t0, 1), "log": log.name}


def chapters_to_make(named: list[str], edition: Path) -> list[str]:
    """The chapters named (with those they reuse), or else the next group the edition lacks."""
    return with_dependencies(named) if named else next_group(edition)


def summary_text(steps: list[dict], chapters: list[str], dry: bool) -> str:
    """What ran, how long and whether it passed, one line a step."""
    lines = [f"lsnb gpu-check{' (dry: CPU, smoke profile)' if dry else ''}, chapters: {' '.join(chapters) or 'none'}"]
    lines += [f"{s['step']:<12} {'OK' if s['ok'] else 'FAILED':<7} {duration_text(s['seconds']):>9}  ({s['log']})"
              for s in steps]
    total = sum(s["seconds"] for s in steps)
    lines.append(f"{'total':<12} {'OK' if all(s['ok'] for s in steps) else 'FAILED':<7} {duration_text(total):>9}")
    return "\n".join(lines) + "\n"


def archive(out: Path, edition: Path, chapters: list[str], files: list[Path]) -> Path:
    """``out/gpu-check.tar.gz``: the edition's manifest and the new chapters' files, and ``files``."""
    path = out / "gpu-check.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        if (edition / "manifest.json").exists():
            tar.add(edition / "manifest.json", arcname=f"edition/{edition.name}/manifest.json")
            for name in chapters:
                for rel in (f"{name}.ipynb", f"results/{name}.json"):
                    if (edition / rel).exists():
                        tar.add(edition / rel, arcname=f"edition/{edition.name}/{rel}")
        for f in files:
            if f.exists():
                tar.add(f, arcname=f.name)
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lsnb.build.gpucheck", description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="*", help=f"chapters to add (default: the next the edition lacks); "
                                                    f"one of {', '.join(chapter_names())}")
    parser.add_argument("--out", required=True, help="where the archive and the logs go")
    parser.add_argument("--edition", default=str(ROOT / "book" / "editions" / "gpu"), help="the edition to add to")
    parser.add_argument("--wheels", default=str(ROOT / "wheels"), help="carried wheels of the notebook tools")
    parser.add_argument("--dry", action="store_true", help="CPU, smoke profile, tiny benchmark, edition in --out")
    args = parser.parse_args(argv)
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    edition = out / "edition" / "gpu" if args.dry else Path(args.edition).resolve()
    env = dict(os.environ, LSNB_PROGRESS="0")
    deps = ROOT / DEPS
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), str(deps), env.get("PYTHONPATH", "")) if p)
    if args.dry:
        env["CUDA_VISIBLE_DEVICES"] = ""
    steps = []
    raw = default_root() / "FashionMNIST" / "raw"
    if raw.is_dir():
        prepare_fashion_mnist(default_root(), raw)  # the carried .gz files, unpacked where torchvision reads them
    missing = missing_tools()
    if missing:
        steps.append(run_step("set-up", setup_command(Path(args.wheels), deps, missing), out / "setup.log", env))
    steps.append(run_step("cuda-tests", [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o",
                                         "addopts=", str(ROOT / "tests" / "test_cuda.py")], out / "cuda-tests.log",
                          env))
    steps.append(run_step("benchmark", benchmark_command(out / "throughput.json", args.dry), out / "benchmark.log",
                          env, timeout=None if args.dry else 180))
    chapters = chapters_to_make(args.chapters or (["01_label_smoothing"] if args.dry else []), edition)
    if chapters:
        steps.append(run_step("edition", [sys.executable, "-m", "lsnb.build.editions", "make", *chapters, "--profile",
                                          "smoke" if args.dry else "gpu", "--dest", str(edition), "--build",
                                          str(out / "build")], out / "edition.log", env))
    summary = out / "summary.txt"
    summary.write_text(summary_text(steps, chapters, args.dry))
    (out / "steps.json").write_text(json.dumps(steps, indent=1))
    path = archive(out, edition, chapters, [summary, out / "steps.json", out / "throughput.json",
                                             *(out / s["log"] for s in steps)])
    print(summary.read_text() + f"archive: {path}")
    return 0 if all(s["ok"] for s in steps) else 1


if __name__ == "__main__":
    sys.exit(main())
