import pytest
import torch
import torch.nn.functional as F

from lsnb.methods import losses


@pytest.mark.parametrize("alpha", [0.0, 0.05, 0.1, 0.3, 0.9])
@pytest.mark.parametrize("k", [2, 10, 100])
def test_equals_torch_label_smoothing(alpha, k):
    g = torch.Generator().manual_seed(k)
    logits = torch.randn(64, k, generator=g) * 4
    labels = torch.randint(0, k, (64,), generator=g)
    ours = losses.label_smoothing_loss(logits, labels, alpha)
    torch.testing.assert_close(ours, F.cross_entropy(logits, labels, label_smoothing=alpha))
    explicit = losses.soft_cross_entropy(logits, losses.smooth_targets(labels, k, alpha)).mean()
    torch.testing.assert_close(ours, explicit)


def test_smooth_targets_eq1():
    t = losses.smooth_targets(torch.tensor([2]), 4, 0.2)[0]
    torch.testing.assert_close(t, torch.tensor([0.05, 0.05, 0.85, 0.05]))
    assert t.sum().item() == pytest.approx(1.0)


def test_wrong_class_convention_is_a_rescaled_alpha():
    labels = torch.tensor([0, 3])
    k, alpha = 5, 0.2
    other = losses.smooth_targets_wrong_classes(labels, k, alpha)
    torch.testing.assert_close(other[0], torch.tensor([0.8, 0.05, 0.05, 0.05, 0.05]))
    torch.testing.assert_close(other, losses.smooth_targets(labels, k, alpha * k / (k - 1)))
    assert not torch.allclose(other, losses.smooth_targets(labels, k, alpha))


def test_padding_is_ignored():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(10, 7, generator=g)
    labels = torch.randint(0, 7, (10,), generator=g)
    labels[[2, 5]] = -100
    keep = labels != -100
    got = losses.label_smoothing_loss(logits, labels, 0.1, ignore_index=-100)
    torch.testing.assert_close(got, F.cross_entropy(logits[keep], labels[keep], label_smoothing=0.1))
    torch.testing.assert_close(got, F.cross_entropy(logits, labels, label_smoothing=0.1, ignore_index=-100))


def test_gradient_matches_torch():
    logits = torch.randn(16, 10, requires_grad=True)
    labels = torch.randint(0, 10, (16,))
    (g1,) = torch.autograd.grad(losses.label_smoothing_loss(logits, labels, 0.1), logits)
    (g2,) = torch.autograd.grad(F.cross_entropy(logits, labels, label_smoothing=0.1), logits)
    torch.testing.assert_close(g1, g2)
