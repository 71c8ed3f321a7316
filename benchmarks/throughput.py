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

``--device cuda`` runs all of it on the GPU (default: the GPU when there is one).
``--concurrent N`` adds the aggregate throughput of N configs of the model (seeds) trained
at once by :func:`lsnb.grid.train_many` (N local processes) against the same N trained one
after another, wall clock including the workers' start-up.

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

from lsnb import config, data, grid, models, profiles, runs, train


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


def engine(cfg, precision: str, device: torch.device) -> float:
    os.environ["LSNB_PRECISION"] = precision if precision == "fp32" else "auto"
    try:
        with tempfile.TemporaryDirectory() as store:
            run = train.train(cfg.with_(epochs=1), runs_dir=store, device=device, progress=False)
    finally:
        os.environ.pop("LSNB_PRECISION")
    assert run.metrics["precision"] == precision
    return cfg.n_train / run.history[0]["seconds"]


def new_model_and_optimizer(cfg, device: torch.device, torch_lrn: bool = False):
    """The engine's model; ``torch_lrn`` swaps AlexNet's LRN for ``nn.LocalResponseNorm`` (the usual choice)."""
    torch.manual_seed(0)
    model = models.build(cfg, (1, 28, 28), 10)
    if torch_lrn and hasattr(model, "norm"):
        model.norm = models.tf_lrn()
    model = model.to(device)
    return model, train.make_optimizer(model, cfg)


def step(model, opt, x, y, alpha: float, precision: str) -> None:
    with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
        logits = model(x)
    loss = F.cross_entropy(logits.float(), y, label_smoothing=alpha)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


def dataloader(cfg, workers: int, precision: str, device: torch.device) -> float:
    from torch.utils.data import DataLoader, Subset
    from torchvision.datasets import FashionMNIST

    ds = FashionMNIST(str(data.default_root()), train=True, download=False,
                      transform=per_sample_transform(cfg.model))
    loader = DataLoader(Subset(ds, range(cfg.n_train)), batch_size=cfg.batch_size, shuffle=True,
                        num_workers=workers, persistent_workers=workers > 0, pin_memory=device.type == "cuda")
    model, opt = new_model_and_optimizer(cfg, device, torch_lrn=True)
    model.train()
    t0, n = time.perf_counter(), 0
    for x, y in loader:
        step(model, opt, x.to(device, non_blocking=True), y.to(device, non_blocking=True), cfg.alpha, precision)
        n += len(y)
    synchronize(device)
    return n / (time.perf_counter() - t0)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bare(cfg, precision: str, device: torch.device) -> float:
    model, opt = new_model_and_optimizer(cfg, device)
    model.train()
    shape = data.input_shape((1, 28, 28), cfg.augment)
    x = torch.rand(cfg.batch_size, *shape, device=device)
    y = torch.randint(0, 10, (cfg.batch_size,), device=device)
    for _ in range(10):  # warm-up: oneDNN/cuDNN choose their kernels for these shapes on the first steps
        step(model, opt, x, y, cfg.alpha, precision)
    synchronize(device)
    steps = max(5, cfg.n_train // cfg.batch_size)
    t0 = time.perf_counter()
    for _ in range(steps):
        step(model, opt, x, y, cfg.alpha, precision)
    synchronize(device)
    return steps * cfg.batch_size / (time.perf_counter() - t0)


def concurrent(cfg, n: int, device: torch.device) -> dict:
    """Aggregate images/s of n configs (seeds 0..n-1, one epoch each) trained at once by the grid's local
    processes, and trained one after another in this process; wall clock, start-up included."""
    cfgs = [cfg.with_(epochs=1, seed=s) for s in range(n)]
    out = {}
    for name, workers in (("sequential", 1), (f"{n} at once", n)):
        with tempfile.TemporaryDirectory() as store:
            t0 = time.perf_counter()
            grid.train_many(cfgs, runs_dir=store, device=device, workers=workers, progress=False)
            out[name] = n * cfg.n_train / (time.perf_counter() - t0)
    return out


def profile_step(cfg, precision: str, rows: int = 12) -> str:
    """Where one engine step's time goes: augmentation, forward, backward, optimiser, by operator."""
    from torch.profiler import ProfilerActivity, profile

    model, opt = new_model_and_optimizer(cfg, torch.device("cpu"))
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


def run(model: str, images: int, show_profile: bool, device: torch.device, n_concurrent: int) -> dict:
    cfg = config_for(model, images)
    default = train.training_precision(device)
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"\n== {model}: batch {cfg.batch_size}, {images} Fashion-MNIST training images, augment {cfg.augment!r}, "
          f"torch {torch.__version__}, {where}")
    results, ratios = {}, {}
    loader_workers = (0, 2) if device.type == "cpu" else (0, 8)
    for p in sorted({"fp32", default}):
        r = {"bare": bare(cfg, p, device), "engine": engine(cfg, p, device)}
        for w in loader_workers:
            r[f"dataloader_{w}_workers"] = dataloader(cfg, w, p, device)
        for name, ips in r.items():
            print(f"{p:>5} {name:>22}: {ips:9.0f} images/s")
        best_loader = max(v for k, v in r.items() if k.startswith("dataloader"))
        ratios[p] = {"engine_vs_dataloader": r["engine"] / best_loader, "engine_vs_bare": r["engine"] / r["bare"]}
        results[p] = r
    for p in sorted(ratios):
        tag = " (the engine's default here)" if p == default else ""
        print(f"{model} {p}{tag}: engine / best DataLoader = {ratios[p]['engine_vs_dataloader']:.2f}x (target >= 2x);"
              f" engine / bare loop = {ratios[p]['engine_vs_bare']:.1%}")
    if default != "fp32":
        speed = results[default]["engine"] / max(v for k, v in results["fp32"].items() if k.startswith("dataloader"))
        print(f"{model}: engine ({default}) / float32 DataLoader pipeline = {speed:.2f}x")
    if show_profile:
        print(profile_step(cfg, default))
    out = {"images_per_second": results, "ratios": ratios, "default_precision": default, "device": where}
    if n_concurrent > 1:
        agg = concurrent(cfg, n_concurrent, device)
        for name, ips in agg.items():
            print(f"{default:>5} {'grid, ' + name:>22}: {ips:9.0f} images/s together")
        best_loader = max(v for k, v in results[default].items() if k.startswith("dataloader"))
        print(f"{model}: {n_concurrent} configs at once / one after another = "
              f"{agg[f'{n_concurrent} at once'] / agg['sequential']:.2f}x; "
              f"/ best DataLoader = {agg[f'{n_concurrent} at once'] / best_loader:.2f}x")
        out["concurrent"] = agg
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["fcn", "alexnet", "resnet", "all"], default="all")
    parser.add_argument("--images", type=int, default=None,
                        help="training images per epoch (default: 55,000 for fcn, 10,000 for the conv nets)")
    parser.add_argument("--profile", action="store_true", help="print where one engine step's time goes")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when there is one)")
    parser.add_argument("--concurrent", type=int, default=0, metavar="N",
                        help="also train N configs at once through lsnb.grid and report the aggregate")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("throughput.json"))
    args = parser.parse_args()
    device = torch.device(args.device) if args.device else runs.default_device()
    out = {}
    for model in (["fcn", "alexnet", "resnet"] if args.model == "all" else [args.model]):
        images = args.images or (55_000 if model == "fcn" else 10_000)
        out[model] = run(model, images, args.profile, device, args.concurrent)
    args.out.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
