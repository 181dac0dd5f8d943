"""reclaim_ext.stats: mean and spread, the Student t tail through the
incomplete beta function, and Welch's test as `compare` uses it.

Where a reference value says "mpmath", it was computed outside this suite
with mpmath 1.4.1 at 40 significant digits (mpmath.betainc(df/2, 1/2, 0,
df/(df+t^2), regularized=True), the data taken as exact decimals), and
agrees with scipy 1.17.1's stats.t.sf and stats.ttest_ind(equal_var=False)
to within 1e-13 relative. Neither library is needed to run these tests.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from reclaim_ext.stats import (
    mean_std,
    regularized_incomplete_beta,
    significant,
    student_t_sf,
    student_t_two_sided,
    welch_t_statistic,
    welch_t_test,
)


def approx(expected: float, rel: float):
    # pytest.approx() also accepts anything within 1e-12 absolute, which
    # would pass any p-value below 1e-12 and hide errors in the 14th digit
    # of one near 0.05: only the relative tolerance counts here.
    return pytest.approx(expected, rel=rel, abs=0.0)


# --- mean_std ---------------------------------------------------------------


def test_mean_std_sample_deviation():
    # Sum of squared deviations from 5 is 32; n - 1 = 7.
    mean, std = mean_std([2, 4, 4, 4, 5, 5, 7, 9])
    assert mean == 5.0
    assert std == approx(math.sqrt(32 / 7), rel=1e-15)


def test_mean_std_single_value_has_no_spread():
    assert mean_std([3.5]) == (3.5, 0.0)


def test_mean_std_identical_values_are_exact():
    # fsum([0.1] * 3) / 3 is not exactly 0.1; identical runs must still give
    # the value itself and a spread of exactly 0.
    assert mean_std([0.1, 0.1, 0.1]) == (0.1, 0.0)


def test_mean_std_small_spread_on_large_values():
    # A one-pass sum of squares would lose the spread next to 1e9.
    assert mean_std([1e9 + 1, 1e9 + 2, 1e9 + 3]) == (1e9 + 2, 1.0)


def test_mean_std_accepts_numpy_and_ints():
    mean, std = mean_std(np.array([1, 2, 3, 4]))
    assert mean == 2.5
    assert std == approx(math.sqrt(5 / 3), rel=1e-15)


@pytest.mark.parametrize("values", [[], [1.0, math.nan], [math.inf, 1.0]])
def test_mean_std_rejects_empty_and_non_finite(values):
    with pytest.raises(ValueError):
        mean_std(values)


# --- the incomplete beta function and the t distribution --------------------


@pytest.mark.parametrize("x", [0.0, 1e-9, 0.1, 0.37, 0.5, 0.9, 1.0 - 1e-9, 1.0])
def test_incomplete_beta_closed_forms(x):
    assert regularized_incomplete_beta(1, 1, x) == approx(x, rel=1e-14)
    assert regularized_incomplete_beta(3.5, 1, x) == approx(x**3.5, rel=1e-13)
    assert regularized_incomplete_beta(1, 2.5, x) == approx(
        -math.expm1(2.5 * math.log1p(-x)) if x < 1 else 1.0, rel=1e-13)
    # I_x(1/2, 1/2) = (2/pi) asin(sqrt(x)), the arcsine distribution; near
    # x = 1 asin() is ill-conditioned, so there 1 - (2/pi) asin(sqrt(1-x)).
    arcsine = (2 / math.pi * math.asin(math.sqrt(x)) if x <= 0.5
               else 1 - 2 / math.pi * math.asin(math.sqrt(1 - x)))
    assert regularized_incomplete_beta(0.5, 0.5, x) == approx(arcsine, rel=1e-13)


@pytest.mark.parametrize("a,b,x", [(2.5, 7.0, 0.3), (40.0, 0.5, 0.97), (0.2, 300.0, 0.001)])
def test_incomplete_beta_reflection(a, b, x):
    total = regularized_incomplete_beta(a, b, x) + regularized_incomplete_beta(b, a, 1 - x)
    assert total == approx(1.0, rel=1e-13)


@pytest.mark.parametrize("a,b,x", [(0, 1, 0.5), (1, -1, 0.5), (1, 1, 1.5), (1, 1, -0.1),
                                   (math.inf, 1, 0.5), (1, 1, math.nan)])
def test_incomplete_beta_rejects_bad_arguments(a, b, x):
    with pytest.raises(ValueError):
        regularized_incomplete_beta(a, b, x)


# Table quantiles t with their two-sided p. The t values are the usual
# table entries t_{0.975} (df 10 and 1), z_{0.975} and t_{0.995} (df 10),
# given to 10-15 digits; "exact" is the two-sided p at exactly that t, from
# mpmath, which differs from the nominal p where the table rounds t (and at
# df = 1e7 by the distance of t from the normal limit, 2.8e-8).
T_TABLE = [
    # t, df, nominal p, exact p at this t
    (2.228138851986, 10, 0.05, 0.050000000000023296838),
    (12.7062047361747, 1, 0.05, 0.050000000000000020258),
    (1.959963984540, 1e7, 0.05, 0.050000027729518922392),
    (3.169272667, 10, 0.01, 0.010000000095422897813),
]


@pytest.mark.parametrize("t,df,nominal,exact", T_TABLE)
def test_t_two_sided_table_values(t, df, nominal, exact):
    p = student_t_two_sided(t, df)
    assert abs(p - nominal) < 1e-7
    assert p == approx(exact, rel=1e-13)
    assert student_t_two_sided(-t, df) == p


@pytest.mark.parametrize("df", [0.5, 1, 2.5, 10, 1e7])
def test_t_two_sided_at_zero_is_one(df):
    assert student_t_two_sided(0.0, df) == 1.0
    assert student_t_sf(0.0, df) == 0.5


@pytest.mark.parametrize("t", [1e-6, 0.3, 1.0, 2.0, 7.5, 60.0, 1e4])
def test_t_two_sided_closed_forms(t):
    # df = 1 (Cauchy): p = (2/pi) atan(1/t). df = 2: p = 1 - t/sqrt(2+t^2),
    # written without the subtraction: 2 / (r (r + t)) with r = sqrt(2+t^2).
    assert student_t_two_sided(t, 1) == approx(2 / math.pi * math.atan(1 / t), rel=1e-13)
    r = math.sqrt(2 + t * t)
    assert student_t_two_sided(t, 2) == approx(2 / (r * (r + t)), rel=1e-13)


@pytest.mark.parametrize("t", [0.5, 1.959963984540054, 5.0, 30.0])
def test_t_two_sided_normal_limit(t):
    normal = math.erfc(t / math.sqrt(2))
    # The t tail is heavier than the normal one, by O((1 + t^4) / df)
    # relative (about t^4 / (4 df) for large t: 2.0e-7 at t = 30, df = 1e12).
    p = student_t_two_sided(t, 1e12)
    assert p >= normal
    assert p == approx(normal, rel=(1 + t**4) / 1e12)
    # At df = 1e100 the two agree to double precision; the 1e-12 is for
    # p = 1e-198 at t = 30, whose factor exp(-450) carries the rounding of
    # its exponent (1.7e-13 relative here).
    assert student_t_two_sided(t, 1e100) == approx(normal, rel=1e-12)
    assert student_t_two_sided(t, math.inf) == normal


def test_t_sf_tails():
    assert student_t_sf(2.0, 5) == approx(0.5 * student_t_two_sided(2.0, 5), rel=1e-15)
    assert student_t_sf(-2.0, 5) == approx(1 - student_t_sf(2.0, 5), rel=1e-15)
    # Cauchy: P(T > t) = 1/2 - atan(t)/pi.
    assert student_t_sf(3.0, 1) == approx(0.5 - math.atan(3.0) / math.pi, rel=1e-13)
    assert student_t_sf(math.inf, 4) == 0.0
    assert student_t_sf(-math.inf, 4) == 1.0


@pytest.mark.parametrize("df", [0, -1, math.nan])
def test_t_rejects_bad_df(df):
    with pytest.raises(ValueError):
        student_t_two_sided(1.0, df)


def test_t_rejects_nan_t():
    with pytest.raises(ValueError):
        student_t_two_sided(math.nan, 3)


# --- Welch's test -----------------------------------------------------------

# Rosetta Code, "Welch's t-test" (https://rosettacode.org/wiki/Welch%27s_t-test):
# the task's data sets x, y and d1 to d8, with the p-values its C solution
# checks against, given there as those of R's t.test(x, y, var.equal =
# FALSE). t and df were computed independently with mpmath (see the module
# docstring), and for d1/d2 match R's reported t = -2.45535639828601 and
# df = 24.9885292902309; mpmath also reproduces every p here to 1e-14.
ROSETTA = [
    # a, b, t, df, p
    ([27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4],
     [27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4],
     -2.4553563982860051, 24.988529290231414, 0.021378001462867),
    ([17.2, 20.9, 22.6, 18.1, 21.7, 21.4, 23.5, 24.2, 14.7, 21.8],
     [21.5, 22.8, 21.0, 23.0, 21.6, 23.6, 22.5, 20.7, 23.4, 21.8,
      20.7, 21.7, 21.5, 22.5, 23.6, 21.5, 22.5, 23.5, 21.5, 21.8],
     -1.5654335235985052, 9.9047412486508289, 0.148841696605327),
    ([19.8, 20.4, 19.6, 17.8, 18.5, 18.9, 18.3, 18.9, 19.5, 22.0],
     [28.2, 26.6, 20.1, 23.3, 25.2, 22.1, 17.7, 27.6, 20.6, 13.7,
      23.2, 17.5, 20.6, 18.0, 23.9, 21.6, 24.3, 20.4, 24.0, 13.2],
     -2.2192409158236249, 24.496223124201239, 0.0359722710297968),
    ([30.02, 29.99, 30.11, 29.97, 30.01, 29.99],
     [29.89, 29.93, 29.72, 29.98, 30.02, 29.98],
     1.9590058081081015, 7.0305599598843143, 0.090773324285671),
    ([3.0, 4.0, 1.0, 2.1],
     [490.2, 340.0, 433.9],
     -9.5594977219326583, 2.0008523488562839, 0.0107515611497845),
]


@pytest.mark.parametrize("a,b,t,df,p", ROSETTA)
def test_welch_rosetta_code_examples(a, b, t, df, p):
    # Means near 30 that differ by 0.1 (the fourth set) cost the statistic
    # some digits to the binary rounding of the data; 1e-12 covers it.
    got_t, got_df = welch_t_statistic(a, b)
    assert got_t == approx(t, rel=1e-12)
    assert got_df == approx(df, rel=1e-12)
    assert welch_t_test(a, b) == approx(p, rel=1e-12)


def test_welch_worked_by_hand():
    # a: mean 2, variance 1; b: mean 8, variance 10.
    # va/na + vb/nb = 1/3 + 2 = 7/3, so t = -6 / sqrt(7/3);
    # df = (7/3)^2 / ((1/3)^2/2 + 2^2/4) = (49/9) / (19/18) = 98/19.
    # p from mpmath: 0.010433613450441562629.
    a, b = [1, 2, 3], [4, 6, 8, 10, 12]
    t, df = welch_t_statistic(a, b)
    assert t == approx(-6 / math.sqrt(7 / 3), rel=1e-15)
    assert df == approx(98 / 19, rel=1e-15)
    assert welch_t_test(a, b) == approx(0.010433613450441562629, rel=1e-13)


def test_welch_one_sample_without_spread():
    # Only b varies: df = nb - 1 = 2 exactly and t = 3 / sqrt(1/3), so
    # p = 1 - t / sqrt(2 + t^2) = 1 - sqrt(27/29).
    a, b = [5, 5, 5], [1, 2, 3]
    t, df = welch_t_statistic(a, b)
    assert t == approx(3 / math.sqrt(1 / 3), rel=1e-15)
    assert df == approx(2.0, rel=1e-15)
    assert welch_t_test(a, b) == approx(1 - math.sqrt(27 / 29), rel=1e-13)
    # Equal means with spread on one side only: t = 0.
    assert welch_t_test([5, 5, 5], [4, 5, 6]) == 1.0


@pytest.mark.parametrize("a,b,_t,_df,_p", ROSETTA)
def test_welch_symmetric(a, b, _t, _df, _p):
    assert welch_t_test(a, b) == welch_t_test(b, a)
    t_ab, df_ab = welch_t_statistic(a, b)
    t_ba, df_ba = welch_t_statistic(b, a)
    assert (t_ba, df_ba) == (-t_ab, df_ab)


def test_welch_zero_variance_both_sides():
    # Deterministic runs: every seed gives the same value.
    assert welch_t_test([7.0, 7.0, 7.0], [7.0, 7.0]) == 1.0
    assert welch_t_test([0.1] * 3, [0.1] * 5) == 1.0
    assert welch_t_test([7.0, 7.0, 7.0], [7.5, 7.5]) == 0.0
    assert welch_t_statistic([7.0, 7.0], [8.0, 8.0]) is None


@pytest.mark.parametrize("a,b", [([1.0], [1.0, 2.0]), ([1.0, 2.0], [3.0]), ([], [1.0, 2.0]),
                                 ([1.0], [2.0])])
def test_welch_needs_two_values_each(a, b):
    assert welch_t_test(a, b) is None
    assert welch_t_statistic(a, b) is None
    assert significant(a, b) is None


def test_welch_rejects_non_finite():
    with pytest.raises(ValueError):
        welch_t_test([1.0, math.nan], [1.0, 2.0])


# --- significant ------------------------------------------------------------


def test_significant():
    x, y = ROSETTA[4][0], ROSETTA[4][1]  # p = 0.01075
    assert significant(x, y) is True
    assert significant(x, y, alpha=0.01) is False
    a, b = ROSETTA[1][0], ROSETTA[1][1]  # p = 0.1488
    assert significant(a, b) is False
    assert significant(a, b, alpha=0.2) is True
    assert significant([3, 3, 3], [3, 3]) is False
    assert significant([3, 3, 3], [4, 4]) is True


@pytest.mark.parametrize("alpha", [0.0, 1.0, -0.05, math.nan])
def test_significant_rejects_bad_alpha(alpha):
    with pytest.raises(ValueError):
        significant([1, 2], [3, 4], alpha=alpha)
