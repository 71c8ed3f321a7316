"""A reference for lsnb.methods.stats.compare, written out by hand (only the t-quantile comes from scipy), so that
the tests of the summaries check their intervals against it rather than against lsnb.methods.stats itself."""
import math

import pytest
from scipy.stats import t as student_t


def welch(a, b, confidence=0.95):
    """``(mean(a) - mean(b), low, high)``: Welch's two-sided t-interval, both sides with some spread."""
    na, nb = len(a), len(b)
    ma, mb = sum(a) / na, sum(b) / nb
    va = sum((x - ma) ** 2 for x in a) / (na - 1) / na
    vb = sum((x - mb) ** 2 for x in b) / (nb - 1) / nb
    df = (va + vb) ** 2 / ((va ** 2 / (na - 1) if va else 0.0) + (vb ** 2 / (nb - 1) if vb else 0.0))
    half = student_t.ppf(0.5 + confidence / 2, df) * math.sqrt(va + vb)
    return ma - mb, ma - mb - half, ma - mb + half


def z2_would_agree(a, b) -> bool:
    """The rule the book had before lsnb.methods.stats: the difference beyond two standard errors."""
    na, nb = len(a), len(b)
    ma, mb = sum(a) / na, sum(b) / nb
    se = math.sqrt(sum((x - ma) ** 2 for x in a) / (na - 1) / na + sum((x - mb) ** 2 for x in b) / (nb - 1) / nb)
    return ma - mb > 2 * se


def assert_interval(comparison, a, b):
    """``comparison`` is ``mean(a) - mean(b)`` with Welch's 95 % interval."""
    d, low, high = welch(a, b)
    assert (comparison.difference, comparison.low, comparison.high) == pytest.approx((d, low, high), rel=1e-9,
                                                                                     abs=1e-12)
