"""Is a difference between two policies over several seeds significant?

`reclaim-ext compare` runs each policy over the same seeds and reports a
metric per run. The runs of one policy are a small sample (often 3 to 10
seeds) whose spread need not match the other policy's, so the test is
Welch's unequal-variances t-test rather than Student's pooled one.

Everything here is pure Python on the math module: the project does not
depend on scipy, and a handful of values per policy needs no vectorising.
The Student t tail comes from the regularized incomplete beta function,
evaluated by its continued fraction with the modified Lentz method
(Numerical Recipes, section 6.4, betai() and betacf()). Three things keep
the p-value good to about 1e-14 relative where the textbook version loses
up to 5e-10 at large df: log B(a, b) without cancelling lgamma()s, 1 - x
passed alongside x, and a rearranged odd step of the fraction (see
_betacf()). Checked against 30-digit mpmath for 1 <= df <= 1e7: within
about 2e-14 relative for p above 1e-30, growing to 2e-13 as p nears 1e-290,
where the factor exp(-670) in front carries its exponent's rounding.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = [
    "mean_std",
    "regularized_incomplete_beta",
    "significant",
    "student_t_sf",
    "student_t_two_sided",
    "welch_t_statistic",
    "welch_t_test",
]

# The continued fraction stops once a step changes it by less than this:
# a few ulps of a double, so the fraction is as good as the arithmetic.
_CF_EPS = 1e-15
# Lentz's method replaces a zero denominator by this instead of dividing by
# zero; it is far below any value the fraction can legitimately take.
_CF_TINY = 1e-300

_LN_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


def _finite_floats(values: Sequence[float], what: str) -> list[float]:
    # A NaN or infinity in a metric is a bug upstream (a run that failed
    # or divided by zero); averaging it would hide that behind a NaN p.
    out = [float(v) for v in values]
    for v in out:
        if not math.isfinite(v):
            raise ValueError(f"{what} contains a non-finite value: {v!r}")
    return out


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """The mean of `values` and their sample standard deviation.

    The standard deviation divides by n - 1 (Bessel's correction): the
    values are a sample of the seeds one could have run, not all of them.
    A single value has no spread to estimate, and gets 0.0. Raises
    ValueError for no values or for a NaN or infinity among them.
    """
    xs = _finite_floats(values, "values")
    n = len(xs)
    if n == 0:
        raise ValueError("mean_std() needs at least one value")
    # Identical values (a deterministic run repeated over seeds) must give
    # that value and exactly 0.0, which the zero-variance rule of the t-test
    # relies on: fsum(xs) / n can be an ulp away from the value itself.
    if min(xs) == max(xs):
        return xs[0], 0.0
    mean = math.fsum(xs) / n
    # Two passes, deviations from the mean: the one-pass sum of squares
    # cancels catastrophically when the spread is small next to the mean
    # (fault counts in the millions that differ by a few hundred).
    var = math.fsum((x - mean) ** 2 for x in xs) / (n - 1)
    return mean, math.sqrt(var)


def _stirling_correction(x: float) -> float:
    """lgamma(x) - ((x - 1/2) log x - x + log sqrt(2 pi)), for x >= 10.

    The asymptotic series up to the x**-9 term; the first term left out,
    691 / (360360 x**11), is about 2e-14 at x = 10 and falls fast.
    """
    r = 1.0 / x
    r2 = r * r
    return r * (1 / 12 - r2 * (1 / 360 - r2 * (1 / 1260 - r2 * (1 / 1680 - r2 / 1188))))


def _log_beta(a: float, b: float) -> float:
    """log B(a, b) = lgamma(a) + lgamma(b) - lgamma(a + b), for a, b > 0.

    Summing lgamma() directly cancels badly when an argument is large: for
    a = 5e6 (a t with 1e7 degrees of freedom) lgamma(a) is about 7e7 and
    its last bit is worth 1.5e-8, all of it error in a result near -7.
    Instead the large parts (x - 1/2) log x - x are combined analytically,
    as R's lbeta() does, and only the small Stirling corrections are
    subtracted numerically.
    """
    p, q = min(a, b), max(a, b)
    if q < 10.0:
        return math.lgamma(p) + math.lgamma(q) - math.lgamma(p + q)
    s = p + q
    corr = _stirling_correction(q) - _stirling_correction(s)
    if p < 10.0:
        # Only q is large: lgamma(q) - lgamma(p + q) analytically.
        return (math.lgamma(p) + corr + p - p * math.log(s)
                + (q - 0.5) * math.log1p(-p / s))
    # Both large.
    corr += _stirling_correction(p)
    return (-0.5 * math.log(q) + _LN_SQRT_2PI + corr
            + (p - 0.5) * math.log(p / s) + q * math.log1p(-p / s))


def _betacf(a: float, b: float, x: float, y: float) -> float:
    """The continued fraction for I_x(a, b), by the modified Lentz method.

    Numerical Recipes' betacf(), with y = 1 - x passed in exactly. It
    converges quickly for x < (a + 1) / (a + b + 2), in at most
    O(sqrt(max(a, b))) steps, so the step limit scales with the arguments.

    One change, for large a with b <= 1 (a t with many degrees of freedom:
    a = df/2, b = 1/2, x close to 1). There each odd coefficient aa is
    close to -1, and Lentz's 1 + aa/c and 1 + aa*d come out near 1/a: the
    subtraction loses about log10(a) digits, and the p-value at df = 1e7
    was off by 5e-10 relative. So the even step also keeps c - 1 and d - 1,
    and the odd step starts from 1 + aa written as a sum of non-negative
    terms in y (exact to rounding when b <= 1), then adds the small
    corrections aa * (1/c - 1) and aa * (d - 1). With b > 1 that sum could
    cancel instead, so there 1 + aa is computed as is.
    """
    max_iter = 1000 + int(10 * math.sqrt(max(a, b)))
    small_b = b <= 1.0
    qab = a + b
    qap = a + 1.0
    qam = a - 1.0
    c = 1.0
    # 1 - qab * x / qap, which is (1 - b + qab * y) / qap.
    d = (1.0 - b + qab * y) / qap if small_b else 1.0 - qab * x / qap
    if abs(d) < _CF_TINY:
        d = _CF_TINY
    d = 1.0 / d
    h = d
    for m in range(1, max_iter + 1):
        m2 = 2 * m
        # The even step of the recurrence, keeping d - 1 and c - 1.
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        den = 1.0 + aa * d
        if abs(den) < _CF_TINY:
            den = _CF_TINY
        d_minus_1 = -aa * d / den
        d = 1.0 / den
        c_minus_1 = aa / c
        c = 1.0 + c_minus_1
        if abs(c) < _CF_TINY:
            c = _CF_TINY
        h *= d * c
        # The odd step: 1 + aa * d and 1 + aa / c from 1 + aa.
        u = a + m
        aa = -u * (qab + m) * x / ((a + m2) * (qap + m2))
        if small_b:
            one_plus_aa = ((u * (m2 + 1 - b) + m * (m + 1) + u * (u + b) * y)
                           / ((a + m2) * (qap + m2)))
        else:
            one_plus_aa = 1.0 + aa
        den = one_plus_aa + aa * d_minus_1
        if abs(den) < _CF_TINY:
            den = _CF_TINY
        d = 1.0 / den
        c = one_plus_aa - aa * c_minus_1 / c
        if abs(c) < _CF_TINY:
            c = _CF_TINY
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _CF_EPS:
            return h
        if not math.isfinite(h):
            # Overflow (arguments near 1e154 and beyond): stop at once, the
            # step limit for such arguments would never be reached.
            break
    # Not reachable for the arguments a t-test produces (it converges in
    # under 60 steps for any t and df); failing loudly beats reporting a
    # p-value that is silently wrong.
    raise ArithmeticError(f"incomplete beta continued fraction did not converge "
                          f"for a={a!r}, b={b!r}, x={x!r}")


def _betainc(a: float, b: float, x: float, y: float) -> float:
    """I_x(a, b), given both x and y = 1 - x.

    Callers pass y computed directly rather than as 1 - x: a t-test near
    the normal limit has x within 1e-7 of 1, where 1 - x loses 7 of its 16
    digits, and a * log(x) with a in the millions magnifies any error in
    log(x). Each logarithm is therefore taken of whichever of x, y is
    exact, through log1p when the argument is close to 1.
    """
    if x <= 0.0:
        return 0.0
    if y <= 0.0:
        return 1.0
    log_x = math.log1p(-y) if x > 0.5 else math.log(x)
    log_y = math.log1p(-x) if y > 0.5 else math.log(y)
    # x**a y**b / B(a, b), the factor in front of the continued fraction.
    front = math.exp(a * log_x + b * log_y - _log_beta(a, b))
    # The fraction converges fast for x < (a + 1) / (a + b + 2), about the
    # mean of the beta distribution; beyond it use I_x(a, b) = 1 - I_y(b, a).
    # The test is written in y: for a huge the bound rounds to 1.0, and so
    # can x, and the wrong side would give 1.0 for a p-value of 1e-198.
    if (a + b + 2.0) * y > b + 1.0:
        return front * _betacf(a, b, x, y) / a
    return 1.0 - front * _betacf(b, a, y, x) / b


def regularized_incomplete_beta(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b).

    I_x(a, b) = B(x; a, b) / B(a, b), the CDF at x of a Beta(a, b)
    distribution, for a > 0, b > 0 and 0 <= x <= 1 (ValueError otherwise).
    Good to a few 1e-13 relative while a and b stay below 1e3 or one of
    them is at most 1 (the t distribution's case). With both large the
    factor x**a (1-x)**b / B(a, b) is the exponential of a sum of terms of
    size a and b, and its relative error grows to about (a + b) * 1e-16.
    ArithmeticError for arguments so large that the fraction overflows.
    """
    if not (a > 0.0 and b > 0.0 and math.isfinite(a) and math.isfinite(b)):
        raise ValueError(f"incomplete beta needs finite a, b > 0, got a={a!r}, b={b!r}")
    if not 0.0 <= x <= 1.0:
        raise ValueError(f"incomplete beta needs 0 <= x <= 1, got x={x!r}")
    return _betainc(a, b, x, 1.0 - x)


# Beyond this many degrees of freedom Student's t is the normal distribution
# to far below double precision (they differ by O((1 + t**4) / df) relative,
# and p underflows before t reaches 40), while the continued fraction's
# products of a = df/2 with itself would overflow.
_T_NORMAL_DF = 1e100


def _check_df(df: float) -> None:
    if not df > 0.0:
        raise ValueError(f"degrees of freedom must be > 0, got {df!r}")


def student_t_two_sided(t: float, df: float) -> float:
    """P(|T| >= |t|) for T following Student's t with `df` degrees of freedom.

    The two-sided p-value of a t statistic. `df` need not be an integer
    (Welch's test gives fractional ones); df = inf is the normal limit.
    Computed as I_{df/(df+t^2)}(df/2, 1/2), which keeps full relative
    precision for small p-values instead of forming 1 - (something close
    to 1).
    """
    _check_df(df)
    if math.isnan(t):
        raise ValueError("t is NaN")
    if math.isinf(t):
        return 0.0
    t2 = t * t
    if t2 == 0.0:
        return 1.0
    if df > _T_NORMAL_DF:
        return math.erfc(abs(t) / math.sqrt(2.0))
    # x and 1 - x each straight from t and df, neither by subtraction.
    s = df + t2
    return _betainc(0.5 * df, 0.5, df / s, t2 / s)


def student_t_sf(t: float, df: float) -> float:
    """P(T > t), the upper tail (survival function) of Student's t."""
    half = 0.5 * student_t_two_sided(t, df)
    return half if t >= 0.0 else 1.0 - half


def welch_t_statistic(a: Sequence[float], b: Sequence[float]) -> tuple[float, float] | None:
    """Welch's t statistic for mean(a) - mean(b) and its degrees of freedom.

    t = (mean_a - mean_b) / sqrt(va/na + vb/nb), with the Welch-Satterthwaite
    df = (va/na + vb/nb)^2 / ((va/na)^2/(na-1) + (vb/nb)^2/(nb-1)).
    None when either sample has fewer than 2 values, or when both variances
    are 0 (t is then 0/0 or infinite and df undefined; welch_t_test() gives
    that case its own answer).
    """
    xa = _finite_floats(a, "a")
    xb = _finite_floats(b, "b")
    na, nb = len(xa), len(xb)
    if na < 2 or nb < 2:
        return None
    mean_a, sd_a = mean_std(xa)
    mean_b, sd_b = mean_std(xb)
    # The squared standard errors of the two means.
    se2_a = sd_a * sd_a / na
    se2_b = sd_b * sd_b / nb
    se2 = se2_a + se2_b
    if se2 == 0.0:
        return None
    t = (mean_a - mean_b) / math.sqrt(se2)
    df = se2 * se2 / (se2_a * se2_a / (na - 1) + se2_b * se2_b / (nb - 1))
    return t, df


def welch_t_test(a: Sequence[float], b: Sequence[float]) -> float | None:
    """The two-sided p-value of Welch's t-test that a and b share a mean.

    Welch's test does not assume the two samples have the same variance,
    which two reclaim policies' runs over seeds rarely do. Returns None when
    either sample has fewer than 2 values: one run gives no estimate of its
    own spread, so no test is possible.

    When both samples have zero variance (deterministic runs give the same
    value for every seed) there is no noise to test against: the p-value is
    1.0 if the means are equal and 0.0 if they differ.

    Symmetric: welch_t_test(a, b) == welch_t_test(b, a).
    """
    xa = _finite_floats(a, "a")
    xb = _finite_floats(b, "b")
    if len(xa) < 2 or len(xb) < 2:
        return None
    stat = welch_t_statistic(xa, xb)
    if stat is None:
        # Both variances are 0, so mean_std() returned each sample's value.
        return 1.0 if mean_std(xa)[0] == mean_std(xb)[0] else 0.0
    t, df = stat
    return student_t_two_sided(t, df)


def significant(a: Sequence[float], b: Sequence[float], alpha: float = 0.05) -> bool | None:
    """Whether Welch's test rejects equal means of a and b at level alpha.

    True when the two-sided p-value is below alpha, None when no test is
    possible (a sample with fewer than 2 values). ValueError unless
    0 < alpha < 1.
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha!r}")
    p = welch_t_test(a, b)
    if p is None:
        return None
    return p < alpha
