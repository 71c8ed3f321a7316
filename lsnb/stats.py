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
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

RULE = ("95 % Welch t-interval of the difference of means over seeds (unequal variances, "
        "Welch-Satterthwaite degrees of freedom): a directional claim agrees when the interval lies on "
        "the paper's side of 0 and differs when it lies on the other; a claim that two numbers differ "
        "by at most a margin agrees when the interval lies inside ± the margin and differs when it lies "
        "outside; anything else is within noise")
CONFIDENCE = 0.95


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
    """One verdict for a claim made about several networks (or temperatures) at once: "agrees" when
    every part agrees, "differs" when any part differs, else "within noise"."""
    verdicts = list(verdicts)
    if not verdicts:
        raise ValueError("all_of needs at least one verdict")
    if all(v == "agrees" for v in verdicts):
        return "agrees"
    return "differs" if "differs" in verdicts else "within noise"
