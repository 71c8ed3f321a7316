"""Penultimate-layer geometry (Müller et al. 2019, sec. 2) and numbers for its pictures.

The logit of class k is ``z_k = x^T w_k`` where the activations ``x`` carry a constant
1 so that the bias is the last coordinate of each *template* ``w_k``. Since

    ||x - w_k||^2 = ||x||^2 - 2 x^T w_k + ||w_k||^2,

the logit is ``-||x - w_k||^2 / 2`` up to terms that do not depend on the class
(``||w_k||^2`` is roughly the same for every k), so a high logit means "close to
the template". The paper's visualisation picks three classes, finds an orthonormal
basis of the plane through their three templates, and projects the activations of
examples of those classes onto it.

Beyond the pictures, :func:`geometry_numbers` measures what the paper reads off them:
how tight the clusters are (an NC1-style ratio), how equal the distances to the wrong
templates are, and the scale of the projections.

The second half applies them to trained networks: :func:`figure1_rows` is the data of
the paper's Figure 1, :func:`geometry_rows` its numbers for every run of a sweep over
alpha, and :func:`alpha_ratios` how much label smoothing changes each of them.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .metrics import mean_and_spread
from .runs import derived, load_data, predict
from .stats import compare


def with_bias_coordinate(features: torch.Tensor) -> torch.Tensor:
    """Activations ``x`` with the constant 1 appended: ``[x, 1]`` (so ``z_k = [x, 1]^T [w_k, b_k]``)."""
    return torch.cat([features, torch.ones(len(features), 1, dtype=features.dtype)], 1)


def templates(head: nn.Linear) -> torch.Tensor:
    """The class templates ``[w_k, b_k]`` of the last layer, one row per class (K x (D + 1))."""
    return torch.cat([head.weight.detach(), head.bias.detach()[:, None]], 1).float().cpu()


def plane_basis(three_templates: torch.Tensor) -> torch.Tensor:
    """Orthonormal basis (2 x D) of the plane through three templates (Gram-Schmidt via QR).

    The plane is ``w_0 + span(w_1 - w_0, w_2 - w_0)``; its basis spans the template
    differences. Raises when the three templates are collinear (no unique plane).
    """
    t = three_templates.double()
    diffs = torch.stack([t[1] - t[0], t[2] - t[0]], 1)          # D x 2
    q, r = torch.linalg.qr(diffs)
    if r.diagonal().abs().min() < 1e-9 * max(r.abs().max().item(), 1e-300):
        raise ValueError("the three templates are collinear: there is no unique plane through them")
    return q.T.to(three_templates.dtype)


def project(points: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    """Coordinates of points (N x D) in the plane's basis (2 x D): ``points @ basis.T``."""
    return points.to(basis.dtype) @ basis.T


@dataclass(frozen=True)
class Projection:
    """The paper's figure-1 data for one model, three classes and one split.

    Coordinates are centred on the centroid of the three projected templates.
    """

    points: torch.Tensor      # N x 2, projected activations
    labels: torch.Tensor      # N, which of the three classes (0, 1, 2)
    templates: torch.Tensor   # 3 x 2, projected templates
    classes: tuple            # the three class indices in the dataset


def project_classes(features: torch.Tensor, labels: torch.Tensor, head: nn.Linear, classes) -> Projection:
    """Project the activations of examples of ``classes`` onto the plane of those classes' templates."""
    classes = tuple(int(c) for c in classes)
    if len(set(classes)) != 3:
        raise ValueError(f"classes={classes!r}: the projection needs three different classes")
    w = templates(head)[list(classes)]
    basis = plane_basis(w)
    keep = torch.isin(labels, torch.tensor(classes))
    x = with_bias_coordinate(features[keep].float())
    which = torch.tensor([classes.index(int(c)) for c in labels[keep]])
    centre = project(w, basis).mean(0)
    return Projection(project(x, basis) - centre, which, project(w, basis) - centre, classes)


def nc1_ratio(features: torch.Tensor, labels: torch.Tensor) -> float:
    """Within-class over between-class spread: ``mean ||x - mu_y||^2 / mean_c ||mu_c - mu||^2``.

    A scalar version of neural collapse's NC1 (Papyan et al. 2020): 0 when every
    class collapses to its mean; large when clusters are wide compared to the
    distances between them. Computed over the classes present in ``labels``.
    """
    x = features.double()
    classes = labels.unique()
    means = torch.stack([x[labels == c].mean(0) for c in classes])
    within = torch.cat([(x[labels == c] - m).pow(2).sum(1) for c, m in zip(classes, means)]).mean()
    between = (means - x.mean(0)).pow(2).sum(1).mean()
    return (within / between).item()


def wrong_template_spread(features: torch.Tensor, labels: torch.Tensor, head: nn.Linear) -> float:
    """How unequal the squared distances to the wrong templates are, relative to the margin.

    With ``d_k = ||[x, 1] - w_k||^2``: the mean over examples of the standard deviation of
    ``d_k`` over the wrong classes, divided by the mean over examples of the margin
    ``mean_{k != y} d_k - d_y``. By eq. (logit = -d/2 + const) this is the spread of the
    wrong logits in units of the correct logit's lead, so it does not depend on the
    scale of the activations. 0 means exactly equidistant wrong templates, the paper's
    claim for label smoothing.
    """
    x = with_bias_coordinate(features.double())
    w = templates(head).double()
    d = torch.cdist(x, w).pow(2)                                    # N x K
    n = torch.arange(len(labels))
    wrong = torch.ones_like(d, dtype=torch.bool)
    wrong[n, labels] = False
    d_wrong = d[wrong].view(len(labels), -1)
    margin = d_wrong.mean(1) - d[n, labels]
    return (d_wrong.std(1).mean() / margin.mean()).item()


def projection_scale(p: Projection) -> float:
    """RMS distance of the projected examples from the centroid of the projected templates."""
    return p.points.pow(2).sum(1).mean().sqrt().item()


def geometry_numbers(features: torch.Tensor, labels: torch.Tensor, head: nn.Linear, classes) -> dict:
    """The numbers for the paper's Figure 1 claims, on the examples of the three chosen classes: the
    within/between ratio in the template plane the figure shows (``plane_nc1``) and in the whole
    penultimate space (``nc1``), the wrong templates' spread and the projection's scale."""
    p = project_classes(features, labels, head, classes)
    keep = torch.isin(labels, torch.tensor(p.classes))
    return {"plane_nc1": nc1_ratio(p.points, p.labels),
            "nc1": nc1_ratio(features[keep], labels[keep]),
            "wrong_template_spread": wrong_template_spread(features[keep], labels[keep], head),
            "projection_scale": projection_scale(p)}


# ----------------------------------------------------------------------------- the networks' side

# Figure 1's classes: three dissimilar ones per dataset (the paper's where the dataset is the paper's),
# and two similar classes with a third, the paper's poodles and tench.
DISSIMILAR = {"cifar10": ("airplane", "automobile", "bird"), "cifar100": ("beaver", "dolphin", "otter"),
              "fashion_mnist": ("T-shirt/top", "Trouser", "Bag")}
SIMILAR = {"fashion_mnist": ("Shirt", "T-shirt/top", "Sneaker"), "cifar10": ("cat", "dog", "ship"),
           "cifar100": ("maple_tree", "oak_tree", "rocket")}
N_EXAMPLES = 3000  # examples per split in the pictures and their numbers


def class_triples(dataset, with_similar: bool = False) -> list:
    """The class indices of Figure 1's rows for a dataset: its :data:`DISSIMILAR` triple (the first
    three classes where it has none) and, ``with_similar``, its :data:`SIMILAR` one where it has one."""
    names = [DISSIMILAR.get(dataset.name, dataset.classes[:3])]
    if with_similar and dataset.name in SIMILAR:
        names.append(SIMILAR[dataset.name])
    return [tuple(dataset.classes.index(c) for c in t) for t in names]


def similar_pair(dataset) -> tuple | None:
    """Two classes of a dataset that networks confuse (the first two of its :data:`SIMILAR` triple), as
    indices, or None where it has none (Figure 6's check of how the classes chosen move the estimate)."""
    if dataset.name not in SIMILAR:
        return None
    return tuple(dataset.classes.index(c) for c in SIMILAR[dataset.name][:2])


def penultimate(run, split, n: int = N_EXAMPLES) -> tuple[torch.Tensor, torch.Tensor]:
    """Penultimate-layer activations and labels of the first ``n`` examples of an image split
    (the model's test-time view of them)."""
    take = split.take(torch.arange(min(len(split), n)))
    _, features = predict(run.model, take, run.config.augment, with_features=True)
    return features, take.y


@dataclass(frozen=True)
class ProjectionRow:
    """One row of Figure 1: a network and three classes, one :class:`Projection` per alpha and split."""

    title: str            # the network and its dataset
    class_names: tuple    # the three classes
    panels: tuple         # Projection of the training, then validation examples, for each alpha
    titles: tuple         # "train, alpha=0", ...


def figure1_rows(runs: dict, alphas, seed: int, n: int = N_EXAMPLES) -> list:
    """The paper's Figure 1: per network (``{name: runs}``) and class triple, the projections of
    training and validation examples with each of ``alphas`` (the ``seed`` run). The last
    network also gets the row of two similar classes and a third (:func:`class_triples`)."""
    rows, last = [], list(runs)[-1]
    for name, rs in runs.items():
        ds = load_data(rs[0].config)
        for triple in class_triples(ds, with_similar=name == last):
            panels, titles = [], []
            for a in alphas:
                r = next(r for r in rs if r.config.alpha == a and r.config.seed == seed)
                for split_name, split in (("train", ds.train), ("validation", ds.val)):
                    panels.append(_projection(r, split_name, split, n, triple))
                    titles.append(f"{split_name}, alpha={a:g}")
            rows.append(ProjectionRow(f"{name}\n{ds.name}", tuple(ds.classes[c] for c in triple), tuple(panels),
                                      tuple(titles)))
    return rows


def geometry_rows(runs: dict, n: int = N_EXAMPLES) -> list:
    """:func:`geometry_numbers` of every run of every network (``{name: runs}``) on the first three
    classes of :func:`class_triples`, for training and validation examples: one row per run and split."""
    rows = []
    for name, rs in runs.items():
        ds = load_data(rs[0].config)
        triple = class_triples(ds)[0]
        for r in rs:
            for split_name, split in (("train", ds.train), ("validation", ds.val)):
                rows.append({"model": name, "alpha": r.config.alpha, "seed": r.config.seed, "split": split_name,
                             **_numbers(r, split_name, split, n, triple)})
    return rows


# A finished run's projections and numbers are kept in its folder (lsnb.runs.derived): a warm rebuild of
# chapter 2 reads them instead of passing thousands of images through every network again. The names say
# what the numbers depend on; _VERSION changes when the method does.
_VERSION = 2


def _key(split_name: str, n: int, classes) -> str:
    return f"{split_name}_n{n}_c{'-'.join(str(int(c)) for c in classes)}_v{_VERSION}"


def _projection(run, split_name: str, split, n: int, classes) -> Projection:
    def compute():
        p = project_classes(*penultimate(run, split, n), run.model.head, classes)
        return {"points": p.points.tolist(), "labels": p.labels.tolist(), "templates": p.templates.tolist()}
    blob = derived(run, "geometry", "projection_" + _key(split_name, n, classes), compute)
    return Projection(torch.tensor(blob["points"]), torch.tensor(blob["labels"]), torch.tensor(blob["templates"]),
                      tuple(int(c) for c in classes))


def _numbers(run, split_name: str, split, n: int, classes) -> dict:
    return derived(run, "geometry", "numbers_" + _key(split_name, n, classes),
                   lambda: geometry_numbers(*penultimate(run, split, n), run.model.head, classes))


GEOMETRY_NUMBERS = ("plane_nc1", "nc1", "wrong_template_spread", "projection_scale")
# How tables and figures name them.
GEOMETRY_LABELS = {"plane_nc1": "tightness in the plane (within/between)",
                   "nc1": "tightness, full space (NC1)",
                   "wrong_template_spread": "wrong-template spread / margin",
                   "projection_scale": "projection scale"}


def geometry_table(rows: list) -> list:
    """:func:`geometry_rows` as a table: per model, alpha and split, each number's mean over the seeds
    there are, headed in words (:data:`GEOMETRY_LABELS`), three significant digits."""
    groups = {}
    for r in rows:
        groups.setdefault((r["model"], r["alpha"], r["split"]), []).append(r)
    out = []
    for (model, alpha, split), rs in groups.items():
        row = {"model": model, "alpha": f"{alpha:g}", "examples": split}
        for number, label in GEOMETRY_LABELS.items():
            row[label] = f"{sum(r[number] for r in rs) / len(rs):.3g}"
        out.append(row)
    return out


def _values(rows: list, model: str, alpha: float, number: str, split: str) -> list:
    return [r[number] for r in rows if r["model"] == model and r["split"] == split and r["alpha"] == alpha]


def alpha_ratios(rows: list, alpha: float, split: str = "validation") -> dict:
    """How label smoothing changes each geometry number: ``{number: {network: mean at alpha / mean at 0}}``
    over seeds from :func:`geometry_rows` (below 1: tighter, more equidistant, smaller)."""
    models = list(dict.fromkeys(r["model"] for r in rows))
    return {number: {m: mean_and_spread(_values(rows, m, alpha, number, split))[0]
                     / mean_and_spread(_values(rows, m, 0.0, number, split))[0] for m in models}
            for number in GEOMETRY_NUMBERS}


def alpha_comparisons(rows: list, alpha: float, split: str = "validation") -> dict:
    """``{number: {network: Comparison}}``: each geometry number without minus with label smoothing
    ``alpha``, over seeds (> 0: label smoothing lowers it, the paper's Figure 1 reading)."""
    models = list(dict.fromkeys(r["model"] for r in rows))
    return {number: {m: compare(_values(rows, m, 0.0, number, split), _values(rows, m, alpha, number, split))
                     for m in models} for number in GEOMETRY_NUMBERS}
