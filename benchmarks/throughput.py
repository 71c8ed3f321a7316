"""Training throughput of lsnb's engine against a per-sample DataLoader pipeline and a bare loop.

The FCN of chapter 1 (784-1200-1200-10, dropout 0.5, +/-2 px random shifts, batch 512,
SGD with Nesterov momentum) on Fashion-MNIST, one epoch each:

* engine    -- ``lsnb.train.train`` (in-memory uint8 data, batched shifts, label smoothing,
               linear schedule, progress bar), timed by its own per-epoch clock;
* dataloader -- torchvision ``FashionMNIST`` + ``RandomCrop(28, padding=2)`` + ``ToTensor``
               per sample, ``DataLoader(batch_size=512, shuffle=True)``, with 0 and 2 workers;
* bare      -- forward/backward/step over ONE pre-loaded batch, no data handling at all
               (the compute bound).

The engine trains in bf16 autocast where the hardware multiplies bf16 natively (CUDA,
CPUs with AMX or AVX512-BF16; :func:`lsnb.train.training_precision`). The two baselines
are run in float32 and in the engine's precision, and the ratios are taken at equal
precision, so the engine gets no credit for the precision alone.

Run: ``make benchmark`` (or ``python benchmarks/throughput.py [--epochs N]``). One run;
quote the ratios, not the absolute numbers, on a shared machine.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from lsnb import data, models, profiles, train


def engine(cfg, epochs: int, precision: str) -> float:
    os.environ["LSNB_PRECISION"] = precision if precision == "fp32" else "auto"
    try:
        with tempfile.TemporaryDirectory() as runs:
            run = train.train(cfg.with_(epochs=epochs), runs_dir=runs, device="cpu", progress=False)
    finally:
        os.environ.pop("LSNB_PRECISION")
    assert run.metrics["precision"] == precision
    n = len(train.load_data(cfg).train)
    return n * epochs / sum(h["seconds"] for h in run.history)


def step(model, opt, x, y, alpha: float, precision: str) -> None:
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
        logits = model(x)
    loss = F.cross_entropy(logits.float(), y, label_smoothing=alpha)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


def new_model_and_optimizer(cfg):
    torch.manual_seed(0)
    model = models.build(cfg, (1, 28, 28), 10)
    return model, train.make_optimizer(model, cfg)


def dataloader(cfg, epochs: int, workers: int, precision: str) -> float:
    import torchvision.transforms as T
    from torch.utils.data import DataLoader, Subset
    from torchvision.datasets import FashionMNIST

    ds = FashionMNIST(str(data.default_root()), train=True, download=False,
                      transform=T.Compose([T.RandomCrop(28, padding=2), T.ToTensor()]))
    ds = Subset(ds, range(len(train.load_data(cfg).train)))  # as many images as the engine sees
    loader = DataLoader(ds, batch_size=cfg.batch_size, shuffle=True, num_workers=workers,
                        persistent_workers=workers > 0)
    model, opt = new_model_and_optimizer(cfg)
    model.train()
    t0, n = time.perf_counter(), 0
    for _ in range(epochs):
        for x, y in loader:
            step(model, opt, x, y, cfg.alpha, precision)
            n += len(y)
    return n / (time.perf_counter() - t0)


def bare(cfg, steps: int, precision: str) -> float:
    model, opt = new_model_and_optimizer(cfg)
    model.train()
    x = torch.rand(cfg.batch_size, 1, 28, 28)
    y = torch.randint(0, 10, (cfg.batch_size,))
    for _ in range(3):  # warm-up
        step(model, opt, x, y, cfg.alpha, precision)
    t0 = time.perf_counter()
    for _ in range(steps):
        step(model, opt, x, y, cfg.alpha, precision)
    return steps * cfg.batch_size / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("throughput.json"))
    args = parser.parse_args()
    cfg = profiles.fcn_config("cpu", alpha=0.1).with_(batch_size=512)
    n = len(train.load_data(cfg).train)
    print(f"FCN {cfg.model_kwargs['hidden']} dropout {cfg.model_kwargs['dropout']}, batch {cfg.batch_size}, "
          f"{n} Fashion-MNIST training images, torch {torch.__version__}, {torch.get_num_threads()} threads")
    precisions = sorted({"fp32", train.training_precision(torch.device("cpu"))})
    results, ratios = {}, {}
    for p in precisions:
        r = {"bare": bare(cfg, args.epochs * n // cfg.batch_size, p), "engine": engine(cfg, args.epochs, p),
             "dataloader_0_workers": dataloader(cfg, args.epochs, 0, p),
             "dataloader_2_workers": dataloader(cfg, args.epochs, 2, p)}
        for name, ips in r.items():
            print(f"{p:>5} {name:>22}: {ips:9.0f} images/s")
        best_loader = max(r["dataloader_0_workers"], r["dataloader_2_workers"])
        ratios[p] = {"engine_vs_dataloader": r["engine"] / best_loader, "engine_vs_bare": r["engine"] / r["bare"]}
        results[p] = r
    default = train.training_precision(torch.device("cpu"))
    for p in precisions:
        tag = " (the engine's default here)" if p == default else ""
        print(f"{p}{tag}: engine / best DataLoader pipeline = {ratios[p]['engine_vs_dataloader']:.2f}x "
              f"(target >= 2x); engine / bare loop = {ratios[p]['engine_vs_bare']:.1%} (target >= 85%)")
    if default != "fp32":
        speed = results[default]["engine"] / results["fp32"]["dataloader_0_workers"]
        print(f"engine ({default}) / float32 DataLoader pipeline with 0 workers = {speed:.2f}x")
    args.out.write_text(json.dumps({"images_per_second": results, "ratios": ratios, "default": default},
                                   indent=1) + "\n")


if __name__ == "__main__":
    main()
