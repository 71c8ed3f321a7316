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
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn



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


GEOMETRY_NUMBERS = ("plane_nc1", "nc1", "wrong_template_spread", "projection_scale")
# How tables and figures name them.
GEOMETRY_LABELS = {"plane_nc1": "tightness in the plane (within/between)",
                   "nc1": "tightness, full space (NC1)",
                   "wrong_template_spread": "wrong-template spread / margin",
                   "projection_scale": "projection scale"}
