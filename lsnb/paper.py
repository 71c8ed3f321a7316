"""The paper's claims, with its numbers, beside this book's: the rows each chapter adds to the scorecard.

One function per chapter turns the chapter's measurements into :class:`~lsnb.results.Claim`
rows: what Müller et al. (2019) claim (and the number they report, or the picture the
claim is read from), what this run measured, and the verdict. A verdict is
"not comparable" where the run's setting is not the paper's (other data, model or
schedule), and the note says what differs. The numbers quoted here are the paper's
Tables 2 and 3 and sec. 4, Hinton et al. (2015) and Chandrasegaran et al. (2022).
"""
from __future__ import annotations

import math

from .book import pm
from .metrics import mean_and_spread
from .results import Claim, verdict

# Table 2: (dataset as the paper names it, top-1 accuracy % without, with label smoothing)
PAPER_TABLE2 = {"AlexNet": ("CIFAR-10", "86.8 ± 0.2", "86.7 ± 0.3"),
                "ResNet": ("CIFAR-100 (ResNet-56)", "72.1 ± 0.3", "72.7 ± 0.3"),
                "FCN": None}
# Table 3, image rows: (the paper's row, its dataset where ours can be it, ECE baseline / TS / LS)
PAPER_TABLE3 = {"ResNet": ("CIFAR-100 ResNet-56", "cifar100", "0.150 / 0.021 (T=1.9) / 0.024 (alpha=0.05)"),
                "AlexNet": ("(no AlexNet row; ImageNet Inception-v4)", None,
                            "0.071 / 0.022 (T=1.4) / 0.035 (alpha=0.1)")}


def label_smoothing_claims(setup, same_as_torch: bool, convention_gap: float, accuracy) -> list:
    """Chapter 1 (sec. 1): eq. (1) as lsnb and torch compute it, and the first experiment's accuracy.

    ``convention_gap``: nats between the alpha/(K-1) form and eq. (1); ``accuracy``: the FCN's
    test accuracy (%) without and with label smoothing (:class:`lsnb.metrics.SeedComparison`).
    """
    return [
        Claim("Label smoothing as eq. (1): y_LS = (1 - alpha) y + alpha/K; "
              "torch's label_smoothing uses the same form",
              "definition (sec. 1)",
              f"lsnb == torch: {same_as_torch}; alpha/(K-1) form differs by {convention_gap:.4f} nats",
              "agrees" if same_as_torch else "differs"),
        Claim("Label smoothing changes top-1 accuracy little (Table 2)",
              "AlexNet/CIFAR-10: 86.8 ± 0.2 vs 86.7 ± 0.3 % (alpha 0 vs 0.1)",
              f"FCN/{setup.dataset}: {pm(accuracy.hard, digits=2)} vs {pm(accuracy.ls, digits=2)} % "
              f"(alpha 0 vs {setup.alpha:g})",
              "agrees" if accuracy.within(floor=1.0) else "differs",
              f"{setup.profile.name} profile, other model and data"),
    ]


def representation_claims(setup, table2, ratios: dict) -> list:
    """Chapter 2 (sec. 2): Table 2's accuracies (``table2``: :class:`lsnb.chapters.Table2Runs`) and
    the three things Figure 1 shows (``ratios``: :func:`lsnb.geometry.alpha_ratios`)."""
    claims = []
    for name, rs in table2.table2.items():
        acc, paper = table2.comparison(name), PAPER_TABLE2.get(name)
        dataset = rs[0].config.dataset
        same_setting = paper is not None and dataset == paper[0].split()[0].lower().replace("-", "")
        claims.append(Claim(
            f"Table 2 top-1 accuracy, {name}",
            f"{paper[0]}: {paper[1]} vs {paper[2]} %" if paper else "(not in the paper's Table 2)",
            f"{dataset}: {pm(acc.hard, digits=2)} vs {pm(acc.ls, digits=2)} % (alpha 0 vs {setup.alpha:g})",
            ("agrees" if acc.within(floor=1.0) else "differs") if same_setting else "not comparable",
            "" if same_setting else f"{setup.profile.name} profile: other data and schedule"))

    def down(number):
        return "agrees" if all(v < 1 for v in ratios[number].values()) else "differs"

    def listed(number):
        return ", ".join(f"{m} {v:.2f}" for m, v in ratios[number].items())

    return claims + [
        Claim("LS makes clusters tighter (Figure 1)", "pictures only", f"within/between ratio x {listed('nc1')}",
              down("nc1")),
        Claim("LS makes distances to wrong templates equal (Figure 1)", "pictures only",
              "wrong-distance spread / margin x " + listed("wrong_template_spread"), down("wrong_template_spread")),
        Claim("LS shrinks the projections (Figure 1)", "pictures only",
              "scale x " + listed("projection_scale"), down("projection_scale")),
    ]


def calibration_claims(setup, summary, runs: dict) -> list:
    """Chapter 3 (sec. 3): Table 3's image rows (``summary``: :class:`lsnb.temperature.Table3Summary`
    of the models ``runs``, ``{name: runs}``) and "label smoothing calibrates about as well as
    temperature scaling"."""
    claims, close = [], summary.ls_close
    for name, s in summary.means.items():
        paper, dataset = PAPER_TABLE3.get(name), runs[name][0].config.dataset
        comparable = paper is not None and paper[1] == dataset
        agrees = s["ts"] < s["baseline"] and s["ls"] < s["baseline"] and name in close
        claims.append(Claim(
            f"Table 3 ECE baseline / temperature scaling / LS, {name}",
            paper[2] if paper else "(no such row in the paper)",
            f"{dataset}: {s['baseline']:.3f} / {s['ts']:.3f} (T={s['T']:.2f}) / {s['ls']:.3f} (alpha={setup.alpha:g})",
            ("agrees" if agrees else "differs") if comparable else "not comparable",
            "" if comparable else f"{setup.profile.name} profile: other data, model size and schedule"))
    claims.append(Claim(
        "Label smoothing calibrates about as well as temperature scaling (sec. 3)",
        "CIFAR-100: LS 0.024 vs TS 0.021",
        f"LS within 2x(+0.01) of TS for: {', '.join(close) or 'none'} of {', '.join(summary.means)}",
        "agrees" if len(close) == len(summary.means) else "differs",
        f"{setup.profile.name} profile"))
    return claims


def translation_claims(setup, summary, dataset: str, n_train: int, ts_ece, t_fit) -> list:
    """Chapter 3b (sec. 3, Figures 3 and 4, Table 3's EN-DE row): ``summary`` is
    :class:`lsnb.translation.TranslationSummary`; ``ts_ece`` and ``t_fit`` the hard-target model's
    test ECE after temperature scaling and its fitted T, per seed; the models trained on
    ``n_train`` pairs of ``dataset``."""
    s = summary
    note = f"{setup.profile.name} profile: {dataset}, {n_train:,} training pairs, small Transformer"
    return [
        Claim("Translation: LS gives better BLEU", "WMT14 EN-DE: 25.3 -> 25.8",
              f"{pm(s.bleu_hard, digits=2)} -> {pm(s.bleu_ls, digits=2)} (margin {s.bleu_gain[1]:.2f})",
              verdict(*s.bleu_gain), note),
        Claim("Translation: LS gives better next-token calibration (ECE)", "0.056 -> 0.019",
              f"{pm(s.ece_hard, digits=3)} -> {pm(s.ece_ls, digits=3)}", verdict(*s.ece_gain), note),
        Claim("Translation: LS gives worse NLL", "perplexity 4.67 -> 4.92",
              f"{pm(s.nll_hard, digits=3)} -> {pm(s.nll_ls, digits=3)} nats/token", verdict(*s.nll_loss), note),
        Claim("Temperature scaling the hard-target model does not recover the LS BLEU (Figure 4)",
              "best hard-target BLEU over T stays below LS",
              f"best hard {s.best_hard_bleu:.2f} (T={s.t_best_bleu:g}) vs LS {s.ls_first_bleu:.2f} "
              f"(margin {s.ts_gap[1]:.2f})",
              verdict(*s.ts_gap), note + "; one seed per curve"),
        Claim("The ECE minimum predicts the best-BLEU temperature better than the NLL minimum",
              "slightly better", f"best BLEU T={s.t_best_bleu:g}; min ECE T={s.t_min_ece:g}; min NLL T={s.t_min_nll:g}",
              s.ece_verdict, note + "; one seed, a grid of temperatures"),
        Claim("Table 3 EN-DE: ECE baseline / temperature scaling / LS", "0.056 / 0.018 (T=1.13) / 0.019 (alpha=0.1)",
              f"{mean_and_spread(s.ece_hard)[0]:.3f} / {mean_and_spread(ts_ece)[0]:.3f} "
              f"(T={mean_and_spread(t_fit)[0]:.2f}) / {mean_and_spread(s.ece_ls)[0]:.3f}",
              "not comparable", note),
    ]


def scale_note(setup, dataset: str) -> str:
    """What differs from the paper's setting, for a claim's note."""
    return (f"{setup.profile.name} profile: {dataset}" +
            ("" if setup.profile.name == "paper" else ", a shorter schedule than the paper's"))


def distillation_claims(setup, hinton, hinton_data: str, figure5, figure5_data: str, followup,
                        mi_final: tuple[float, float]) -> list:
    """Chapter 4 (sec. 4): the Hinton et al. experiment (``hinton``: :class:`lsnb.distill.HintonSummary`,
    on ``hinton_data``), Figure 5 (``figure5``: :class:`lsnb.distill.Figure5Summary`, on
    ``figure5_data``), the follow-up of Chandrasegaran et al. (``followup``:
    :class:`lsnb.distill.FollowupSummary`) and Figure 6 (``mi_final``: the estimate at the end of
    training without and with label smoothing, nats)."""
    t_hard, t_ls, s_hard, s_ls, _ = hinton.errors.values()
    hinton_note = "" if hinton_data == "mnist" else scale_note(setup, hinton_data)
    note = scale_note(setup, figure5_data)
    b2, b3, b4 = figure5.best2, figure5.best3, figure5.best4
    (_, gap1), later = followup.first, followup.later
    return [
        Claim("Hinton setup: LS teacher more accurate than the dropout teacher (test error)",
              "0.67 % -> 0.59 % (MNIST)", f"{pm(t_hard, digits=2)} % -> {pm(t_ls, digits=2)} %",
              verdict(*hinton.teacher_gain), hinton_note),
        Claim("Hinton setup: the LS teacher's student is worse",
              "0.74 % -> 0.91 % (MNIST)", f"{pm(s_hard, digits=2)} % -> {pm(s_ls, digits=2)} %",
              verdict(*hinton.student_loss), hinton_note),
        Claim("Figure 5: distillation from a hard teacher beats training the student with LS",
              "curve (3) above curve (2)", f"best {b3['accuracy']:.2f} % vs {b2['accuracy']:.2f} % "
              f"(± {figure5.distill_gain[1]:.2f})", figure5.distill_verdict, note),
        Claim("Figure 5: LS teachers are no better than training the student with LS",
              "curve (4) at or below curve (2)",
              f"best {b4['accuracy']:.2f} % vs {b2['accuracy']:.2f} %" if b4 is not None else "(no LS teacher)",
              figure5.ls_teachers_verdict, note),
        Claim("Chandrasegaran et al.: an LS teacher's student is better at T = 1",
              "ImageNet: +0.18 points at T=1", f"{gap1[0]:+.2f} ± {gap1[1]:.2f} points",
              followup.helps_first, note),
        Claim("Chandrasegaran et al.: an LS teacher's student is worse at T >= 2",
              "ImageNet: -2.50 at T=2, -1.92 at T=3",
              ", ".join(f"T={T:g}: {g:+.2f} ± {n:.2f}" for T, (g, n) in later),
              followup.later_verdict, note),
        Claim("Figure 6: LS erases information about the example (lower I(X;Y) at the end)",
              "ends just above log 2 with LS, higher without",
              f"{mi_final[0]:.3f} vs {mi_final[1]:.3f} nats (log 2 = {math.log(2):.3f})",
              "agrees" if mi_final[1] < mi_final[0] else "differs", note + "; one seed per curve"),
    ]
