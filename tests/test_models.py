"""The paper's architectures: parameter counts, shapes, and the TF details that are easy to get wrong."""
import pytest
import torch
from torch import nn

from lsnb.models import vision as models


def count(model):
    return sum(p.numel() for p in model.parameters())


def test_resnet56_v2_has_the_published_size():
    m = models.ResNetV2((3, 32, 32), 10, depth=56)
    assert count(m) == 855_834  # ~0.85 M, the CIFAR-10 ResNet-56 (widths 16/32/64, not doubled)
    assert m(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    assert m.features(torch.randn(2, 3, 32, 32)).shape == (2, 64)
    assert isinstance(m.bn, nn.BatchNorm2d)  # the final BN-ReLU before pooling is there


@pytest.mark.parametrize("depth, params", [(20, 272_538), (32, 466_970)])
def test_shallower_resnets_from_the_same_builder(depth, params):
    assert count(models.ResNetV2((3, 32, 32), 10, depth=depth)) == params


def test_resnet_depth_must_be_6n_plus_2():
    with pytest.raises(ValueError, match="depth=21"):
        models.ResNetV2((3, 32, 32), 10, depth=21)


def test_resnet_weight_decay_skips_batch_norm():
    m = models.ResNetV2((3, 32, 32), 100, depth=20)
    decayed = {n for n, _ in m.named_parameters() if m.decays(n)}
    assert "stem.weight" in decayed and "head.weight" in decayed
    assert not any("bn" in n for n in decayed)


def test_alexnet_matches_the_tf_tutorial():
    m = models.AlexNet((3, 24, 24), 10)
    assert count(m) == (5 * 5 * 3 * 64 + 64) + (5 * 5 * 64 * 64 + 64) + (2304 * 384 + 384) + (384 * 192 + 192) \
        + (192 * 10 + 10)
    assert m.local3.in_features == 6 * 6 * 64
    assert m(torch.randn(2, 3, 24, 24)).shape == (2, 10)
    assert m.features(torch.randn(2, 3, 24, 24)).shape == (2, 192)
    assert {n for n, _ in m.named_parameters() if m.decays(n)} == {"local3.weight", "local4.weight"}
    assert torch.all(m.local3.bias == 0.1) and torch.all(m.head.bias == 0)
    assert m.head.weight.std().item() == pytest.approx(1 / 192, rel=0.2)  # not clamped to one constant
    assert m.head.weight.unique().numel() > 100
    assert m.conv1.weight.abs().max().item() <= 2 * 0.05


def test_alexnet_on_one_channel_images():
    m = models.AlexNet((1, 24, 24), 10)
    assert m(torch.randn(2, 1, 24, 24)).shape == (2, 10)


def test_lrn_translation_equals_tf_formula():
    """TF: a / (bias + alpha * sum over channels c-r..c+r of a^2) ** beta, radius 4, alpha 0.001/9."""
    x = torch.randn(2, 16, 3, 3) * 5
    r, bias, alpha, beta = 4, 1.0, 0.001 / 9, 0.75
    sq = nn.functional.pad(x.pow(2), (0, 0, 0, 0, r, r))
    window = torch.stack([sq[:, c:c + 2 * r + 1].sum(1) for c in range(16)], 1)
    expected = x / (bias + alpha * window).pow(beta)
    torch.testing.assert_close(models.tf_lrn()(x), expected)
    torch.testing.assert_close(models.ChannelLRN()(x), expected)


def test_fast_lrn_has_the_gradient_of_torchs():
    x = (torch.randn(2, 64, 5, 5) * 3).requires_grad_()
    (g_fast,) = torch.autograd.grad(models.ChannelLRN()(x).sin().sum(), x)
    (g_torch,) = torch.autograd.grad(models.tf_lrn()(x).sin().sum(), x)
    torch.testing.assert_close(g_fast, g_torch, rtol=1e-4, atol=1e-5)


def test_maxpool_same_matches_tf_shapes():
    pool = models.MaxPoolSame()
    assert pool(torch.randn(1, 1, 24, 24)).shape == (1, 1, 12, 12)
    assert pool(torch.randn(1, 1, 12, 12)).shape == (1, 1, 6, 6)
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    # TF SAME on 4x4: windows start at 0 and 2; the second window covers rows/cols 2..3 plus padding
    assert pool(x).flatten().tolist() == [10.0, 11.0, 14.0, 15.0]


def test_fcn_shapes():
    m = models.FCN((1, 28, 28), 10, hidden=(800, 800))
    assert count(m) == 784 * 800 + 800 + 800 * 800 + 800 + 8010
    assert m.features(torch.randn(3, 1, 28, 28)).shape == (3, 800)
