"""Temperature scaling (Guo et al. 2017; the paper's sec. 3): divide the logits by T > 0.

T is fitted on a held-out validation split, never on the test set, by minimising the
negative log-likelihood over log T (so T stays positive). The ECE-minimising T on a grid
of the same split is reported beside it, as the paper's Table 3 quotes temperatures
tuned for calibration.
"""
from __future__ import annotations

import math
import torch
import torch.nn.functional as F

from . import metrics
from .metrics import ece


def nll_at(logits: torch.Tensor, labels: torch.Tensor, temperature: float) -> float:
    """Mean NLL (nats) of the labels under ``softmax(logits / T)``, in float64."""
    return F.cross_entropy(logits.double() / temperature, labels).item()


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor, max_iter: int = 100) -> float:
    """The T that minimises NLL(softmax(logits / T)) on (validation) logits, by L-BFGS on log T."""
    logits = logits.detach().double()
    log_t = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([log_t], lr=0.5, max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(logits / log_t.exp(), labels)
        loss.backward()
        return loss

    opt.step(closure)
    return math.exp(log_t.item())


def ece_grid_temperature(logits: torch.Tensor, labels: torch.Tensor, grid=None, n_bins: int = 15) -> float:
    """The T on a grid (default: 201 values from 0.1 to 10, log-spaced) with the smallest ECE on the split."""
    grid = torch.logspace(-1, 1, 201, dtype=torch.float64).tolist() if grid is None else list(grid)
    return min(grid, key=lambda t: ece(logits, labels, n_bins, t))


def calibration_summary(logits: torch.Tensor, labels: torch.Tensor, n_bins: int = 15,
                        temperature: float = 1.0) -> dict:
    """Every calibration number of sec. 3 for ``softmax(logits / T)``: top-1 ``accuracy`` (%, the
    same at every T), ``ece`` (eq. (ECE), ``n_bins`` equal-width bins), ``adaptive_ece``,
    ``classwise_ece`` and ``nll`` (nats)."""
    return {"accuracy": 100 * metrics.accuracy(logits, labels),
            "ece": metrics.ece(logits, labels, n_bins, temperature),
            "adaptive_ece": metrics.adaptive_ece(logits, labels, n_bins, temperature),
            "classwise_ece": metrics.classwise_ece(logits, labels, n_bins, temperature),
            "nll": nll_at(logits, labels, temperature)}
