"""Training throughput: lsnb's engine against a per-sample DataLoader pipeline and a bare loop, and N configs at once.

Per model, one measurement each, same model, optimiser, batch size and precision:

* ``engine``       -- ``lsnb.engine.train.train`` (in-memory uint8 data, batched augmentation, label
                      smoothing, schedule, checkpoint), timed by its own clock over its last epoch
                      (the first one holds the warm-up and, on CUDA, the graph capture). On CUDA
                      the step is a captured CUDA graph (:mod:`lsnb.engine.cudagraph`), and
                      ``engine_eager`` is the same loop with ``LSNB_CUDA_GRAPH=0``;
* ``dataloader_W`` -- the usual pipeline: PIL images from memory, the same augmentation as
                      torchvision per-sample transforms, ``DataLoader(shuffle=True)`` with W
                      workers (pinned memory on CUDA); AlexNet with ``nn.LocalResponseNorm``;
* ``bare``         -- the engine's own step (:func:`lsnb.engine.train.train_step`: the same model
                      built by :func:`lsnb.engine.train.build_model`, loss, precision, clipping and
                      memory layout) over ONE resident batch made by the engine's own batching,
                      repeated with no data handling: the upper bound of the engine, so that
                      ``engine / bare`` is what the data pipeline and the loop cost; on CUDA also
                      ``bare_graph``, the same step replayed as a CUDA graph.

``--concurrent N`` adds N configs of the model (seeds 0..N-1, one epoch each) trained one
after another, by N local processes (:func:`lsnb.engine.grid.train_many`, ``workers=N``) and as one
batched model (``batched=N``, :mod:`lsnb.engine.batched`): aggregate images/s, wall clock
including start-up. A batched model trains in float32 (TF32 on CUDA), whatever the
precision of the rest.

Models: ``fcn`` 784-1200-1200-10 with dropout and +/-2 px shifts, batch 512 (Fashion-MNIST);
``alexnet`` the TF-tutorial AlexNet on 24 px crops, batch 128, and ``resnet`` ResNet-56 v2,
batch 128 (CIFAR-10). A dataset that is not on disk is replaced by
random images of its shape (``--data synthetic`` forces it; nothing is downloaded): the
speed does not depend on the pixels.

The engine trains in bf16 autocast where the hardware multiplies bf16 natively
(:func:`lsnb.engine.train.training_precision`); the baselines run in that precision too (and in
float32 with ``--precisions both``), and ratios are taken at equal precision.
``--profile`` prints where one engine step's time goes on a CPU (torch.profiler).

    python benchmarks/throughput.py                      # all models, the GPU when there is one
    python benchmarks/throughput.py --model resnet --concurrent 8
    python benchmarks/throughput.py --small              # small sizes for a CPU (minutes)

Results go to ``benchmarks/throughput.json`` (``--out``). One run: quote the ratios, not
the absolute numbers, on a shared machine.
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import json
import multiprocessing
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch
import torch.nn.functional as F

from lsnb.engine import cudagraph, grid, recipes, runs, tasks, train
from lsnb.data import augment, images as data
from lsnb.models import vision as models

DATASETS = {"fcn": "fashion_mnist", "alexnet": "cifar10", "resnet": "cifar10"}
ROWS = ("rows: engine = lsnb.engine.train.train, its last epoch (engine_eager: without the CUDA graph); "
        "bare = the engine's own step on one resident batch, no data handling (its upper bound; bare_graph: "
        "replayed as a CUDA graph); dataloader_W = per-sample torchvision transforms, DataLoader with W workers")
SHAPES = {"fashion_mnist": (1, 28, 28), "cifar10": (3, 32, 32)}


# ----------------------------------------------------------------------------- data

def on_disk(name: str) -> bool:
    """Whether a dataset is there without a download (Fashion-MNIST also from the Debian package)."""
    root = data.default_root()
    if name == "fashion_mnist":
        return data.prepare_fashion_mnist(root)
    return (root / "cifar-10-batches-py").is_dir()


def synthetic(config) -> data.Dataset:
    """Random uint8 images of the dataset's shape and random labels (what ``runs.load_data`` answers
    under :func:`use_synthetic`)."""
    g = torch.Generator().manual_seed(0)
    shape = SHAPES[config.dataset]
    split = lambda n: data.Split(torch.randint(0, 256, (n, *shape), generator=g, dtype=torch.uint8),
                                 torch.randint(0, 10, (n,), generator=g))
    return data.Dataset(config.dataset, split(config.n_train), split(config.n_val) if config.n_val else None,
                        split(config.n_test or 1000), tuple(str(k) for k in range(10)))


LOAD_DATA = runs.load_data


def use_synthetic(on: bool = True) -> None:
    """Every dataset of this process is :func:`synthetic` (also the initializer of the worker processes)."""
    runs.load_data = synthetic if on else LOAD_DATA


def per_sample_transform(model: str):
    """The model's augmentation as torchvision per-sample transforms on PIL images (the usual pipeline)."""
    import torchvision.transforms as T

    standardize = T.Lambda(lambda x: augment.per_image_standardize(x[None])[0])
    if model == "fcn":
        return T.Compose([T.RandomCrop(28, padding=2), T.ToTensor()])
    if model == "alexnet":
        return T.Compose([T.RandomCrop(24), T.RandomHorizontalFlip(), T.ColorJitter(brightness=0.25, contrast=0.8),
                          T.ToTensor(), standardize])
    return T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), T.ToTensor(), standardize])


class PilImages(torch.utils.data.Dataset):
    """A uint8 split as (PIL image, label) pairs, as torchvision's in-memory datasets give them."""

    def __init__(self, split: data.Split, transform):
        self.x, self.y, self.transform = split.x.numpy(), split.y.tolist(), transform

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        from PIL import Image
        img = self.x[i]
        img = Image.fromarray(img[0] if img.shape[0] == 1 else img.transpose(1, 2, 0))
        return self.transform(img), self.y[i]


# ----------------------------------------------------------------------------- the measurements

def config_for(model: str, images: int, dataset: str, epochs: int):
    if model == "fcn":
        cfg = recipes.fcn_config("cpu", alpha=0.1).with_(batch_size=512)
    elif model == "alexnet":
        cfg = recipes.alexnet_config("cpu", alpha=0.1)
    else:
        cfg = recipes.resnet_config("cpu", alpha=0.1, depth=56)
    return cfg.with_(dataset=dataset, n_train=images, n_val=0, n_test=1000, epochs=epochs)


@contextlib.contextmanager
def env(**values):
    before = {k: os.environ.get(k) for k in values}
    os.environ.update({k: v for k, v in values.items()})
    try:
        yield
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k)
            else:
                os.environ[k] = v


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def engine(cfg, precision: str, device: torch.device, graph: bool) -> float:
    """Images/s of the engine's last epoch (the first holds the warm-up and the capture)."""
    with env(LSNB_PRECISION="fp32" if precision == "fp32" else "auto", LSNB_CUDA_GRAPH="1" if graph else "0"):
        with tempfile.TemporaryDirectory() as store:
            run = train.train(cfg, runs_dir=store, device=device, progress=False)
    assert run.metrics["precision"] == precision, run.metrics
    if device.type == "cuda":
        assert (run.metrics["step"] == "cuda graph") == graph, run.metrics["step"]
    return cfg.n_train / run.history[-1]["seconds"]


def new_model_and_optimizer(cfg, device: torch.device, torch_lrn: bool = False):
    """The engine's model; ``torch_lrn`` swaps AlexNet's LRN for ``nn.LocalResponseNorm`` (the usual choice)."""
    torch.manual_seed(0)
    model = tasks.new_model(cfg, SHAPES[cfg.dataset], 10)
    if torch_lrn and hasattr(model, "norm"):
        model.norm = models.tf_lrn()
    model = model.to(device)
    if device.type == "cuda" and cfg.model != "fcn":
        model = model.to(memory_format=torch.channels_last)
    return model, train.make_optimizer(model, cfg)


def step(model, opt, x, y, alpha: float, precision: str, cache: bool = True) -> None:
    with torch.autocast(x.device.type, dtype=train.AUTOCAST.get(precision, torch.bfloat16),
                        enabled=precision in train.AUTOCAST, cache_enabled=cache):
        logits = model(x)
    loss = F.cross_entropy(logits.float(), y, label_smoothing=alpha)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


def dataloader(cfg, workers: int, precision: str, device: torch.device) -> float:
    from torch.utils.data import DataLoader

    images = PilImages(runs.load_data(cfg).train, per_sample_transform(cfg.model))
    loader = DataLoader(images, batch_size=cfg.batch_size, shuffle=True, num_workers=workers,
                        persistent_workers=workers > 0, pin_memory=device.type == "cuda")
    model, opt = new_model_and_optimizer(cfg, device, torch_lrn=True)
    model.train()
    t0, n = time.perf_counter(), 0
    for x, y in loader:
        x = x.to(device, non_blocking=True)
        if device.type == "cuda" and cfg.model != "fcn":
            x = x.contiguous(memory_format=torch.channels_last)
        step(model, opt, x, y.to(device, non_blocking=True), cfg.alpha, precision)
        n += len(y)
    synchronize(device)
    return n / (time.perf_counter() - t0)


def bare(cfg, precision: str, device: torch.device, graph: bool = False, warmup: int = 10) -> float:
    """The engine's step on one resident batch, repeated (see the module docstring); ``graph``: replayed as a
    CUDA graph, as the engine replays it."""
    ds = runs.load_data(cfg)
    task = tasks.of(cfg)
    model, channels_last = train.build_model(cfg, ds, device)
    model.train()
    opt = train.make_optimizer(model, cfg)
    split = data.Split(ds.train.x.to(device), ds.train.y.to(device))
    gen = train.data_generator(cfg)
    idx = next(iter(task.batch_order(split, cfg.batch_size, gen))).to(device)
    x, y = task.batch(split, idx, cfg.augment, True, gen, device)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    sums = (torch.zeros((), device=device), torch.zeros((), device=device))
    one_step = functools.partial(train.train_step, model, opt, cfg, sums=sums, precision=precision, graph_safe=graph,
                                 scaler=train.grad_scaler(precision, device))
    if graph:
        graphed = cudagraph.GraphedStep(one_step, opt, cudagraph.backend(device))
        one = lambda: graphed(x, y, None) or one_step(x, y, None)
    else:
        one = lambda: one_step(x, y, None)
    for _ in range(warmup):  # oneDNN/cuDNN choose their kernels on the first steps; the graph is captured
        one()
    synchronize(device)
    steps = max(20, cfg.n_train // cfg.batch_size)
    t0 = time.perf_counter()
    for _ in range(steps):
        one()
    synchronize(device)
    return steps * cfg.batch_size / (time.perf_counter() - t0)


def concurrent(cfg, n: int, device: torch.device, synthetic_data: bool) -> dict:
    """Aggregate images/s of n configs (seeds 0..n-1, one epoch each): one after another in this process, by n
    local processes, and as one batched model; wall clock, start-up included."""
    cfgs = [cfg.with_(epochs=1, seed=s) for s in range(n)]
    threads = max(1, (os.cpu_count() or 1) // n) if device.type == "cpu" else None
    out = {}
    for name in ("sequential", f"{n} processes", f"batched x{n}"):
        with tempfile.TemporaryDirectory() as store:
            t0 = time.perf_counter()
            if name.endswith("processes"):
                with ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=use_synthetic if synthetic_data else None) as pool:
                    grid.train_many(cfgs, runs_dir=store, device=device, executor=pool, threads=threads,
                                    progress=False)
            else:
                grid.train_many(cfgs, runs_dir=store, device=device, workers=1, progress=False,
                                batched=n if name.startswith("batched") else 0)
            out[name] = n * cfg.n_train / (time.perf_counter() - t0)
    return out


def profile_step(cfg, precision: str, rows: int = 12) -> str:
    """Where one engine step's time goes on a CPU: augmentation, forward, backward, optimiser, by operator."""
    from torch.profiler import ProfilerActivity, profile

    model, opt = new_model_and_optimizer(cfg, torch.device("cpu"))
    ds = runs.load_data(cfg)
    x8, y = ds.train.x[:cfg.batch_size], ds.train.y[:cfg.batch_size]
    g = torch.Generator().manual_seed(0)

    def engine_step():
        step(model, opt, augment.prepare_batch(x8, cfg.augment, True, g), y, cfg.alpha, precision)

    for _ in range(3):
        engine_step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(5):
            engine_step()
    return prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=rows)


def best(results: dict, prefix: str) -> float:
    return max(v for k, v in results.items() if k.startswith(prefix))


def run(model: str, args, device: torch.device) -> dict:
    synthetic_data = args.data == "synthetic" or not on_disk(DATASETS[model])
    use_synthetic(synthetic_data)
    cfg = config_for(model, args.images or (512 if args.small else 55_000 if model == "fcn" else 10_000),
                     DATASETS[model], args.epochs)
    default = train.training_precision(device)
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    what = f"random {cfg.dataset}-shaped" if synthetic_data else cfg.dataset
    print(f"\n== {model}: batch {cfg.batch_size}, {cfg.n_train} {what} training images, augment {cfg.augment!r}, "
          f"torch {torch.__version__}, {where}", flush=True)
    print(ROWS, flush=True)
    results, ratios = {}, {}
    loader_workers = (0, 2) if device.type == "cpu" else (0, 8)
    for p in sorted({"fp32", default}) if args.precisions == "both" else [default]:
        graphs = cudagraph.unavailable(cfg, device, p) is None  # not on a CPU, nor with fp16's scaler
        r = {"bare": bare(cfg, p, device, warmup=3 if args.small else 10)}
        if graphs:
            r["bare_graph"] = bare(cfg, p, device, graph=True)
        r["engine"] = engine(cfg, p, device, graph=graphs)
        if graphs:
            r["engine_eager"] = engine(cfg, p, device, graph=False)
        for w in loader_workers:
            r[f"dataloader_{w}"] = dataloader(cfg, w, p, device)
        for name, ips in r.items():
            print(f"{p:>5} {name:>22}: {ips:9.0f} images/s", flush=True)
        ratios[p] = {"engine_vs_dataloader": r["engine"] / best(r, "dataloader"),
                     "engine_vs_bare": r["engine"] / r["bare"]}
        if graphs:
            ratios[p].update(graph_vs_eager=r["engine"] / r["engine_eager"],
                             engine_vs_bare_graph=r["engine"] / r["bare_graph"])
        results[p] = r
    for p, q in ratios.items():
        tag = " (the engine's default here)" if p == default else ""
        print(f"{model} {p}{tag}: engine / best DataLoader = {q['engine_vs_dataloader']:.2f}x; "
              f"engine / bare loop = {q['engine_vs_bare']:.1%}"
              + (f"; graph / eager engine = {q['graph_vs_eager']:.2f}x; engine / bare graph = "
                 f"{q['engine_vs_bare_graph']:.1%}" if "graph_vs_eager" in q else ""))
    if args.profile and device.type == "cpu":
        print(profile_step(cfg, default))
    out = {"images_per_second": results, "ratios": ratios, "default_precision": default, "device": where,
           "images": cfg.n_train, "data": "random" if synthetic_data else cfg.dataset}
    if args.concurrent > 1:
        agg = concurrent(cfg, args.concurrent, device, synthetic_data)
        for name, ips in agg.items():
            print(f"{'N at once':>5} {name:>22}: {ips:9.0f} images/s together", flush=True)
        seq, top = agg["sequential"], max(agg.values())
        print(f"{model}: {args.concurrent} configs at once -- processes / one after another = "
              f"{agg[f'{args.concurrent} processes'] / seq:.2f}x, batched / one after another = "
              f"{agg[f'batched x{args.concurrent}'] / seq:.2f}x; best / best DataLoader ({default}) = "
              f"{top / best(results[default], 'dataloader'):.2f}x")
        out["concurrent"] = agg
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["fcn", "alexnet", "resnet", "all"], default="all")
    parser.add_argument("--images", type=int, default=None,
                        help="training images per epoch (default: 55,000 for fcn, 10,000 for the conv nets; "
                             "512 with --small)")
    parser.add_argument("--epochs", type=int, default=2, help="engine epochs; the last one is timed (default 2)")
    parser.add_argument("--data", choices=["auto", "synthetic"], default="auto",
                        help="auto: the model's dataset where it is on disk, random images of its shape otherwise")
    parser.add_argument("--precisions", choices=["default", "both"], default=None,
                        help="the engine's precision only, or float32 too (default: both; default with --small)")
    parser.add_argument("--concurrent", type=int, default=None, metavar="N",
                        help="also train N configs at once: N processes and one batched model (default 8 on "
                             "CUDA, 0 on a CPU; 2 with --small)")
    parser.add_argument("--small", action="store_true",
                        help="small sizes for a CPU: 512 images, N=2, the default precision only "
                             "(about 7 minutes on a busy 2-core machine)")
    parser.add_argument("--profile", action="store_true", help="print where one engine step's time goes (CPU)")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when there is one)")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("throughput.json"))
    args = parser.parse_args()
    device = torch.device(args.device) if args.device else runs.default_device()
    args.precisions = args.precisions or ("default" if args.small else "both")
    if args.concurrent is None:
        args.concurrent = 2 if args.small else 8 if device.type == "cuda" else 0
    out = {"command": " ".join(sys.argv), "torch": torch.__version__}
    for model in (["fcn", "alexnet", "resnet"] if args.model == "all" else [args.model]):
        out[model] = run(model, args, device)
        args.out.write_text(json.dumps(out, indent=1) + "\n")  # after each model: a killed run keeps what it had
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
