"""Label smoothing (Müller et al. 2019, sec. 1, eq. (1)) and its cross-entropy.

The paper's form mixes the one-hot target with the uniform distribution over all
K classes::

    y_k^LS = y_k (1 - alpha) + alpha / K

so the correct class gets ``1 - alpha + alpha/K`` and each wrong class ``alpha/K``.
PyTorch's ``cross_entropy(label_smoothing=alpha)`` uses the same form. Some code
spreads alpha over the K - 1 wrong classes only (correct class ``1 - alpha``); that
is :func:`smooth_targets_wrong_classes`, kept here to show that the two differ.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

# The label of positions that count nowhere: translation padding (PyTorch's ``ignore_index`` default).
IGNORE_INDEX = -100


def smooth_targets(labels: torch.Tensor, num_classes: int, alpha: float) -> torch.Tensor:
    """Eq. (1): ``y^LS = (1 - alpha) * onehot(labels) + alpha / K``."""
    onehot = F.one_hot(labels, num_classes).float()
    return onehot * (1 - alpha) + alpha / num_classes


def smooth_targets_wrong_classes(labels: torch.Tensor, num_classes: int, alpha: float) -> torch.Tensor:
    """The other convention: ``1 - alpha`` on the correct class, ``alpha / (K - 1)`` on each wrong one.

    It equals :func:`smooth_targets` with ``alpha * K / (K - 1)`` in place of ``alpha``.
    """
    onehot = F.one_hot(labels, num_classes).float()
    return onehot * (1 - alpha) + (1 - onehot) * alpha / (num_classes - 1)


def soft_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """``H(targets, softmax(logits))`` per example, for any target distribution (rows sum to 1)."""
    return -(targets * F.log_softmax(logits.float(), dim=-1)).sum(-1)


def label_smoothing_loss(logits: torch.Tensor, labels: torch.Tensor, alpha: float,
                         ignore_index: int | None = None) -> torch.Tensor:
    """Mean ``H(y^LS, p)`` over the examples (eq. (1)); ``alpha = 0`` is the usual cross-entropy.

    Written as ``(1 - alpha) * NLL + alpha * mean_k(-log p_k)``, which is the same
    number as the sum over ``y^LS`` without building the K-wide target tensor (that
    matters for a translation vocabulary). Positions whose label is ``ignore_index``
    (padding) are left out of the mean.
    """
    logp = F.log_softmax(logits.float(), dim=-1)
    if ignore_index is not None:
        keep = labels != ignore_index
        logp, labels = logp[keep], labels[keep]
    nll = -logp.gather(-1, labels[:, None]).squeeze(-1)
    uniform = -logp.mean(-1)
    return ((1 - alpha) * nll + alpha * uniform).mean()
