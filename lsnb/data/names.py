"""The datasets lsnb knows by name, and the check that a config's or a chapter's dataset is one of them."""
from __future__ import annotations

DATASETS = ("fashion_mnist", "mnist", "cifar10", "cifar100")
# English->German translation corpora (lsnb.data.text): offline FreeDict + gettext catalogs, and Multi30k by download.
TEXT_DATASETS = ("en_de", "multi30k")


def is_image_dataset(dataset) -> bool:
    """A torchvision image dataset name, or ``imagefolder:PATH`` for a class-per-folder copy."""
    return isinstance(dataset, str) and (dataset in DATASETS or (dataset.startswith("imagefolder:") and len(dataset) > 12))


def check_dataset(dataset, task: str | None = None) -> str:
    """An image dataset (``task="image"``), a translation corpus (``task="translation"``), or either (None)."""
    image_ok = task in (None, "image") and is_image_dataset(dataset)
    text_ok = task in (None, "translation") and dataset in TEXT_DATASETS
    if image_ok or text_ok:
        return dataset
    images = f"one of {', '.join(DATASETS)} or 'imagefolder:PATH'"
    if task == "image" and dataset in TEXT_DATASETS:
        raise ValueError(f"dataset={dataset!r} is a translation corpus (chapter 3b, model 'transformer'), "
                         f"but this classifies images: use {images}")
    if task == "translation" and is_image_dataset(dataset):
        raise ValueError(f"dataset={dataset!r} is an image dataset, but the Transformer translates: "
                         f"use one of {', '.join(TEXT_DATASETS)}")
    known = {"image": images, "translation": f"one of {', '.join(TEXT_DATASETS)}"}.get(
        task, f"one of {', '.join(DATASETS + TEXT_DATASETS)} or 'imagefolder:PATH'")
    raise ValueError(f"dataset={dataset!r} is unknown: use {known}")
