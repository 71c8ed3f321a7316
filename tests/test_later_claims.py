"""Chapter 5's design and verdicts: which networks the transfer test trains, and each claim judged on
synthetic measurements with a known answer (premises that fail give "not testable")."""
from types import SimpleNamespace

import pytest

from lsnb.chapters import later_claims, later_verdicts
from lsnb.engine import grid

SEEDS = (0, 1, 2)


def score(alpha, seed, over=None):
    base = {"accuracy": 90.0 + seed / 10, "aurc_msp": 2.0 + seed / 100, "aurc_pnorm": 1.9 + seed / 100,
            "auroc": 90.0 + seed / 10, "T": 1.5 + seed / 100, "ece_ts": 0.02 + seed / 1000}
    return {"model": "FCN", "alpha": alpha, "seed": seed, **base, **(over or {}).get(alpha, {})}


def collapse_row(alpha, seed, over=None):
    return {"model": "FCN", "alpha": alpha, "seed": seed, "nc1": 0.5 - alpha + seed / 100,
            "etf_distance": 0.3 + seed / 100, "class_separation": 0.4 + alpha + seed / 100,
            **(over or {}).get(alpha, {})}


def transfer_row(alpha, seed, train_accuracy=100.0):
    return {"model": "FCN", "alpha": alpha, "seed": seed, "train_accuracy": train_accuracy,
            "probe_accuracy": 80.0 - 10 * alpha + seed / 10}


def attack_row(alpha, seed, pgd, transfer, clean=90.0):
    return {"model": "FCN", "alpha": alpha, "seed": seed, "eps": 0.1, "clean": clean + seed / 10,
            "fgsm": pgd + seed / 10, "pgd": pgd + seed / 10, "transfer": transfer + seed / 10}


def judge(scores=None, collapse=None, transfer=None, attacks=None, memorised=99.0):
    table2 = SimpleNamespace(alphas=(0.0, 0.1),
                             table2={"FCN": [SimpleNamespace(config=SimpleNamespace(dataset="fashion_mnist"))]},
                             regime_accuracy=lambda: {"FCN": [memorised] * 3})
    setup = SimpleNamespace(profile=SimpleNamespace(name="cpu"))
    scores = scores or [score(a, s) for a in (0.0, 0.1) for s in SEEDS]
    collapse = collapse or [collapse_row(a, s) for a in (0.0, 0.1) for s in SEEDS]
    transfer = transfer or [transfer_row(a, s) for a in (0.0, 0.1) for s in SEEDS]
    attacks = attacks or ([attack_row(0.0, s, 5.0, 30.0) for s in SEEDS]
                          + [attack_row(0.1, s, 40.0, 20.0) for s in SEEDS])
    claims = later_verdicts.later_claims(setup, table2, scores, collapse, transfer, attacks)
    return {key: c for key, c in zip(["sc", "fix", "fp", "ts", "nc1", "nc2", "r2", "transfer", "whitebox",
                                      "masking"], claims)}


def test_each_claim_agrees_differs_or_is_within_noise_by_the_rule():
    worse = {0.1: {"aurc_msp": 3.0, "aurc_pnorm": 2.0, "auroc": 85.0, "ece_ts": 0.05}}
    claims = judge(scores=[score(a, s, worse) for a in (0.0, 0.1) for s in SEEDS])
    verdicts = {k: c.verdict for k, c in claims.items()}
    assert verdicts == {"sc": "agrees", "fix": "agrees", "fp": "agrees", "ts": "agrees", "nc1": "agrees",
                        "nc2": "within noise", "r2": "agrees", "transfer": "agrees", "whitebox": "agrees",
                        "masking": "agrees"}
    better = {0.1: {"aurc_msp": 1.0, "auroc": 95.0, "ece_ts": 0.01}}
    claims = judge(scores=[score(a, s, better) for a in (0.0, 0.1) for s in SEEDS])
    assert claims["sc"].verdict == "differs" and claims["fp"].verdict == "differs"
    assert claims["ts"].verdict == "differs"
    assert claims["fix"].verdict == "not testable" and "LS worsens the MSP's AURC" in claims["fix"].premise


def test_failed_premises_make_a_claim_not_testable_and_are_named():
    lower = {0.1: {"accuracy": 80.0, "aurc_msp": 3.0}}
    claims = judge(scores=[score(a, s, lower) for a in (0.0, 0.1) for s in SEEDS])
    assert claims["sc"].verdict == "not testable" and "does not lower test accuracy" in claims["sc"].premise
    assert "not testable (LS - hard -10.10 [-10.35, -9.85] points)" in claims["sc"].ours
    calibrated = {0.0: {"T": 1.0}, 0.1: {"ece_ts": 0.05}}
    claims = judge(scores=[score(a, s, calibrated) for a in (0.0, 0.1) for s in SEEDS])
    assert claims["ts"].verdict == "not testable" and "(T - 1 +0.00" in claims["ts"].ours
    # an attack that does not halve the hard-target network's accuracy tests nothing about robustness
    weak = [attack_row(0.0, s, 80.0, 85.0) for s in SEEDS] + [attack_row(0.1, s, 85.0, 80.0) for s in SEEDS]
    claims = judge(attacks=weak)
    assert claims["whitebox"].verdict == claims["masking"].verdict == "not testable"
    # networks that did not memorise: nothing is testable on them (the transfer test has networks of its own)
    claims = judge(memorised=80.0)
    assert {c.verdict for k, c in claims.items() if k != "transfer"} == {"not testable"}
    unfitted = [transfer_row(a, s, train_accuracy=70.0) for a in (0.0, 0.1) for s in SEEDS]
    assert judge(transfer=unfitted)["transfer"].verdict == "not testable"


def test_transfer_runs_train_the_table2_networks_on_the_pretraining_classes(monkeypatch):
    seen = []
    monkeypatch.setattr(grid, "train_many", lambda configs, runs_dir=None: seen.extend(configs) or list(configs))
    monkeypatch.setattr(later_claims, "load_data", lambda config: SimpleNamespace(
        name="fashion_mnist", classes=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                                       "Sneaker", "Bag", "Ankle boot"), num_classes=10))
    from lsnb.engine.recipes import table2_config
    table2 = SimpleNamespace(alphas=(0.0, 0.1), table2={m: [SimpleNamespace(config=table2_config(m, "smoke"))]
                                                         for m in ("FCN", "ResNet")})
    setup = SimpleNamespace(profile=SimpleNamespace(name="smoke"), seeds=(0, 1), epochs=None)
    out = later_claims.transfer_runs(setup, table2, ["FCN", "ResNet"])
    assert set(out) == {"FCN", "ResNet"} and len(seen) == 8
    assert {c.classes for c in seen} == {(0, 1, 2, 5, 8)}
    assert {(c.model, c.alpha, c.seed) for c in seen} == {(m, a, s) for m in ("fcn", "resnet") for a in (0.0, 0.1)
                                                         for s in (0, 1)}
    assert all(c.with_(classes=()) == table2_config({"fcn": "FCN", "resnet": "ResNet"}[c.model], "smoke",
                                                      alpha=c.alpha, seed=c.seed) for c in seen)


def test_transfer_split_and_attack_radii():
    ds = SimpleNamespace(name="other", num_classes=6, classes=tuple("abcdef"))
    assert later_claims.transfer_split(ds) == ((0, 1, 2), (3, 4, 5))
    assert later_claims.check_attack_eps(None) is None and later_claims.check_attack_eps(0.2) == 0.2
    assert later_claims.attack_radii("fashion_mnist") == (0.025, 0.05, 0.1)
    assert later_claims.attack_radii("imagefolder:data/cifar10-jpeg")[-1] == pytest.approx(8 / 255)
    assert later_claims.attack_radii("cifar10", 0.2) == (0.05, 0.1, 0.2)
    for bad in (0, -0.1, 0.7, "0.1", True):
        with pytest.raises(ValueError, match="attack_eps="):
            later_claims.check_attack_eps(bad)


def test_a_transferred_attack_comes_from_another_seeds_hard_target_network():
    def run(alpha, seed):
        return SimpleNamespace(config=SimpleNamespace(alpha=alpha, seed=seed))
    hard = [run(0.0, s) for s in (0, 1, 2)]
    assert [later_claims.transfer_source(run(a, s), hard).config.seed for a in (0.0, 0.1) for s in (0, 1, 2)] == [1, 2, 0] * 2
    assert later_claims.transfer_source(run(0.1, 0), hard[:1]) is None


def test_without_a_second_seed_the_masking_claim_is_not_testable():
    attacks = [{**attack_row(0.0, 0, 5.0, 30.0)}, {**attack_row(0.1, 0, 40.0, 20.0)}]
    for a in attacks:
        del a["transfer"]
    assert judge(attacks=attacks)["masking"].verdict == "not testable"
