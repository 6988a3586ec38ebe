"""Validation of the arrays the numeric kernels take: shapes, dtypes and finite values.

Every check raises `InputError` (a `ValueError`) saying what is wrong, what was seen and how to fix it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from raereid.errors import ConfigError, InputError


def _describe(x: Any) -> str:
    arr = np.asarray(x) if not isinstance(x, np.ndarray) else x
    return f"shape {arr.shape}, dtype {arr.dtype}"


def _as_array(x: Any, name: str) -> np.ndarray:
    if hasattr(x, "detach") and hasattr(x, "cpu"):  # a torch tensor
        x = x.detach().cpu().numpy()
    try:
        return np.asarray(x)
    except Exception as exc:  # ragged lists and other non-arrays
        raise InputError(f"{name} is not an array ({type(x).__name__}): {exc}",
                         fix=f"pass {name} as a NumPy array") from exc


def check_features(x: Any, name: str = "features", min_rows: int = 1) -> np.ndarray:
    """A C-contiguous float32 (N, D) copy-or-view of `x`; rejects other ranks, non-real dtypes and NaN/inf."""
    arr = _as_array(x, name)
    if arr.ndim != 2:
        raise InputError(
            f"{name} must be a 2-D (N, D) array of features, got {_describe(arr)}",
            fix="stack one feature vector per row",
        )
    if arr.dtype == np.bool_ or not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise InputError(f"{name} must hold real numbers, got {_describe(arr)}", fix=f"convert {name} to float32")
    if arr.shape[0] < min_rows or arr.shape[1] < 1:
        raise InputError(
            f"{name} needs at least {min_rows} row(s) and 1 column, got {_describe(arr)}",
            fix="pass a non-empty feature matrix",
        )
    out = np.ascontiguousarray(arr, dtype=np.float32)
    if not np.isfinite(out).all():
        bad = np.flatnonzero(~np.isfinite(out).all(axis=1))
        raise InputError(
            f"{name} has NaN or infinite values in {bad.size} row(s) (first: row {int(bad[0])}), {_describe(arr)}",
            fix="check the feature extractor (a NaN loss or an empty crop); drop or recompute those rows",
        )
    return out


def check_labels(x: Any, name: str, length: int) -> np.ndarray:
    """A 1-D int64 array of `length` identities or camera ids; rejects floats, bools and wrong lengths."""
    arr = _as_array(x, name)
    if arr.ndim != 1 or arr.shape[0] != length:
        raise InputError(
            f"{name} must be a 1-D array of length {length}, got {_describe(arr)}",
            fix=f"pass one {name[:-1] if name.endswith('s') else name} per row of the distance/feature matrix",
        )
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.integer):
        raise InputError(f"{name} must hold integers, got {_describe(arr)}",
                         fix=f"convert {name} with .astype(np.int64)")
    return arr.astype(np.int64, copy=False)


def check_distmat(x: Any, name: str = "distmat") -> np.ndarray:
    """A 2-D float32/float64 distance matrix; integer input becomes float64; NaN is rejected (±inf is allowed)."""
    arr = _as_array(x, name)
    if arr.ndim != 2:
        raise InputError(f"{name} must be a 2-D (num_query, num_gallery) array, got {_describe(arr)}")
    if arr.dtype == np.bool_ or not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise InputError(f"{name} must hold real numbers, got {_describe(arr)}", fix=f"convert {name} to float32")
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise InputError(f"{name} is empty: {_describe(arr)}", fix="pass at least one query and one gallery item")
    if arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float64)
    if np.isnan(arr).any():
        rows = np.flatnonzero(np.isnan(arr).any(axis=1))
        raise InputError(
            f"{name} has NaN distances in {rows.size} row(s) (first: row {int(rows[0])}), {_describe(arr)}",
            fix="check the features the distances were computed from",
        )
    return arr


def check_int(value: Any, name: str, minimum: int = 1) -> int:
    """`value` as an int >= minimum; raises ConfigError for bools, floats and smaller values."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}",
                          fix=f"set {name} to an integer >= {minimum}")
    return int(value)


def check_float(value: Any, name: str, low: float, high: float, low_open: bool = False,
                high_open: bool = False) -> float:
    """`value` as a float inside [low, high] (open ends when asked); raises ConfigError otherwise."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ConfigError(f"{name} must be a number, got {value!r}")
    v = float(value)
    too_low = v <= low if low_open else v < low
    too_high = v >= high if high_open else v > high
    if not np.isfinite(v) or too_low or too_high:
        lo, hi = ("(" if low_open else "["), (")" if high_open else "]")
        raise ConfigError(f"{name} must lie in {lo}{low}, {high}{hi}, got {value!r}",
                          fix=f"choose {name} in that range")
    return v
