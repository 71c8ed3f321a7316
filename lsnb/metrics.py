"""Metrics: pure functions of logits and labels."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Top-1 accuracy: the fraction of examples whose largest logit is the label."""
    return (logits.argmax(-1) == labels).float().mean().item()


def nll(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Mean negative log-likelihood of the labels under ``softmax(logits)`` (nats)."""
    return F.cross_entropy(logits.float(), labels).item()


def mean_and_spread(values) -> tuple[float, float]:
    """Mean and sample standard deviation (n - 1) of a list; the spread is 0 for one value."""
    values = [float(v) for v in values]
    if not values:
        raise ValueError("mean_and_spread needs at least one value")
    mean = sum(values) / len(values)
    if len(values) == 1:
        return mean, 0.0
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
