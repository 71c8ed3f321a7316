"""Batched augmentation on the training device: shifts, crops, flips, brightness and contrast, and the
per-image standardisation, on whole uint8 batches at once (:func:`prepare_batch`)."""
from __future__ import annotations

import torch


def random_crop(x: torch.Tensor, size: int, pad: int, generator: torch.Generator) -> torch.Tensor:
    """Pad by ``pad`` (zeros) and cut a random ``size`` x ``size`` window out of every image.

    With ``size`` equal to the image size this is a random shift by up to ``pad`` pixels
    (Hinton et al. 2015 use +/-2 px); with ``pad=4`` it is the ResNet pad-and-crop.
    One gather for the whole batch, no Python loop over images.
    """
    n, _, h, w = x.shape
    if pad:
        x = torch.nn.functional.pad(x, (pad, pad, pad, pad))
    oy = torch.randint(0, h + 2 * pad - size + 1, (n,), generator=generator).to(x.device)
    ox = torch.randint(0, w + 2 * pad - size + 1, (n,), generator=generator).to(x.device)
    ar = torch.arange(size, device=x.device)
    rows = (oy[:, None] + ar)[:, :, None]            # (n, size, 1)
    cols = (ox[:, None] + ar)[:, None, :]            # (n, 1, size)
    idx = torch.arange(n, device=x.device)[:, None, None]
    return x.permute(0, 2, 3, 1)[idx, rows, cols].permute(0, 3, 1, 2)


def center_crop(x: torch.Tensor, size: int) -> torch.Tensor:
    h, w = x.shape[-2:]
    top, left = (h - size) // 2, (w - size) // 2
    return x[..., top:top + size, left:left + size]


def random_flip(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Mirror a random half of the images left-right."""
    flip = (torch.rand(len(x), generator=generator) < 0.5).to(x.device)
    return torch.where(flip[:, None, None, None], x.flip(-1), x)


def per_image_standardize(x: torch.Tensor) -> torch.Tensor:
    """TF's ``per_image_standardization``: (x - mean) / max(std, 1/sqrt(num_pixels))."""
    flat = x.flatten(1)
    mean = flat.mean(1)
    std = flat.std(1, unbiased=False).clamp_min(flat.shape[1] ** -0.5)
    return (x - mean[:, None, None, None]) / std[:, None, None, None]


def random_brightness_contrast(x: torch.Tensor, generator: torch.Generator,
                              max_delta: float = 63.0, contrast=(0.2, 1.8)) -> torch.Tensor:
    """The TF cifar10 tutorial's ``random_brightness(63)`` and ``random_contrast(0.2, 1.8)`` on 0..255 floats."""
    n = len(x)
    delta = ((torch.rand(n, generator=generator) * 2 - 1) * max_delta).to(x.device)
    factor = (torch.rand(n, generator=generator) * (contrast[1] - contrast[0]) + contrast[0]).to(x.device)
    x = x + delta[:, None, None, None]
    mean = x.mean(dim=(2, 3), keepdim=True)
    return (x - mean) * factor[:, None, None, None] + mean


def prepare_batch(x: torch.Tensor, augment: str, train: bool, generator: torch.Generator | None) -> torch.Tensor:
    """uint8 batch -> float model input, augmented when ``train`` is True.

    * ``none``   -- scale to [0, 1];
    * ``shift2`` -- random shifts of up to 2 px, [0, 1] (Hinton et al. 2015, MNIST);
    * ``cifar``  -- pad 4 + random 32 crop + flip, per-image standardisation (ResNet, TF official);
    * ``alexnet`` -- random 24 crop, flip, brightness, contrast, per-image standardisation;
      centre 24 crop at test time (TF cifar10 tutorial).
    """
    if augment == "none":
        return x.float().div_(255)
    if augment == "shift2":
        if train:
            x = random_crop(x, x.shape[-1], 2, generator)
        return x.float().div_(255)
    if augment == "cifar":
        if train:
            x = random_flip(random_crop(x, x.shape[-1], 4, generator), generator)
        return per_image_standardize(x.float())
    if augment == "alexnet":
        if train:
            x = random_brightness_contrast(random_flip(random_crop(x, 24, 0, generator), generator).float(),
                                           generator)
        else:
            x = center_crop(x, 24).float()
        return per_image_standardize(x)
    raise ValueError(f"augment={augment!r} is unknown: use none, shift2, cifar or alexnet")


def test_view(x: torch.Tensor, augment: str) -> torch.Tensor:
    """The model input :func:`prepare_batch` makes at test time (``train=False``), from images scaled to [0, 1]
    and differentiable in them: an attack (:mod:`lsnb.methods.attacks`) perturbs the pixels, the network sees
    them as it does at test time."""
    if augment in ("none", "shift2"):
        return x
    if augment == "cifar":
        return per_image_standardize(x * 255)
    if augment == "alexnet":
        return per_image_standardize(center_crop(x, 24) * 255)
    raise ValueError(f"augment={augment!r} is unknown: use none, shift2, cifar or alexnet")


def input_shape(dataset_shape: tuple, augment: str) -> tuple:
    """The shape a model sees after :func:`prepare_batch` (AlexNet's augmentation crops to 24 x 24)."""
    c, h, w = dataset_shape
    return (c, 24, 24) if augment == "alexnet" else (c, h, w)

