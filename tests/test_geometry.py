"""The penultimate-layer projection and the geometry numbers, on synthetic cases with known answers."""
import math

import pytest
import torch
from torch import nn

from lsnb import geometry


def head_with(templates: torch.Tensor) -> nn.Linear:
    """A linear layer whose [w_k, b_k] rows are the given templates."""
    head = nn.Linear(templates.shape[1] - 1, templates.shape[0])
    with torch.no_grad():
        head.weight.copy_(templates[:, :-1])
        head.bias.copy_(templates[:, -1])
    return head


def test_basis_is_orthonormal_and_spans_the_template_differences():
    w = torch.randn(3, 7, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    b = geometry.plane_basis(w)
    torch.testing.assert_close(b @ b.T, torch.eye(2, dtype=torch.float64))
    for d in (w[1] - w[0], w[2] - w[0], w[2] - w[1]):
        torch.testing.assert_close(b.T @ (b @ d), d)  # the difference lies in the basis' span


def test_equidistant_templates_project_to_an_equilateral_triangle():
    w = 3.0 * torch.eye(3, 6, dtype=torch.float64) + torch.tensor([0.5, -1, 2, 0, 0, 1], dtype=torch.float64)
    p = geometry.project(w, geometry.plane_basis(w))
    sides = [torch.dist(p[i], p[j]).item() for i, j in ((0, 1), (1, 2), (0, 2))]
    assert sides == pytest.approx([3 * math.sqrt(2)] * 3)


def test_collinear_templates_are_refused():
    w = torch.tensor([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])
    with pytest.raises(ValueError, match="collinear"):
        geometry.plane_basis(w)


def test_logit_is_minus_half_squared_distance_up_to_class_constants():
    g = torch.Generator().manual_seed(1)
    head = nn.Linear(5, 4)
    x = torch.randn(10, 5, generator=g)
    xa, w = geometry.with_bias_coordinate(x), geometry.templates(head)
    dist2 = torch.cdist(xa, w).pow(2)
    rebuilt = -dist2 / 2 + xa.pow(2).sum(1, keepdim=True) / 2 + w.pow(2).sum(1) / 2
    torch.testing.assert_close(rebuilt, head(x).detach(), atol=1e-5, rtol=1e-5)


def test_project_classes_uses_the_bias_and_keeps_only_the_chosen_classes():
    w = torch.tensor([[2.0, 0, 0, 1], [0, 2, 0, 1], [0, 0, 2, 1], [1, 1, 1, 5]])
    head = head_with(w)
    feats = torch.tensor([[2.0, 0, 0], [0, 2, 0], [0, 0, 2], [1, 1, 1]])
    labels = torch.tensor([0, 1, 2, 3])
    p = geometry.project_classes(feats, labels, head, (0, 1, 2))
    assert p.points.shape == (3, 2) and p.labels.tolist() == [0, 1, 2]
    # each example sits exactly on its template ([x, 1] equals [w_k, b_k])
    torch.testing.assert_close(p.points, p.templates)
    with pytest.raises(ValueError, match="three different classes"):
        geometry.project_classes(feats, labels, head, (0, 0, 1))


def test_nc1_ratio_known_values():
    means = torch.tensor([[0.0, 0.0], [4.0, 0.0]])
    collapsed = means.repeat_interleave(5, 0)
    labels = torch.tensor([0] * 5 + [1] * 5)
    assert geometry.nc1_ratio(collapsed, labels) == pytest.approx(0.0)
    offsets = torch.tensor([[1.0, 0], [-1, 0], [0, 1], [0, -1], [0, 0]])
    spread = collapsed + offsets.repeat(2, 1)
    # within: mean squared offset 4/5; between: each mean is 2 from the centre -> 4
    assert geometry.nc1_ratio(spread, labels) == pytest.approx((4 / 5) / 4)


def test_wrong_template_spread_is_zero_for_equidistant_templates():
    w = torch.cat([5 * torch.eye(4), torch.zeros(4, 1)], 1)  # four templates, pairwise equidistant
    head = head_with(w)
    feats = 5 * torch.eye(4)[[0, 1, 2, 3, 0]]
    labels = torch.tensor([0, 1, 2, 3, 0])
    assert geometry.wrong_template_spread(feats, labels, head) == pytest.approx(0.0, abs=1e-9)
    skewed = head_with(torch.cat([torch.diag(torch.tensor([5.0, 1, 9, 3])), torch.zeros(4, 1)], 1))
    assert geometry.wrong_template_spread(feats, labels, skewed) > 0.1


def test_geometry_numbers_shrink_with_tighter_clusters():
    g = torch.Generator().manual_seed(0)
    w = torch.cat([4 * torch.eye(3, 5), torch.zeros(3, 1)], 1)
    head = head_with(w)
    labels = torch.arange(3).repeat_interleave(50)
    centres = w[labels, :-1]
    wide = geometry.geometry_numbers(centres + torch.randn(150, 5, generator=g), labels, head, (0, 1, 2))
    tight = geometry.geometry_numbers(centres + 0.1 * torch.randn(150, 5, generator=g), labels, head, (0, 1, 2))
    assert tight["nc1"] < wide["nc1"] / 10
    assert set(tight) == {"nc1", "wrong_template_spread", "projection_scale"}
