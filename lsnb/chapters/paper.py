"""The paper's claims, with its numbers, beside this book's: the rows each chapter adds to the scorecard.

One function per chapter turns the chapter's measurements into :class:`~lsnb.book.results.Claim`
rows: what Müller et al. (2019) claim (and the number they report for the same kind of
network, or the picture the claim is read from), what this run measured, and the verdict.
Every verdict is the book's one rule (:mod:`lsnb.methods.stats`): first the claim's *premise* -- the
condition under which the experiment can test it, stated in the row -- and where it fails
on the data the verdict is "not testable", with the failed condition named; then the
Welch t-interval of the difference of means over seeds, read against the paper's
direction (or, for "changes little" claims, against a stated margin). A claim about
several networks (or temperatures) at once is judged on the parts whose premise holds:
it agrees when every such part agrees and differs when any part differs
(:func:`lsnb.methods.stats.all_of`); "ours" lists every part. The note says where the setting is
not the paper's (other data, model or schedule). The numbers quoted are the paper's
Tables 2 and 3 and sec. 4, Hinton et al. (2015) and Chandrasegaran et al. (2022).
"""
from __future__ import annotations

from ..book.results import Claim
from ..methods.stats import Premise, all_of, failed_text, premised

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
# Over-confidence is what training until the training loss nearly vanishes produces (Guo et al. 2017): a
# hard-target network is in the regime of sec. 3 when it has (nearly) memorised its training set, its
# training accuracy over the last epoch (measured while training, so a little below the final weights') at
# least this (%).
MEMORISED = 95.0


# "About as well": the largest gap between label smoothing and temperature scaling in the paper's Table 3
# image rows is 0.013 (Inception-v4 on ImageNet, 0.035 vs 0.022); a gap within +-0.015 ECE is the claim.
LS_TS_MARGIN = 0.015


def setting(setup, dataset: str, paper_dataset: str | None = None) -> str:
    """The claim's note: empty where the data is the paper's, else what differs."""
    if paper_dataset is not None and dataset == paper_dataset and setup.profile.name == "paper":
        return ""
    return f"{setup.profile.name} profile: {dataset}, not the paper's data and schedule"


def join_notes(*notes) -> str:
    return "; ".join(n for n in notes if n)


def claim_row(claim: str, paper: str, ours: str, verdict: str, note: str = "", premises=()) -> Claim:
    """A claim row whose verdict stands only where every premise holds (:func:`lsnb.methods.stats.premised`);
    the failed ones are named in the note, every condition in ``premise``."""
    premises = list(premises)
    return Claim(claim, paper, ours, premised(verdict, premises), join_notes(note, failed_text(premises)),
                 "; ".join(p.condition for p in premises))


def parts_text(parts: dict, digits: int = 2, margin: float | None = None) -> tuple[str, str]:
    """``({name: (Comparison, [Premise])})`` -> ("FCN +0.12 [+0.05, +0.20] agrees; AlexNet not testable
    (...)", the verdict over the testable parts)."""
    texts, verdicts = [], []
    for name, (c, premises) in parts.items():
        v = premised(c.verdict(margin), premises)
        failed = [p.measured or p.condition for p in premises if not p.holds]  # the condition is in "premise"
        texts.append(f"{name} {c.text(digits)} {v}" + (f" ({'; '.join(failed)})" if failed else ""))
        verdicts.append(v)
    return "; ".join(texts), all_of(verdicts)


def memorised(train_accuracy, who: str = "the hard-target network memorised its training set",
              measure: str = "training accuracy", context: str = "") -> Premise:
    """The regime of sec. 3's claims: the hard-target network (nearly) memorised its training set (mean
    training accuracy over seeds in the last epoch at least :data:`MEMORISED` %). ``who`` and ``measure``
    name the network and its accuracy in the condition; ``context`` follows the measured accuracy."""
    mean = sum(train_accuracy) / len(train_accuracy)
    return Premise(f"{who} (last-epoch {measure} >= {MEMORISED:g} %)", mean >= MEMORISED,
                   f"training accuracy {mean:.1f} %" + (f"; {context}" if context else ""))


def premise_rows(premises) -> list:
    """A table of premises: each condition, what was measured, and whether it holds."""
    return [{"premise": p.condition, "measured": p.measured, "holds": "yes" if p.holds else "no"}
            for p in premises]


