"""Knowledge distillation (Hinton et al. 2015) and the smoothness index of Müller et al. (2019), sec. 4.

The student minimises

    (1 - beta) * H(y, p)  +  beta * H(p^t(T), p(T))

where ``p(T) = softmax(z / T)`` for the student's logits ``z`` and ``p^t(T)`` likewise for
the teacher's: the temperature divides **both** sides (the 2023 replication applied it to
one side only). The paper's experiments use ``beta = 1``. Hinton et al. multiply the soft
term by ``T^2`` so that its gradients keep their size as ``T`` grows; with ``beta = 1`` that
only rescales the learning rate, and it is off unless a config asks for it
(``distill_t2=True``). ``H(p^t, p)`` is a cross-entropy, not a KL divergence: the two differ
by the teacher's entropy, a constant for the student, so the gradients are the same.

Where the teacher's targets come from is :mod:`lsnb.engine.teachers`; chapter 4's summaries are
:mod:`lsnb.chapters.distillation_tables`.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .losses import label_smoothing_loss, soft_cross_entropy


def soft_targets(teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """``p^t(T) = softmax(z^t / T)``, in float32."""
    return F.softmax(teacher_logits.float() / temperature, dim=-1)


def distillation_loss(logits: torch.Tensor, labels: torch.Tensor, teacher_logits: torch.Tensor, *,
                      temperature: float, beta: float = 1.0, t2: bool = False, alpha: float = 0.0) -> torch.Tensor:
    """Mean ``(1 - beta) H(y^LS, p) + beta [T^2] H(p^t(T), p(T))`` over the batch (sec. 4).

    ``alpha`` smooths the hard term's labels (eq. (1)); with ``beta = 1`` it has no effect.
    """
    soft = soft_cross_entropy(logits.float() / temperature, soft_targets(teacher_logits, temperature)).mean()
    if t2:
        soft = soft * temperature ** 2
    if beta == 1:
        return soft
    return (1 - beta) * label_smoothing_loss(logits, labels, alpha) + beta * soft


def smoothness_index(teacher_logits: torch.Tensor, labels: torch.Tensor, temperature: float = 1.0) -> float:
    """The paper's gamma: ``E[ sum_k (1 - y_k) p^t_k(T) ] * K / (K - 1)`` over a set of examples (sec. 4).

    The probability the teacher puts on the wrong classes, rescaled so that label
    smoothing's targets have ``gamma = alpha``: eq. (1) puts ``alpha (K - 1) / K`` on them.
    """
    k = teacher_logits.shape[-1]
    p = soft_targets(teacher_logits, temperature)
    wrong = 1 - p.gather(-1, labels[:, None]).squeeze(-1)
    return float(wrong.double().mean() * k / (k - 1))
