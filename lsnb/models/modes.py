"""How a network is switched into evaluation: eval mode and no gradients for a block, its mode restored
after (the evaluation loop, decoding and Figure 6's measurements all use it)."""
from __future__ import annotations

import contextlib

import torch
from torch import nn


@contextlib.contextmanager
def evaluating(model: nn.Module):
    """Eval mode and no gradients inside the block; the model's mode is restored after it."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield model
    finally:
        model.train(was_training)
