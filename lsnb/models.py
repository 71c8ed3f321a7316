"""The paper's networks, built from a :class:`~lsnb.profiles.TrainConfig`.

Each model exposes ``features(x)`` (the penultimate activations the paper projects in
sec. 2) and ``head`` (the last linear layer, whose rows are the class templates w_k),
and ``decays(name)``, which says which parameters take weight decay.
"""
from __future__ import annotations

import torch
from torch import nn


class FCN(nn.Module):
    """Fully connected net of Hinton et al. (2015): ``in -> hidden[0] -> ... -> classes``.

    ReLU hidden layers with dropout after each (the 784-1200-1200-10 teacher uses
    0.5; the 784-800-800-10 student none). Inputs of any shape are flattened.
    """

    def __init__(self, in_shape: tuple, num_classes: int, hidden=(1200, 1200), dropout: float = 0.0):
        super().__init__()
        layers, width = [nn.Flatten()], int(torch.tensor(in_shape).prod())
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU(inplace=True)]
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = h
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(width, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))

    @staticmethod
    def decays(name: str) -> bool:
        return name.endswith("weight")


def input_shape(dataset_shape: tuple, augment: str) -> tuple:
    """The shape the model sees after :func:`lsnb.data.prepare_batch` (AlexNet crops to 24 x 24)."""
    c, h, w = dataset_shape
    return (c, 24, 24) if augment == "alexnet" else (c, h, w)


def build(config, in_shape: tuple, num_classes: int) -> nn.Module:
    """The model named by ``config.model`` with ``config.model_kwargs``."""
    shape = input_shape(in_shape, config.augment)
    if config.model == "fcn":
        return FCN(shape, num_classes, **config.model_kwargs)
    raise ValueError(f"model={config.model!r} is unknown")
