"""The paper's claims, with its numbers, beside this book's: the rows each chapter adds to the scorecard.

One function per chapter turns the chapter's measurements into :class:`~lsnb.results.Claim`
rows: what Müller et al. (2019) claim (and the number they report, or the picture the
claim is read from), what this run measured, and the verdict. Every verdict that rests
on a difference is the book's one rule (:mod:`lsnb.stats`): the Welch t-interval of the
difference of means over seeds, read against the paper's direction (or, for "changes
little" claims, against a stated margin). A claim about several networks (or
temperatures) at once agrees when every part agrees and differs when any part differs
(:func:`lsnb.stats.all_of`); "ours" lists every part. The note says where the setting is
not the paper's (other data, model or schedule). The numbers quoted are the paper's
Tables 2 and 3 and sec. 4, Hinton et al. (2015) and Chandrasegaran et al. (2022).
"""
from __future__ import annotations

import math

from .book import pm
from .results import Claim
from .stats import all_of, compare
from .temperature import LS_TS_MARGIN

# Table 2: (dataset as the paper names it, top-1 accuracy % without, with label smoothing)
PAPER_TABLE2 = {"AlexNet": ("CIFAR-10", "86.8 ± 0.2", "86.7 ± 0.3"),
                "ResNet": ("CIFAR-100 (ResNet-56)", "72.1 ± 0.3", "72.7 ± 0.3"),
                "FCN": None}
# "Changes accuracy little": the paper's largest Table 2 difference is 0.6 points (ResNet-56, CIFAR-100);
# a difference within +-1 point is the claim.
ACCURACY_MARGIN = 1.0


def _setting(setup, dataset: str, paper_dataset: str | None = None) -> str:
    """The claim's note: empty where the data is the paper's, else what differs."""
    if paper_dataset is not None and dataset == paper_dataset and setup.profile.name == "paper":
        return ""
    return f"{setup.profile.name} profile: {dataset}, not the paper's data and schedule"


def _each(parts: dict, digits: int = 2, margin: float | None = None) -> str:
    """``"FCN +0.12 [+0.05, +0.20] agrees; ..."``: every part's difference, interval and verdict."""
    return "; ".join(f"{name} {c.text(digits)} {c.verdict(margin)}" for name, c in parts.items())


def _all(parts: dict, margin: float | None = None) -> str:
    return all_of(c.verdict(margin) for c in parts.values())


def label_smoothing_claims(setup, same_as_torch: bool, convention_gap: float, accuracy) -> list:
    """Chapter 1 (sec. 1): eq. (1) as lsnb and torch compute it, and the first experiment's accuracy.

    ``convention_gap``: nats between the alpha/(K-1) form and eq. (1); ``accuracy``: the FCN's
    test accuracy (%) without and with label smoothing (:class:`lsnb.metrics.SeedComparison`).
    """
    c = accuracy.comparison
    return [
        Claim("Label smoothing as eq. (1): y_LS = (1 - alpha) y + alpha/K; "
              "torch's label_smoothing uses the same form",
              "definition (sec. 1)",
              f"lsnb == torch: {same_as_torch}; alpha/(K-1) form differs by {convention_gap:.4f} nats",
              "agrees" if same_as_torch else "differs"),
        Claim(f"Label smoothing changes top-1 accuracy little (Table 2; within ±{ACCURACY_MARGIN:g} point)",
              "AlexNet/CIFAR-10: 86.8 ± 0.2 vs 86.7 ± 0.3 % (alpha 0 vs 0.1)",
              f"FCN/{setup.dataset}: {pm(accuracy.hard, digits=2)} vs {pm(accuracy.ls, digits=2)} % "
              f"(alpha 0 vs {setup.alpha:g}); LS - hard {c.text(2)} points",
              c.verdict(ACCURACY_MARGIN), _setting(setup, setup.dataset)),
    ]


def representation_claims(setup, table2, comparisons: dict) -> list:
    """Chapter 2 (sec. 2): Table 2's accuracies (``table2``: :class:`lsnb.chapters.Table2Runs`) and
    the three things Figure 1 shows (``comparisons``: :func:`lsnb.geometry.alpha_comparisons`)."""
    claims = []
    for name, rs in table2.table2.items():
        acc, paper = table2.comparison(name), PAPER_TABLE2.get(name)
        dataset = rs[0].config.dataset
        paper_dataset = paper[0].split()[0].lower().replace("-", "") if paper else None
        claims.append(Claim(
            f"Label smoothing changes top-1 accuracy little, {name} (Table 2; within ±{ACCURACY_MARGIN:g} point)",
            f"{paper[0]}: {paper[1]} vs {paper[2]} %" if paper else "(not in the paper's Table 2)",
            f"{dataset}: {pm(acc.hard, digits=2)} vs {pm(acc.ls, digits=2)} % (alpha 0 vs {setup.alpha:g}); "
            f"LS - hard {acc.comparison.text(2)} points",
            acc.comparison.verdict(ACCURACY_MARGIN), _setting(setup, dataset, paper_dataset)))
    what = {"nc1": "LS makes each class's cluster tighter (Figure 1): within/between variance ratio",
            "wrong_template_spread": "LS makes the distances to the wrong templates equal (Figure 1): "
                                     "their spread over the margin",
            "projection_scale": "LS shrinks the projections (Figure 1): their scale"}
    return claims + [Claim(f"{claim}, hard - LS", "pictures only", _each(comparisons[number], 3),
                           _all(comparisons[number]), _setting(setup, setup.dataset))
                     for number, claim in what.items()]


def calibration_claims(setup, summary, runs: dict) -> list:
    """Chapter 3 (sec. 3): the regime (over-confident hard-target networks) and Table 3's argument
    (``summary``: :class:`lsnb.temperature.Table3Summary` of the models ``runs``, ``{name: runs}``).

    The first claim is the premise: every network's fitted temperature above 1. The other three are
    judged on the networks for which the premise holds (its verdict "agrees"); the others are named
    and left out, and with none in the regime those claims are "not comparable".
    """
    models = list(runs)
    note = _setting(setup, runs[models[0]][0].config.dataset, "cifar100")
    over = {m: summary.over_confidence(m) for m in models}
    regime = [m for m in models if over[m].verdict() == "agrees"]
    left_out = [m for m in models if m not in regime]

    def judged(method, digits=3, margin=None, prefix=""):
        parts = {m: getattr(summary, method)(m) for m in regime}
        outside = f"; left out, not over-confident: {', '.join(left_out)}" if left_out else ""
        if not parts:
            return prefix + "no network is over-confident here" + outside, "not comparable"
        return prefix + _each(parts, digits, margin) + outside, _all(parts, margin)

    temps = ", ".join(f"{m} {pm(summary.numbers[m]['T'], digits=2)}" for m in models)
    eces = ", ".join(f"{m} {summary.means(m)['baseline']:.3f} / {summary.means(m)['ts']:.3f} / "
                     f"{summary.means(m)['ls']:.3f}" for m in models)
    ts_ours, ts_verdict = judged("ts_gain", prefix=f"ECE baseline / TS / LS {setup.alpha:g}: {eces}; ")
    ls_ours, ls_verdict = judged("ls_gain")
    close_ours, close_verdict = judged("ls_vs_ts", margin=LS_TS_MARGIN)
    return [
        Claim("Hard-target networks are over-confident: the fitted temperature T > 1 (T - 1)",
              "T = 1.9 (CIFAR-100 ResNet-56), 1.4 (ImageNet Inception-v4)",
              f"T: {temps}; " + _each(over, 2), _all(over), note),
        Claim("Table 3: temperature scaling lowers the test ECE (baseline - TS; over-confident networks)",
              "0.150 -> 0.021 (CIFAR-100), 0.071 -> 0.022 (ImageNet)", ts_ours, ts_verdict, note),
        Claim(f"Table 3: label smoothing lowers the test ECE (baseline - LS, alpha = {setup.alpha:g}; "
              "over-confident networks)",
              "0.150 -> 0.024 (alpha 0.05, CIFAR-100), 0.071 -> 0.035 (alpha 0.1, ImageNet)",
              ls_ours, ls_verdict, note),
        Claim(f"Label smoothing calibrates about as well as temperature scaling (sec. 3; LS - TS ECE within "
              f"±{LS_TS_MARGIN:g}; over-confident networks)",
              "LS 0.024 vs TS 0.021 (CIFAR-100), 0.035 vs 0.022 (ImageNet)", close_ours, close_verdict, note),
    ]


def translation_claims(setup, summary, dataset: str, n_train: int, ts_ece, t_fit) -> list:
    """Chapter 3b (sec. 3, Figures 3 and 4, Table 3's EN-DE row): ``summary`` is
    :class:`lsnb.translation.TranslationSummary`; ``ts_ece`` and ``t_fit`` the hard-target model's
    test ECE after temperature scaling and its fitted T, per seed; the models trained on
    ``n_train`` pairs of ``dataset``."""
    s = summary
    note = f"{setup.profile.name} profile: {dataset}, {n_train:,} training pairs, small Transformer"
    return [
        Claim("Translation: LS gives better BLEU (LS - hard)", "WMT14 EN-DE: 25.3 -> 25.8",
              f"{pm(s.bleu_hard, digits=2)} -> {pm(s.bleu_ls, digits=2)}; {s.bleu_gain.text(2)} "
              f"(bootstrap sd over sentences {s.boot_sd:.2f})", s.bleu_gain.verdict(), note),
        Claim("Translation: LS gives better next-token calibration (ECE, hard - LS)", "0.056 -> 0.019",
              f"{pm(s.ece_hard, digits=3)} -> {pm(s.ece_ls, digits=3)}; {s.ece_gain.text(3)}",
              s.ece_gain.verdict(), note),
        Claim("Translation: LS gives worse NLL (LS - hard)", "perplexity 4.67 -> 4.92",
              f"{pm(s.nll_hard, digits=3)} -> {pm(s.nll_ls, digits=3)} nats/token; {s.nll_loss.text(3)}",
              s.nll_loss.verdict(), note),
        Claim("Temperature scaling the hard-target model does not recover the LS BLEU (Figure 4; "
              "LS at T = 1 - hard at its best T)", "best hard-target BLEU over T stays below LS",
              f"best hard {pm(s.best_hard_bleu, digits=2)} vs LS {pm(s.bleu_ls, digits=2)}; {s.ts_gap.text(2)}",
              s.ts_gap.verdict(), note),
        Claim("The ECE minimum predicts the best-BLEU temperature better than the NLL minimum "
              "(|T_NLL - T_BLEU| - |T_ECE - T_BLEU|)", "slightly better",
              f"best-BLEU T {pm(s.t_best_bleu, digits=2)}; min-ECE T {pm(s.t_min_ece, digits=2)}; "
              f"min-NLL T {pm(s.t_min_nll, digits=2)}; {s.ece_closer.text(2)}", s.ece_closer.verdict(), note),
        Claim("Table 3 EN-DE: ECE baseline / temperature scaling / LS", "0.056 / 0.018 (T=1.13) / 0.019 (alpha=0.1)",
              f"{pm(s.ece_hard, digits=3)} / {pm(ts_ece, digits=3)} (T={pm(t_fit, digits=2)}) / "
              f"{pm(s.ece_ls, digits=3)}", "not comparable", note + "; numbers, not a difference"),
    ]


def distillation_claims(setup, hinton, hinton_data: str, figure5, figure5_data: str, followup, mi) -> list:
    """Chapter 4 (sec. 4): the Hinton et al. experiment (``hinton``: :class:`lsnb.distill.HintonSummary`,
    on ``hinton_data``), Figure 5 (``figure5``: :class:`lsnb.distill.Figure5Summary`, on
    ``figure5_data``), the follow-up of Chandrasegaran et al. (``followup``:
    :class:`lsnb.distill.FollowupSummary`) and Figure 6 (``mi``: ``(hard, ls)``, the estimates at
    the end of training per seed, nats)."""
    errors = list(hinton.errors.values())
    hinton_note = _setting(setup, hinton_data, "mnist")
    note = _setting(setup, figure5_data, "cifar10")
    b2, b3, b4 = figure5.best2, figure5.best3, figure5.best4
    mi_gap = compare(*mi)
    lead = hinton.teacher_lead
    claims = [
        Claim("Hinton setup: the dropout teacher is more accurate than the student trained alone "
              "(the setting distillation needs; student - teacher error)", "0.67 % vs 1.46 % (Hinton et al., MNIST)",
              f"{pm(errors[0], digits=2)} % vs {pm(errors[4], digits=2)} %; {lead.text(2)} points",
              lead.verdict(), hinton_note),
        Claim("Hinton setup: LS teacher more accurate than the dropout teacher (test error, dropout - LS)",
              "0.67 % -> 0.59 % (MNIST)", f"{pm(errors[0], digits=2)} % -> {pm(errors[1], digits=2)} %; "
              f"{hinton.teacher_gain.text(2)} points", hinton.teacher_gain.verdict(), hinton_note),
        Claim("Hinton setup: the LS teacher's student is worse (its error - the dropout teacher's student's)",
              "0.74 % -> 0.91 % (MNIST)", f"{pm(errors[2], digits=2)} % -> {pm(errors[3], digits=2)} %; "
              f"{hinton.student_loss.text(2)} points", hinton.student_loss.verdict(), hinton_note),
        Claim("Figure 5 setup: the hard-target teacher is more accurate than the student trained alone "
              "(the setting distillation needs; teacher - student)", "ResNet-56 ahead of AlexNet (CIFAR-10)",
              f"{figure5.teacher_lead.text(2)} points" if figure5.teacher_lead else "(not measured)",
              figure5.teacher_lead.verdict() if figure5.teacher_lead else "not comparable", note),
        Claim("Figure 5: distillation from a hard teacher beats training the student with LS (best (3) - best (2))",
              "curve (3) above curve (2)",
              f"(3) {b3['accuracy']:.2f} % at T = {b3['knob']:g} vs (2) {b2['accuracy']:.2f} % at alpha = "
              f"{b2['knob']:g}; {figure5.distill_gain.text(2)} points", figure5.distill_gain.verdict(), note),
        Claim("Figure 5: LS teachers are no better than training the student with LS (best (2) - best (4))",
              "curve (4) at or below curve (2)",
              f"(2) {b2['accuracy']:.2f} % vs (4) {b4['accuracy']:.2f} % (alpha = {b4['knob']:g} teacher); "
              f"{figure5.ls_teacher_loss.text(2)} points" if b4 is not None else "(no LS teacher)",
              figure5.ls_teacher_loss.verdict() if b4 is not None else "not comparable", note),
        Claim("Chandrasegaran et al.: an LS teacher's student is better at T = 1 (LS teacher's - hard's)",
              "ImageNet: +0.18 points at T=1", f"{followup.first[1].text(2)} points", followup.helps_first, note),
        Claim("Chandrasegaran et al.: an LS teacher's student is worse at T >= 2 (LS teacher's - hard's)",
              "ImageNet: -2.50 at T=2, -1.92 at T=3",
              "; ".join(f"T={T:g}: {c.text(2)}" for T, c in followup.later), followup.later_verdict, note),
        Claim("Figure 6: LS erases information about the example (I(X;Y) at the end of training, hard - LS)",
              "ends just above log 2 with LS, higher without",
              f"{pm(mi[0], digits=3)} vs {pm(mi[1], digits=3)} nats (log 2 = {math.log(2):.3f}); "
              f"{mi_gap.text(3)}", mi_gap.verdict(), note),
    ]
    return claims
