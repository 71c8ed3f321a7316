"""The mutual-information estimator of Figure 6 on synthetic logit gaps with known answers."""
import math

import pytest
import torch
from torch import nn

from lsnb.methods import mi as info
from lsnb.data.images import Split
from lsnb.chapters import information


def gaps(means, sigma, l, seed=0):
    """Synthetic logit gaps: row x is L draws of N(means[x], sigma^2), float64."""
    means = torch.as_tensor(means, dtype=torch.float64)
    eps = torch.randn(len(means), l, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return means[:, None] + sigma * eps


# ----------------------------------------------------------------------------- known answers

def test_separated_examples_give_log_n():
    n = 40
    y = gaps(10.0 * torch.arange(n), 1e-3, 20)
    assert info.mutual_information(y) == pytest.approx(math.log(n), abs=1e-3)


def test_identically_distributed_examples_give_almost_zero():
    y = gaps(torch.zeros(100), 1.0, 50)
    mi = info.mutual_information(y)
    assert 0.0 <= mi < 0.05                      # finite-L bias is about 1/(2L) = 0.01


def test_two_tight_clusters_give_log_2():
    n = 60
    y = gaps(torch.tensor([0.0, 50.0]).repeat_interleave(n // 2), 1.0, 50)
    assert info.mutual_information(y) == pytest.approx(math.log(2), abs=0.03)


def test_information_grows_with_the_separation_of_the_means():
    values = [info.mutual_information(gaps(d * torch.arange(10.0), 1.0, 30)) for d in (0, 0.3, 1, 2, 4, 8, 30)]
    assert all(a < b for a, b in zip(values, values[1:])), values
    assert values[0] < 0.05 and values[-1] == pytest.approx(math.log(10), abs=1e-3)


def test_estimate_is_always_within_zero_and_log_n():
    g = torch.Generator().manual_seed(1)
    for trial in range(20):
        n, l = int(torch.randint(2, 30, (1,), generator=g)), int(torch.randint(2, 12, (1,), generator=g))
        scale = torch.rand(n, 1, generator=g, dtype=torch.float64) ** 4 * 100   # very unequal noise per row
        y = torch.randn(n, 1, generator=g, dtype=torch.float64) + scale * torch.randn(n, l, generator=g,
                                                                                       dtype=torch.float64)
        e = info.mutual_information_estimate(y)
        assert 0.0 <= e.mi <= e.log_n == pytest.approx(math.log(n)), (trial, e.mi)


def test_estimate_is_invariant_to_affine_maps_of_y():
    y = gaps(torch.linspace(0, 3, 25), 1.0, 15, seed=3)
    mi = info.mutual_information(y)
    assert 0.3 < mi < math.log(25) - 0.3                   # a case that is neither extreme
    for c, t in ((3.7, -12.0), (-0.5, 1.0), (1e-4, 7.0), (250.0, 0.0)):
        assert info.mutual_information(c * y + t) == pytest.approx(mi, rel=1e-9, abs=1e-12)


def test_pieces_are_the_per_example_means_and_the_pooled_deviation():
    y = torch.tensor([[1.0, 3.0], [10.0, 10.0], [-1.0, -2.0]])
    e = info.mutual_information_estimate(y)
    torch.testing.assert_close(e.mu, torch.tensor([2.0, 10.0, -1.5], dtype=torch.float64))
    assert e.sigma == pytest.approx(math.sqrt((1 + 1 + 0 + 0 + 0.25 + 0.25) / (3 * 1)))
    assert (e.n, e.l) == (3, 2) and e.fraction == pytest.approx(e.mi / math.log(3))


# ----------------------------------------------------------------------------- no noise at all

def test_zero_noise_with_distinct_means_is_log_n():
    y = torch.arange(7.0)[:, None].repeat(1, 4)
    e = info.mutual_information_estimate(y)
    assert e.sigma == 0.0 and e.mi == pytest.approx(math.log(7))


def test_zero_noise_gives_the_entropy_of_the_groups_of_equal_examples():
    y = torch.tensor([0.0, 0.0, 0.0, 5.0, 5.0, 5.0])[:, None].repeat(1, 3)
    assert info.mutual_information(y) == pytest.approx(math.log(2))
    assert info.mutual_information(torch.full((5, 3), 2.5)) == 0.0
    assert info.gaussian_mixture_mi(torch.tensor([1.0, 1.0, 2.0, 3.0]), 0.0) == pytest.approx(
        -(0.5 * math.log(0.5) + 2 * 0.25 * math.log(0.25)))


@pytest.mark.parametrize("scale", [1.0, 1e-170, 1e-300])
def test_vanishing_noise_is_a_limit_not_a_nan(scale):
    # noise 1e6 times smaller than the spacing of the means, at scales where squares underflow
    y = scale * (1e6 * torch.arange(8.0, dtype=torch.float64)[:, None] + torch.tensor([1.0, -1.0, 0.5]))
    e = info.mutual_information_estimate(y)
    assert e.sigma > 0 and e.mi == pytest.approx(math.log(8), abs=1e-9)


# ----------------------------------------------------------------------------- against quadrature

def mixture_mi_by_quadrature(means, sigma, points=400_001):
    """I(X; Y) of an equal-weight Gaussian mixture by the trapezoid rule on a fine grid."""
    means = torch.as_tensor(means, dtype=torch.float64)
    grid = torch.linspace(means.min() - 12 * sigma, means.max() + 12 * sigma, points, dtype=torch.float64)
    dens = torch.exp(-0.5 * ((grid[None] - means[:, None]) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))
    p_y = dens.mean(0)
    integrand = (dens * (dens / p_y).clamp_min(1e-300).log()).mean(0)      # sum_x p(x) p(y|x) log p(y|x)/p(y)
    return torch.trapezoid(integrand, grid).item()


def test_both_estimators_match_numerical_integration_for_three_gaussians():
    means, sigma = [0.0, 1.0, 3.0], 0.8
    exact = mixture_mi_by_quadrature(means, sigma)
    assert 0.2 < exact < math.log(3) - 0.2
    # (b) samples the Gaussian model itself: Monte-Carlo error ~ 1 / sqrt(3 * 100k) ~ 0.002.
    model = info.gaussian_mixture_mi(torch.tensor(means), sigma, n_samples=100_000,
                                     generator=torch.Generator().manual_seed(0))
    assert model == pytest.approx(exact, abs=0.01)
    # (a) fits mu_x and s from observed samples, then scores the same samples.
    observed = info.mutual_information_estimate(gaps(means, sigma, 20_000, seed=4))
    assert observed.sigma == pytest.approx(sigma, rel=0.01)
    assert observed.mi == pytest.approx(exact, abs=0.01)


# ----------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("y, message", [
    (torch.zeros(5), "2-D"),
    (torch.zeros(2, 3, 4), "2-D"),
    (torch.zeros(1, 10), "N >= 2"),
    (torch.zeros(10, 1), "L >= 2"),
    (torch.tensor([[0.0, 1.0], [float("nan"), 2.0]]), "non-finite"),
    (torch.tensor([[0.0, float("inf")], [1.0, 2.0]]), "non-finite"),
])
def test_bad_input_is_named(y, message):
    with pytest.raises(ValueError, match=message):
        info.mutual_information(y)


def test_bad_model_parameters_are_named():
    with pytest.raises(ValueError, match="sigma"):
        info.gaussian_mixture_mi(torch.zeros(3), -1.0)
    with pytest.raises(ValueError, match="N >= 2"):
        info.gaussian_mixture_mi(torch.zeros(1), 1.0)


# ----------------------------------------------------------------------------- the network's side

def tiny_model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Dropout(0.5), nn.Linear(64, 3))


def fake_images(n=6):
    return torch.randint(0, 256, (n, 1, 8, 8), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)


def test_logit_gaps_vary_with_augmentation_and_are_reproducible():
    model, x = tiny_model(), fake_images()
    y = information.logit_gaps(model, x, "shift2", 5, classes=(2, 0), generator=torch.Generator().manual_seed(1))
    again = information.logit_gaps(model, x, "shift2", 5, classes=(2, 0), generator=torch.Generator().manual_seed(1))
    assert y.shape == (6, 5) and y.dtype == torch.float32
    torch.testing.assert_close(y, again, rtol=0, atol=0)
    assert (y.std(1) > 0).all()                          # every example's gap moves with the shifts
    other = information.logit_gaps(model, x, "shift2", 5, classes=(2, 0), generator=torch.Generator().manual_seed(2))
    assert not torch.equal(y, other)


def test_logit_gaps_without_augmentation_are_constant_and_dropout_is_off():
    model, x = tiny_model(), fake_images()
    model.train()
    y = information.logit_gaps(model, x, "none", 4, classes=(0, 1), generator=torch.Generator().manual_seed(0))
    assert model.training                                 # the caller's mode is restored
    with torch.no_grad():
        logits = model[2](x.float().div(255).flatten(1))
    torch.testing.assert_close(y, (logits[:, 0] - logits[:, 1])[:, None].expand(6, 4))


def test_logit_gaps_reject_bad_classes_and_images():
    model, x = tiny_model(), fake_images()
    with pytest.raises(ValueError, match="do not index"):
        information.logit_gaps(model, x, "none", 2, classes=(0, 3))
    with pytest.raises(ValueError, match="uint8"):
        information.logit_gaps(model, x.float(), "none", 2)


def test_two_class_subset_is_balanced_and_deterministic():
    labels = torch.arange(10).repeat(30)                  # 30 examples of each of 10 classes
    split = Split(torch.zeros(len(labels), 1, 2, 2, dtype=torch.uint8), labels)
    idx = information.two_class_subset(split, (3, 7), 20, seed=5)
    assert len(idx) == 20 and len(set(idx.tolist())) == 20
    assert (labels[idx[:10]] == 3).all() and (labels[idx[10:]] == 7).all()
    torch.testing.assert_close(idx, information.two_class_subset(split, (3, 7), 20, seed=5))
    assert not torch.equal(idx, information.two_class_subset(split, (3, 7), 20, seed=6))
    with pytest.raises(ValueError, match="needs 40"):
        information.two_class_subset(split, (3, 7), 80)
    with pytest.raises(ValueError, match="even"):
        information.two_class_subset(split, (3, 7), 21)
    with pytest.raises(ValueError, match="two different"):
        information.two_class_subset(split, (3, 3), 20)


def test_figure6_rows_follow_every_seed_and_are_kept_in_the_run_folder(tiny, tmp_path, monkeypatch):
    from lsnb.engine import runs, train
    cfg, _ = tiny
    trained = {label: [train.train(cfg.with_(alpha=a, seed=s, snapshots=2), runs_dir=tmp_path, progress=False)
                       for s in (0, 1)] for label, a in (("hard", 0.0), ("LS", 0.1))}
    over, by_l = information.figure6_rows(trained, (0, 1), 8, 4, (2, 4))
    assert {(r["training"], r["seed"]) for r in over} == {(lab, s) for lab in ("hard", "LS") for s in (0, 1)}
    assert len(over) == 4 * len(runs.snapshots(trained["hard"][0]))
    assert {r["source"] for r in by_l} == {"hard", "LS", "control, true I = log 2"}
    assert sorted({r["L"] for r in by_l}) == [2, 4]
    assert all(0 <= r["mi"] <= math.log(8) + 1e-9 for r in over + by_l)
    # computed once: a second call reads the rows from the run folders (no network runs again)
    assert (trained["hard"][0].path / "figure6").is_dir()
    monkeypatch.setattr(information, "logit_gaps", lambda *a, **k: pytest.fail("recomputed"))
    assert information.figure6_rows(trained, (0, 1), 8, 4, (2, 4)) == (over, by_l)


def test_log2_control_comes_down_to_log2_as_l_grows():
    rows = info.log2_control(400, (4, 16, 64))
    excess = [r["mi"] - math.log(2) for r in rows]
    assert excess[0] > excess[1] > excess[2] > 0
    assert excess[2] < 0.02
    with pytest.raises(ValueError, match="even"):
        info.log2_control(7, (4,))


def test_noise_is_the_runs_own_augmentation_or_shifts_for_a_run_trained_without():
    from types import SimpleNamespace
    from pathlib import Path

    def run(augment):
        return SimpleNamespace(config=SimpleNamespace(augment=augment), path=Path("runs/0123abcd"))
    assert information.noise(run("cifar")) == "cifar"
    assert information.noise(run("cifar"), "cifar") == "cifar"
    assert information.noise(run("none"), "shift2") == "shift2"
    with pytest.raises(ValueError, match="without augmentation.*shift2"):
        information.noise(run("none"))
    with pytest.raises(ValueError, match="normalisation|'shift2' for a run trained without"):
        information.noise(run("cifar"), "shift2")
    with pytest.raises(ValueError, match="'shift2' for a run trained without"):
        information.noise(run("none"), "cifar")


def test_figure6_rows_measure_a_run_without_augmentation_under_shifts(tiny, tmp_path):
    from lsnb.engine import train
    cfg, _ = tiny
    run = train.train(cfg.with_(augment="none", snapshots=2), runs_dir=tmp_path, progress=False)
    with pytest.raises(ValueError, match="without augmentation"):
        information.figure6_rows({"hard": [run]}, (0, 1), 8, 4, (2, 4))
    over, by_l = information.figure6_rows({"hard": [run]}, (0, 1), 8, 4, (2, 4), augment="shift2")
    assert all(r["sigma"] > 0 for r in by_l if r["source"] == "hard")   # the shifts are noise
    assert sorted(p.name for p in (run.path / "figure6").iterdir())[0].endswith("_shift2.json")


def test_final_estimates_take_the_last_snapshot_of_every_seed_in_seed_order():
    rows = [{"training": lab, "seed": s, "epoch": e, "mi": 10 * i + s + e / 100}
            for i, lab in enumerate(("hard", "LS")) for s in (2, 0, 1) for e in (0, 5, 10)]
    hard, ls = information.final_estimates(rows, ["hard", "LS"])
    assert hard == [0.1, 1.1, 2.1] and ls == [10.1, 11.1, 12.1]
