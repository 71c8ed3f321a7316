"""The scorecard's claims (lsnb.chapters.paper), the seed comparison behind Table 2's verdicts, and glue_all."""
from dataclasses import replace
from types import SimpleNamespace

import pytest

from lsnb.book import glue as book
from lsnb.chapters import common as chapters, paper
from lsnb.chapters.translation_summary import TranslationSummary
from lsnb.chapters.distillation_tables import FollowupSummary, Figure5Summary, HintonSummary
from lsnb.methods.metrics import SeedComparison
from lsnb.methods.stats import compare
from lsnb.chapters.calibration import Table3Summary
from lsnb.chapters import label_smoothing
from lsnb.chapters import representations
from lsnb.chapters import calibration
from lsnb.chapters import translation_summary as chapter3b
from lsnb.chapters import distillation
from welch import assert_interval, z2_would_agree


def setup_on(profile="smoke", dataset="fashion_mnist", alpha=0.1):
    return SimpleNamespace(profile=SimpleNamespace(name=profile), dataset=dataset, alpha=alpha)


def test_seed_comparison_is_ls_minus_hard_with_welchs_interval():
    c = SeedComparison([80.0, 82.0, 81.0], [85.0, 87.0, 86.0])
    assert c.hard == (80.0, 82.0, 81.0) and c.ls == (85.0, 87.0, 86.0)
    assert c.comparison.difference == pytest.approx(5.0) and c.comparison.df == pytest.approx(4.0)
    assert_interval(c.comparison, c.ls, c.hard)
    assert c.comparison.verdict() == "agrees"
    assert SeedComparison([85.0, 87.0, 86.0], [80.0, 82.0, 81.0]).comparison.verdict() == "differs"
    # two seeds: 5 points is beyond two standard errors (2.8) but not beyond t(2) x 1.41 = 6.1
    two = SeedComparison([80.0, 82.0], [85.0, 87.0])
    assert z2_would_agree(two.ls, two.hard) and two.comparison.verdict() == "within noise"
    one_seed = SeedComparison([80.0], [85.0]).comparison                          # no spread known: never a verdict
    assert one_seed.difference == 5.0 and one_seed.verdict() == "within noise"


def test_glue_all_glues_every_value_in_order(monkeypatch):
    glued = []
    monkeypatch.setattr(book, "glue", lambda name, value, display=False: glued.append((name, value)))
    book.glue_all({"b": "1", "a": "2.50", "c": "all"})
    assert glued == [("b", "1"), ("a", "2.50"), ("c", "all")]


HARD = [80.0, 80.2, 79.8]


def test_label_smoothing_claims_read_the_accuracy_gap_against_one_point():
    assert paper.ACCURACY_MARGIN == 1.0
    close = SeedComparison(HARD, [80.3, 80.5, 80.1])                              # +0.3 [-0.15, +0.75]
    claims = label_smoothing.label_smoothing_claims(setup_on(), True, 0.0123, close)
    assert [c.verdict for c in claims] == ["agrees", "agrees"]
    assert "differs by 0.0123 nats" in claims[0].ours
    assert claims[1].ours == ("FCN/fashion_mnist: 80.00 ± 0.20 vs 80.30 ± 0.20 % (alpha 0 vs 0.1); "
                              f"LS - hard {close.comparison.text(2)} points")
    assert close.comparison.text(2) == "+0.30 [-0.15, +0.75]"
    assert claims[1].note == "smoke profile: fashion_mnist, not the paper's data and schedule"

    def verdict(ls):
        return label_smoothing.label_smoothing_claims(setup_on(), False, 0.5, SeedComparison(HARD, ls))[1].verdict

    assert label_smoothing.label_smoothing_claims(setup_on(), False, 0.5, close)[0].verdict == "differs"
    assert verdict([85.0, 85.2, 84.8]) == "differs"              # +5 [+4.55, +5.45]: wholly beyond the margin
    assert verdict([78.5, 78.7, 78.3]) == "differs"              # -1.5 [-1.95, -1.05]: wholly below -1
    assert verdict([81.0, 81.2, 80.8]) == "within noise"         # +1 [+0.55, +1.45]: straddles the margin
    assert verdict([79.0, 79.2, 78.8]) == "within noise"         # -1 [-1.45, -0.55]: straddles it too
    # two seeds: +0.5 with t(2) x 0.71 = 3.0 either side, well beyond the margin's reach
    assert label_smoothing.label_smoothing_claims(setup_on(), True, 0.0, SeedComparison([80.0, 81.0], [80.5, 81.5]))[1] \
        .verdict == "within noise"


def fake_table2(datasets, accuracies):
    """A Table2Runs whose models train on ``datasets`` and reach ``accuracies`` (alpha: per-seed fractions)."""
    table2 = {name: [SimpleNamespace(config=SimpleNamespace(alpha=a, seed=s, dataset=datasets[name]),
                                     metrics={"test_accuracy": acc})
                     for a, accs in accuracies[name].items() for s, acc in enumerate(accs)] for name in datasets}
    return representations.Table2Runs(table2, {}, (0.0, 0.1), (), 0)


def test_representation_claims_leave_the_fcn_to_chapter_1_and_read_tightness_in_the_plane():
    agree, differ, noise = compare([1.0, 1.1, 0.9], [0.5, 0.6, 0.4]), compare([0.5, 0.6, 0.4], [1.0, 1.1, 0.9]), \
        compare([1.0, 1.5, 0.5], [0.9, 1.0, 0.8])
    comparisons = {"plane_nc1": {"FCN": agree, "AlexNet": agree}, "nc1": {"FCN": differ, "AlexNet": agree},
                   "wrong_template_spread": {"FCN": agree, "AlexNet": differ},
                   "projection_scale": {"FCN": agree, "AlexNet": noise}}
    runs = fake_table2({"FCN": "fashion_mnist", "AlexNet": "cifar10"},
                       {"FCN": {0.0: [0.800, 0.802, 0.798], 0.1: [0.850, 0.852, 0.848]},
                        "AlexNet": {0.0: [0.868, 0.870, 0.866], 0.1: [0.867, 0.869, 0.865]}})
    alexnet, plane, full, equal, smaller = representations.representation_claims(setup_on("paper"), runs, comparisons)
    assert alexnet.paper == "CIFAR-10: 86.8 ± 0.2 vs 86.7 ± 0.3 %" and alexnet.verdict == "agrees"  # -0.1 points
    assert alexnet.note == ""                                               # the paper's data, the paper profile
    assert alexnet.ours.endswith(f"LS - hard {runs.comparison('AlexNet').comparison.text(2)} points")
    assert not any("FCN" in c.claim for c in (alexnet, plane, full, equal, smaller))    # chapter 1's claim
    smoke = representations.representation_claims(setup_on("smoke"), runs, comparisons)[0]
    assert smoke.note == "smoke profile: cifar10, not the paper's data and schedule"
    # every network must agree; one that differs makes the claim differ, one within noise leaves it there
    assert [c.verdict for c in (plane, full, equal, smaller)] == ["agrees", "differs", "differs", "within noise"]
    assert "template plane" in plane.claim and "whole penultimate space" in full.claim
    assert equal.ours == f"FCN {agree.text(3)} agrees; AlexNet {differ.text(3)} differs"
    assert plane.paper == "pictures only"


def test_chapter_1_quotes_no_alexnet_number_for_the_fcn():
    claim = label_smoothing.label_smoothing_claims(setup_on(), True, 0.0, SeedComparison(HARD, [80.3, 80.5, 80.1]))[1]
    assert "FCN" in claim.claim and "86.8" not in claim.paper and "no FCN in the paper's Table 2" in claim.paper


def table3_numbers():
    return {"ResNet": {"T": [1.9, 2.0, 1.8], "baseline": [0.15, 0.16, 0.14], "temperature": [0.020, 0.021, 0.019],
                       "ls": [0.030, 0.031, 0.029], "ls_alpha": [0.05, 0.05, 0.1]},
            "AlexNet": {"T": [1.4, 1.5, 1.3], "baseline": [0.05, 0.051, 0.049], "temperature": [0.020, 0.021, 0.019],
                        "ls": [0.080, 0.081, 0.079], "ls_alpha": [0.1, 0.1, 0.1]}}


MEMORISED = {"ResNet": [99.5, 99.8, 99.6], "AlexNet": [99.9, 99.7, 99.8]}


def test_calibration_claims():
    numbers = table3_numbers()
    summary = Table3Summary(numbers)
    runs = {"ResNet": [SimpleNamespace(config=SimpleNamespace(dataset="cifar100"))],
            "AlexNet": [SimpleNamespace(config=SimpleNamespace(dataset="cifar10"))]}
    over, ts, ls, close = calibration.calibration_claims(setup_on("paper"), summary, runs, MEMORISED)
    # over-confident and repaired by TS on both; LS repairs ResNet but not AlexNet (0.05 -> 0.08)
    assert [c.verdict for c in (over, ts, ls, close)] == ["agrees", "agrees", "differs", "differs"]
    assert over.ours == (f"T: ResNet 1.90 ± 0.10, AlexNet 1.40 ± 0.10; "
                         f"ResNet {summary.over_confidence('ResNet').text()} agrees; AlexNet "
                         f"{summary.over_confidence('AlexNet').text()} agrees")
    assert ts.ours.startswith("ECE baseline / TS / LS: ResNet 0.150 / 0.020 / 0.030 (alpha 0.05, 0.1), "
                              "AlexNet 0.050 / 0.020 / 0.080 (alpha 0.1);")
    assert ls.ours == (f"ResNet {summary.ls_gain('ResNet').text(3)} agrees; "
                       f"AlexNet {summary.ls_gain('AlexNet').text(3)} differs")
    assert "chosen on validation" in ls.claim and "within ±0.015" in close.claim and "AlexNet +0.060" in close.ours
    assert "memorised its training set" in over.premise and "over-confident" in ts.premise
    assert {c.note for c in (over, ts, ls, close)} == {""}                  # cifar100 on the paper profile
    smoke = calibration.calibration_claims(setup_on("smoke"), summary, runs, MEMORISED)
    assert smoke[0].note == "smoke profile: cifar100, not the paper's data and schedule"
    # AlexNet alone: LS - TS = +0.06 is beyond the margin; with LS at 0.025 it is inside it
    numbers["AlexNet"]["ls"] = [0.025, 0.026, 0.024]
    assert [c.verdict for c in calibration.calibration_claims(setup_on("paper"), Table3Summary(numbers), runs,
                                                        MEMORISED)] == ["agrees"] * 4
    # one network whose fitted T scatters around 1 leaves the first claim within noise, and the others are
    # judged on the over-confident network alone: AlexNet's parts are not testable, with the reason
    numbers["AlexNet"]["T"] = [1.0, 1.4, 0.8]
    numbers["AlexNet"]["ls"] = [0.5, 0.6, 0.7]      # would differ, but AlexNet is outside the regime
    claims = calibration.calibration_claims(setup_on("paper"), Table3Summary(numbers), runs, MEMORISED)
    assert [c.verdict for c in claims] == ["within noise", "agrees", "agrees", "agrees"]
    assert all("AlexNet" in c.ours and "not testable (T - 1 " in c.ours for c in claims[1:])
    # a network that did not memorise its training set is not tested at all, even if its T is above 1
    numbers = table3_numbers()
    claims = calibration.calibration_claims(setup_on("paper"), Table3Summary(numbers), runs,
                                      {"ResNet": MEMORISED["ResNet"], "AlexNet": [79.0, 80.0, 78.0]})
    assert claims[0].verdict == "agrees" and "AlexNet" in claims[0].ours and "not testable" in claims[0].ours
    assert "AlexNet" in claims[0].ours and "not testable (training accuracy 79.0 %)" in claims[0].ours
    assert claims[2].verdict == "agrees"                                      # ResNet alone decides
    # no network in the regime: every claim is not testable
    claims = calibration.calibration_claims(setup_on("paper"), Table3Summary(numbers), runs,
                                      {"ResNet": [90.0] * 3, "AlexNet": [80.0] * 3})
    assert [c.verdict for c in claims] == ["not testable"] * 4


def translation_summary():
    return TranslationSummary(bleu_hard=[20.0, 20.5, 19.5], bleu_ls=[24.0, 24.5, 23.5], boot_sd=0.5,
                              ece_hard=[0.06, 0.05, 0.055], ece_ls=[0.020, 0.021, 0.019], nll_hard=[1.5, 1.51, 1.49],
                              nll_ls=[1.6, 1.61, 1.59], best_hard_bleu=[22.0, 22.5, 21.5], t_best_bleu=[1.2, 1.2, 1.2],
                              t_min_ece=[1.2, 1.15, 1.2], t_min_nll=[0.8, 0.8, 0.9], best_bleu=25.0, accuracy=60.0,
                              t_fit=[1.12, 1.14, 1.13], ece_ts=[0.018, 0.019, 0.017],
                              bleu_grid=(0.6, 0.8, 1.0, 1.2, 1.4), token_grid=(0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.15,
                                                                               1.2, 1.3, 2.0))


def test_translation_claims_in_the_regime():
    s = translation_summary()
    claims = chapter3b.translation_claims(setup_on("cpu"), s, "en_de", 1234)
    assert [c.verdict for c in claims] == ["agrees"] * 7
    assert claims[0].note == "cpu profile: en_de, 1,234 training pairs, small Transformer"
    assert claims[0].ours == f"20.00 ± 0.50 -> 24.00 ± 0.50; {s.bleu_gain.text(2)} (bootstrap sd over sentences 0.50)"
    assert claims[5].ours == f"best hard 22.00 ± 0.50 vs LS 24.00 ± 0.50; {s.ts_gap.text(2)}"
    assert claims[3].ours == f"0.055 ± 0.005 -> 0.018 ± 0.001 (T = 1.13 ± 0.01); {s.ts_gain.text(3)}"
    assert "BLEU >= 10" in claims[0].premise and "over-confident" in claims[3].premise

    def verdicts(**changes):
        return [c.verdict for c in chapter3b.translation_claims(setup_on("cpu"), replace(s, **changes), "en_de", 1)]

    # temperature scaling reaching LS's BLEU: within noise when it ties, differs when it beats it
    assert verdicts(best_hard_bleu=[23.8, 24.6, 23.4])[5] == "within noise"
    assert verdicts(best_hard_bleu=[26.0, 26.5, 25.5])[5] == "differs"
    # the NLL minimum as close as the ECE's on one seed, farther on the others: within noise
    assert verdicts(t_min_nll=[1.1, 1.0, 1.2])[6] == "within noise"


def test_translation_claims_are_not_testable_outside_the_regime():
    s = translation_summary()

    def claims(**changes):
        return chapter3b.translation_claims(setup_on("cpu"), replace(s, **changes), "en_de", 1)

    # the cpu model of the book: BLEU near 0, 16 % of next tokens, not over-confident: nothing is judged
    weak = claims(bleu_hard=[0.1, 0.12, 0.14], bleu_ls=[0.1, 0.2, 0.12], accuracy=16.0, t_fit=[1.0, 0.99, 1.01])
    assert [c.verdict for c in weak] == ["not testable"] * 7
    assert "both models translate (BLEU >= 10) (BLEU 0.1) fails" in weak[0].note
    assert "test accuracy >= 50 %) (test accuracy 16 %" in weak[1].note
    # a model that predicts tokens well but does not translate: the token claims stand, the BLEU claims do not
    tokens_only = claims(bleu_hard=[1.0, 1.2, 0.8], bleu_ls=[1.5, 1.2, 1.3])
    assert [c.verdict for c in tokens_only] == ["not testable", "agrees", "agrees", "agrees", "agrees",
                                                "not testable", "not testable"]
    # a hard-target model that is not over-confident: temperature scaling's claims are not testable
    assert [c.verdict for c in claims(t_fit=[0.99, 1.0, 1.01])][3:5] == ["not testable"] * 2
    # an optimum at the grid's edge, or a grid too coarse around it, does not locate it
    assert claims(t_best_bleu=[1.4, 1.2, 1.2])[6].verdict == "not testable"
    assert claims(bleu_grid=(0.7, 1.0, 1.4), t_best_bleu=[1.0, 1.0, 1.0])[6].verdict == "not testable"
    assert claims(t_min_ece=[2.0, 1.2, 1.2])[6].verdict == "not testable"


def test_translation_token_claims_in_the_memorised_regime():
    """Where the profile trains the Transformer to memorise a few pairs (cpu), the next-token claims need
    that memorisation, not a test accuracy only a model trained on the whole corpus reaches."""
    s = replace(translation_summary(), bleu_hard=[0.1, 0.12, 0.14], bleu_ls=[0.1, 0.2, 0.12], accuracy=13.0)

    def claims(**changes):
        return chapter3b.translation_claims(setup_on("cpu"), replace(s, **changes), "en_de", 1000)

    memorised = claims(train_accuracy=[99.9, 99.8, 99.9])
    assert [c.verdict for c in memorised] == ["not testable", "agrees", "agrees", "agrees", "agrees",
                                              "not testable", "not testable"]
    assert "memorised its training pairs" in memorised[1].premise
    # trained too briefly to memorise: not testable, the training accuracy named
    short = claims(train_accuracy=[80.0, 82.0, 81.0])
    assert [c.verdict for c in short][1:5] == ["not testable"] * 4
    assert "(training accuracy 81.0 %; test accuracy 13 %" in short[1].note
    # the same model judged by the whole-corpus floor would not be testable either way
    assert claims(train_accuracy=None)[1].verdict == "not testable"


HINTON_ERRORS = {"teacher (dropout)": [1.0, 1.1, 0.9], "teacher (LS 0.1, no dropout)": [0.9, 1.0, 0.8],
                 "student of teacher (dropout)": [1.2, 1.3, 1.1],
                 "student of teacher (LS 0.1, no dropout)": [1.6, 1.7, 1.5],
                 "student alone (labels)": [2.0, 2.2, 1.8]}


def test_hinton_claims_need_a_teacher_ahead_distillation_that_works_and_matched_teachers():
    hinton = HintonSummary(HINTON_ERRORS)
    lead, works, better, worse = distillation.hinton_claims(setup_on("paper"), hinton, "mnist")
    assert [c.verdict for c in (lead, works, better, worse)] == ["agrees", "agrees", "within noise", "agrees"]
    assert lead.ours == f"1.00 ± 0.10 % vs 2.00 ± 0.20 %; {hinton.teacher_lead.text(2)} points"
    assert "matched in accuracy" in worse.premise and worse.note == ""
    # the book's cpu setting: the distilled student worse than the student alone -> not testable, named
    failing = HintonSummary(dict(HINTON_ERRORS, **{"student alone (labels)": [1.0, 1.05, 0.95]}))
    worse = distillation.hinton_claims(setup_on("cpu"), failing, "fashion_mnist")[3]
    assert worse.verdict == "not testable" and "distillation works" in worse.note and "fails" in worse.note
    # teachers 2 points apart compare teacher accuracy, not label smoothing
    apart = HintonSummary(dict(HINTON_ERRORS, **{"teacher (LS 0.1, no dropout)": [-1.0, -0.9, -1.1]}))
    assert distillation.hinton_claims(setup_on("paper"), apart, "mnist")[3].verdict == "not testable"


def test_figure5_and_followup_claims_need_distillation_to_work():
    best2 = {"accuracy": 90.0, "knob": 0.1, "accuracies": [90.0, 90.2, 89.8]}
    best3 = {"accuracy": 92.0, "knob": 3.0, "accuracies": [92.0, 92.2, 91.8]}
    best4 = {"accuracy": 89.0, "knob": 0.1, "accuracies": [89.0, 89.2, 88.8]}
    ahead = compare([94.0, 94.2, 93.8], [89.0, 89.2, 88.8])
    alone = [89.0, 89.2, 88.8]
    fig5 = Figure5Summary(best2, best3, best4, ahead, alone)
    setting, distil, no_better = distillation.figure5_claims(setup_on("paper"), fig5, "cifar10")
    assert [c.verdict for c in (setting, distil, no_better)] == ["agrees", "agrees", "agrees"]
    # every distilled student below the student trained alone: (3) vs (2) is not testable, and neither is (4)
    below = Figure5Summary(best2, dict(best3, accuracies=[88.0, 88.2, 87.8]), best4, ahead, [90.5, 90.7, 90.3])
    assert [c.verdict for c in distillation.figure5_claims(setup_on("cpu"), below, "fashion_mnist")] == [
        "agrees", "not testable", "not testable"]
    # the follow-up: one claim per temperature, each with the paper's number where it has one
    followup = FollowupSummary({1.0: compare([71.0, 71.2, 70.8], [70.0, 70.2, 69.8]),
                                2.0: compare([68.0, 68.2, 67.8], [70.0, 70.2, 69.8]),
                                3.0: compare([70.1, 70.3, 69.9], [70.0, 70.4, 69.6]),
                                8.0: compare([60.0, 60.2, 59.8], [70.0, 70.2, 69.8])})
    t1, t2, t3, t8 = distillation.followup_claims(setup_on("paper"), followup, fig5, "cifar10")
    assert [c.verdict for c in (t1, t2, t3, t8)] == ["agrees", "agrees", "within noise", "agrees"]
    assert "better at T = 1" in t1.claim and "worse at T = 2" in t2.claim
    assert t2.paper == "ImageNet: 68.86 vs 71.36 % (-2.50 points)" and "not in their table" in t8.paper
    behind = Figure5Summary(best2, best3, best4, compare([84.0, 84.2, 83.8], [89.0, 89.2, 88.8]), alone)
    assert {c.verdict for c in distillation.followup_claims(setup_on("cpu"), followup, behind, "x")} == {"not testable"}


def test_figure6_claims_give_the_similar_pair_a_verdict():
    mi = ([1.0, 1.05, 0.95], [0.70, 0.72, 0.68])
    easy, similar = distillation.figure6_claims(setup_on("paper"), mi, "cifar10", (mi[0], [1.0, 1.1, 0.9]))
    assert easy.verdict == "agrees" and similar.verdict == "within noise" and "similar classes" in similar.claim
    assert easy.ours == f"1.000 ± 0.050 vs 0.700 ± 0.020 nats (log 2 = 0.693); {compare(*mi).text(3)}"
    assert len(distillation.figure6_claims(setup_on("paper"), mi, "cifar10")) == 1


def test_distillation_claims_are_the_four_groups_in_order():
    hinton = HintonSummary(HINTON_ERRORS)
    best = {"accuracy": 90.0, "knob": 1.0, "accuracies": [90.0, 90.2, 89.8]}
    fig5 = Figure5Summary(best, best, None, compare([94.0, 94.2, 93.8], [89.0, 89.2, 88.8]), [89.0, 89.2, 88.8])
    followup = FollowupSummary({1.0: compare([71.0, 71.2], [70.0, 70.2])})
    claims = distillation.distillation_claims(setup_on("cpu"), hinton, "fashion_mnist", fig5, "fashion_mnist", followup,
                                       ([1.0, 1.1], [0.7, 0.8]))
    assert [c.claim.split(":")[0] for c in claims] == ["Hinton setup"] * 4 + ["Figure 5 setup", "Figure 5",
                                                                              "Chandrasegaran et al.", "Figure 6"]
    assert {c.note for c in claims} == {"cpu profile: fashion_mnist, not the paper's data and schedule"}
