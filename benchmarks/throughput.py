"""Training throughput of lsnb's engine against a per-sample DataLoader pipeline and a bare loop.

One epoch each, on Fashion-MNIST, same model, optimiser and batch size:

* engine     -- ``lsnb.train.train`` (in-memory uint8 data, batched augmentation, label
                smoothing, schedule, progress bar), timed by its own per-epoch clock;
* dataloader -- torchvision ``FashionMNIST`` with the same augmentation as per-sample
                transforms, ``DataLoader(shuffle=True)`` with 0 and 2 workers;
* bare       -- forward/backward/step over ONE pre-loaded batch, no data handling at all
                (the compute bound).

Models (``--model``):

* ``fcn``     -- 784-1200-1200-10, dropout 0.5, +/-2 px shifts, batch 512 (chapter 1);
* ``alexnet`` -- the TF tutorial AlexNet, 24 px crops, flips, brightness/contrast,
                 per-image standardisation, batch 128 (chapter 2). The engine's model uses
                 lsnb's cumulative-sum LRN, the DataLoader pipeline ``nn.LocalResponseNorm``
                 (the same function; tests check both against TF's formula);
* ``resnet``  -- ResNet-56 v2, pad-4 crops and flips, batch 128 (chapter 2).

The engine trains in bf16 autocast where the hardware multiplies bf16 natively (CUDA,
CPUs with AMX or AVX512-BF16; :func:`lsnb.train.training_precision`). The baselines run
in float32 and in the engine's precision, and the ratios are taken at equal precision,
so the engine gets no credit for the precision alone. ``--profile`` prints where the
time of one engine step goes (torch.profiler).

Run: ``make benchmark`` (all models) or ``python benchmarks/throughput.py --model alexnet``.
One run; quote the ratios, not the absolute numbers, on a shared machine.
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

from lsnb import config, data, models, profiles, runs, train


def _standardize(x: torch.Tensor) -> torch.Tensor:
    return data.per_image_standardize(x[None])[0]


def per_sample_transform(model: str):
    """The model's augmentation as torchvision per-sample transforms (the usual pipeline)."""
    import torchvision.transforms as T

    if model == "fcn":
        return T.Compose([T.RandomCrop(28, padding=2), T.ToTensor()])
    if model == "alexnet":
        return T.Compose([T.RandomCrop(24), T.RandomHorizontalFlip(), T.ColorJitter(brightness=0.25, contrast=0.8),
                          T.ToTensor(), T.Lambda(_standardize)])
    return T.Compose([T.RandomCrop(28, padding=4), T.RandomHorizontalFlip(), T.ToTensor(), T.Lambda(_standardize)])


def config_for(model: str, images: int) -> config.TrainConfig:
    if model == "fcn":
        cfg = profiles.fcn_config("cpu", alpha=0.1).with_(batch_size=512)
    elif model == "alexnet":
        cfg = profiles.alexnet_config("cpu", alpha=0.1)
    else:
        cfg = profiles.resnet_config("cpu", alpha=0.1, depth=56)
    return cfg.with_(n_train=images)


def engine(cfg, precision: str) -> float:
    os.environ["LSNB_PRECISION"] = precision if precision == "fp32" else "auto"
    try:
        with tempfile.TemporaryDirectory() as runs:
            run = train.train(cfg.with_(epochs=1), runs_dir=runs, device="cpu", progress=False)
    finally:
        os.environ.pop("LSNB_PRECISION")
    assert run.metrics["precision"] == precision
    return cfg.n_train / run.history[0]["seconds"]


def new_model_and_optimizer(cfg, torch_lrn: bool = False):
    """The engine's model; ``torch_lrn`` swaps AlexNet's LRN for ``nn.LocalResponseNorm`` (the usual choice)."""
    torch.manual_seed(0)
    model = models.build(cfg, (1, 28, 28), 10)
    if torch_lrn and hasattr(model, "norm"):
        model.norm = models.tf_lrn()
    return model, train.make_optimizer(model, cfg)


def step(model, opt, x, y, alpha: float, precision: str) -> None:
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
        logits = model(x)
    loss = F.cross_entropy(logits.float(), y, label_smoothing=alpha)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


def dataloader(cfg, workers: int, precision: str) -> float:
    from torch.utils.data import DataLoader, Subset
    from torchvision.datasets import FashionMNIST

    ds = FashionMNIST(str(data.default_root()), train=True, download=False,
                      transform=per_sample_transform(cfg.model))
    loader = DataLoader(Subset(ds, range(cfg.n_train)), batch_size=cfg.batch_size, shuffle=True,
                        num_workers=workers, persistent_workers=workers > 0)
    model, opt = new_model_and_optimizer(cfg, torch_lrn=True)
    model.train()
    t0, n = time.perf_counter(), 0
    for x, y in loader:
        step(model, opt, x, y, cfg.alpha, precision)
        n += len(y)
    return n / (time.perf_counter() - t0)


def bare(cfg, precision: str) -> float:
    model, opt = new_model_and_optimizer(cfg)
    model.train()
    shape = data.input_shape((1, 28, 28), cfg.augment)
    x = torch.rand(cfg.batch_size, *shape)
    y = torch.randint(0, 10, (cfg.batch_size,))
    for _ in range(10):  # warm-up: oneDNN builds its kernels for these shapes on the first steps
        step(model, opt, x, y, cfg.alpha, precision)
    steps = max(5, cfg.n_train // cfg.batch_size)
    t0 = time.perf_counter()
    for _ in range(steps):
        step(model, opt, x, y, cfg.alpha, precision)
    return steps * cfg.batch_size / (time.perf_counter() - t0)


def profile_step(cfg, precision: str, rows: int = 12) -> str:
    """Where one engine step's time goes: augmentation, forward, backward, optimiser, by operator."""
    from torch.profiler import ProfilerActivity, profile

    model, opt = new_model_and_optimizer(cfg)
    x8 = runs.load_data(cfg).train.x[:cfg.batch_size]
    y = runs.load_data(cfg).train.y[:cfg.batch_size]
    g = torch.Generator().manual_seed(0)

    def engine_step():
        step(model, opt, data.prepare_batch(x8, cfg.augment, True, g), y, cfg.alpha, precision)

    for _ in range(3):
        engine_step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(5):
            engine_step()
    return prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=rows)


def run(model: str, images: int, show_profile: bool) -> dict:
    cfg = config_for(model, images)
    default = train.training_precision(torch.device("cpu"))
    print(f"\n== {model}: batch {cfg.batch_size}, {images} Fashion-MNIST training images, augment {cfg.augment!r}, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    results, ratios = {}, {}
    for p in sorted({"fp32", default}):
        r = {"bare": bare(cfg, p), "engine": engine(cfg, p),
             "dataloader_0_workers": dataloader(cfg, 0, p), "dataloader_2_workers": dataloader(cfg, 2, p)}
        for name, ips in r.items():
            print(f"{p:>5} {name:>22}: {ips:9.0f} images/s")
        best_loader = max(r["dataloader_0_workers"], r["dataloader_2_workers"])
        ratios[p] = {"engine_vs_dataloader": r["engine"] / best_loader, "engine_vs_bare": r["engine"] / r["bare"]}
        results[p] = r
    for p in sorted(ratios):
        tag = " (the engine's default here)" if p == default else ""
        print(f"{model} {p}{tag}: engine / best DataLoader = {ratios[p]['engine_vs_dataloader']:.2f}x (target >= 2x);"
              f" engine / bare loop = {ratios[p]['engine_vs_bare']:.1%}")
    if default != "fp32":
        speed = results[default]["engine"] / max(results["fp32"]["dataloader_0_workers"],
                                                 results["fp32"]["dataloader_2_workers"])
        print(f"{model}: engine ({default}) / float32 DataLoader pipeline = {speed:.2f}x")
    if show_profile:
        print(profile_step(cfg, default))
    return {"images_per_second": results, "ratios": ratios, "default_precision": default}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["fcn", "alexnet", "resnet", "all"], default="all")
    parser.add_argument("--images", type=int, default=None,
                        help="training images per epoch (default: 55,000 for fcn, 10,000 for the conv nets)")
    parser.add_argument("--profile", action="store_true", help="print where one engine step's time goes")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("throughput.json"))
    args = parser.parse_args()
    out = {}
    for model in (["fcn", "alexnet", "resnet"] if args.model == "all" else [args.model]):
        images = args.images or (55_000 if model == "fcn" else 10_000)
        out[model] = run(model, images, args.profile)
    args.out.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
