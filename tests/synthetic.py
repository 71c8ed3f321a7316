"""Tiny data and configs that the tests (and the processes they start) train on in seconds."""
import torch

from lsnb.engine import config
from lsnb.data import images as data


def synthetic_dataset():
    """96 tiny 8x8 images of 4 classes with a learnable signal (a bright pixel on the diagonal)."""
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 4, (96,), generator=g)
    x = (torch.rand(96, 1, 8, 8, generator=g) * 60).to(torch.uint8)
    x[torch.arange(96), 0, y, y] = 255
    split = lambda idx: data.Split(x[idx], y[idx])
    return data.Dataset("synthetic", split(slice(0, 64)), split(slice(64, 80)), split(slice(80, 96)),
                        ("a", "b", "c", "d"))


def tiny_config() -> config.TrainConfig:
    """A 3-epoch FCN config for :func:`synthetic_dataset` (seconds on any CPU)."""
    return config.TrainConfig(model="fcn", dataset="fashion_mnist", alpha=0.1, seed=3, epochs=3, batch_size=16,
                                lr=0.05, nesterov=True, schedule="linear", augment="shift2", n_val=16,
                                model_args=(("hidden", (32, 32)), ("dropout", 0.5)))
