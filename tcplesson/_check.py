"""Argument checks shared by the public entry points: each error names the parameter and what is allowed."""
from __future__ import annotations

import math
from numbers import Real


def check_number(name: str, value, *, low: float | None = None, high: float | None = None,
                 low_open: bool = False) -> float:
    """A real, finite number within [low, high] (or (low, high] when low_open)."""
    if type(value) is not float and type(value) is not int:  # the common cases skip the ABC check
        if isinstance(value, bool) or not isinstance(value, Real):
            raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if low is not None and (value < low or (low_open and value == low)):
        raise ValueError(f"{name} must be {_describe(low, high, low_open)}, got {value!r}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be {_describe(low, high, low_open)}, got {value!r}")
    return value


def _describe(low, high, low_open) -> str:
    if low is not None and high is not None:
        return f"between {low:g} and {high:g}"
    if low is not None:
        return f"greater than {low:g}" if low_open else f"at least {low:g}"
    return f"at most {high:g}"


def check_int_range(name: str, value, low: int, high: int | None = None) -> int:
    """An int within [low, high]."""
    if type(value) is int and low <= value and (high is None or value <= high):  # the common case, first
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    if value < low or (high is not None and value > high):
        allowed = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ValueError(f"{name} must be an integer {allowed}, got {value}")
    return int(value)


def check_choice(name: str, value, choices) -> str:
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; choose one of: {', '.join(map(str, choices))}")
    return value


def check_bytes(name: str, value) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"{name} must be bytes, got {type(value).__name__}")
