"""The scorecard's claims (lsnb.paper), the seed comparison behind Table 2's verdicts, and glue_all."""
from dataclasses import replace
from types import SimpleNamespace

import pytest

from lsnb import book, chapters, paper
from lsnb.translation import TranslationSummary
from lsnb.distill import FollowupSummary, Figure5Summary, HintonSummary
from lsnb.metrics import SeedComparison
from lsnb.temperature import Table3Summary


def setup_on(profile="smoke", dataset="fashion_mnist", alpha=0.1):
    return SimpleNamespace(profile=SimpleNamespace(name=profile), dataset=dataset, alpha=alpha)


def test_seed_comparison_difference_noise_and_effect():
    c = SeedComparison([80.0, 82.0], [85.0, 87.0])                 # sd sqrt(2) each
    assert c.difference == pytest.approx(5.0) and c.noise == pytest.approx(2.0)
    assert c.effect == "beyond" and not c.within()
    close = SeedComparison([80.0, 82.0], [82.0, 84.0])
    assert close.difference == pytest.approx(2.0) and close.effect == "within"
    one_seed = SeedComparison([80.0], [80.5])                       # no spread: any difference is beyond it
    assert one_seed.noise == 0.0 and one_seed.effect == "beyond" and one_seed.within(floor=1.0)


def test_glue_all_glues_every_value_in_order(monkeypatch):
    glued = []
    monkeypatch.setattr(book, "glue", lambda name, value, display=False: glued.append((name, value)))
    book.glue_all({"b": "1", "a": "2.50", "c": "all"})
    assert glued == [("b", "1"), ("a", "2.50"), ("c", "all")]


def test_label_smoothing_claims():
    close = paper.label_smoothing_claims(setup_on(), True, 0.0123, SeedComparison([80.0, 81.0], [80.5, 81.5]))
    assert [c.verdict for c in close] == ["agrees", "agrees"]
    assert "differs by 0.0123 nats" in close[0].ours and "FCN/fashion_mnist: 80.50 ± 0.71 vs 81.00 ± 0.71" in close[1].ours
    far = paper.label_smoothing_claims(setup_on(), False, 0.5, SeedComparison([80.0, 80.2], [85.0, 85.2]))
    assert [c.verdict for c in far] == ["differs", "differs"]


def fake_table2(datasets, accuracies):
    """A Table2Runs whose models train on ``datasets`` and reach ``accuracies`` (alpha: per-seed fractions)."""
    table2 = {name: [SimpleNamespace(config=SimpleNamespace(alpha=a, seed=s, dataset=datasets[name]),
                                     metrics={"test_accuracy": acc})
                     for a, accs in accuracies.items() for s, acc in enumerate(accs)] for name in datasets}
    return chapters.Table2Runs(table2, {}, (0.0, 0.1), (), 0)


def test_representation_claims_compare_table2_only_in_the_papers_setting():
    ratios = {"nc1": {"FCN": 0.5, "AlexNet": 0.9}, "wrong_template_spread": {"FCN": 0.8, "AlexNet": 1.2},
              "projection_scale": {"FCN": 0.3, "AlexNet": 0.4}}
    runs = fake_table2({"FCN": "fashion_mnist", "AlexNet": "cifar10"}, {0.0: [0.868, 0.870], 0.1: [0.867, 0.869]})
    claims = paper.representation_claims(setup_on(), runs, ratios)
    fcn, alexnet, tighter, equal, smaller = claims
    assert fcn.verdict == "not comparable" and fcn.paper == "(not in the paper's Table 2)"
    assert alexnet.verdict == "agrees" and alexnet.paper == "CIFAR-10: 86.8 ± 0.2 vs 86.7 ± 0.3 %"
    assert (tighter.verdict, equal.verdict, smaller.verdict) == ("agrees", "differs", "agrees")
    assert equal.ours == "wrong-distance spread / margin x FCN 0.80, AlexNet 1.20"


def test_calibration_claims():
    summary = Table3Summary({"ResNet": {"baseline": 0.15, "ts": 0.02, "ls": 0.03, "T": 1.9},
                             "AlexNet": {"baseline": 0.05, "ts": 0.02, "ls": 0.08, "T": 1.2}})
    runs = {"ResNet": [SimpleNamespace(config=SimpleNamespace(dataset="cifar100"))],
            "AlexNet": [SimpleNamespace(config=SimpleNamespace(dataset="cifar10"))]}
    resnet, alexnet, overall = paper.calibration_claims(setup_on("paper"), summary, runs)
    assert resnet.verdict == "agrees" and resnet.ours == "cifar100: 0.150 / 0.020 (T=1.90) / 0.030 (alpha=0.1)"
    assert alexnet.verdict == "not comparable" and "paper profile" in alexnet.note
    assert overall.verdict == "differs" and overall.ours == "LS within 2x(+0.01) of TS for: ResNet of ResNet, AlexNet"


def test_translation_claims():
    s = TranslationSummary(bleu_hard=[10.0, 11.0], bleu_ls=[14.0, 15.0], boot_sd=0.5, ece_hard=[0.06, 0.05],
                           ece_ls=[0.02, 0.02], nll_hard=[1.5, 1.5], nll_ls=[1.6, 1.6], t_best_bleu=1.2,
                           t_min_ece=1.2, t_min_nll=1.0, best_hard_bleu=12.0, ls_first_bleu=15.0,
                           best_bleu=15.0, accuracy=40.0)
    claims = paper.translation_claims(setup_on("cpu"), s, "en_de", 1234, [0.02, 0.03], [1.1, 1.2])
    assert [c.verdict for c in claims] == ["agrees", "agrees", "agrees", "agrees", "agrees", "not comparable"]
    assert claims[0].note == "cpu profile: en_de, 1,234 training pairs, small Transformer"
    # Figure 4's gap (one seed per curve) has the pooled seed spread of BLEU as its noise: 2 x sqrt(2) x 0.71
    assert claims[3].ours == "best hard 12.00 (T=1.2) vs LS 15.00 (margin 2.00)"
    assert paper.translation_claims(setup_on("cpu"), replace(s, ls_first_bleu=13.5), "en_de", 1, [0.0], [1.0])[3] \
        .verdict == "within noise"
    assert claims[-1].ours == "0.055 / 0.025 (T=1.15) / 0.020"


def test_distillation_claims_notes_and_verdicts():
    hinton = HintonSummary({"teacher (dropout)": [1.0, 1.2], "teacher (LS 0.1, no dropout)": [0.6, 0.7],
                            "student of teacher (dropout)": [1.3, 1.3], "student of teacher (LS 0.1, no dropout)":
                            [1.3, 1.3], "student alone (labels)": [1.5, 1.7]})
    fig5 = Figure5Summary({"accuracy": 90.0, "knob": 0.1}, {"accuracy": 92.0, "knob": 3.0, "gamma": 0.2}, None, 0.1)
    followup = FollowupSummary({1.0: (0.5, 0.2), 2.0: (-1.0, 0.2), 3.0: (-0.1, 0.2)})
    claims = paper.distillation_claims(setup_on("paper"), hinton, "mnist", fig5, "cifar10", followup, (1.0, 0.8))
    assert [c.verdict for c in claims] == ["agrees", "within noise", "agrees", "agrees", "agrees", "within noise",
                                           "agrees"]
    assert claims[0].note == "" and claims[2].note == "paper profile: cifar10"
    assert claims[3].ours == "(no LS teacher)"
    assert claims[5].ours == "T=2: -1.00 ± 0.20, T=3: -0.10 ± 0.20"
    cpu = paper.distillation_claims(setup_on("cpu"), hinton, "fashion_mnist", fig5, "fashion_mnist", followup,
                                    (0.8, 1.0))
    assert cpu[0].note == "cpu profile: fashion_mnist, a shorter schedule than the paper's"
    assert cpu[-1].verdict == "differs"
