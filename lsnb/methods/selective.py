"""Selective classification and failure prediction: how well a confidence score ranks a classifier's
right answers above its wrong ones (chapter 5).

* :func:`risk_coverage` and :func:`aurc`: accept the test examples from the most to the least
  confident; the risk is the error rate among those accepted, the coverage their fraction
  (Geifman & El-Yaniv 2017). The area under the curve is the trapezoid over coverage i/N,
  i = 0..N, from the point (0, 0), as Xia et al. (2025) compute it; lower is better.
* :func:`msp_score` is (the log of) the maximum softmax probability, :func:`pnorm_score` the logit
  normalisation Xia et al. (2025, sec. 5) apply to label-smoothed networks: MaxLogit-pNorm of
  Cattelan & Silva (2024), ``max_k (z_k - mean z) / ||z - mean z||_p``, its ``p`` chosen on
  validation AURC (:func:`choose_p`).
* :func:`auroc` and :func:`fpr_at_95_tpr`: the failure-prediction numbers of Zhu et al. (2022),
  with a correct prediction as the positive class.

Scores are computed in float64 from the logits. A memorised network puts many examples at a
softmax probability that rounds to 1 even in float64; the log of the MSP, computed with ``log1p``,
keeps them apart. Where scores still tie, the risk-coverage curve and the AURC take the mean over
the tied examples' orders (a tie group is accepted at its group's error rate) and the AUROC counts a
tie one half, so no result depends on the order the examples are stored in; FPR95 accepts every
example tied at its threshold, as a ROC curve's points do.
"""
from __future__ import annotations

import torch

P_GRID = tuple(range(1, 11))  # the norms MaxLogit-pNorm chooses from (Xia et al.'s ImageNet search: 1..10)


def msp_score(logits: torch.Tensor) -> torch.Tensor:
    """The log of the maximum softmax probability, ``-log(1 + sum_{k != top} exp(z_k - z_top))``, float64
    (monotone in the MSP; ``log1p`` keeps confidences apart up to a margin of ~745 nats, where ``1 - MSP`` is
    below float64's resolution of 1)."""
    z = logits.double()
    top = z.argmax(-1, keepdim=True)
    rest = (z - z.gather(-1, top)).exp().scatter(-1, top, 0.0)
    return -torch.log1p(rest.sum(-1))


def pnorm_score(logits: torch.Tensor, p: float) -> torch.Tensor:
    """MaxLogit-pNorm (Cattelan & Silva 2024): ``max_k (z_k - mean z) / ||z - mean z||_p``, float64."""
    if not p > 0:
        raise ValueError(f"p={p!r} is not allowed: the norm's order must be > 0")
    z = logits.double()
    z = z - z.mean(-1, keepdim=True)
    return z.max(-1).values / torch.linalg.vector_norm(z, ord=p, dim=-1).clamp_min(1e-12)


def _accepted_errors(score: torch.Tensor, correct: torch.Tensor) -> torch.Tensor:
    """Errors among the i most confident examples, i = 0..N, averaged over the orders of tied scores
    (linear within a tie group)."""
    score, errors = score.double(), (~correct.bool()).double()
    order = torch.argsort(score, descending=True, stable=True)
    s, e = score[order], errors[order]
    n = len(s)
    cum = torch.cat([torch.zeros(1, dtype=torch.float64), e.cumsum(0)])
    # each position's tie group: [start, end) in the sorted order
    new = torch.ones(n, dtype=torch.bool)
    new[1:] = s[1:] != s[:-1]
    group = new.long().cumsum(0) - 1
    starts = torch.nonzero(new).flatten()
    ends = torch.cat([starts[1:], torch.tensor([n])])
    i = torch.arange(1, n + 1)
    g0, g1 = starts[group], ends[group]
    rate = (cum[g1] - cum[g0]) / (g1 - g0).double()
    return torch.cat([torch.zeros(1, dtype=torch.float64), cum[g0] + (i - g0).double() * rate])


def risk_coverage(score: torch.Tensor, correct: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The risk-coverage curve: coverage i/N and the risk (error rate) among the i examples of highest
    ``score``, i = 0..N, with risk 0 at coverage 0 (Xia et al. 2025's convention)."""
    if len(score) != len(correct) or len(score) == 0:
        raise ValueError(f"risk_coverage needs one score per prediction, got {len(score)} and {len(correct)}")
    n = len(score)
    errors = _accepted_errors(score, correct)
    i = torch.arange(n + 1, dtype=torch.float64)
    risk = torch.where(i > 0, errors / i.clamp_min(1), torch.zeros((), dtype=torch.float64))
    return i / n, risk


def aurc(score: torch.Tensor, correct: torch.Tensor) -> float:
    """Area under the risk-coverage curve (trapezoid over coverage 0, 1/N, ..., 1; lower is better)."""
    coverage, risk = risk_coverage(score, correct)
    return torch.trapezoid(risk, coverage).item()


def choose_p(logits: torch.Tensor, labels: torch.Tensor, grid=P_GRID) -> float | None:
    """The ``p`` of :func:`pnorm_score` with the lowest AURC on (validation) logits, or None where the MSP's
    AURC is lower than every ``p``'s (Cattelan & Silva's fallback: then the MSP is kept)."""
    correct = logits.argmax(-1) == labels
    best, best_aurc = None, aurc(msp_score(logits), correct)
    for p in grid:
        a = aurc(pnorm_score(logits, p), correct)
        if a < best_aurc:
            best, best_aurc = float(p), a
    return best


def auroc(score: torch.Tensor, correct: torch.Tensor) -> float:
    """Area under the ROC curve of ``score`` separating correct (positive) from wrong predictions: the
    probability that a random correct prediction scores above a random wrong one, ties counting one half
    (Mann-Whitney; Zhu et al. 2022)."""
    from scipy.stats import rankdata
    correct = correct.bool()
    n_pos, n_neg = int(correct.sum()), int((~correct).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("auroc needs both correct and wrong predictions")
    ranks = torch.from_numpy(rankdata(score.double().numpy()))
    return ((ranks[correct].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)).item()


def fpr_at_95_tpr(score: torch.Tensor, correct: torch.Tensor, tpr: float = 0.95) -> float:
    """The fraction of wrong predictions accepted at the highest threshold that accepts at least ``tpr`` of
    the correct ones (FPR95 of Zhu et al. 2022, a correct prediction the positive class; lower is better)."""
    correct = correct.bool()
    if not correct.any() or correct.all():
        raise ValueError("fpr_at_95_tpr needs both correct and wrong predictions")
    pos = score[correct].double().sort(descending=True).values
    threshold = pos[max(0, int(torch.ceil(torch.tensor(tpr * len(pos))).item()) - 1)]
    return (score[~correct].double() >= threshold).double().mean().item()
