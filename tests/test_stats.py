"""lsnb.methods.stats: the one verdict rule (Welch t-interval), checked against a hand computation."""
import math

import pytest

from lsnb.methods import stats


def test_welch_interval_matches_the_textbook_formula():
    a, b = [5.1, 4.9, 5.6, 5.0], [4.0, 4.4, 3.9]
    c = stats.compare(a, b)
    ma, mb = sum(a) / 4, sum(b) / 3
    va = sum((x - ma) ** 2 for x in a) / 3
    vb = sum((x - mb) ** 2 for x in b) / 2
    se2 = va / 4 + vb / 3
    df = se2 ** 2 / ((va / 4) ** 2 / 3 + (vb / 3) ** 2 / 2)
    from scipy.stats import t
    half = t.ppf(0.975, df) * math.sqrt(se2)
    assert c.difference == pytest.approx(ma - mb)
    assert c.df == pytest.approx(df)
    assert (c.low, c.high) == pytest.approx((ma - mb - half, ma - mb + half))


def test_two_seeds_need_the_t_quantile_not_z_2():
    # z = 2 would call this difference real; the t-quantile at ~2 degrees of freedom does not
    c = stats.compare([1.0, 1.2], [0.7, 0.9])
    assert c.difference - 2 * math.sqrt(0.02 / 2 + 0.02 / 2) > 0
    assert c.verdict() == "within noise"


def test_directional_verdicts():
    assert stats.verdict([3.0, 3.1, 2.9], [1.0, 1.1, 0.9]) == "agrees"
    assert stats.verdict([1.0, 1.1, 0.9], [3.0, 3.1, 2.9]) == "differs"
    assert stats.verdict([1.0, 2.0, 3.0], [2.0, 1.0, 3.0]) == "within noise"


def test_margin_verdicts():
    tight = [1.00, 1.01, 0.99]
    assert stats.verdict(tight, [1.02, 1.01, 1.03], margin=0.1) == "agrees"
    assert stats.verdict(tight, [3.0, 3.01, 2.99], margin=0.1) == "differs"
    assert stats.verdict([1.0, 2.0, 0.0], [1.0, 1.2, 0.8], margin=0.1) == "within noise"
    with pytest.raises(ValueError, match="margin"):
        stats.compare(tight, tight).verdict(margin=-1)


def test_one_seed_is_never_a_verdict():
    c = stats.compare([5.0], [1.0])
    assert (c.low, c.high) == (-math.inf, math.inf)
    assert c.verdict() == "within noise"
    assert "∞" in c.text()


def test_no_spread_at_all_gives_a_point_interval():
    c = stats.compare([2.0, 2.0, 2.0], [1.0, 1.0, 1.0])
    assert (c.low, c.high) == (1.0, 1.0)
    assert c.verdict() == "agrees"


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="at least one value"):
        stats.compare([], [1.0])
    with pytest.raises(ValueError, match="confidence"):
        stats.compare([1.0, 2.0], [1.0, 2.0], confidence=1.5)


def test_all_of_combines_parts():
    assert stats.all_of(["agrees", "agrees"]) == "agrees"
    assert stats.all_of(["agrees", "within noise"]) == "within noise"
    assert stats.all_of(["within noise", "differs", "agrees"]) == "differs"
    with pytest.raises(ValueError):
        stats.all_of([])


def test_a_failed_premise_makes_any_verdict_not_testable_and_is_named():
    from lsnb.methods.stats import NOT_TESTABLE, Premise, failed_text, from_verdict, premised
    holds = Premise("the teacher is ahead", True, "+2.0 points")
    fails = Premise("distillation works", False, "-0.4 points")
    assert premised("agrees", [holds]) == "agrees" and premised("differs", []) == "differs"
    for verdict in ("agrees", "differs", "within noise"):
        assert premised(verdict, [holds, fails]) == NOT_TESTABLE
    assert failed_text([holds, fails]) == "not testable: distillation works (-0.4 points) fails"
    assert failed_text([holds]) == ""
    # a premise that is itself a difference over seeds holds only where the rule says "agrees"
    assert from_verdict("T above 1", stats.compare([1.5, 1.6, 1.4], [1.0] * 3)).holds
    assert not from_verdict("T above 1", stats.compare([1.0, 1.4, 0.8], [1.0] * 3)).holds
    assert from_verdict("within 0.5", stats.compare([1.0, 1.1, 0.9], [0.9, 1.0, 0.8]), margin=0.5).holds
    with pytest.raises(TypeError, match="True or False"):
        Premise("x", 1)


def test_all_of_judges_the_testable_parts_only():
    from lsnb.methods.stats import NOT_TESTABLE, all_of
    assert all_of(["agrees", NOT_TESTABLE]) == "agrees"
    assert all_of([NOT_TESTABLE, "differs", "agrees"]) == "differs"
    assert all_of([NOT_TESTABLE, "within noise"]) == "within noise"
    assert all_of([NOT_TESTABLE, NOT_TESTABLE]) == NOT_TESTABLE
