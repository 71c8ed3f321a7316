"""ECE and friends against their definitions and torchmetrics; temperature scaling on synthetic logits."""

import pytest
import torch
import torch.nn.functional as F
from torchmetrics.functional.classification import multiclass_calibration_error

from lsnb import metrics, temperature


def logits_with_confidence(conf: torch.Tensor, k: int = 4) -> torch.Tensor:
    """Logits whose softmax puts exactly ``conf`` on class 0 and the rest evenly elsewhere."""
    rest = (1 - conf) / (k - 1)
    probs = torch.cat([conf[:, None], rest[:, None].expand(-1, k - 1)], 1).double()
    return probs.clamp_min(1e-300).log()


def random_case(seed, n=2000, k=10, scale=3.0):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, k, generator=g, dtype=torch.float64) * scale
    labels = torch.where(torch.rand(n, generator=g) < 0.7, logits.argmax(1), torch.randint(0, k, (n,), generator=g))
    return logits, labels


@pytest.mark.parametrize("seed", range(5))
def test_ece_matches_torchmetrics(seed):
    logits, labels = random_case(seed)
    ours = metrics.ece(logits, labels, 15)
    theirs = multiclass_calibration_error(F.softmax(logits, 1), labels, num_classes=10, n_bins=15, norm="l1")
    assert ours == pytest.approx(theirs.item(), abs=1e-6)


def test_ece_by_hand():
    # confidences 0.95 (correct), 0.95 (wrong), 0.5 (correct): bins (0.933, 1] and (0.467, 0.533]
    logits = logits_with_confidence(torch.tensor([0.95, 0.95, 0.5]))
    labels = torch.tensor([0, 1, 0])
    expected = 2 / 3 * abs(0.5 - 0.95) + 1 / 3 * abs(1 - 0.5)
    assert metrics.ece(logits, labels) == pytest.approx(expected)


def test_confidence_one_is_in_the_last_bin_and_empty_bins_add_nothing():
    logits = torch.tensor([[0.0, -1e4, -1e4], [0.0, -1e4, -1e4]], dtype=torch.float64)  # confidence exactly 1
    conf, _ = metrics.confidences(logits)
    assert conf.tolist() == [1.0, 1.0]
    r = metrics.reliability(logits, torch.tensor([0, 1]))
    assert r["count"][-1] == 2 and r["count"][:-1].sum() == 0
    assert metrics.ece(logits, torch.tensor([0, 1])) == pytest.approx(0.5)
    theirs = multiclass_calibration_error(F.softmax(logits, 1), torch.tensor([0, 1]), num_classes=3, n_bins=15)
    assert theirs.item() == pytest.approx(0.5)


def test_confidence_on_an_inner_edge_goes_to_the_lower_bin():
    conf = torch.tensor([2 / 3], dtype=torch.float64)   # edge between bins 10 and 11 of 15 (10/15)
    idx = metrics._bin_index(conf, 15)
    assert idx.item() == 9                              # bin (9/15, 10/15]


def test_perfectly_calibrated_bins_give_zero():
    logits = logits_with_confidence(torch.full((10,), 0.7, dtype=torch.float64))
    labels = torch.tensor([0] * 7 + [1] * 3)
    assert metrics.ece(logits, labels) == pytest.approx(0.0, abs=1e-12)
    assert metrics.adaptive_ece(logits, labels, n_bins=1) == pytest.approx(0.0, abs=1e-12)


def test_adaptive_ece_uses_equal_mass_bins():
    logits = logits_with_confidence(torch.tensor([0.3, 0.4, 0.9, 0.95]))
    labels = torch.tensor([0, 1, 0, 0])
    # two bins of two examples: {0.3 wrong?..} -> bin 1: conf 0.35, acc 0.5; bin 2: conf 0.925, acc 1
    assert metrics.adaptive_ece(logits, labels, n_bins=2) == pytest.approx(0.5 * 0.15 + 0.5 * 0.075)


def test_classwise_ece_matches_a_direct_loop():
    logits, labels = random_case(7, n=500, k=4)
    probs = F.softmax(logits, 1)
    expected = 0.0
    for c in range(4):
        for m in range(15):
            lo, hi = m / 15, (m + 1) / 15
            inside = (probs[:, c] > lo) & (probs[:, c] <= hi) if m else (probs[:, c] <= hi)
            if inside.any():
                expected += inside.sum().item() / 500 * abs((labels[inside] == c).double().mean().item()
                                                             - probs[inside, c].mean().item())
    assert metrics.classwise_ece(logits, labels) == pytest.approx(expected / 4, abs=1e-9)


@pytest.mark.parametrize("t", [0.5, 1.9])
def test_temperature_divides_the_logits(t):
    logits, labels = random_case(1)
    assert metrics.ece(logits, labels, temperature=t) == pytest.approx(metrics.ece(logits / t, labels))
    assert metrics.ece(logits, labels, temperature=t) != pytest.approx(metrics.ece(logits, labels))
    assert temperature.nll_at(logits, labels, t) == pytest.approx(metrics.nll(logits / t, labels))


@pytest.mark.parametrize("true_t", [0.5, 1.0, 1.9, 3.0])
def test_fit_recovers_a_known_temperature(true_t):
    g = torch.Generator().manual_seed(0)
    base = torch.randn(20000, 10, generator=g, dtype=torch.float64) * 2
    labels = torch.multinomial(F.softmax(base, 1), 1, generator=g).squeeze(1)  # calibrated at T = 1
    fitted = temperature.fit_temperature(base * true_t, labels)
    assert fitted == pytest.approx(true_t, rel=0.05)
    grid_t = temperature.ece_grid_temperature(base * true_t, labels)
    assert grid_t == pytest.approx(true_t, rel=0.15)
