"""The statistics a verdict rests on: an estimate with its 95% interval, the degrees of freedom it really has, and
the runs (seeds) and points (levels, bands, K values) behind it.

Few runs (3 seeds by default) make bootstrap intervals too narrow, so intervals over seeds are Student t intervals
(scipy.stats), paired by seed where the two compared conditions share their seeds (the same seed draws the same
training subset and initialisation, so the pairing removes what the draw adds to both sides). A closed form has no
sampling interval: its estimate is exact (df None) and its verdict a plain comparison with the bound.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

LEVEL = 0.95


@dataclass(frozen=True)
class Estimate:
    """A statistic and its 95% interval. `df` is None for an exact (closed-form) value and 0 when one run leaves
    no interval (lo and hi are then NaN); `runs` counts independent runs (seeds), `points` what each run averages."""

    value: float
    lo: float
    hi: float
    df: float | None
    runs: int
    points: int
    method: str

    @property
    def exact(self) -> bool:
        return self.df is None

    @property
    def has_interval(self) -> bool:
        return self.exact or (math.isfinite(self.lo) and math.isfinite(self.hi))

    def shifted(self, by: float) -> Estimate:
        """The same estimate minus `by` (e.g. an accuracy against the paper's number)."""
        return Estimate(self.value - by, self.lo - by, self.hi - by, self.df, self.runs, self.points, self.method)

    def scaled(self, by: float) -> Estimate:
        """The same estimate times `by` > 0 (units) or < 0 (the paper's side flipped: the interval swaps ends)."""
        lo, hi = sorted((self.lo * by, self.hi * by))
        return Estimate(self.value * by, lo, hi, self.df, self.runs, self.points, self.method)

    def interval_text(self, unit: str = "", digits: int = 1) -> str:
        """'+3.2 [1.1, 5.3] points (t, 2 df, 3 seeds)'; exact values say so."""
        fmt = f"{{:+.{digits}f}}"
        if self.exact:
            return f"{fmt.format(self.value)}{unit} (exact, closed form)"
        if not self.has_interval:
            return f"{fmt.format(self.value)}{unit} (one run: no interval)"
        if math.isinf(self.df):
            return f"{fmt.format(self.value)} [{fmt.format(self.lo)}, {fmt.format(self.hi)}]{unit} ({self.method})"
        return (
            f"{fmt.format(self.value)} [{fmt.format(self.lo)}, {fmt.format(self.hi)}]{unit} "
            f"({self.method}, {self.df:.3g} df)"
        )


def exact(value: float, points: int = 1, method: str = "closed form") -> Estimate:
    """A closed-form value: no sampling interval."""
    return Estimate(float(value), float(value), float(value), None, 1, points, method)


def monte_carlo_range(lo: float, hi: float, points: int, method: str) -> Estimate:
    """A closed form computed from Monte Carlo moments: its range over what the moments' error allows (the bounds
    given), exact where the range is empty."""
    if hi - lo <= 1e-12 * max(1.0, abs(hi)):
        return exact((lo + hi) / 2, points, method)
    return Estimate((lo + hi) / 2, float(lo), float(hi), math.inf, 1, points, method)


def mean_over_runs(values, points: int = 1, method: str = "t over seeds") -> Estimate:
    """Mean of one value per run and its two-sided 95% t interval (df = runs - 1); one run: no interval."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return Estimate(math.nan, math.nan, math.nan, 0, 0, points, method)
    if len(v) == 1 or np.ptp(v) == 0:
        # one run has no spread; several identical runs have a zero-width interval at their value
        lo = hi = float(v[0]) if len(v) > 1 else math.nan
        return Estimate(float(v.mean()), lo, hi, len(v) - 1, len(v), points, method)
    ci = stats.ttest_1samp(v, 0.0).confidence_interval(LEVEL)
    return Estimate(float(v.mean()), float(ci.low), float(ci.high), len(v) - 1, len(v), points, method)


def difference(a: dict, b: dict, points: int = 1) -> Estimate:
    """a - b over runs, each a {seed: value}: paired by seed when both have the same seeds (t on the differences),
    Welch's t otherwise."""
    if set(a) == set(b):
        seeds = sorted(a)
        return mean_over_runs([a[s] - b[s] for s in seeds], points, "paired t over seeds")
    va, vb = np.asarray(list(a.values()), float), np.asarray(list(b.values()), float)
    if len(va) < 2 or len(vb) < 2:
        return Estimate(float(va.mean() - vb.mean()), math.nan, math.nan, 0, min(len(va), len(vb)), points, "Welch t")
    res = stats.ttest_ind(va, vb, equal_var=False)
    ci = res.confidence_interval(LEVEL)
    runs = min(len(va), len(vb))
    return Estimate(float(va.mean() - vb.mean()), float(ci.low), float(ci.high), float(res.df), runs, points, "Welch t")


def slope(x, y, method: str = "least-squares slope") -> Estimate:
    """Least-squares slope of y on x with its t interval (df = points - 2); needs three points for an interval."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    n = len(x)
    if n < 2 or np.ptp(x) == 0:
        return Estimate(math.nan, math.nan, math.nan, 0, 1, n, method)
    fit = stats.linregress(x, y)
    if n < 3:
        return Estimate(float(fit.slope), math.nan, math.nan, 0, 1, n, method)
    half = float(stats.t.ppf(0.5 + LEVEL / 2, n - 2)) * float(fit.stderr)
    return Estimate(float(fit.slope), float(fit.slope) - half, float(fit.slope) + half, n - 2, 1, n, method)


def t_bound(values, alpha: float) -> tuple[float, float]:
    """Two-sided (1 - alpha) t interval of the mean of `values` (NaN, NaN with fewer than two values)."""
    v = np.asarray(values, dtype=np.float64)
    if len(v) < 2:
        return math.nan, math.nan
    if np.ptp(v) == 0:
        return float(v[0]), float(v[0])
    ci = stats.ttest_1samp(v, 0.0).confidence_interval(1 - alpha)
    return float(ci.low), float(ci.high)
