"""Chapter 5's tables and claims: the measurements of :mod:`lsnb.chapters.later_claims`, per network,
label smoothing against hard targets over seeds, with the book's one rule (:mod:`lsnb.methods.stats`).

Each claim is the follow-up paper's, in its direction; its premise is the regime it lives in
(the networks memorised their training set, where the profile trains them to; plus what the
claim itself presupposes, named in its row), and a network where a premise fails is *not
testable*. The papers' numbers quoted are those their authors report (Xia et al.'s from their
published notebook); where a paper's tables could not be read here, the row says "direction only".
"""
from __future__ import annotations

import math

from ..book.glue import pm
from ..book.results import Claim
from ..methods.stats import Comparison, Premise, compare, from_verdict
from .later_claims import training_name
from .paper import memorised, parts_text, setting


def values(rows: list, model: str, alpha: float, key: str) -> list:
    """``key`` of ``model``'s rows with ``alpha``, in seed order (``None`` values left out)."""
    return [r[key] for r in sorted(rows, key=lambda r: r["seed"])
            if r["model"] == model and r["alpha"] == alpha and r.get(key) is not None]


def summary_table(rows: list, columns: dict, alphas) -> list:
    """Per model and alpha, mean ± sd over seeds of each ``columns`` key (``{key: (header, digits)}``)."""
    out = []
    for model in dict.fromkeys(r["model"] for r in rows):
        for a in alphas:
            row = {"model": model, "training": training_name(a)}
            for key, (header, digits) in columns.items():
                v = values(rows, model, a, key)
                row[header] = pm(v, digits=digits) if v else "–"
            out.append(row)
    return out


def difference_table(rows: list, columns: dict, alphas) -> list:
    """Per model, label smoothing minus hard targets for each ``columns`` key (``{key: (header, digits)}``),
    with its 95 % Welch interval over seeds."""
    hard, ls = alphas
    return [{"model": m, **{f"{header}, LS - hard": compare(values(rows, m, ls, key), values(rows, m, hard, key))
                              .text(digits) for key, (header, digits) in columns.items()}}
            for m in dict.fromkeys(r["model"] for r in rows)]


SCORE_COLUMNS = {"accuracy": ("test accuracy (%)", 2), "aurc_msp": ("AURC, MSP (%)", 2),
                 "aurc_pnorm": ("AURC, pNorm (%)", 2), "auroc": ("AUROC (%)", 2), "fpr95": ("FPR95 (%)", 1),
                 "ece": ("ECE", 3), "T": ("T (ECE grid)", 2), "ece_ts": ("ECE after TS", 3)}
COLLAPSE_COLUMNS = {"nc1": ("NC1", 3), "equinorm": ("NC2 equinorm", 3), "equiangularity": ("NC2 equiangularity", 3),
                    "etf_distance": ("NC2 ETF distance", 3), "self_duality": ("NC3", 3),
                    "class_separation": ("class separation R²", 3)}
TRANSFER_COLUMNS = {"train_accuracy": ("training accuracy, last epoch (%)", 1),
                    "class_separation": ("class separation R², own classes", 3),
                    "probe_accuracy": ("linear probe, other classes (%)", 2)}


def _attack(rows, model, alpha, eps, key):
    """:func:`values` of the rows at radius ``eps``."""
    return values([r for r in rows if r["eps"] == eps], model, alpha, key)


ATTACK_NAMES = {"fgsm": "FGSM, white-box", "pgd": "PGD, white-box", "transfer": "PGD from a hard-target net"}


def attack_long(rows: list) -> list:
    """:func:`lsnb.chapters.later_claims.attack_rows` in long form for :func:`lsnb.book.plots.robustness_vs_eps`:
    one row per run, radius and attack (the clean accuracy as radius 0 of every attack)."""
    out = []
    for r in rows:
        for key, name in ATTACK_NAMES.items():
            if key in r:
                base = {"model": r["model"], "training": training_name(r["alpha"]), "seed": r["seed"], "attack": name}
                out += [{**base, "eps": r["eps"], "accuracy (%)": r[key]}, {**base, "eps": 0.0, "accuracy (%)": r["clean"]}]
    return out


def _compare(a, b) -> Comparison:
    """:func:`lsnb.methods.stats.compare`, or an unknown difference where a side has no value (its premise then
    says why)."""
    return compare(a, b) if a and b else Comparison(math.nan, -math.inf, math.inf, math.nan, len(a), len(b))


def later_claims(setup, table2, scores: list, collapse_rows: list, transfer_rows: list, attack_rows: list) -> list:
    """Chapter 5's rows of the scorecard (:class:`lsnb.book.results.Claim`), one per claim, each judged per
    network (``table2``: :class:`lsnb.chapters.representations.Table2Runs`; the rows of
    :mod:`lsnb.chapters.later_claims`; the attacks judged at each network's largest radius)."""
    hard, ls = table2.alphas
    models = list(table2.table2)
    note = setting(setup, table2.table2[models[0]][0].config.dataset)
    accuracy = table2.regime_accuracy()
    regime = {m: [memorised(accuracy[m])] if accuracy is not None else [] for m in models}

    def diff(rows, m, key, sign=1):  # sign +1: LS - hard; -1: hard - LS
        a, b = values(rows, m, ls, key), values(rows, m, hard, key)
        return compare(a, b) if sign > 0 else compare(b, a)

    keep_acc = {m: Premise("label smoothing does not lower test accuracy (LS - hard not wholly below 0)",
                           diff(scores, m, "accuracy").verdict() != "differs",
                           f"LS - hard {diff(scores, m, 'accuracy').text(2)} points") for m in models}
    worse = {m: diff(scores, m, "aurc_msp") for m in models}
    sc_needs = {m: regime[m] + [keep_acc[m]] for m in models}
    sc_ours, sc_verdict = parts_text({m: (worse[m], sc_needs[m]) for m in models}, 2)
    fix = {m: compare(values(scores, m, ls, "aurc_msp"), values(scores, m, ls, "aurc_pnorm")) for m in models}
    fix_needs = {m: sc_needs[m] + [from_verdict("LS worsens the MSP's AURC (the claim above)", worse[m],
                                                label="LS - hard")] for m in models}
    fix_ours, fix_verdict = parts_text({m: (fix[m], fix_needs[m]) for m in models}, 2)
    fp_ours, fp_verdict = parts_text({m: (diff(scores, m, "auroc", -1), regime[m]) for m in models}, 2)
    over = {m: from_verdict("the hard-target network is over-confident (T on the ECE grid - 1 > 0)",
                            compare(values(scores, m, hard, "T"), [1.0] * len(values(scores, m, hard, "T"))),
                            label="T - 1") for m in models}
    ts_ours, ts_verdict = parts_text({m: (diff(scores, m, "ece_ts"), regime[m] + [over[m]]) for m in models}, 3)
    nc1_ours, nc1_verdict = parts_text({m: (diff(collapse_rows, m, "nc1", -1), regime[m]) for m in models}, 3)
    etf_ours, etf_verdict = parts_text({m: (diff(collapse_rows, m, "etf_distance", -1), regime[m]) for m in models}, 3)
    r2_ours, r2_verdict = parts_text({m: (diff(collapse_rows, m, "class_separation"), regime[m]) for m in models}, 3)
    t_models = list(dict.fromkeys(r["model"] for r in transfer_rows)) or models
    trained = {m: Premise("the profile trains networks on half of the classes (transfer_models)",
                          bool(values(transfer_rows, m, hard, "train_accuracy"))) for m in t_models}
    t_regime = {m: [trained[m]] + ([memorised(values(transfer_rows, m, hard, "train_accuracy"),
                                              "the pretrained hard-target network memorised its classes")]
                                   if accuracy is not None and trained[m].holds else []) for m in t_models}
    tr_ours, tr_verdict = parts_text({m: (_compare(values(transfer_rows, m, hard, "probe_accuracy"),
                                               values(transfer_rows, m, ls, "probe_accuracy")), t_regime[m])
                                      for m in t_models}, 2)
    eps = {m: max(r["eps"] for r in attack_rows if r["model"] == m) for m in models}
    white = {m: compare(_attack(attack_rows, m, ls, eps[m], "pgd"), _attack(attack_rows, m, hard, eps[m], "pgd"))
             for m in models}
    bites = {m: Premise("white-box PGD at the verdicts' radius at least halves the hard-target network's accuracy",
                        sum(_attack(attack_rows, m, hard, eps[m], "pgd"))
                        <= sum(_attack(attack_rows, m, hard, eps[m], "clean")) / 2,
                        f"eps {eps[m]:.3g}: {pm(_attack(attack_rows, m, hard, eps[m], 'clean'), digits=1)} -> "
                        f"{pm(_attack(attack_rows, m, hard, eps[m], 'pgd'), digits=1)} %") for m in models}
    wb_ours, wb_verdict = parts_text({m: (white[m], regime[m] + [bites[m]]) for m in models}, 1)
    mask = {m: _compare(_attack(attack_rows, m, ls, eps[m], "pgd"), _attack(attack_rows, m, ls, eps[m], "transfer"))
            for m in models}
    source = {m: Premise("a hard-target network of another seed to transfer the attack from (two seeds or more)",
                         bool(_attack(attack_rows, m, ls, eps[m], "transfer"))) for m in models}
    mask_needs = {m: regime[m] + [bites[m], source[m],
                                  from_verdict("LS looks more robust to white-box PGD (the claim above)", white[m], 1,
                                               label="LS - hard")] for m in models}
    mask_ours, mask_verdict = parts_text({m: (mask[m], mask_needs[m]) for m in models}, 1)

    def premise(needs):
        return "; ".join(p.condition for p in needs[models[0]])

    direction = "direction only: the paper's tables were not read here"
    return [
        Claim("Xia et al. 2025: with the max softmax probability, LS worsens selective classification, a higher "
              "test AURC (%, LS - hard)",
              "ImageNet ResNet-50, alpha 0.2: %AURC 6.53 (CE) vs 7.55 (LS), error 23.0 vs 22.5 % (authors' notebook)",
              sc_ours, sc_verdict, note, premise(sc_needs)),
        Claim("Xia et al. 2025: logit normalisation (MaxLogit-pNorm, p chosen on validation AURC) recovers it, a "
              "lower AURC of the LS network (%, MSP - pNorm)",
              "same LS ResNet-50: %AURC 7.55 -> 6.22 (CE 6.56 with its own p)", fix_ours, fix_verdict, note,
              premise(fix_needs)),
        Claim("Zhu et al. 2022: LS makes correct and wrong predictions harder to tell apart, a lower AUROC of the "
              "max softmax probability (%, hard - LS)",
              f"CIFAR-10/100: calibration methods, LS among them, are 'useless or harmful for failure prediction' "
              f"(abstract; {direction})",
              fp_ours, fp_verdict, note, premise(regime)),
        Claim("Wang et al. 2021: after temperature scaling (T on validation ECE) the hard-target network is better "
              "calibrated than the LS one (test ECE, LS - hard)",
              f"CIFAR-10/100 ResNet-32, LS alpha 0.05 / 0.09 ({direction})", ts_ours, ts_verdict, note,
              "; ".join(p.condition for p in regime[models[0]] + [over[models[0]]])),
        Claim("Guo et al. 2025: LS collapses the training features further, a lower NC1 (hard - LS)",
              f"'a stronger level of neural collapse' with LS (abstract; {direction})", nc1_ours, nc1_verdict, note, premise(regime)),
        Claim("Guo et al. 2025: LS's class means are closer to a simplex ETF, a lower NC2 distance (hard - LS)",
              f"'intensified NC2' with LS (abstract; {direction})", etf_ours, etf_verdict, note, premise(regime)),
        Claim("Kornblith et al. 2021: LS raises the class separation R² of the penultimate features (LS - hard)",
              f"ImageNet: higher class separation goes with less transferable features (abstract; {direction})", r2_ours, r2_verdict, note, premise(regime)),
        Claim("Kornblith et al. 2021: LS features transfer worse under a linear probe (probe accuracy on the half "
              "of the classes the networks did not learn, %, hard - LS)",
              f"ImageNet -> other datasets: 'substantially worse' linear transfer (abstract; {direction})", tr_ours, tr_verdict, note,
              "; ".join(p.condition for p in t_regime[t_models[0]])),
        Claim("Fu et al. 2020: LS networks look more robust to white-box PGD (accuracy at the radius eps of the "
              "verdicts, 0.1 on Fashion-MNIST and 8/255 on CIFAR unless the chapter sets it, %, LS - hard)", "CIFAR-10 WideResNet with LS: 'robust accuracy ... 75 % at most under PGD' (abstract)",
              wb_ours, wb_verdict, note, premise({m: regime[m] + [bites[m]] for m in models})),
        Claim("Fu et al. 2020: that robustness is gradient masking, PGD transferred from a hard-target network "
              "hurts the LS network more than its own white-box PGD (LS accuracy, %, white-box - transferred)",
              "'cannot defend attacks transferred from a naturally trained model' (abstract)", mask_ours,
              mask_verdict, note, premise(mask_needs)),
    ]
