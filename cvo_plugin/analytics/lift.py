"""The measured lift of the storefront widget: average order value, exposed vs holdout.

Visitors are split by a stable hash of their anonymous id: the holdout sees no widget, the
exposed arm does. Orders carry their visitor's arm (a cart attribute), so the two arms' average
order values (AOV) can be compared directly.

Definitions
-----------
AOV of an arm
    mean of its orders' net revenue, :math:`\\bar x = \\frac1n \\sum x_i`.
Difference
    :math:`d = \\bar x_e - \\bar x_h` (money per order).
Relative lift
    :math:`\\ell = \\bar x_e / \\bar x_h - 1`.
Confidence interval of the difference
    Welch's t interval: :math:`d \\pm t_{1-\\alpha/2,\\nu} \\sqrt{s_e^2/n_e + s_h^2/n_h}` with the
    Welch-Satterthwaite degrees of freedom :math:`\\nu`.
Confidence interval of the relative lift
    the delta method on the log of the ratio, :math:`\\exp(\\log(\\bar x_e/\\bar x_h) \\pm t\\,s) - 1`
    with :math:`s^2 = s_e^2/(n_e \\bar x_e^2) + s_h^2/(n_h \\bar x_h^2)`,
    which stays above -100 % and is asymmetric like the ratio itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class AovLift:
    """AOV of each arm, their difference and relative lift with confidence intervals.

    Intervals are None when an arm has fewer than two orders (no variance to estimate) or,
    for the relative lift, when an AOV is not positive.
    """

    n_exposed: int
    n_holdout: int
    aov_exposed: float | None
    aov_holdout: float | None
    difference: float | None
    difference_ci: tuple[float, float] | None
    relative_lift: float | None
    relative_ci: tuple[float, float] | None
    confidence: float
    p_value: float | None


def _values(name: str, values: np.ndarray) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a one-dimensional array of order values")
    if array.size and not np.isfinite(array).all():
        raise ValueError(f"{name} holds a value that is not a finite number")
    if array.size and (array < 0).any():
        raise ValueError(f"{name} holds a negative order value")
    return array


def aov_lift(exposed: np.ndarray, holdout: np.ndarray, confidence: float = 0.95) -> AovLift:
    """Compare the order values of the exposed arm with those of the holdout.

    Parameters
    ----------
    exposed, holdout : array of float
        Net revenue of each order (shop currency, >= 0) of visitors in each arm.
    confidence : float
        Two-sided confidence level of the intervals, in (0, 1).

    Returns
    -------
    AovLift
        See the module docstring for every definition.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError("confidence must be between 0 and 1")
    x_e, x_h = _values("exposed", exposed), _values("holdout", holdout)
    n_e, n_h = int(x_e.size), int(x_h.size)
    mean_e = float(x_e.mean()) if n_e else None
    mean_h = float(x_h.mean()) if n_h else None
    difference = mean_e - mean_h if mean_e is not None and mean_h is not None else None
    relative = mean_e / mean_h - 1.0 if difference is not None and mean_h and mean_h > 0 else None
    if n_e < 2 or n_h < 2 or mean_e is None or mean_h is None or difference is None:
        return AovLift(n_e, n_h, mean_e, mean_h, difference, None, relative, None, confidence, None)

    var_e, var_h = float(x_e.var(ddof=1)), float(x_h.var(ddof=1))
    se2_e, se2_h = var_e / n_e, var_h / n_h
    se = float(np.sqrt(se2_e + se2_h))
    if se == 0.0:
        # Both arms constant: the difference is known exactly.
        return AovLift(
            n_e,
            n_h,
            mean_e,
            mean_h,
            difference,
            (difference, difference),
            relative,
            (relative, relative) if relative is not None else None,
            confidence,
            1.0 if difference == 0 else 0.0,
        )
    dof = (se2_e + se2_h) ** 2 / (se2_e**2 / (n_e - 1) + se2_h**2 / (n_h - 1))
    t = float(stats.t.ppf(0.5 + confidence / 2.0, dof))
    difference_ci = (difference - t * se, difference + t * se)
    p_value = float(2.0 * stats.t.sf(abs(difference) / se, dof))
    relative_ci = None
    if relative is not None and mean_e > 0:
        log_ratio = np.log(mean_e / mean_h)
        log_se = float(np.sqrt(se2_e / mean_e**2 + se2_h / mean_h**2))
        relative_ci = (float(np.expm1(log_ratio - t * log_se)), float(np.expm1(log_ratio + t * log_se)))
    return AovLift(
        n_e, n_h, mean_e, mean_h, difference, difference_ci, relative, relative_ci, confidence, p_value
    )
