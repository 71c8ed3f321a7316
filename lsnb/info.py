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

from . import runs
from .data import prepare_batch
from .runs import evaluating

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


# ----------------------------------------------------------------------------- the network's side

def two_class_subset(split, classes, n: int, seed: int = 0) -> torch.Tensor:
    """Indices of ``n/2`` examples of each of two classes, picked by a seeded permutation.

    ``split`` is a :class:`lsnb.data.Split` (anything with integer labels ``.y``). The
    result lists class ``classes[0]``'s examples first, each half in increasing order.
    """
    classes = tuple(int(c) for c in classes)
    if len(classes) != 2 or classes[0] == classes[1]:
        raise ValueError(f"classes={classes!r}: expected two different classes")
    if n < 2 or n % 2:
        raise ValueError(f"n={n}: expected an even number >= 2 (n/2 examples of each class)")
    labels = torch.as_tensor(split.y).cpu()
    g = torch.Generator().manual_seed(seed)
    picked = []
    for c in classes:
        idx = (labels == c).nonzero().squeeze(1)
        if len(idx) < n // 2:
            raise ValueError(f"class {c} has {len(idx)} examples in the split: n={n} needs {n // 2}")
        picked.append(idx[torch.randperm(len(idx), generator=g)[: n // 2]].sort().values)
    return torch.cat(picked)


def logit_gaps(model: torch.nn.Module, x_uint8: torch.Tensor, augment: str, n_samples: int,
               classes=(0, 1), generator: torch.Generator | None = None,
               batch_size: int = 1024) -> torch.Tensor:
    """The logit gaps ``z_a - z_b`` of every example under ``n_samples`` random augmentations: (N, L) float32.

    Each sample passes the uint8 images through ``prepare_batch(x, augment, train=True)``
    (the training augmentation is the noise of Figure 6) with the model in eval mode
    (no dropout, batch-norm running statistics) and without gradients; the model's
    training flag is restored afterwards. ``augment='none'`` gives identical columns.
    """
    a, b = (int(c) for c in classes)
    if n_samples < 1:
        raise ValueError(f"n_samples={n_samples}: expected at least one augmentation per example")
    if x_uint8.dtype != torch.uint8:
        raise ValueError(f"x_uint8 has dtype {x_uint8.dtype}: expected uint8 images (N, C, H, W)")
    param = next(iter(model.parameters()), None)
    device = param.device if param is not None else x_uint8.device
    x = x_uint8.to(device)
    out = torch.empty(len(x), n_samples, dtype=torch.float32)
    with evaluating(model):
        for l in range(n_samples):
            for start in range(0, len(x), batch_size):
                logits = model(prepare_batch(x[start:start + batch_size], augment, True, generator)).float()
                if logits.dim() != 2 or not (0 <= a < logits.shape[1] and 0 <= b < logits.shape[1]):
                    raise ValueError(f"classes=({a}, {b}) do not index logits of shape {tuple(logits.shape)}")
                out[start:start + batch_size, l] = (logits[:, a] - logits[:, b]).cpu()
    return out


def _cached(run, name: str, compute) -> list:
    """Rows kept in the run's folder under ``figure6/<name>.json`` (:func:`lsnb.runs.derived`)."""
    return runs.derived(run, "figure6", name, compute)


def noise(run, augment: str | None = None) -> str:
    """The augmentation whose randomness Figure 6 measures for ``run``: ``augment``, or (None) the run's own.

    A network trained without augmentation (``none``) can be measured under ``shift2`` noise,
    which keeps its inputs' [0, 1] scaling; any other change of augmentation would also change
    the input normalisation the network learnt (:func:`lsnb.data.prepare_batch`).
    """
    own = run.config.augment
    if augment is None or augment == own:
        if own == "none":
            raise ValueError(f"run {run.path.name} was trained without augmentation, so it has no noise to measure: "
                             "pass augment='shift2' (random +-2 px shifts)")
        return own
    if own == "none" and augment == "shift2":
        return augment
    raise ValueError(f"augment={augment!r} for a run trained with {own!r}: the noise must be the run's own "
                     "augmentation, or 'shift2' for a run trained without ('none')")


def information_over_training(run, classes, n_examples: int, n_samples: int, seed: int = 0, device=None,
                              augment: str | None = None) -> list:
    """Estimator (a) at every weight snapshot of a finished run (Figure 6): one row per snapshot.

    The run must have been trained with ``snapshots > 0`` (:func:`lsnb.runs.snapshots`).
    The same ``n_examples`` training examples and the same augmentation draws (``seed``)
    are used at every snapshot, so the curve shows the network changing, not the sample.
    The snapshots run on ``device`` (default: the device of ``run.model``); the noise is
    :func:`noise` of ``augment``. The rows are kept in the run's folder.
    """
    a, b = (int(c) for c in classes)
    aug = noise(run, augment)
    return _cached(run, f"over_training_c{a}-{b}_n{n_examples}_l{n_samples}_s{seed}_{aug}",
                   lambda: _information_over_training(run, (a, b), n_examples, n_samples, seed, device, aug))


def _information_over_training(run, classes, n_examples: int, n_samples: int, seed: int, device, aug) -> list:
    snaps = runs.snapshots(run, device)
    if not snaps:
        raise ValueError(f"run {run.path.name} kept no weight snapshots: train it with snapshots > 0")
    split = runs.load_data(run.config).train
    x = split.x[two_class_subset(split, classes, n_examples, seed)]
    rows = []
    for step, epoch, model in snaps:
        gaps = logit_gaps(model, x, aug, n_samples, classes, torch.Generator().manual_seed(seed))
        est = mutual_information_estimate(gaps)
        rows.append({"step": step, "epoch": epoch, "mi": est.mi, "sigma": est.sigma, "log_n": est.log_n})
    return rows


# ----------------------------------------------------------------------------- why the curves stay above log 2

def information_vs_samples(run, classes, n_examples: int, sample_counts, seed: int = 0, device=None,
                           augment: str | None = None) -> list:
    """Estimator (a) on a finished run's final weights with ``L`` = each of ``sample_counts`` augmentations.

    The gaps are computed once with the largest ``L``; each smaller ``L`` uses the first ``L``
    columns, so the rows differ only in how many augmentations the estimate sees. One row per
    ``L``: ``{"L", "mi", "sigma"}``. The noise is :func:`noise` of ``augment``.
    """
    counts = sorted({int(c) for c in sample_counts})
    if counts[0] < 2:
        raise ValueError(f"sample_counts={list(sample_counts)!r}: every L must be >= 2 (the variance needs two)")
    a, b = (int(c) for c in classes)
    aug = noise(run, augment)
    return _cached(run, f"by_samples_c{a}-{b}_n{n_examples}_l{'-'.join(map(str, counts))}_s{seed}_{aug}",
                   lambda: _information_vs_samples(run, (a, b), n_examples, counts, seed, device, aug))


def _information_vs_samples(run, classes, n_examples: int, counts: list, seed: int, device, aug) -> list:
    model = run.model if device is None else run.model.to(device)
    split = runs.load_data(run.config).train
    x = split.x[two_class_subset(split, classes, n_examples, seed)]
    gaps = logit_gaps(model, x, aug, counts[-1], classes, torch.Generator().manual_seed(seed))
    rows = []
    for count in counts:
        est = mutual_information_estimate(gaps[:, :count])
        rows.append({"L": count, "mi": est.mi, "sigma": est.sigma})
    return rows


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


def final_estimates(rows: list, labels) -> tuple:
    """The estimate at the last snapshot of every seed, per label of ``labels`` (rows of :func:`figure6_rows`):
    one list per label, in seed order."""
    out = []
    for label in labels:
        mine = [r for r in rows if r["training"] == label]
        last = max(r["epoch"] for r in mine)
        out.append([r["mi"] for r in sorted(mine, key=lambda r: r["seed"]) if r["epoch"] == last])
    return tuple(out)


def similar_final_estimates(by_samples: list, labels, n_samples: int) -> tuple | None:
    """The estimate on the similar pair at the end of training with ``n_samples`` augmentations per example
    (the L of Figure 6's curves, so that both pairs are read alike; the largest L measured if that one was
    not), per label of ``labels`` (rows of :func:`figure6_rows`' second result, ``source`` "<label>, similar
    classes"): one list per label, in seed order; None where the similar pair was not measured."""
    out = []
    for label in labels:
        mine = [r for r in by_samples if r["source"] == f"{label}, similar classes"]
        if not mine:
            return None
        counts = {r["L"] for r in mine}
        at = n_samples if n_samples in counts else max(counts)
        out.append([r["mi"] for r in sorted(mine, key=lambda r: r["seed"]) if r["L"] == at])
    return tuple(out)


def over_training_table(rows: list) -> list:
    """Figure 6's estimates as a table: per snapshot epoch, one column per training label, mean ± sd over seeds
    (nats, three decimals)."""
    from .metrics import mean_and_spread
    labels = list(dict.fromkeys(r["training"] for r in rows))
    out = []
    for epoch in sorted({r["epoch"] for r in rows}):
        row = {"epoch": epoch}
        for label in labels:
            mean, sd = mean_and_spread([r["mi"] for r in rows if r["epoch"] == epoch and r["training"] == label])
            row[label] = f"{mean:.3f} ± {sd:.3f}"
        out.append(row)
    return out


def by_samples_table(rows: list) -> list:
    """The bias check as a table: per L, the final estimate of every source (network, pair or control),
    mean over seeds (nats, three decimals)."""
    sources = list(dict.fromkeys(r["source"] for r in rows))
    out = []
    for count in sorted({r["L"] for r in rows}):
        row = {"L": count}
        for source in sources:
            values = [r["mi"] for r in rows if r["L"] == count and r["source"] == source]
            row[source] = f"{sum(values) / len(values):.3f}" if values else ""
        out.append(row)
    return out


def figure6_rows(runs_by_label: dict, classes, n_examples: int, n_samples: int, sample_counts,
                 similar_classes=None, augment: str | None = None) -> tuple[list, list]:
    """Figure 6 and its bias check for ``{label: [runs, one per seed]}`` (e.g. the hard-target and the
    label-smoothed teachers): ``(over_training, by_samples)``.

    ``over_training``: :func:`information_over_training` of every run with ``n_samples``
    augmentations, one row per snapshot, labelled with ``training`` and ``seed``.
    ``by_samples``: :func:`information_vs_samples` of every run at each of ``sample_counts``
    (``source``: the label) and :func:`log2_control` with the same ``N`` (``source``:
    "control, true I = log 2"), one row per L. The examples are the same ``n_examples``
    (chosen by the run's seed) for every curve of that seed. ``similar_classes``: a second pair,
    two classes the networks confuse, measured like ``classes`` at the final weights (``source``:
    the label and "similar classes"). ``augment``: the noise (:func:`noise`; None: each run's own).
    """
    over, by_l = [], []
    for label, runs_ in runs_by_label.items():
        for run in runs_:
            seed = run.config.seed
            over += [{"training": label, "seed": seed, **row}
                     for row in information_over_training(run, classes, n_examples, n_samples, seed,
                                                          augment=augment)]
            by_l += [{"source": label, "seed": seed, **row}
                     for row in information_vs_samples(run, classes, n_examples, sample_counts, seed,
                                                       augment=augment)]
            if similar_classes is not None:
                by_l += [{"source": f"{label}, similar classes", "seed": seed, **row}
                         for row in information_vs_samples(run, similar_classes, n_examples, sample_counts, seed,
                                                           augment=augment)]
    seeds = sorted({run.config.seed for runs_ in runs_by_label.values() for run in runs_})
    by_l += [{"source": "control, true I = log 2", "seed": s, **row}
             for s in seeds for row in log2_control(n_examples, sample_counts, seed=s)]
    return over, by_l
