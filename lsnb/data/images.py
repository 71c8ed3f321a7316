"""Datasets as in-memory uint8 tensors, and their mini-batches.

Every dataset of the book fits in memory (Fashion-MNIST is 47 MB, CIFAR-10 180 MB
as uint8), so we load it once into tensors and do augmentation on whole batches on
the device that trains, instead of per sample in Python worker processes.
"""
from __future__ import annotations

import gzip
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import torch

from .augment import prepare_batch
from .names import check_dataset

DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                       "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def idx_problem(path: Path) -> str | None:
    """What is wrong with an IDX file of unsigned bytes (the MNIST format), or None: its header -- two zero
    bytes, the type 0x08, the number of dimensions, then each dimension as a big-endian int32 -- must
    announce exactly the bytes that follow."""
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(4)
        if len(head) < 4 or head[:3] != b"\x00\x00\x08" or not 1 <= head[3] <= 4:
            return f"it does not start like an IDX file of bytes ({size:,} bytes)"
        dims = f.read(4 * head[3])
    if len(dims) < 4 * head[3]:
        return f"its header is cut short ({size:,} bytes)"
    n = 1
    for i in range(head[3]):
        n *= int.from_bytes(dims[4 * i:4 * i + 4], "big")
    expected = 4 + 4 * head[3] + n
    return None if size == expected else f"its header announces {expected:,} bytes, it holds {size:,}"


class DataUnavailable(RuntimeError):
    """The dataset is neither on disk nor downloadable; the message says how to get it."""


@dataclass(frozen=True)
class Split:
    """Images as uint8 ``(N, C, H, W)`` and integer labels ``(N,)``."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self):
        return len(self.y)

    def take(self, idx) -> "Split":
        return Split(self.x[idx], self.y[idx])


@dataclass(frozen=True)
class Dataset:
    name: str
    train: Split
    val: Split | None
    test: Split
    classes: tuple
    digest: str | None = None  # a checksum of the source files where they can differ between machines (lsnb.data.text)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def shape(self) -> tuple:
        return tuple(self.train.x.shape[1:])


def default_root() -> Path:
    """Where datasets live: ``$LSNB_DATA`` or ``~/.cache/lsnb/data``."""
    return Path(os.environ.get("LSNB_DATA", Path.home() / ".cache" / "lsnb" / "data"))


def prepare_fashion_mnist(root: Path, debian_dir: Path | None = None) -> bool:
    """Gunzip the Debian package's IDX files into ``root/FashionMNIST/raw`` (atomically).

    Returns True when the raw files are in place afterwards. A raw file of the wrong size (a copy
    cut short, say) is copied again from the package; without the package it is an error that
    names the file and says to delete it.
    """
    debian_dir = Path(debian_dir) if debian_dir is not None else DEBIAN_FASHION_MNIST
    raw = Path(root) / "FashionMNIST" / "raw"
    problems = {raw / f: idx_problem(raw / f) for f in FASHION_MNIST_FILES if (raw / f).exists()}
    damaged = [path for path, problem in problems.items() if problem]
    if not damaged and len(problems) == len(FASHION_MNIST_FILES):
        return True
    if not all((debian_dir / f"{f}.gz").exists() for f in FASHION_MNIST_FILES):
        if damaged:
            bad = damaged[0]
            raise DataUnavailable(f"{bad} is unreadable: {problems[bad]}. Delete it and run again (torchvision "
                                  "downloads it where there is network; offline, install the Debian package "
                                  "dataset-fashion-mnist, whose copy lsnb then takes)")
        return False
    raw.mkdir(parents=True, exist_ok=True)
    for f in FASHION_MNIST_FILES:
        if (raw / f).exists() and raw / f not in damaged:
            continue
        tmp = raw / f".{f}.tmp"
        with gzip.open(debian_dir / f"{f}.gz", "rb") as src, open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst)
        os.replace(tmp, raw / f)
    return True


def _torchvision(name: str, root: Path, train: bool):
    import torchvision.datasets as tvd

    cls = {"fashion_mnist": tvd.FashionMNIST, "mnist": tvd.MNIST,
           "cifar10": tvd.CIFAR10, "cifar100": tvd.CIFAR100}[name]
    try:
        return cls(str(root), train=train, download=False)
    except RuntimeError:
        pass
    try:
        return cls(str(root), train=train, download=True)
    except Exception as exc:  # no network, or a broken mirror
        remedy = ""
        if name == "fashion_mnist":
            remedy = (f" Offline: install the Debian package (sudo apt-get install dataset-fashion-mnist) "
                      f"so that {DEBIAN_FASHION_MNIST} holds the IDX files.")
        raise DataUnavailable(
            f"dataset {name!r} is not in {root} and could not be downloaded ({type(exc).__name__}: {exc})."
            f" With network, torchvision downloads it there.{remedy}") from None


def _as_split(ds) -> Split:
    data = ds.data
    x = torch.as_tensor(data) if not isinstance(data, torch.Tensor) else data
    if x.ndim == 3:
        x = x.unsqueeze(1)          # (N, H, W) -> (N, 1, H, W)
    else:
        x = x.permute(0, 3, 1, 2)   # CIFAR (N, H, W, C) -> (N, C, H, W)
    return Split(x.contiguous().to(torch.uint8), torch.as_tensor(ds.targets, dtype=torch.long))


def _image_files(path: Path, classes: tuple) -> dict:
    """``{part: [(class index, file)]}`` of an imagefolder copy, sorted, for ``train`` and ``test``."""
    return {part: [(label, f) for label, c in enumerate(classes) for f in sorted((path / part / c).iterdir())
                   if f.is_file()]
            for part in ("train", "test")}


def _listing_key(files: dict) -> str:
    """What a decoded cache was made from: every file's path, size and modification time, hashed. A changed,
    added, removed or renamed image or class gives another key, so a stale cache is never read."""
    import hashlib
    h = hashlib.sha256()
    for part, entries in files.items():
        for label, f in entries:
            st = f.stat()
            h.update(f"{part}/{label}/{f.parent.name}/{f.name}/{st.st_size}/{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def _decode(entries: list) -> tuple:
    """The images of ``entries`` as one uint8 ``(N, 3, H, W)`` tensor and their labels; an unreadable file or
    one of another size than the first is named."""
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    xs, ys = [], []
    for label, f in entries:
        try:
            with Image.open(f) as im:
                x = np.asarray(im.convert("RGB"))
        except (UnidentifiedImageError, OSError) as exc:
            raise DataUnavailable(f"{f} is not a readable image ({type(exc).__name__}): remove it from the "
                                  "imagefolder copy, or replace it") from None
        if xs and x.shape != xs[0].shape:
            raise DataUnavailable(f"{f} is {x.shape[1]} x {x.shape[0]} pixels, but {entries[0][1]} is "
                                  f"{xs[0].shape[1]} x {xs[0].shape[0]}: every image of an imagefolder copy must "
                                  "have the same size (resize them first)")
        xs.append(x)
        ys.append(label)
    return torch.from_numpy(np.stack(xs)).permute(0, 3, 1, 2).contiguous(), torch.tensor(ys)


def _imagefolder(path: Path) -> tuple[Split, Split, tuple]:
    """``path/train/<class>/*`` and ``path/test/<class>/*``; class folders sorted give the labels.

    Both parts must have the same classes. The decoded images are cached in ``path`` under a name
    that says what they were decoded from (:func:`_listing_key`); a cache that cannot be read is
    decoded again.
    """
    path = Path(path)
    if not (path / "train").is_dir() or not (path / "test").is_dir():
        raise DataUnavailable(f"imagefolder:{path} needs sub-folders train/<class>/ and test/<class>/")
    classes = tuple(sorted(d.name for d in (path / "train").iterdir() if d.is_dir()))
    test_classes = tuple(sorted(d.name for d in (path / "test").iterdir() if d.is_dir()))
    if classes != test_classes:
        only_train, only_test = sorted(set(classes) - set(test_classes)), sorted(set(test_classes) - set(classes))
        raise DataUnavailable(f"imagefolder:{path}: train/ and test/ must have the same class folders; "
                              + "; ".join(part for part in (
                                  f"only in train/: {', '.join(only_train)}" if only_train else "",
                                  f"only in test/: {', '.join(only_test)}" if only_test else "") if part))
    files = _image_files(path, classes)
    for part, entries in files.items():
        if not entries:
            raise DataUnavailable(f"imagefolder:{path}/{part} holds no images")
    cache = path / f".lsnb-cache-{_listing_key(files)}.pt"
    if cache.exists():
        try:
            blob = torch.load(cache, weights_only=True)  # tensors and plain containers only
            return Split(*blob["train"]), Split(*blob["test"]), tuple(blob["classes"])
        except Exception:  # a cut-short or foreign cache: it is only a cache, decode again
            pass
    out = {part: _decode(entries) for part, entries in files.items()}
    try:
        tmp = path / f".{cache.name}.tmp"
        torch.save({**out, "classes": list(classes)}, tmp)
        os.replace(tmp, cache)
        for old in path.glob(".lsnb-cache-*.pt"):  # caches of what the folder held before
            if old != cache:
                old.unlink()
    except OSError:
        pass  # read-only copy: decode again next time
    return Split(*out["train"]), Split(*out["test"]), classes


def load(dataset: str, *, root: Path | None = None, n_val: int = 0, n_train: int | None = None,
         n_test: int | None = None, split_seed: int = 0, classes: tuple = ()) -> Dataset:
    """Load a dataset as uint8 tensors, holding out ``n_val`` training images for validation.

    The validation images are a fixed random subset of the training set (the paper
    tunes on a held-out part of the training data, never on the test set); the same
    ``split_seed`` gives the same split for every model and alpha, so results compare.
    ``n_train`` / ``n_test`` take the first examples of the (shuffled) remainder and of
    the test set, for the small profiles. ``classes`` (indices; empty: all) keeps the images of
    those classes only, relabelled 0..k-1 in that order, and takes ``n_train`` / ``n_test`` among
    them; the validation split is cut first, so it is the same images' subset whatever the classes.
    """
    check_dataset(dataset, "image")
    root = Path(root) if root is not None else default_root()
    if dataset.startswith("imagefolder:"):
        train, test, names = _imagefolder(Path(dataset.split(":", 1)[1]).expanduser())
    else:
        if dataset == "fashion_mnist":
            prepare_fashion_mnist(root)
        tr, te = _torchvision(dataset, root, True), _torchvision(dataset, root, False)
        train, test, names = _as_split(tr), _as_split(te), tuple(tr.classes)
    if n_val >= len(train):
        raise ValueError(f"n_val={n_val} leaves no training data: {dataset} has {len(train)} training images")
    perm = torch.randperm(len(train), generator=torch.Generator().manual_seed(split_seed))
    val = train.take(perm[:n_val]) if n_val else None
    rest = perm[n_val:]
    if classes:
        if max(classes) >= len(names):
            raise ValueError(f"classes={classes!r}: {dataset} has {len(names)} classes, indices 0..{len(names) - 1}")
        rest = rest[torch.isin(train.y[rest], torch.tensor(classes))]
    train = train.take(rest[:n_train] if n_train else rest)
    if classes:
        train, test = _only(train, classes), _only(test, classes)
        val = _only(val, classes) if val is not None else None
        names = tuple(names[c] for c in classes)
    if n_test:
        test = test.take(torch.arange(min(n_test, len(test))))
    return Dataset(dataset, train, val, test, names)


def _only(split: Split, classes: tuple) -> Split:
    """The images of ``classes`` in ``split``, in their order, labelled by their position in ``classes``."""
    keep = torch.isin(split.y, torch.tensor(classes))
    relabel = torch.full((max(int(split.y.max()), max(classes)) + 1,), -1, dtype=split.y.dtype)
    relabel[torch.tensor(classes)] = torch.arange(len(classes), dtype=split.y.dtype)
    return Split(split.x[keep], relabel[split.y[keep]])


def batch_order(split: Split, batch_size: int, generator: torch.Generator) -> list:
    """One epoch's mini-batches of images as index tensors: a random permutation cut into batches."""
    return list(torch.randperm(len(split), generator=generator).split(batch_size))


def batch(split: Split, idx, augment: str, train: bool, generator: torch.Generator | None, device=None) -> tuple:
    """Model input (:func:`lsnb.data.augment.prepare_batch`) and labels for the images ``idx`` of ``split``, on ``device``."""
    x, y = split.x[idx], split.y[idx]
    if device is not None:
        x, y = x.to(device), y.to(device)
    return prepare_batch(x, augment, train, generator), y


def describe(name: str) -> str:
    """Make an image dataset available offline (or say how) and say what it holds."""
    ds = load(name)
    return (f"{name}: {len(ds.train)} training and {len(ds.test)} test images of shape {ds.shape} "
            f"in {default_root()}")


def cli(argv, default: str, describe_one) -> int:
    """``python -m lsnb.data.images NAME ...`` and ``python -m lsnb.data.text NAME ...``: print ``describe_one(name)``
    for each name (default ``default``); a missing dataset prints what to do and exits 1."""
    try:
        for name in argv or [default]:
            print(describe_one(name))
    except (DataUnavailable, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # the translation corpora have their own: python -m lsnb.data.text en_de
    raise SystemExit(cli(sys.argv[1:], "fashion_mnist", describe))
