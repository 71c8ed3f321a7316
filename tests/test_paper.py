"""The scorecard's claims (lsnb.paper), the seed comparison behind Table 2's verdicts, and glue_all."""
from dataclasses import replace
from types import SimpleNamespace

import pytest

from lsnb import book, chapters, paper
from lsnb.translation import TranslationSummary
from lsnb.distill import FollowupSummary, Figure5Summary, HintonSummary
from lsnb.metrics import SeedComparison
from lsnb.stats import compare
from lsnb.temperature import Table3Summary
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
    claims = paper.label_smoothing_claims(setup_on(), True, 0.0123, close)
    assert [c.verdict for c in claims] == ["agrees", "agrees"]
    assert "differs by 0.0123 nats" in claims[0].ours
    assert claims[1].ours == ("FCN/fashion_mnist: 80.00 ± 0.20 vs 80.30 ± 0.20 % (alpha 0 vs 0.1); "
                              f"LS - hard {close.comparison.text(2)} points")
    assert close.comparison.text(2) == "+0.30 [-0.15, +0.75]"
    assert claims[1].note == "smoke profile: fashion_mnist, not the paper's data and schedule"

    def verdict(ls):
        return paper.label_smoothing_claims(setup_on(), False, 0.5, SeedComparison(HARD, ls))[1].verdict

    assert paper.label_smoothing_claims(setup_on(), False, 0.5, close)[0].verdict == "differs"
    assert verdict([85.0, 85.2, 84.8]) == "differs"              # +5 [+4.55, +5.45]: wholly beyond the margin
    assert verdict([78.5, 78.7, 78.3]) == "differs"              # -1.5 [-1.95, -1.05]: wholly below -1
    assert verdict([81.0, 81.2, 80.8]) == "within noise"         # +1 [+0.55, +1.45]: straddles the margin
    assert verdict([79.0, 79.2, 78.8]) == "within noise"         # -1 [-1.45, -0.55]: straddles it too
    # two seeds: +0.5 with t(2) x 0.71 = 3.0 either side, well beyond the margin's reach
    assert paper.label_smoothing_claims(setup_on(), True, 0.0, SeedComparison([80.0, 81.0], [80.5, 81.5]))[1] \
        .verdict == "within noise"


def fake_table2(datasets, accuracies):
    """A Table2Runs whose models train on ``datasets`` and reach ``accuracies`` (alpha: per-seed fractions)."""
    table2 = {name: [SimpleNamespace(config=SimpleNamespace(alpha=a, seed=s, dataset=datasets[name]),
                                     metrics={"test_accuracy": acc})
                     for a, accs in accuracies[name].items() for s, acc in enumerate(accs)] for name in datasets}
    return chapters.Table2Runs(table2, {}, (0.0, 0.1), (), 0)


def test_representation_claims():
    agree, differ, noise = compare([1.0, 1.1, 0.9], [0.5, 0.6, 0.4]), compare([0.5, 0.6, 0.4], [1.0, 1.1, 0.9]), \
        compare([1.0, 1.5, 0.5], [0.9, 1.0, 0.8])
    comparisons = {"nc1": {"FCN": agree, "AlexNet": agree}, "wrong_template_spread": {"FCN": agree, "AlexNet": differ},
                   "projection_scale": {"FCN": agree, "AlexNet": noise}}
    runs = fake_table2({"FCN": "fashion_mnist", "AlexNet": "cifar10"},
                       {"FCN": {0.0: [0.800, 0.802, 0.798], 0.1: [0.850, 0.852, 0.848]},
                        "AlexNet": {0.0: [0.868, 0.870, 0.866], 0.1: [0.867, 0.869, 0.865]}})
    fcn, alexnet, tighter, equal, smaller = paper.representation_claims(setup_on("paper"), runs, comparisons)
    assert fcn.paper == "(not in the paper's Table 2)" and fcn.verdict == "differs"          # +5 points
    assert fcn.note == "paper profile: fashion_mnist, not the paper's data and schedule"
    assert alexnet.paper == "CIFAR-10: 86.8 ± 0.2 vs 86.7 ± 0.3 %" and alexnet.verdict == "agrees"  # -0.1 points
    assert alexnet.note == ""                                               # the paper's data, the paper profile
    assert alexnet.ours.endswith(f"LS - hard {runs.comparison('AlexNet').comparison.text(2)} points")
    smoke = paper.representation_claims(setup_on("smoke"), runs, comparisons)[1]
    assert smoke.note == "smoke profile: cifar10, not the paper's data and schedule"
    # every network must agree; one that differs makes the claim differ, one within noise leaves it there
    assert (tighter.verdict, equal.verdict, smaller.verdict) == ("agrees", "differs", "within noise")
    assert equal.ours == f"FCN {agree.text(3)} agrees; AlexNet {differ.text(3)} differs"
    assert tighter.claim.startswith("LS makes each class's cluster tighter") and tighter.paper == "pictures only"


def table3_numbers():
    return {"ResNet": {"T": [1.9, 2.0, 1.8], "baseline": [0.15, 0.16, 0.14], "temperature": [0.020, 0.021, 0.019],
                       "ls": [0.030, 0.031, 0.029]},
            "AlexNet": {"T": [1.4, 1.5, 1.3], "baseline": [0.05, 0.051, 0.049], "temperature": [0.020, 0.021, 0.019],
                        "ls": [0.080, 0.081, 0.079]}}


def test_calibration_claims():
    numbers = table3_numbers()
    summary = Table3Summary(numbers)
    runs = {"ResNet": [SimpleNamespace(config=SimpleNamespace(dataset="cifar100"))],
            "AlexNet": [SimpleNamespace(config=SimpleNamespace(dataset="cifar10"))]}
    over, ts, ls, close = paper.calibration_claims(setup_on("paper"), summary, runs)
    # over-confident and repaired by TS on both; LS repairs ResNet but not AlexNet (0.05 -> 0.08)
    assert [c.verdict for c in (over, ts, ls, close)] == ["agrees", "agrees", "differs", "differs"]
    assert over.ours == (f"T: ResNet 1.90 ± 0.10, AlexNet 1.40 ± 0.10; "
                         f"ResNet {summary.over_confidence('ResNet').text()} agrees; AlexNet {summary.over_confidence('AlexNet').text()} agrees")
    assert ts.ours.startswith("ECE baseline / TS / LS 0.1: ResNet 0.150 / 0.020 / 0.030, "
                              "AlexNet 0.050 / 0.020 / 0.080;")
    assert ls.ours == (f"ResNet {summary.ls_gain('ResNet').text(3)} agrees; "
                       f"AlexNet {summary.ls_gain('AlexNet').text(3)} differs")
    assert "within ±0.015" in close.claim and "AlexNet +0.060" in close.ours
    assert {c.note for c in (over, ts, ls, close)} == {""}                  # cifar100 on the paper profile
    smoke = paper.calibration_claims(setup_on("smoke"), summary, runs)
    assert smoke[0].note == "smoke profile: cifar100, not the paper's data and schedule"
    # AlexNet alone: LS - TS = +0.06 is beyond the margin; with LS at 0.025 it is inside it
    numbers["AlexNet"]["ls"] = [0.025, 0.026, 0.024]
    assert [c.verdict for c in paper.calibration_claims(setup_on("paper"), Table3Summary(numbers), runs)] == [
        "agrees"] * 4
    # one network whose fitted T scatters around 1 leaves the first claim within noise, and the others are
    # judged on the over-confident network alone, naming the one left out
    numbers["AlexNet"]["T"] = [1.0, 1.4, 0.8]
    numbers["AlexNet"]["ls"] = [0.5, 0.6, 0.7]      # would differ, but AlexNet is outside the regime
    claims = paper.calibration_claims(setup_on("paper"), Table3Summary(numbers), runs)
    assert [c.verdict for c in claims] == ["within noise", "agrees", "agrees", "agrees"]
    assert all("left out, not over-confident: AlexNet" in c.ours for c in claims[1:])
    assert "AlexNet" not in claims[2].ours.split(";")[0]
    # no network in the regime: the claims that need it are not comparable
    numbers["ResNet"]["T"] = [0.9, 1.0, 1.1]
    claims = paper.calibration_claims(setup_on("paper"), Table3Summary(numbers), runs)
    assert [c.verdict for c in claims[1:]] == ["not comparable"] * 3
    assert all("no network is over-confident here" in c.ours for c in claims[1:])


def translation_summary():
    return TranslationSummary(bleu_hard=[10.0, 10.5, 9.5], bleu_ls=[14.0, 14.5, 13.5], boot_sd=0.5,
                              ece_hard=[0.06, 0.05, 0.055], ece_ls=[0.020, 0.021, 0.019], nll_hard=[1.5, 1.51, 1.49],
                              nll_ls=[1.6, 1.61, 1.59], best_hard_bleu=[12.0, 12.5, 11.5], t_best_bleu=[1.2, 1.1, 1.2],
                              t_min_ece=[1.2, 1.1, 1.2], t_min_nll=[0.8, 0.8, 0.9], best_bleu=15.0, accuracy=40.0)


def test_translation_claims():
    s = translation_summary()
    claims = paper.translation_claims(setup_on("cpu"), s, "en_de", 1234, [0.02, 0.03], [1.1, 1.2])
    assert [c.verdict for c in claims] == ["agrees", "agrees", "agrees", "agrees", "agrees", "not comparable"]
    assert claims[0].note == "cpu profile: en_de, 1,234 training pairs, small Transformer"
    assert claims[0].ours == f"10.00 ± 0.50 -> 14.00 ± 0.50; {s.bleu_gain.text(2)} (bootstrap sd over sentences 0.50)"
    assert claims[3].ours == f"best hard 12.00 ± 0.50 vs LS 14.00 ± 0.50; {s.ts_gap.text(2)}"
    assert claims[-1].ours == "0.055 ± 0.005 / 0.025 ± 0.007 (T=1.15 ± 0.07) / 0.020 ± 0.001"

    def verdicts(**changes):
        return [c.verdict for c in paper.translation_claims(setup_on("cpu"), replace(s, **changes), "en_de", 1,
                                                             [0.0, 0.0], [1.0, 1.0])[:5]]

    # temperature scaling reaching LS's BLEU: within noise when it ties, differs when it beats it
    assert verdicts(best_hard_bleu=[13.8, 14.6, 13.4])[3] == "within noise"
    assert verdicts(best_hard_bleu=[16.0, 16.5, 15.5])[3] == "differs"
    # the NLL minimum as close as the ECE's on one seed, farther on the others: within noise
    assert verdicts(t_min_nll=[1.0, 1.0, 1.2])[4] == "within noise"
    # LS no better than hard targets: BLEU and ECE tie, NLL lower, and TS's best hard BLEU beats it
    assert verdicts(bleu_ls=[10.0, 10.5, 9.5], ece_ls=[0.06, 0.05, 0.055], nll_ls=[1.4, 1.41, 1.39]) == [
        "within noise", "within noise", "differs", "differs", "agrees"]


def test_distillation_claims_notes_and_verdicts():
    hinton = HintonSummary({"teacher (dropout)": [1.0, 1.1, 0.9], "teacher (LS 0.1, no dropout)": [0.6, 0.7, 0.5],
                            "student of teacher (dropout)": [1.2, 1.3, 1.1],
                            "student of teacher (LS 0.1, no dropout)": [1.2, 1.5, 0.9],
                            "student alone (labels)": [2.0, 2.2, 1.8]})
    best2 = {"accuracy": 90.0, "knob": 0.1, "accuracies": [90.0, 90.2, 89.8]}
    best3 = {"accuracy": 92.0, "knob": 3.0, "accuracies": [92.0, 92.2, 91.8]}
    best4 = {"accuracy": 91.0, "knob": 0.1, "accuracies": [91.0, 91.2, 90.8]}
    later = {2.0: compare([68.0, 68.2, 67.8], [70.0, 70.2, 69.8]), 3.0: compare([70.1, 70.3, 69.9], [70.0, 70.4, 69.6])}
    followup = FollowupSummary({1.0: compare([71.0, 71.2, 70.8], [70.0, 70.2, 69.8]), **later})
    mi = ([1.0, 1.05, 0.95], [0.70, 0.72, 0.68])
    claims = paper.distillation_claims(setup_on("paper"), hinton, "mnist", Figure5Summary(best2, best3, None),
                                       "cifar10", followup, mi)
    assert len(claims) == 9
    assert claims[0].claim.startswith("Hinton setup: the dropout teacher is more accurate than the student")
    # teacher lead, LS teacher better, its student no worse on average (within noise), Figure 5's teacher lead
    # not measured here, (3) above (2), no (4), LS teacher helps at T = 1, hurts at T = 2 but not at T = 3,
    # MI lower with LS
    assert [c.verdict for c in claims] == ["agrees", "agrees", "within noise", "not comparable", "agrees",
                                           "not comparable", "agrees", "within noise", "agrees"]
    assert {c.note for c in claims} == {""}                              # mnist and cifar10 on the paper profile
    assert claims[0].ours == f"1.00 ± 0.10 % vs 2.00 ± 0.20 %; {hinton.teacher_lead.text(2)} points"
    assert claims[5].ours == "(no LS teacher)"
    assert claims[7].ours == f"T=2: {later[2.0].text(2)}; T=3: {later[3.0].text(2)}"
    assert claims[8].ours == f"1.000 ± 0.050 vs 0.700 ± 0.020 nats (log 2 = 0.693); {compare(*mi).text(3)}"
    # an LS teacher above curve (2) differs from "no better"; swapped MI estimates differ; a Figure 5 teacher
    # behind its student differs from the setting distillation needs
    behind = compare([77.0, 77.2, 76.8], [84.0, 84.2, 83.8])
    cpu = paper.distillation_claims(setup_on("cpu"), hinton, "fashion_mnist",
                                    Figure5Summary(best2, best3, dict(best4, accuracies=[93.0, 93.2, 92.8]), behind),
                                    "fashion_mnist", followup, mi[::-1])
    assert cpu[3].verdict == "differs" and cpu[3].ours == f"{behind.text(2)} points"
    assert cpu[5].verdict == "differs" and cpu[8].verdict == "differs"
    assert cpu[5].ours.startswith("(2) 90.00 % vs (4) 91.00 % (alpha = 0.1 teacher); ")
    assert cpu[0].note == cpu[5].note == "cpu profile: fashion_mnist, not the paper's data and schedule"
    # a student alone as good as the teacher leaves nothing to distil: that claim differs
    equal = HintonSummary(dict(hinton.errors, **{"student alone (labels)": [0.5, 0.6, 0.4]}))
    assert paper.distillation_claims(setup_on("paper"), equal, "mnist", Figure5Summary(best2, best3, None), "cifar10",
                                     followup, mi)[0].verdict == "differs"
