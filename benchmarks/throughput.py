"""Training throughput of lsnb's engine against a per-sample DataLoader pipeline and a bare loop.

The FCN of chapter 1 (784-1200-1200-10, dropout 0.5, +/-2 px random shifts, batch 512,
SGD with Nesterov momentum) on Fashion-MNIST, one epoch each:

* engine    -- ``lsnb.train.train`` (in-memory uint8 data, batched shifts, label smoothing,
               linear schedule, progress bar), timed by its own per-epoch clock;
* dataloader -- torchvision ``FashionMNIST`` + ``RandomCrop(28, padding=2)`` + ``ToTensor``
               per sample, ``DataLoader(batch_size=512, shuffle=True)``, with 0 and 2 workers;
* bare      -- forward/backward/step over ONE pre-loaded batch, no data handling at all
               (the compute bound).

Run: ``make benchmark`` (or ``python benchmarks/throughput.py [--epochs N]``). One run;
quote the ratios, not the absolute numbers, on a shared machine.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from lsnb import data, models, profiles, train


def engine(cfg, epochs: int) -> float:
    with tempfile.TemporaryDirectory() as runs:
        run = train.train(cfg.with_(epochs=epochs), runs_dir=runs, device="cpu", progress=False)
    n = len(train.load_data(cfg).train)
    return n * epochs / sum(h["seconds"] for h in run.history)


def new_model_and_optimizer(cfg):
    torch.manual_seed(0)
    model = models.build(cfg, (1, 28, 28), 10)
    return model, train.make_optimizer(model, cfg)


def dataloader(cfg, epochs: int, workers: int) -> float:
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
            loss = F.cross_entropy(model(x), y, label_smoothing=cfg.alpha)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            n += len(y)
    return n / (time.perf_counter() - t0)


def bare(cfg, steps: int) -> float:
    model, opt = new_model_and_optimizer(cfg)
    model.train()
    x = torch.rand(cfg.batch_size, 1, 28, 28)
    y = torch.randint(0, 10, (cfg.batch_size,))
    for _ in range(3):  # warm-up
        F.cross_entropy(model(x), y).backward()
    t0 = time.perf_counter()
    for _ in range(steps):
        loss = F.cross_entropy(model(x), y, label_smoothing=cfg.alpha)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
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
    results = {"bare": bare(cfg, steps=args.epochs * n // cfg.batch_size),
               "engine": engine(cfg, args.epochs),
               "dataloader_0_workers": dataloader(cfg, args.epochs, 0),
               "dataloader_2_workers": dataloader(cfg, args.epochs, 2)}
    for name, ips in results.items():
        print(f"{name:>22}: {ips:9.0f} images/s")
    best_loader = max(results["dataloader_0_workers"], results["dataloader_2_workers"])
    ratios = {"engine_vs_dataloader": results["engine"] / best_loader,
              "engine_vs_bare": results["engine"] / results["bare"]}
    print(f"engine / best DataLoader pipeline = {ratios['engine_vs_dataloader']:.2f}x   (target >= 2x)")
    print(f"engine / bare loop                = {ratios['engine_vs_bare']:.1%}   (target >= 85%)")
    args.out.write_text(json.dumps({"images_per_second": results, "ratios": ratios}, indent=1) + "\n")


if __name__ == "__main__":
    main()
