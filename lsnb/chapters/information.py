"""Figure 6 (sec. 4 of the paper): the mutual information between an example and its logits' gap, measured
on the chapter's networks with the estimator of :mod:`lsnb.methods.mi`.

The gaps are taken over the augmentations a network was trained with (:func:`noise`), at every
weight snapshot (:func:`information_over_training`) and at the end of training against the number of
augmentations (:func:`information_vs_samples`, with :func:`lsnb.methods.mi.log2_control` beside it);
the rows are kept in each run's folder.
"""
from __future__ import annotations

import torch

from ..data.augment import prepare_batch
from ..engine import runs
from ..methods.metrics import mean_and_spread
from ..methods.mi import log2_control, mutual_information_estimate
from ..models.modes import evaluating


def two_class_subset(split, classes, n: int, seed: int = 0) -> torch.Tensor:
    """Indices of ``n/2`` examples of each of two classes, picked by a seeded permutation.

    ``split`` is a :class:`lsnb.data.images.Split` (anything with integer labels ``.y``). The
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
    """Rows kept in the run's folder under ``figure6/<name>.json`` (:func:`lsnb.engine.runs.derived`)."""
    return runs.derived(run, "figure6", name, compute)


def noise(run, augment: str | None = None) -> str:
    """The augmentation whose randomness Figure 6 measures for ``run``: ``augment``, or (None) the run's own.

    A network trained without augmentation (``none``) can be measured under ``shift2`` noise,
    which keeps its inputs' [0, 1] scaling; any other change of augmentation would also change
    the input normalisation the network learnt (:func:`lsnb.data.augment.prepare_batch`).
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

    The run must have been trained with ``snapshots > 0`` (:func:`lsnb.engine.runs.snapshots`).
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
