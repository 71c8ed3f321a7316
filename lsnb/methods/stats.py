"""The book's one rule for a verdict: a Welch t-interval on the difference of two means over seeds.

Every claim the book tests compares a number measured on several seeds in two settings
(hard targets vs label smoothing, a teacher vs its student, ...). :func:`compare` takes
the per-seed values ``a`` and ``b`` and returns the difference of means ``mean(a) - mean(b)``
with its two-sided 95 % confidence interval from Welch's t-test (unequal variances,
Welch-Satterthwaite degrees of freedom; scipy does the arithmetic). :meth:`Comparison.verdict`
reads the interval against the paper's claim:

* a *directional* claim ("a is larger than b"): **agrees** when the whole interval is
  above 0, **differs** when it is below 0, else **within noise**;
* a *no-larger-than* claim ("a and b differ by at most ``margin``", e.g. "label smoothing
  changes accuracy little"): **agrees** when the whole interval lies inside
  ``[-margin, margin]``, **differs** when it lies wholly outside, else **within noise**.

With fewer than two values on a side the spread is unknown, the interval is infinite and
the verdict is "within noise": a verdict needs seeds (the book uses at least 3).

A claim is only tested where its *premise* holds on the data: a hard-target network that is
over-confident before "temperature scaling fixes it" is judged, a teacher ahead of its student
and a distilled student ahead of the student trained alone before "this teacher distils worse",
a translation model above a quality floor before its BLEU is compared. Each premise is a
:class:`Premise` (the condition in words, whether it holds, what was measured);
:func:`premised` turns a verdict into **not testable** when any premise fails, and
:func:`failed_text` names the failed conditions for the claim's row. Never agrees or differs
outside the claim's regime.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

RULE = ("each claim is judged only where its premise (the condition under which the experiment can "
        "test it, stated in its row) holds on the data, and is **not testable** here, with the failed "
        "condition named, where it does not; then the 95 % Welch t-interval of the difference of means "
        "over seeds (unequal variances, Welch-Satterthwaite degrees of freedom): a directional claim "
        "agrees when the interval lies on the paper's side of 0 and differs when it lies on the other; "
        "a claim that two numbers differ by at most a margin agrees when the interval lies inside ± the "
        "margin and differs when it lies outside; anything else is within noise")
CONFIDENCE = 0.95
NOT_TESTABLE = "not testable"


@dataclass(frozen=True)
class Premise:
    """A condition a claim needs before its verdict means anything (see the module docstring).

    ``condition``: what must hold, in words ("the hard-target network memorised its training
    set, last-epoch training accuracy >= 95 %"); ``holds``: whether it does on this run's data;
    ``measured``: what was measured ("training accuracy 79.1 %").
    """

    condition: str
    holds: bool
    measured: str = ""

    def __post_init__(self):
        if not isinstance(self.holds, bool):
            raise TypeError(f"Premise.holds must be True or False, got {self.holds!r}")

    def text(self) -> str:
        """``"condition (measured)"``."""
        return f"{self.condition} ({self.measured})" if self.measured else self.condition


def from_verdict(condition: str, comparison: "Comparison", digits: int = 2, unit: str = "",
                 margin: float | None = None, label: str = "") -> Premise:
    """A premise that is itself a difference over seeds: it holds when the rule says "agrees"
    (e.g. "the fitted T above 1": the interval of ``T - 1`` wholly above 0); ``label`` names the
    difference in what was measured ("T - 1 -0.02 [-0.04, -0.01]")."""
    measured = comparison.text(digits, unit)
    return Premise(condition, comparison.verdict(margin) == "agrees", f"{label} {measured}" if label else measured)


def premised(verdict: str, premises) -> str:
    """``verdict`` where every premise holds, else :data:`NOT_TESTABLE`."""
    return verdict if all(p.holds for p in premises) else NOT_TESTABLE


def failed_text(premises) -> str:
    """The failed premises of a claim, for its row: ``"not testable: <condition> fails (<measured>); ..."``,
    empty when all hold."""
    failed = [p.text() for p in premises if not p.holds]
    return "not testable: " + "; ".join(f"{t} fails" for t in failed) if failed else ""


@dataclass(frozen=True)
class Comparison:
    """``mean(a) - mean(b)`` over seeds with its Welch t-interval (see the module docstring)."""

    difference: float
    low: float
    high: float
    df: float
    n_a: int
    n_b: int
    confidence: float = CONFIDENCE

    def verdict(self, margin: float | None = None) -> str:
        """"agrees" / "differs" / "within noise" for the claim ``a > b`` (``margin`` None) or
        ``|a - b| <= margin``."""
        if margin is None:
            if self.low > 0:
                return "agrees"
            return "differs" if self.high < 0 else "within noise"
        if margin < 0:
            raise ValueError(f"margin={margin!r} must be >= 0")
        if -margin <= self.low and self.high <= margin:
            return "agrees"
        return "differs" if self.low > margin or self.high < -margin else "within noise"

    def text(self, digits: int = 2, unit: str = "") -> str:
        """``"+0.12 [-0.05, +0.30]"``: the difference and its interval (``unit`` appended)."""
        def f(v):
            return "∞" if v == math.inf else "-∞" if v == -math.inf else f"{v:+.{digits}f}"
        return f"{f(self.difference)}{unit} [{f(self.low)}, {f(self.high)}]"

    def as_dict(self) -> dict:
        return {"difference": self.difference, "low": self.low, "high": self.high, "df": self.df,
                "n_a": self.n_a, "n_b": self.n_b, "confidence": self.confidence}


def compare(a, b, confidence: float = CONFIDENCE) -> Comparison:
    """Welch's two-sample t-interval for ``mean(a) - mean(b)`` (one value per seed on each side)."""
    a, b = [float(v) for v in a], [float(v) for v in b]
    if not a or not b:
        raise ValueError(f"compare needs at least one value on each side, got {len(a)} and {len(b)}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence={confidence!r} must be between 0 and 1")
    diff = sum(a) / len(a) - sum(b) / len(b)
    if len(a) < 2 or len(b) < 2:
        return Comparison(diff, -math.inf, math.inf, math.nan, len(a), len(b), confidence)
    from scipy import stats
    if max(a) == min(a) and max(b) == min(b):  # no spread at all (a deterministic number): the interval is a point
        return Comparison(diff, diff, diff, math.inf, len(a), len(b), confidence)
    with warnings.catch_warnings():
        # one side without spread (e.g. the fitted T against 1): its variance is exactly 0, so scipy's
        # "precision loss ... nearly identical" warning is a false alarm that would print in every chapter
        if max(a) == min(a) or max(b) == min(b):
            warnings.filterwarnings("ignore", "Precision loss occurred in moment calculation", RuntimeWarning)
        r = stats.ttest_ind(a, b, equal_var=False)
        ci = r.confidence_interval(confidence)
    return Comparison(diff, float(ci.low), float(ci.high), float(r.df), len(a), len(b), confidence)


def verdict(a, b, margin: float | None = None) -> str:
    """:func:`compare` then :meth:`Comparison.verdict`: the verdict for ``a > b`` (or ``|a - b| <= margin``)."""
    return compare(a, b).verdict(margin)


def all_of(verdicts) -> str:
    """One verdict for a claim made about several networks (or temperatures) at once, over the parts
    whose premise holds: "agrees" when every such part agrees, "differs" when any differs, else
    "within noise"; "not testable" when no part is testable."""
    verdicts = list(verdicts)
    if not verdicts:
        raise ValueError("all_of needs at least one verdict")
    verdicts = [v for v in verdicts if v != NOT_TESTABLE]
    if not verdicts:
        return NOT_TESTABLE
    if all(v == "agrees" for v in verdicts):
        return "agrees"
    return "differs" if "differs" in verdicts else "within noise"
