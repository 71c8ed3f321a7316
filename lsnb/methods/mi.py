r"""Mutual information between an example's index and its logit gap (Müller et al. 2019, sec. 4, Figure 6).

Setting. ``X`` is the index of one of ``N`` training examples of two classes ``a`` and
``b``, drawn uniformly, so ``p(x) = 1/N`` and ``H(X) = log N``. ``Y = z_a - z_b`` is the
difference of the two logits computed on a *randomly augmented* copy of example ``x``;
the augmentation is the only noise. ``I(X; Y)`` measures how well the logit gap
identifies the example: ``log N`` when every example's gaps are distinct and tight,
``log 2`` when only the class can be read off, 0 when nothing can.

Model. ``Y | X = x`` is taken to be Gaussian with a per-example mean and one variance
shared by all examples, both estimated from ``L`` augmentations ``y_{x,1..L}``:

    p(y | x)  = N(y; mu_x, s^2),
    mu_x      = (1/L) sum_l y_{x,l},
    s^2       = 1/(N (L - 1)) sum_x sum_l (y_{x,l} - mu_x)^2        (pooled within-example variance)

so ``Y`` is a mixture of ``N`` equally weighted Gaussians, ``p(y) = (1/N) sum_x' N(y; mu_x', s^2)``.

Derivation. By definition

    I(X; Y) = E_{x,y} [ log p(y | x) - log p(y) ]
            = E_{x,y} [ log p(y | x) - log sum_x' p(y | x') + log N ]
            = log N + E_{x,y} [ log p(x | y) ]          (Bayes, uniform p(x))
            = H(X) - H(X | Y),

with the posterior over examples

    p(x | y) = N(y; mu_x, s^2) / sum_x' N(y; mu_x', s^2)
             = exp(-d_x(y)^2 / 2) / sum_x' exp(-d_x'(y)^2 / 2),      d_x(y) = (y - mu_x) / s.

The Gaussian normalisers ``1/sqrt(2 pi s^2)`` cancel because the variance is shared, and
``log p(x | y) = -d_x(y)^2/2 - logsumexp_x'(-d_x'(y)^2/2)`` is computed stably in float64.
Since ``p(x | y) <= 1`` the estimate never exceeds ``log N``; the true ``I`` is ``>= 0``, and
the estimates are clipped to ``[0, log N]``.

The expectation over ``(x, y)`` can be taken two ways:

(a) over the L *observed* gaps (:func:`mutual_information`, the main estimator):

        I_a = log N + 1/(N L) sum_x sum_l log p(x | y_{x,l}).

    For any decoder ``q(x | y)``, ``log N + E[log q(x | y)]`` is a lower bound on the true
    ``I(X; Y)`` (Barber & Agakov 2003: ``H(X|Y) <= E[-log q(x|y)]``), so (a) stays
    meaningful when the true ``Y | x`` is not Gaussian: the Gaussian model only plays the
    decoder. Fitting ``mu_x`` on the same samples it is scored on biases it upwards by
    about ``1/(2L)`` nats when the examples are indistinguishable (``~0.01`` for ``L = 50``).

(b) over the fitted model itself (:func:`gaussian_mixture_mi`): draw ``y ~ N(mu_x, s^2)``
    for every ``x`` and average ``log p(x | y)``. This is the exact mutual information of
    the Gaussian mixture (up to Monte-Carlo error), i.e. of the model, not of the network.

The two agree when ``Y | x`` is Gaussian; the book reports (a).

Degenerate case. With no augmentation noise (``s = 0``, every row constant) the limit
``s -> 0`` of the model gives ``p(x | y) = 1 / (number of examples sharing x's mean)``, so
``I`` is the entropy of the partition of examples by their (exact) mean: ``log N`` when
the means are distinct, ``log 2`` for two groups of ``N/2`` identical examples. It is
returned explicitly instead of dividing by zero.

The printed formula. The paper writes ``I = E[log p(y|x) - log sum_x p(y|x)]`` (the
``log N`` of ``log p(y)`` is missing, so this is ``-H(X|Y)``, not ``I``), then *sums* over
``x`` instead of averaging over ``(x, l)``, reuses ``x`` as the summation variable of the
normaliser (which must run over all ``mu_x'`` at the same ``y``), and divides ``s^2`` by
``N``, not ``N (L-1)``. Read literally it is a sum of ``N`` terms near ``-(log N - I)``,
i.e. thousands of nats below zero for ``N = 600``, like the ``~ -4000`` a replication reported.

Invariance. ``I(X; Y)`` is unchanged by any invertible map of ``Y``; the estimate is
exactly invariant to affine maps ``y -> c y + t`` (``c != 0``), since ``d_x`` at most
changes sign.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch


_CHUNK_ELEMENTS = 1 << 22      # samples x examples per logsumexp block (32 MiB of float64)


@dataclass(frozen=True)
class MIEstimate:
    """Estimator (a) with its pieces: ``mi`` in nats, in ``[0, log_n]``."""

    mi: float            # I(X; Y), nats
    log_n: float         # H(X) = log N, the largest possible value
    sigma: float         # pooled within-example standard deviation s of Y | x
    n: int               # number of examples N
    l: int               # number of augmentations L per example
    mu: torch.Tensor     # per-example means mu_x (N,), float64

    @property
    def fraction(self) -> float:
        """``I / log N``: 1 when every example is identifiable from its logit gap."""
        return self.mi / self.log_n


def _check_samples(y: torch.Tensor) -> torch.Tensor:
    """``y`` as float64 (N, L), or a ValueError that says what is wrong with it."""
    if not isinstance(y, torch.Tensor):
        y = torch.as_tensor(y)
    if y.dim() != 2:
        raise ValueError(f"y has shape {tuple(y.shape)}: expected 2-D (N examples, L augmentations)")
    n, l = y.shape
    if n < 2:
        raise ValueError(f"y has N={n} examples: mutual information needs N >= 2")
    if l < 2:
        raise ValueError(f"y has L={l} augmentations per example: the variance needs L >= 2")
    y = y.detach().to("cpu", torch.float64)
    if not torch.isfinite(y).all():
        bad = int((~torch.isfinite(y)).sum())
        raise ValueError(f"y has {bad} non-finite values (NaN or inf): logit gaps must be finite")
    return y


def gaussian_fit(y: torch.Tensor) -> tuple[torch.Tensor, float]:
    """Per-example means ``mu_x`` (N,) and the pooled within-example standard deviation ``s``.

    ``s^2 = sum_{x,l} (y_{x,l} - mu_x)^2 / (N (L - 1))``, the unbiased pooled variance.
    """
    y = _check_samples(y)
    n, l = y.shape
    mu = y.mean(1)
    dev = y - mu[:, None]
    scale = dev.abs().max()
    if scale == 0:
        return mu, 0.0
    sigma = scale * (dev / scale).pow(2).sum().div(n * (l - 1)).sqrt()   # no underflow for tiny deviations
    return mu, sigma.item()


def _partition_entropy(mu: torch.Tensor) -> float:
    """``I`` in the limit ``s -> 0``: the entropy of the grouping of examples by equal mean."""
    _, counts = torch.unique(mu, return_counts=True)
    p = counts.double() / len(mu)
    return float(-(p * p.log()).sum())


def _mean_log_posterior(samples: torch.Tensor, owner: torch.Tensor, mu: torch.Tensor, sigma: float) -> float:
    """Average of ``log p(owner | sample)`` under the equal-variance Gaussian mixture (logsumexp over x')."""
    total = 0.0
    step = max(1, _CHUNK_ELEMENTS // len(mu))
    for ys, xs in zip(samples.split(step), owner.split(step)):
        logit = -0.5 * ((ys[:, None] - mu[None, :]) / sigma).pow(2)          # (chunk, N)
        own = logit.gather(1, xs[:, None]).squeeze(1)
        total += (own - torch.logsumexp(logit, 1)).sum().item()
    return total / len(samples)


def mutual_information_estimate(y: torch.Tensor) -> MIEstimate:
    """Estimator (a) of the module docstring, with ``mu``, ``s``, ``N``, ``L``.

    ``y[x, l]`` is the logit gap ``z_a - z_b`` of example ``x`` under augmentation ``l``.
    """
    y = _check_samples(y)
    n, l = y.shape
    mu, sigma = gaussian_fit(y)
    log_n = math.log(n)
    if sigma == 0.0:
        mi = _partition_entropy(mu)
    else:
        owner = torch.arange(n).repeat_interleave(l)
        mi = log_n + _mean_log_posterior(y.reshape(-1), owner, mu, sigma)
    return MIEstimate(min(max(mi, 0.0), log_n), log_n, sigma, n, l, mu)


def mutual_information(y: torch.Tensor) -> float:
    """``I(X; Y)`` in nats from logit gaps ``y`` (N examples x L augmentations), in ``[0, log N]``.

    Estimator (a): ``log N + 1/(N L) sum_{x,l} log p(x | y_{x,l})`` with ``p(x | y)`` the
    posterior of the Gaussian model ``Y | x ~ N(mu_x, s^2)`` (module docstring).
    """
    return mutual_information_estimate(y).mi


def gaussian_mixture_mi(mu: torch.Tensor, sigma: float, n_samples: int = 1000,
                        generator: torch.Generator | None = None) -> float:
    """Estimator (b): the mutual information of the fitted model itself, by sampling.

    Draws ``n_samples`` values ``y ~ N(mu_x, sigma^2)`` for every example ``x`` and averages
    ``log N + log p(x | y)``; the Monte-Carlo error shrinks as ``1 / sqrt(N n_samples)``.
    ``sigma = 0`` gives the exact limit (the entropy of the grouping by equal means).
    """
    mu = torch.as_tensor(mu).detach().to("cpu", torch.float64)
    if mu.dim() != 1 or len(mu) < 2:
        raise ValueError(f"mu has shape {tuple(mu.shape)}: expected 1-D with N >= 2 means")
    if not torch.isfinite(mu).all():
        raise ValueError("mu has non-finite values (NaN or inf)")
    if not (math.isfinite(sigma) and sigma >= 0):
        raise ValueError(f"sigma={sigma!r}: expected a finite standard deviation >= 0")
    if n_samples < 1:
        raise ValueError(f"n_samples={n_samples}: expected at least one sample per example")
    n = len(mu)
    log_n = math.log(n)
    if sigma == 0:
        return _partition_entropy(mu)
    owner = torch.arange(n).repeat_interleave(n_samples)
    eps = torch.randn(n * n_samples, generator=generator, dtype=torch.float64)
    mi = log_n + _mean_log_posterior(mu[owner] + sigma * eps, owner, mu, sigma)
    return min(max(mi, 0.0), log_n)


def log2_control(n_examples: int, sample_counts, separation: float = 8.0, seed: int = 0) -> list:
    """Estimator (a) where the true answer is exactly ``log 2``: the finite-sample bias alone.

    ``n_examples / 2`` examples of each of two classes whose gaps are drawn from the *same*
    distribution within a class, ``N(+-separation/2, 1)``: the class is all there is to know,
    so ``I(X; Y) = log 2`` (up to the classes' overlap, negligible at ``separation`` = 8).
    Fitting a mean per example from ``L`` draws makes examples look distinguishable that are
    not; the excess over ``log 2`` shrinks as ``L`` grows. One row per ``L``: ``{"L", "mi"}``.
    """
    if n_examples < 2 or n_examples % 2:
        raise ValueError(f"n_examples={n_examples}: expected an even number >= 2")
    g = torch.Generator().manual_seed(seed)
    counts = sorted({int(c) for c in sample_counts})
    centre = torch.cat([torch.full((n_examples // 2, 1), separation / 2),
                        torch.full((n_examples // 2, 1), -separation / 2)]).double()
    y = centre + torch.randn(n_examples, counts[-1], generator=g, dtype=torch.float64)
    return [{"L": count, "mi": mutual_information(y[:, :count])} for count in counts]
