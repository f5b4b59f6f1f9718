"""Input checks shared by the customer-value analytics: each raises `ValueError` with the reason."""

from __future__ import annotations

from datetime import date

import numpy as np

EPOCH = date(1970, 1, 1)


def day_number(day: date) -> int:
    """Days since 1970-01-01 of a calendar date (the day numbers the analytics work in)."""
    if not isinstance(day, date):
        raise ValueError(f"as_of must be a date, not {type(day).__name__}")
    return (day - EPOCH).days


def int_array(values: object, name: str) -> np.ndarray:
    """`values` as a 1-D int64 array; `ValueError` when it is not integral."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        if not np.issubdtype(array.dtype, np.floating) or not np.all(np.isfinite(array)):
            raise ValueError(f"{name} must hold integers")
        if not np.all(array == np.round(array)):
            raise ValueError(f"{name} must hold integers")
    return array.astype(np.int64, copy=False)


def float_array(values: object, name: str, *, nonnegative: bool = False) -> np.ndarray:
    """`values` as a 1-D float64 array of finite numbers (and >= 0 when asked)."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must hold finite numbers (no NaN or infinity)")
    if nonnegative and array.size and array.min() < 0:
        raise ValueError(f"{name} must not be negative")
    return array


def same_length(**arrays: np.ndarray) -> int:
    """The common length of `arrays`; `ValueError` naming them when they differ."""
    lengths = {name: len(array) for name, array in arrays.items()}
    if len(set(lengths.values())) > 1:
        described = ", ".join(f"{name}={length}" for name, length in lengths.items())
        raise ValueError(f"arrays must have the same length ({described})")
    return next(iter(lengths.values()), 0)


def fraction(value: float, name: str) -> float:
    """A number in [0, 1]."""
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be between 0 and 1, got {value}")
    return value


def safe_divide(numerator: np.ndarray, denominator: np.ndarray, empty: float = np.nan) -> np.ndarray:
    """numerator / denominator elementwise, `empty` where the denominator is 0."""
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        result = numerator / denominator
    return np.where(denominator == 0, empty, result)
