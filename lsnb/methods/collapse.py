"""Neural collapse and class separation of penultimate features (chapter 5).

Neural collapse (Papyan, Han & Donoho 2020) describes the features ``h`` of a network trained
past zero training error: with class means ``mu_c``, their mean ``mu_G`` and ``M`` the K x d
matrix of centred means ``mu_c - mu_G``,

* NC1, within-class variability collapses: ``tr(Sigma_W Sigma_B^+) / K`` (:func:`nc1`);
* NC2, the centred means form a simplex equiangular tight frame: equal norms (:func:`equinorm`:
  their coefficient of variation), equal angles with cosine ``-1/(K-1)`` (:func:`equiangularity`:
  the mean of ``|cos + 1/(K-1)|`` over pairs), together the distance of ``M M^T`` to the simplex
  ETF's Gram matrix (:func:`etf_distance`, Zhu et al. 2021);
* NC3, the classifier's rows align with the centred means (:func:`self_duality`,
  ``||W/||W||_F - M/||M||_F||_F^2``).

Zhou et al. (2022) and Guo et al. (2025) compare cross-entropy with label smoothing through
these numbers. Kornblith et al. (2021) measure *class separation* (:func:`class_separation`):
``R^2 = 1 - dbar_within / dbar_total`` of cosine distances, every class weighted equally.
All in float64.
"""
from __future__ import annotations

import math

import torch


def class_means(features: torch.Tensor, labels: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(means, global mean)``: the K class means of the features (float64) and their average ``mu_G``
    (every class weighted equally, Papyan et al.'s balanced setting)."""
    x = features.double()
    counts = torch.bincount(labels, minlength=k)
    if (counts == 0).any():
        raise ValueError(f"every class needs examples: classes {torch.nonzero(counts == 0).flatten().tolist()} have none")
    means = torch.zeros(k, x.shape[1], dtype=torch.float64).index_add_(0, labels, x) / counts[:, None]
    return means, means.mean(0)


def nc1(features: torch.Tensor, labels: torch.Tensor, k: int) -> float:
    """NC1 = ``tr(Sigma_W Sigma_B^+) / K`` (Papyan et al. 2020): ``Sigma_W`` the within-class covariance
    (over all examples), ``Sigma_B = M^T M / K`` the covariance of the centred class means ``M`` (rank K - 1).

    Computed in the span of the means: with ``P = M^+`` (d x K), ``Sigma_B^+ = K P P^T``, so NC1 is
    ``||H P||_F^2 / N`` for the N x d within-class deviations ``H`` -- no d x d pseudo-inverse, whose cut-off
    would sit near the rounding errors of its d - K + 1 zero eigenvalues.
    """
    x = features.double()
    means, mu_g = class_means(x, labels, k)
    within = x - means[labels]
    p = torch.linalg.pinv(means - mu_g, rtol=1e-10)
    return ((within @ p).pow(2).sum() / len(x)).item()


def _centred_means(features, labels, k):
    means, mu_g = class_means(features, labels, k)
    return means - mu_g


def equinorm(features: torch.Tensor, labels: torch.Tensor, k: int) -> float:
    """NC2's equal norms: the coefficient of variation (sd / mean) of ``||mu_c - mu_G||`` over classes."""
    norms = _centred_means(features, labels, k).norm(dim=1)
    return (norms.std() / norms.mean()).item()


def equiangularity(features: torch.Tensor, labels: torch.Tensor, k: int) -> float:
    """NC2's equal angles: the mean over pairs of classes of ``|cos(mu_c - mu_G, mu_c' - mu_G) + 1/(K-1)|``
    (0 for a simplex ETF)."""
    m = _centred_means(features, labels, k)
    u = m / m.norm(dim=1, keepdim=True)
    cos = u @ u.T
    off = ~torch.eye(k, dtype=torch.bool)
    return (cos[off] + 1 / (k - 1)).abs().mean().item()


def simplex_etf_gram(k: int) -> torch.Tensor:
    """The Gram matrix of a K-class simplex equiangular tight frame, scaled to Frobenius norm 1:
    ``(I - 11^T / K) / sqrt(K - 1)``."""
    return (torch.eye(k, dtype=torch.float64) - torch.full((k, k), 1 / k, dtype=torch.float64)) / math.sqrt(k - 1)


def etf_distance(features: torch.Tensor, labels: torch.Tensor, k: int) -> float:
    """NC2 in one number (Zhu et al. 2021): ``||M M^T / ||M M^T||_F - (I - 11^T/K)/sqrt(K-1)||_F`` for the
    centred class means ``M``; 0 when they form a simplex ETF."""
    m = _centred_means(features, labels, k)
    gram = m @ m.T
    return (gram / gram.norm() - simplex_etf_gram(k)).norm().item()


def self_duality(features: torch.Tensor, labels: torch.Tensor, weight: torch.Tensor) -> float:
    """NC3 (Zhu et al. 2021): ``||W / ||W||_F - M / ||M||_F||_F^2`` for the classifier's K x d weight ``W``
    and the centred class means ``M``; 0 when the classifier's rows are the class means, rescaled."""
    w = weight.detach().double().cpu()
    m = _centred_means(features, labels, w.shape[0])
    return (w / w.norm() - m / m.norm()).pow(2).sum().item()


def class_separation(features: torch.Tensor, labels: torch.Tensor, k: int) -> float:
    """Kornblith et al. (2021)'s class separation ``R^2 = 1 - dbar_within / dbar_total``, the distances
    ``1 - cos`` averaged over all pairs of a class (within) and of any two classes (total), each class
    weighted equally.

    With ``u = x / ||x||``, ``1 - cos(x, x') = ||u - u'||^2 / 2``, so ``dbar_within`` is the mean over classes
    of the variance of ``u`` in the class and ``dbar_total`` that plus the variance of the class means of
    ``u``: R^2 is the between-class share of the variance of the normalised features, O(N d) rather than
    O(N^2 d).
    """
    u = features.double()
    u = u / u.norm(dim=1, keepdim=True).clamp_min(1e-12)
    means, mu = class_means(u, labels, k)
    counts = torch.bincount(labels, minlength=k).double()
    within_sq = torch.zeros(k, dtype=torch.float64).index_add_(0, labels, (u - means[labels]).pow(2).sum(1))
    within = (within_sq / counts).mean()
    between = (means - mu).pow(2).sum(1).mean()
    return (between / (within + between)).item()


def collapse_numbers(features: torch.Tensor, labels: torch.Tensor, weight: torch.Tensor) -> dict:
    """Every number of this module for one network's features and classifier weight ``W`` (K x d)."""
    k = weight.shape[0]
    return {"nc1": nc1(features, labels, k), "equinorm": equinorm(features, labels, k),
            "equiangularity": equiangularity(features, labels, k), "etf_distance": etf_distance(features, labels, k),
            "self_duality": self_duality(features, labels, weight), "class_separation": class_separation(
                features, labels, k)}
