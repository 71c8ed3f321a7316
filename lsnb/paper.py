"""The paper's claims, with its numbers, beside this book's: the rows each chapter adds to the scorecard.

One function per chapter turns the chapter's measurements into :class:`~lsnb.results.Claim`
rows: what Müller et al. (2019) claim (and the number they report for the same kind of
network, or the picture the claim is read from), what this run measured, and the verdict.
Every verdict is the book's one rule (:mod:`lsnb.stats`): first the claim's *premise* -- the
condition under which the experiment can test it, stated in the row -- and where it fails
on the data the verdict is "not testable", with the failed condition named; then the
Welch t-interval of the difference of means over seeds, read against the paper's
direction (or, for "changes little" claims, against a stated margin). A claim about
several networks (or temperatures) at once is judged on the parts whose premise holds:
it agrees when every such part agrees and differs when any part differs
(:func:`lsnb.stats.all_of`); "ours" lists every part. The note says where the setting is
not the paper's (other data, model or schedule). The numbers quoted are the paper's
Tables 2 and 3 and sec. 4, Hinton et al. (2015) and Chandrasegaran et al. (2022).
"""
from __future__ import annotations

import math

from .book import pm
from .results import Claim
from .stats import NOT_TESTABLE, Premise, all_of, compare, failed_text, from_verdict, premised
from .temperature import LS_TS_MARGIN, MEMORISED

# Table 2: (dataset as the paper names it, top-1 accuracy % without, with label smoothing)
PAPER_TABLE2 = {"AlexNet": ("CIFAR-10", "86.8 ± 0.2", "86.7 ± 0.3"),
                "ResNet": ("CIFAR-100 (ResNet-56)", "72.1 ± 0.3", "72.7 ± 0.3")}
# "Changes accuracy little": the paper's largest Table 2 difference is 0.6 points (ResNet-56, CIFAR-100);
# a difference within +-1 point is the claim.
ACCURACY_MARGIN = 1.0
# The Hinton et al. teachers differ by 0.08 points (0.67 vs 0.59 % error); a comparison of their students
# tests label smoothing, not teacher accuracy, only where the two teachers are as close.
TEACHER_MATCH = 0.5
# Chapter 3b: the paper's Transformer translates (BLEU 25.3) and predicts next tokens well (perplexity
# 4.67). Below these floors a model's BLEU or token statistics say nothing about that regime.
BLEU_FLOOR = 10.0
TOKEN_ACCURACY_FLOOR = 50.0
# Figure 4's optima: a temperature grid locates an optimum only where it is not at an edge of the grid
# and the grid's step around it is at most this.
T_STEP = 0.2
# Chandrasegaran et al. (2022), ImageNet ResNet-50 -> ResNet-18: student top-1 (%) distilled from the
# teachers with alpha 0 and 0.1, per T.
CHANDRASEGARAN = {1.0: (71.49, 71.67), 2.0: (71.36, 68.86), 3.0: (69.67, 67.75)}


def _setting(setup, dataset: str, paper_dataset: str | None = None) -> str:
    """The claim's note: empty where the data is the paper's, else what differs."""
    if paper_dataset is not None and dataset == paper_dataset and setup.profile.name == "paper":
        return ""
    return f"{setup.profile.name} profile: {dataset}, not the paper's data and schedule"


def _join(*notes) -> str:
    return "; ".join(n for n in notes if n)


def _claim(claim: str, paper: str, ours: str, verdict: str, note: str = "", premises=()) -> Claim:
    """A claim row whose verdict stands only where every premise holds (:func:`lsnb.stats.premised`);
    the failed ones are named in the note, every condition in ``premise``."""
    premises = list(premises)
    return Claim(claim, paper, ours, premised(verdict, premises), _join(note, failed_text(premises)),
                 "; ".join(p.condition for p in premises))


def _parts(parts: dict, digits: int = 2, margin: float | None = None) -> tuple[str, str]:
    """``({name: (Comparison, [Premise])})`` -> ("FCN +0.12 [+0.05, +0.20] agrees; AlexNet not testable
    (...)", the verdict over the testable parts)."""
    texts, verdicts = [], []
    for name, (c, premises) in parts.items():
        v = premised(c.verdict(margin), premises)
        failed = [p.measured or p.condition for p in premises if not p.holds]  # the condition is in "premise"
        texts.append(f"{name} {c.text(digits)} {v}" + (f" ({'; '.join(failed)})" if failed else ""))
        verdicts.append(v)
    return "; ".join(texts), all_of(verdicts)


def label_smoothing_claims(setup, same_as_torch: bool, convention_gap: float, accuracy) -> list:
    """Chapter 1 (sec. 1): eq. (1) as lsnb and torch compute it, and the first experiment's accuracy.

    ``convention_gap``: nats between the alpha/(K-1) form and eq. (1); ``accuracy``: the FCN's
    test accuracy (%) without and with label smoothing (:class:`lsnb.metrics.SeedComparison`).
    The FCN is also the first network of chapter 2's Table 2, whose claims leave it to this one.
    """
    c = accuracy.comparison
    return [
        Claim("Label smoothing as eq. (1): y_LS = (1 - alpha) y + alpha/K; "
              "torch's label_smoothing uses the same form",
              "definition (sec. 1)",
              f"lsnb == torch: {same_as_torch}; alpha/(K-1) form differs by {convention_gap:.4f} nats",
              "agrees" if same_as_torch else "differs"),
        Claim(f"Label smoothing changes top-1 accuracy little, FCN (Table 2; within ±{ACCURACY_MARGIN:g} point)",
              "no FCN in the paper's Table 2; its networks change by -0.1 (AlexNet) to +0.6 (ResNet-56) points",
              f"FCN/{setup.dataset}: {pm(accuracy.hard, digits=2)} vs {pm(accuracy.ls, digits=2)} % "
              f"(alpha 0 vs {setup.alpha:g}); LS - hard {c.text(2)} points",
              c.verdict(ACCURACY_MARGIN), _setting(setup, setup.dataset)),
    ]


# Figure 1's readings: (geometry number, the claim). Tightness is measured in the plane the figure shows,
# and again in the whole penultimate space (a stronger statement than the picture makes).
GEOMETRY_CLAIMS = (
    ("plane_nc1", "LS makes each class's cluster tighter in Figure 1's template plane: within/between "
                  "variance ratio of the projections"),
    ("nc1", "LS makes each class's cluster tighter in the whole penultimate space (a stronger reading than "
            "Figure 1 shows): within/between variance ratio"),
    ("wrong_template_spread", "LS makes the distances to the wrong templates equal (Figure 1): their spread "
                              "over the margin"),
    ("projection_scale", "LS shrinks the projections (Figure 1): their scale"),
)


def representation_claims(setup, table2, comparisons: dict) -> list:
    """Chapter 2 (sec. 2): Table 2's accuracies (``table2``: :class:`lsnb.chapters.Table2Runs`; the FCN's
    row is chapter 1's claim, not counted twice) and what Figure 1 shows (``comparisons``:
    :func:`lsnb.geometry.alpha_comparisons`)."""
    claims = []
    for name, rs in table2.table2.items():
        if name not in PAPER_TABLE2:
            continue
        acc, paper = table2.comparison(name), PAPER_TABLE2[name]
        dataset = rs[0].config.dataset
        paper_dataset = paper[0].split()[0].lower().replace("-", "")
        claims.append(Claim(
            f"Label smoothing changes top-1 accuracy little, {name} (Table 2; within ±{ACCURACY_MARGIN:g} point)",
            f"{paper[0]}: {paper[1]} vs {paper[2]} %",
            f"{dataset}: {pm(acc.hard, digits=2)} vs {pm(acc.ls, digits=2)} % (alpha 0 vs {setup.alpha:g}); "
            f"LS - hard {acc.comparison.text(2)} points",
            acc.comparison.verdict(ACCURACY_MARGIN), _setting(setup, dataset, paper_dataset)))
    for number, claim in GEOMETRY_CLAIMS:
        ours, verdict = _parts({m: (c, []) for m, c in comparisons[number].items()}, 3)
        claims.append(Claim(f"{claim}, hard - LS", "pictures only", ours, verdict, _setting(setup, setup.dataset)))
    return claims


def memorised(train_accuracy) -> Premise:
    """The regime of sec. 3's claims: the hard-target network (nearly) memorised its training set (mean
    training accuracy over seeds in the last epoch at least :data:`lsnb.temperature.MEMORISED` %)."""
    mean = sum(train_accuracy) / len(train_accuracy)
    return Premise(f"the hard-target network memorised its training set (last-epoch training accuracy >= "
                   f"{MEMORISED:g} %)",
                   mean >= MEMORISED, f"training accuracy {mean:.1f} %")


def calibration_claims(setup, summary, runs: dict, train_accuracy: dict | None) -> list:
    """Chapter 3 (sec. 3): the regime (over-confident hard-target networks) and Table 3's argument
    (``summary``: :class:`lsnb.temperature.Table3Summary` of the models ``runs``, ``{name: runs}``;
    ``train_accuracy``: ``{name: [the hard-target runs' last-epoch training accuracy, %]}`` where the
    profile trains them to memorise a subset, None where they keep the paper's recipe,
    :meth:`lsnb.chapters.Table2Runs.regime_accuracy`).

    "Over-confident" is tested on the networks that memorised their training set (where the profile
    means them to); temperature scaling and label smoothing (its alpha chosen on validation, as T is
    fitted there) are compared on the networks that are over-confident by the rule.
    """
    models = list(runs)
    note = _setting(setup, runs[models[0]][0].config.dataset, "cifar100")
    regime = {m: [memorised(train_accuracy[m])] if train_accuracy is not None else [] for m in models}
    over = {m: summary.over_confidence(m) for m in models}
    needs = {m: regime[m] + [from_verdict("the hard-target network is over-confident (fitted T - 1 > 0)",
                                          over[m], label="T - 1")] for m in models}
    over_ours, over_verdict = _parts({m: (over[m], regime[m]) for m in models}, 2)
    temps = ", ".join(f"{m} {pm(summary.numbers[m]['T'], digits=2)}" for m in models)
    eces = ", ".join(f"{m} {summary.means(m)['baseline']:.3f} / {summary.means(m)['ts']:.3f} / "
                     f"{summary.means(m)['ls']:.3f} (alpha {summary.alpha_text(m)})" for m in models)
    ts_ours, ts_verdict = _parts({m: (summary.ts_gain(m), needs[m]) for m in models}, 3)
    ls_ours, ls_verdict = _parts({m: (summary.ls_gain(m), needs[m]) for m in models}, 3)
    close_ours, close_verdict = _parts({m: (summary.ls_vs_ts(m), needs[m]) for m in models}, 3, LS_TS_MARGIN)
    premise = "; ".join(p.condition for p in needs[models[0]])
    return [
        Claim("Hard-target networks are over-confident: the fitted temperature T > 1 (T - 1)",
              "T = 1.9 (CIFAR-100 ResNet-56), 1.4 (ImageNet Inception-v4)",
              f"T: {temps}; {over_ours}", over_verdict, note, "; ".join(p.condition for p in regime[models[0]])),
        Claim("Table 3: temperature scaling lowers the test ECE (baseline - TS)",
              "0.150 -> 0.021 (CIFAR-100 ResNet-56)",
              f"ECE baseline / TS / LS: {eces}; {ts_ours}", ts_verdict, note, premise),
        Claim("Table 3: label smoothing, alpha chosen on validation, lowers the test ECE (baseline - LS)",
              "0.150 -> 0.024 (CIFAR-100 ResNet-56, alpha 0.05)", ls_ours, ls_verdict, note, premise),
        Claim(f"Label smoothing calibrates about as well as temperature scaling, each tuned on validation "
              f"(sec. 3; LS - TS test ECE within ±{LS_TS_MARGIN:g})",
              "LS 0.024 vs TS 0.021 (CIFAR-100 ResNet-56)", close_ours, close_verdict, note, premise),
    ]


def premise_rows(premises) -> list:
    """A table of premises: each condition, what was measured, and whether it holds."""
    return [{"premise": p.condition, "measured": p.measured, "holds": "yes" if p.holds else "no"}
            for p in premises]


def translation_premises(summary) -> dict:
    """Chapter 3b's premises, by name: ``"bleu"`` (both models translate: BLEU at least
    :data:`BLEU_FLOOR`), ``"tokens"`` (the hard-target model is in a regime of the next-token claims:
    where the profile trains it to memorise its pairs, it did -- last-epoch training accuracy at least
    :data:`MEMORISED` %, the over-fitted regime of chapter 3 -- elsewhere it predicts most test tokens,
    accuracy at least :data:`TOKEN_ACCURACY_FLOOR` %), ``"over"`` (it is over-confident: fitted T - 1 > 0
    by the rule), ``"t_grid"`` (Figure 4's temperature grids locate the optima: :func:`grid_locates`)."""
    s = summary
    located, grids = s.grids_locate(T_STEP)
    low_bleu = min(sum(s.bleu_hard) / len(s.bleu_hard), sum(s.bleu_ls) / len(s.bleu_ls))
    test = f"test accuracy {s.accuracy:.0f} %, NLL {sum(s.nll_hard) / len(s.nll_hard):.2f} nats/token"
    if s.train_accuracy is not None:
        fitted = sum(s.train_accuracy) / len(s.train_accuracy)
        tokens = Premise(f"the hard-target model memorised its training pairs (last-epoch training next-token "
                         f"accuracy >= {MEMORISED:g} %)", fitted >= MEMORISED,
                         f"training accuracy {fitted:.1f} %; {test}")
    else:
        tokens = Premise(f"the hard-target model predicts most next tokens (test accuracy >= "
                         f"{TOKEN_ACCURACY_FLOOR:g} %)", s.accuracy >= TOKEN_ACCURACY_FLOOR, test)
    return {"bleu": Premise(f"both models translate (BLEU >= {BLEU_FLOOR:g})", low_bleu >= BLEU_FLOOR,
                            f"BLEU {low_bleu:.1f}"),
            "tokens": tokens,
            "over": from_verdict("the hard-target model is over-confident (fitted T - 1 > 0)",
                                 compare(s.t_fit, [1.0] * len(s.t_fit))),
            "t_grid": Premise(f"the temperature grids locate each optimum (not at an edge, step <= {T_STEP:g} "
                              "around it)", located, grids)}


def translation_claims(setup, summary, dataset: str, n_train: int) -> list:
    """Chapter 3b (sec. 3, Figures 3 and 4, Table 3's EN-DE row): ``summary`` is
    :class:`lsnb.translation.TranslationSummary`, of models trained on ``n_train`` pairs of ``dataset``."""
    s = summary
    p = translation_premises(s)
    note = f"{setup.profile.name} profile: {dataset}, {n_train:,} training pairs, small Transformer"
    return [
        _claim("Translation: LS gives better BLEU (LS - hard)", "WMT14 EN-DE: 25.3 -> 25.8",
               f"{pm(s.bleu_hard, digits=2)} -> {pm(s.bleu_ls, digits=2)}; {s.bleu_gain.text(2)} "
               f"(bootstrap sd over sentences {s.boot_sd:.2f})", s.bleu_gain.verdict(), note, [p["bleu"]]),
        _claim("Translation: LS gives better next-token calibration (ECE, hard - LS)", "0.056 -> 0.019",
               f"{pm(s.ece_hard, digits=3)} -> {pm(s.ece_ls, digits=3)}; {s.ece_gain.text(3)}",
               s.ece_gain.verdict(), note, [p["tokens"], p["over"]]),
        _claim("Translation: LS gives worse NLL (LS - hard)", "perplexity 4.67 -> 4.92 (NLL 1.54 -> 1.59 nats)",
               f"{pm(s.nll_hard, digits=3)} -> {pm(s.nll_ls, digits=3)} nats/token; {s.nll_loss.text(3)}",
               s.nll_loss.verdict(), note, [p["tokens"]]),
        _claim("Table 3 EN-DE: temperature scaling lowers the next-token ECE (baseline - TS)",
               "0.056 -> 0.018 (T = 1.13)",
               f"{pm(s.ece_hard, digits=3)} -> {pm(s.ece_ts, digits=3)} (T = {pm(s.t_fit, digits=2)}); "
               f"{s.ts_gain.text(3)}", s.ts_gain.verdict(), note, [p["tokens"], p["over"]]),
        _claim(f"Table 3 EN-DE: label smoothing (alpha {setup.alpha:g}, as the paper's row) calibrates about as "
               f"well as temperature scaling (LS - TS ECE within ±{LS_TS_MARGIN:g})", "0.019 (alpha 0.1) vs 0.018",
               f"{pm(s.ece_ls, digits=3)} vs {pm(s.ece_ts, digits=3)}; {s.ls_vs_ts.text(3)}",
               s.ls_vs_ts.verdict(LS_TS_MARGIN), note, [p["tokens"], p["over"]]),
        _claim("Temperature scaling the hard-target model does not recover the LS BLEU (Figure 4; "
               "LS at T = 1 - hard at its best T)", "best hard-target BLEU over T stays below LS",
               f"best hard {pm(s.best_hard_bleu, digits=2)} vs LS {pm(s.bleu_ls, digits=2)}; {s.ts_gap.text(2)}",
               s.ts_gap.verdict(), note, [p["bleu"], p["t_grid"]]),
        _claim("The ECE minimum predicts the best-BLEU temperature better than the NLL minimum "
               "(Figure 4; |T_NLL - T_BLEU| - |T_ECE - T_BLEU|)", "slightly better",
               f"best-BLEU T {pm(s.t_best_bleu, digits=2)}; min-ECE T {pm(s.t_min_ece, digits=2)}; "
               f"min-NLL T {pm(s.t_min_nll, digits=2)}; {s.ece_closer.text(2)}", s.ece_closer.verdict(), note,
               [p["bleu"], p["t_grid"]]),
    ]


def hinton_premises(hinton) -> dict:
    """The Hinton et al. experiment's premises: ``"lead"`` (the dropout teacher more accurate than the
    student trained alone), ``"works"`` (its student, distilled, better than the student trained alone)
    and ``"matched"`` (the two teachers within :data:`TEACHER_MATCH` points of each other)."""
    return {"lead": from_verdict("the dropout teacher is ahead of the student trained alone", hinton.teacher_lead,
                                 unit=" points"),
            "works": from_verdict("distillation works: its student beats the student trained alone",
                                  hinton.distillation_gain, unit=" points"),
            "matched": from_verdict(f"the two teachers are matched in accuracy (within ±{TEACHER_MATCH:g} points)",
                                    hinton.teacher_gain, unit=" points", margin=TEACHER_MATCH)}


def hinton_claims(setup, hinton, dataset: str) -> list:
    """The Hinton et al. experiment (sec. 4; ``hinton``: :class:`lsnb.distill.HintonSummary`, on ``dataset``):
    the setting (the teacher ahead, distillation working), the LS teacher's accuracy, and the paper's claim
    about its student, premised on the setting and on teachers of matched accuracy."""
    e = hinton.named
    note = _setting(setup, dataset, "mnist")
    hp = hinton_premises(hinton)
    return [
        Claim("Hinton setup: the dropout teacher is more accurate than the student trained alone "
              "(the setting distillation needs; student - teacher error)", "0.67 % vs 1.46 % (Hinton et al., MNIST)",
              f"{pm(e['teacher'], digits=2)} % vs {pm(e['alone'], digits=2)} %; "
              f"{hinton.teacher_lead.text(2)} points", hinton.teacher_lead.verdict(), note),
        Claim("Hinton setup: distilling the dropout teacher beats training the student alone (student alone - "
              "distilled student error)", "1.46 % -> 0.74 % (MNIST)",
              f"{pm(e['alone'], digits=2)} % -> {pm(e['student'], digits=2)} %; "
              f"{hinton.distillation_gain.text(2)} points", hinton.distillation_gain.verdict(), note),
        Claim("Hinton setup: LS teacher more accurate than the dropout teacher (test error, dropout - LS)",
              "0.67 % -> 0.59 % (MNIST)", f"{pm(e['teacher'], digits=2)} % -> {pm(e['ls_teacher'], digits=2)} %; "
              f"{hinton.teacher_gain.text(2)} points", hinton.teacher_gain.verdict(), note),
        _claim("Hinton setup: the LS teacher's student is worse (its error - the dropout teacher's student's)",
               "0.74 % -> 0.91 % (MNIST)", f"{pm(e['student'], digits=2)} % -> {pm(e['ls_student'], digits=2)} %; "
               f"{hinton.student_loss.text(2)} points", hinton.student_loss.verdict(), note,
               [hp["lead"], hp["works"], hp["matched"]]),
    ]


def figure5_premises(figure5) -> dict:
    """Figure 5's premises: ``"lead"`` (the hard-target teacher ahead of the student trained alone) and
    ``"works"`` (the best distilled student (3) ahead of it)."""
    lead, works = figure5.teacher_lead, figure5.distill_works
    lead_text = "the hard-target teacher is ahead of the student trained alone"
    works_text = "distillation works: the best distilled student (3) beats the student trained alone"
    return {"lead": from_verdict(lead_text, lead, unit=" points") if lead is not None
            else Premise(lead_text, False, "not measured"),
            "works": from_verdict(works_text, works, unit=" points") if works is not None
            else Premise(works_text, False, "not measured")}


def figure5_claims(setup, figure5, dataset: str) -> list:
    """Figure 5 (``figure5``: :class:`lsnb.distill.Figure5Summary`, on ``dataset``): the setting and the
    paper's two claims about the curves, premised on it (:func:`figure5_premises`)."""
    note = _setting(setup, dataset, "cifar10")
    b2, b3, b4 = figure5.best2, figure5.best3, figure5.best4
    fp = figure5_premises(figure5)
    lead = figure5.teacher_lead
    claims = [
        Claim("Figure 5 setup: the hard-target teacher is more accurate than the student trained alone "
              "(the setting distillation needs; teacher - student)", "ResNet-56 ahead of AlexNet (CIFAR-10)",
              f"{lead.text(2)} points" if lead is not None else "(not measured)",
              lead.verdict() if lead is not None else NOT_TESTABLE, note),
        _claim("Figure 5: distillation from a hard teacher beats training the student with LS (best (3) - best (2))",
               "curve (3) above curve (2)",
               f"(3) {b3['accuracy']:.2f} % at T = {b3['knob']:g} vs (2) {b2['accuracy']:.2f} % at alpha = "
               f"{b2['knob']:g}; {figure5.distill_gain.text(2)} points", figure5.distill_gain.verdict(), note,
               [fp["lead"], fp["works"]]),
    ]
    if b4 is not None:
        claims.append(_claim(
            "Figure 5: LS teachers are no better than training the student with LS (best (2) - best (4))",
            "curve (4) at or below curve (2)",
            f"(2) {b2['accuracy']:.2f} % vs (4) {b4['accuracy']:.2f} % (alpha = {b4['knob']:g} teacher); "
            f"{figure5.ls_teacher_loss.text(2)} points", figure5.ls_teacher_loss.verdict(), note,
            [fp["lead"], fp["works"]]))
    return claims


def followup_claims(setup, followup, figure5, dataset: str) -> list:
    """Chandrasegaran et al. (2022) at small scale (``followup``: :class:`lsnb.distill.FollowupSummary`),
    one claim per temperature: the LS teacher's student better at the first T (1), worse at every
    larger one; premised as Figure 5's claims are (:func:`figure5_premises`: its teacher ahead of the
    student trained alone, and distillation from it working)."""
    note = _setting(setup, dataset, "cifar10")
    fp = figure5_premises(figure5)
    claims = []
    for i, (T, c) in enumerate(followup.gaps.items()):
        helps = i == 0
        theirs = CHANDRASEGARAN.get(T)
        quoted = (f"ImageNet: {theirs[1]:.2f} vs {theirs[0]:.2f} % ({theirs[1] - theirs[0]:+.2f} points)" if theirs
                  else "not in their table (worse at T = 2 and 3)")
        claims.append(_claim(
            f"Chandrasegaran et al.: an LS teacher's student is {'better' if helps else 'worse'} at T = {T:g} "
            "(LS teacher's - hard's)", quoted, f"{c.text(2)} points",
            c.verdict() if helps else followup.hurts(T).verdict(), note, [fp["lead"], fp["works"]]))
    return claims


def figure6_claims(setup, mi, dataset: str, mi_similar=None) -> list:
    """Figure 6 (``mi``: ``(hard, ls)``, the estimates at the end of training per seed, nats; ``mi_similar``:
    the same on the two most similar classes, or None): one claim per pair of classes."""
    note = _setting(setup, dataset, "cifar10")
    claims = []
    for label, pair in (("", mi), (", two similar classes", mi_similar)):
        if pair is None:
            continue
        gap = compare(*pair)
        claims.append(Claim(
            f"Figure 6: LS erases information about the example{label} (I(X;Y) at the end of training, hard - LS)",
            "ends just above log 2 with LS, higher without",
            f"{pm(pair[0], digits=3)} vs {pm(pair[1], digits=3)} nats (log 2 = {math.log(2):.3f}); {gap.text(3)}",
            gap.verdict(), note))
    return claims


def distillation_claims(setup, hinton, hinton_data: str, figure5, figure5_data: str, followup, mi,
                        mi_similar=None) -> list:
    """Chapter 4 (sec. 4), every claim in the chapter's order: :func:`hinton_claims`, :func:`figure5_claims`,
    :func:`followup_claims` and :func:`figure6_claims`."""
    return (hinton_claims(setup, hinton, hinton_data) + figure5_claims(setup, figure5, figure5_data)
            + followup_claims(setup, followup, figure5, figure5_data)
            + figure6_claims(setup, mi, figure5_data, mi_similar))
