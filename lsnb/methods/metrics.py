"""Metrics: pure functions of logits and labels."""
from __future__ import annotations

import math
from dataclasses import dataclass

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


@dataclass(frozen=True)
class SeedComparison:
    """A number measured on several seeds without (``hard``) and with label smoothing (``ls``).

    :attr:`comparison` is ``mean(ls) - mean(hard)`` with its Welch t-interval
    (:func:`lsnb.methods.stats.compare`, the book's one verdict rule).
    """

    hard: tuple
    ls: tuple

    def __post_init__(self):
        object.__setattr__(self, "hard", tuple(float(v) for v in self.hard))
        object.__setattr__(self, "ls", tuple(float(v) for v in self.ls))

    @property
    def comparison(self):
        from .stats import compare
        return compare(self.ls, self.hard)


# ----------------------------------------------------------------------------- calibration (sec. 3)

def confidences(logits: torch.Tensor, temperature: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-1 confidence ``max_k softmax(logits / T)_k`` and the predicted class."""
    probs = F.softmax(logits.double() / temperature, dim=-1)
    conf, pred = probs.max(-1)
    return conf, pred


def _bin_index(conf: torch.Tensor, n_bins: int) -> torch.Tensor:
    """Equal-width bins ``((m-1)/M, m/M]``, m = 1..M: a confidence of exactly 1.0 is in the last bin,
    one exactly on an inner edge in the bin below it (Guo et al. 2017)."""
    edges = torch.linspace(0, 1, n_bins + 1, dtype=torch.float64)
    return torch.bucketize(conf.double().contiguous(), edges[1:-1], right=False)


def reliability(logits: torch.Tensor, labels: torch.Tensor, n_bins: int = 15, temperature: float = 1.0) -> dict:
    """Reliability-diagram data: per equal-width bin, its edges, mean confidence, accuracy and count.

    Empty bins have count 0 and NaN confidence/accuracy.
    """
    conf, pred = confidences(logits, temperature)
    correct = (pred == labels).double()
    idx = _bin_index(conf, n_bins)
    count = torch.bincount(idx, minlength=n_bins).double()
    conf_sum = torch.bincount(idx, weights=conf, minlength=n_bins)
    acc_sum = torch.bincount(idx, weights=correct, minlength=n_bins)
    edges = torch.linspace(0, 1, n_bins + 1, dtype=torch.float64)
    return {"lower": edges[:-1], "upper": edges[1:], "confidence": conf_sum / count,
            "accuracy": acc_sum / count, "count": count}


def ece(logits: torch.Tensor, labels: torch.Tensor, n_bins: int = 15, temperature: float = 1.0) -> float:
    """Expected calibration error with ``n_bins`` equal-width confidence bins (Guo et al. 2017; the paper's sec. 3):

        ECE = sum_m |B_m| / n * |acc(B_m) - conf(B_m)|

    over the bins ``B_m = ((m-1)/M, m/M]`` of top-1 confidence; empty bins contribute nothing.
    """
    r = reliability(logits, labels, n_bins, temperature)
    gap = (r["accuracy"] - r["confidence"]).abs().nan_to_num(0.0)
    return (r["count"] / len(labels) * gap).sum().item()


def adaptive_ece(logits: torch.Tensor, labels: torch.Tensor, n_bins: int = 15, temperature: float = 1.0) -> float:
    """ECE with equal-mass bins (Nixon et al. 2019): sort by confidence and cut into ``n_bins`` bins
    of (nearly) equal size, so that no bin is nearly empty and none holds most of the data."""
    conf, pred = confidences(logits, temperature)
    order = conf.argsort()
    correct = (pred == labels).double()[order]
    conf = conf[order]
    total = 0.0
    for c, a in zip(torch.tensor_split(conf, n_bins), torch.tensor_split(correct, n_bins)):
        if len(c):
            total += len(c) / len(labels) * abs(a.mean().item() - c.mean().item())
    return total


def classwise_ece(logits: torch.Tensor, labels: torch.Tensor, n_bins: int = 15, temperature: float = 1.0) -> float:
    """Class-wise (static) calibration error (Nixon et al. 2019): for every class k, bin the predicted
    probability p_k of all examples into equal-width bins, compare its mean with the frequency of
    label k in the bin, and average the K per-class errors."""
    probs = F.softmax(logits.double() / temperature, dim=-1)
    n, k = probs.shape
    total = 0.0
    for c in range(k):
        p = probs[:, c]
        hit = (labels == c).double()
        idx = _bin_index(p, n_bins)
        gap = (torch.bincount(idx, weights=hit, minlength=n_bins) - torch.bincount(idx, weights=p, minlength=n_bins))
        total += (gap.abs() / n).sum().item()
    return total / k
