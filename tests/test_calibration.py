"""ECE and friends against their definitions and torchmetrics; temperature scaling on synthetic logits."""

import pytest
import torch
import torch.nn.functional as F
from torchmetrics.functional.classification import multiclass_calibration_error

from lsnb.methods import metrics, calibration as temperature
from lsnb.book.glue import pm
from lsnb.chapters import calibration
from lsnb.chapters import paper
from welch import assert_interval, z2_would_agree


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


def test_calibration_summary_is_every_number_of_sec_3_at_one_temperature():
    logits, labels = random_case(3)
    at_2 = temperature.calibration_summary(logits, labels, n_bins=10, temperature=2.0)
    assert list(at_2) == ["accuracy", "ece", "adaptive_ece", "classwise_ece", "nll"]
    assert at_2["ece"] == pytest.approx(metrics.ece(logits / 2, labels, 10))
    assert at_2["adaptive_ece"] == pytest.approx(metrics.adaptive_ece(logits / 2, labels, 10))
    assert at_2["classwise_ece"] == pytest.approx(metrics.classwise_ece(logits / 2, labels, 10))
    assert at_2["nll"] == pytest.approx(metrics.nll(logits / 2, labels))
    at_1 = temperature.calibration_summary(logits, labels, n_bins=10)
    assert at_1["accuracy"] == at_2["accuracy"] == pytest.approx(100 * metrics.accuracy(logits, labels))
    assert at_1["ece"] != pytest.approx(at_2["ece"])


# ----------------------------------------------------------------------------- chapter 3's tables

def over_confident(seed, factor, n=4000, k=10):
    """Logits ``factor`` times sharper than the labels they are calibrated for (T = factor repairs them)."""
    g = torch.Generator().manual_seed(seed)
    base = torch.randn(n, k, generator=g, dtype=torch.float64) * 1.5
    labels = torch.multinomial(F.softmax(base, 1), 1, generator=g).squeeze(1)
    return base * factor, labels


@pytest.fixture
def image_runs(monkeypatch):
    """Two networks, hard targets (3x over-confident) and alpha = 0.1 (calibrated), seeds 0 and 1; each
    run's logits come from the stand-in for the run store's split_logits."""
    from types import SimpleNamespace
    runs = {name: [SimpleNamespace(config=SimpleNamespace(alpha=a, seed=s, dataset=f"{name.lower()}-data"),
                                   factor=3.0 if a == 0 else 1.0, id=i * 10 + j)
                   for j, (a, s) in enumerate((a, s) for a in (0.0, 0.1) for s in (0, 1))]
            for i, name in enumerate(("Net", "Other"))}
    monkeypatch.setattr(calibration, "split_logits",
                        lambda run, split: over_confident(run.id * 3 + ("train", "val", "test").index(split),
                                                          run.factor))
    return runs


def test_scaling_rows_fit_on_validation_and_repair_the_test_set(image_runs):
    rows = calibration.scaling_rows(image_runs, n_bins=15)
    assert len(rows) == 2 * 8 and [r["method"] for r in rows[:2]] == ["none", "temperature"]
    for none, scaled in zip(rows[::2], rows[1::2]):
        assert none["T_nll"] == scaled["T_nll"] and none["accuracy"] == scaled["accuracy"]
        if none["alpha"] == 0:   # 3x over-confident: T ~ 3 fixes it
            assert none["T_nll"] == pytest.approx(3.0, rel=0.1) and none["T_ece"] == pytest.approx(3.0, rel=0.2)
            assert scaled["ece"] < none["ece"] / 3 and scaled["nll"] < none["nll"]
        else:
            assert none["T_nll"] == pytest.approx(1.0, rel=0.1)


def test_table3_and_its_summary(image_runs):
    rows = calibration.scaling_rows(image_runs, n_bins=15)
    table, numbers = calibration.table3(rows, image_runs)
    assert [t["model"] for t in table] == ["Net", "Other"]
    assert list(table[0]) == ["model", "baseline ECE", "temp. scaling ECE", "T (NLL fit)", "T (ECE grid)",
                              "LS ECE (alpha chosen on validation)", "alpha chosen"]
    per_seed = lambda **w: [r for r in rows if r["model"] == "Net" and all(r[k] == v for k, v in w.items())]
    assert numbers["Net"] == {"baseline": [r["ece"] for r in per_seed(alpha=0.0, method="none")],
                              "temperature": [r["ece"] for r in per_seed(alpha=0.0, method="temperature")],
                              "T": [r["T_nll"] for r in per_seed(alpha=0.0, method="temperature")],
                              "ls": [r["ece"] for r in per_seed(alpha=0.1, method="none")],
                              "ls_alpha": [0.1, 0.1]}            # the only label-smoothed runs
    assert table[0]["LS ECE (alpha chosen on validation)"] == pm(numbers["Net"]["ls"], digits=3)
    assert table[0]["alpha chosen"] == "0.1 (the only one trained)"
    assert table[0]["T (NLL fit)"] == pm(numbers["Net"]["T"], digits=2)
    summary = calibration.summarise_table3(numbers)
    n = numbers["Net"]
    assert summary.means("Net") == pytest.approx({"baseline": sum(n["baseline"]) / 2, "ts": sum(n["temperature"]) / 2,
                                                  "ls": sum(n["ls"]) / 2, "T": sum(n["T"]) / 2})
    for model, n in numbers.items():       # 3x over-confident hard runs, calibrated LS runs: each part agrees
        assert_interval(summary.over_confidence(model), n["T"], [1.0, 1.0])
        assert_interval(summary.ts_gain(model), n["baseline"], n["temperature"])
        assert_interval(summary.ls_gain(model), n["baseline"], n["ls"])
        assert_interval(summary.ls_vs_ts(model), n["ls"], n["temperature"])
        assert [summary.over_confidence(model).verdict(), summary.ts_gain(model).verdict(),
                summary.ls_gain(model).verdict()] == ["agrees"] * 3


def test_table3_summary_verdicts():
    from scipy import stats as scipy_stats
    s = calibration.Table3Summary({
        "a": {"T": [1.5, 1.6, 1.4], "baseline": [0.10, 0.11, 0.09], "temperature": [0.020, 0.021, 0.019],
              "ls": [0.025, 0.026, 0.024]},
        "b": {"T": [0.9, 0.92, 0.88], "baseline": [0.030, 0.031, 0.029], "temperature": [0.040, 0.041, 0.039],
              "ls": [0.020, 0.021, 0.019]},
        "c": {"T": [1.0, 1.4, 0.8], "baseline": [0.05, 0.09, 0.01], "temperature": [0.030, 0.031, 0.029],
              "ls": [0.03, 0.05, 0.01]},
        "d": {"T": [1.3, 1.5], "baseline": [0.10, 0.11], "temperature": [0.02, 0.03], "ls": [0.04, 0.05]}})
    assert paper.LS_TS_MARGIN == 0.015

    def verdicts(m):
        return (s.over_confidence(m).verdict(), s.ts_gain(m).verdict(), s.ls_gain(m).verdict(),
                s.ls_vs_ts(m).verdict(paper.LS_TS_MARGIN))

    assert verdicts("a") == ("agrees", "agrees", "agrees", "agrees")      # LS - TS = +0.005, inside +-0.015
    assert verdicts("b") == ("differs", "differs", "agrees", "differs")   # T < 1; TS worse; LS - TS = -0.02
    assert verdicts("c") == ("within noise",) * 4                         # the seeds disagree
    # the fitted T against 1 is a one-sample t-interval (no spread on the side of 1)
    ci = scipy_stats.ttest_1samp([1.0, 1.4, 0.8], 1.0).confidence_interval()
    c = s.over_confidence("c")
    assert (c.difference, c.low, c.high, c.df) == pytest.approx((1.0667 - 1, ci.low - 1, ci.high - 1, 2), abs=1e-4)
    # two seeds: T - 1 = 0.4 is beyond two standard errors (0.2) but not beyond t(1) x 0.1 = 1.27
    assert z2_would_agree([1.3, 1.5], [1.0, 1.0]) and s.over_confidence("d").verdict() == "within noise"
    assert s.ls_vs_ts("d").difference == pytest.approx(0.02)
    assert_interval(s.ls_vs_ts("d"), [0.04, 0.05], [0.02, 0.03])
    assert s.ls_vs_ts("d").verdict(paper.LS_TS_MARGIN) == "within noise"  # +0.02 but the interval spans +-0.015
    assert s.ls_vs_ts("a").verdict(paper.LS_TS_MARGIN / 10) == "differs"
    import warnings
    with warnings.catch_warnings():     # the side of 1 has no spread: no (false) precision-loss warning in the book
        warnings.simplefilter("error")
        s.over_confidence("a")


def test_reliability_panels_use_the_fitted_temperature_of_the_hard_run(image_runs):
    rows = calibration.scaling_rows(image_runs, n_bins=15)
    panels = calibration.reliability_panels(image_runs, rows, 0.1, seed=1, n_bins=15)
    t = next(r["T_nll"] for r in rows if r["model"] == "Other" and r["alpha"] == 0 and r["seed"] == 1)
    other = f"Other (other-data)\nfitted T = {t:.2f}"              # each panel's own T in its title
    assert list(panels)[1] == other and list(panels)[0].startswith("Net (net-data)\nfitted T = ")
    # one legend serves every panel, so the labels are the same in each
    assert list(panels[other]) == list(panels[list(panels)[0]]) == ["hard targets", "hard, fitted T",
                                                                      "LS, alpha = 0.1"]
    hard = panels[other]["hard targets"]
    scaled = panels[other]["hard, fitted T"]
    assert hard["count"].sum() == scaled["count"].sum() == 4000
    assert (hard["confidence"] - hard["accuracy"]).nansum() > (scaled["confidence"] - scaled["accuracy"]).nansum()


def test_alpha_and_temperature_sweeps(image_runs):
    alpha_rows = calibration.alpha_sweep(image_runs, n_bins=15)
    assert [(r["model"], r["alpha"]) for r in alpha_rows[:4]] == [("Net", 0.0), ("Net", 0.0), ("Net", 0.1), ("Net", 0.1)]
    t_rows = calibration.temperature_sweep(image_runs, (0.0, 0.1), 1, [1.0, 3.0], n_bins=15)
    assert [(r["model"], r["training"], r["T"]) for r in t_rows[:4]] == [
        ("Net", "hard", 1.0), ("Net", "hard", 3.0), ("Net", "LS 0.1", 1.0), ("Net", "LS 0.1", 3.0)]
    hard_at_1, hard_at_3 = t_rows[0], t_rows[1]
    assert hard_at_3["ece"] < hard_at_1["ece"] and hard_at_3["accuracy"] == hard_at_1["accuracy"]
    logits, labels = over_confident(1 * 3 + 2, 3.0)          # Net's hard run of seed 1 (id 1), test split
    assert hard_at_3["ece"] == pytest.approx(metrics.ece(logits, labels, 15, 3.0))


def test_label_smoothing_is_chosen_per_seed_on_validation_ece_not_on_test():
    def row(alpha, seed, val_ece, test_ece):
        return {"model": "Net", "alpha": alpha, "seed": seed, "method": "none", "val_ece": val_ece, "ece": test_ece,
                "T_nll": 1.0, "T_ece": 1.0}
    rows = [row(0.0, 0, 0.2, 0.2), row(0.0, 1, 0.2, 0.2),
            row(0.05, 0, 0.01, 0.09), row(0.1, 0, 0.05, 0.001),     # seed 0: 0.05 by validation, though worse on test
            row(0.05, 1, 0.03, 0.03), row(0.1, 1, 0.03, 0.02)]      # seed 1: a tie goes to the smaller alpha
    rows += [dict(r, method="temperature") for r in rows if r["alpha"] == 0]
    assert calibration.chosen_alphas(rows, "Net") == {0: 0.05, 1: 0.05}
    _, numbers = calibration.table3(rows, {"Net": []})
    assert numbers["Net"]["ls"] == [0.09, 0.03] and numbers["Net"]["ls_alpha"] == [0.05, 0.05]
    assert calibration.Table3Summary(numbers).alpha_text("Net") == "0.05"


def test_scaling_table_has_headers_in_words_and_steady_decimals(image_runs):
    table = calibration.scaling_table(calibration.scaling_rows(image_runs, n_bins=15))
    assert list(table[0]) == ["model", "alpha", "scaling", "seeds", "accuracy (%)", "ECE", "adaptive ECE",
                              "class-wise ECE", "NLL (nats)"]
    assert all(len(r["ECE"].split(".")[1]) == 3 and len(r["accuracy (%)"].split(".")[1]) == 2 for r in table)


def test_the_alpha_sweep_in_words_says_where_the_ece_is_lowest():
    from lsnb.chapters.calibration import ece_shape
    rows = [{"model": "FCN", "alpha": a, "ece": e} for a, e in ((0.0, 0.10), (0.05, 0.02), (0.2, 0.08))]
    rows += [{"model": "ResNet", "alpha": a, "ece": e} for a, e in ((0.0, 0.10), (0.2, 0.03))]
    assert ece_shape(rows) == "0.05 for the FCN (higher again at 0.2); 0.2 for the ResNet (the largest of the sweep)"
