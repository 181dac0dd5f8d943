"""Sizes, durations, bandwidths and counts, as a scenario writes them.

A bare integer is in the unit the simulator counts in: pages for a size,
nanoseconds for a duration, bytes per second for a bandwidth. A string
carries its unit. Size suffixes follow the kernel's memparse(): K, M, G, T
(either case) are binary, like the unambiguous KiB, MiB, GiB, TiB. A
bandwidth is a disk's, so MB/s is decimal as in a datasheet, MiB/s binary.

The parsers raise ValueError with a message meant for the user, which
pydantic reports against the key being parsed. The formatters give the
shortest exact string, which the parsers read back to the same number.
"""

from __future__ import annotations

import json
import re
from fractions import Fraction

from simulator.config import PAGE_SIZE

# Sizes and offsets beyond this are typos, not machines: 2**32 pages is
# 16 TiB, far more than the simulator can keep state for.
MAX_PAGES = 2**32

_KIB, _MIB, _GIB, _TIB = 2**10, 2**20, 2**30, 2**40

_SIZE_UNITS = {
    "TiB": _TIB, "GiB": _GIB, "MiB": _MIB, "KiB": _KIB, "B": 1,
    "T": _TIB, "t": _TIB, "G": _GIB, "g": _GIB, "M": _MIB, "m": _MIB, "K": _KIB, "k": _KIB,
    "pages": PAGE_SIZE, "page": PAGE_SIZE,
}  # fmt: skip
_SIZE_FORMATS = ("TiB", "GiB", "MiB", "KiB", "B")

_DURATION_UNITS = {"min": 60 * 10**9, "s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}

_BANDWIDTH_UNITS = {
    "TiB": _TIB, "TB": 10**12, "GiB": _GIB, "GB": 10**9, "MiB": _MIB, "MB": 10**6,
    "KiB": _KIB, "kB": 10**3, "KB": 10**3, "B": 1,
}  # fmt: skip
_BANDWIDTH_FORMATS = ("TiB", "TB", "GiB", "GB", "MiB", "MB", "KiB", "kB", "B")

_COUNT_UNITS = {"G": 10**9, "M": 10**6, "k": 10**3, "K": 10**3, "": 1}

_QUANTITY = re.compile(r"\s*([+-]?\d+(?:\.\d+)?)\s*(\S*)\s*")


def describe(value: object) -> str:
    """`value` as the user wrote it in TOML, for error messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return repr(value)


def _quantity(text: str, units: dict[str, int], expected: str, unit_names: str) -> Fraction:
    """The number in `text` times its unit, exactly."""
    match = _QUANTITY.fullmatch(text)
    if match is None:
        raise ValueError(f"expected {expected}, got {describe(text)}")
    number, unit = match.groups()
    if unit not in units:
        problem = f"unknown unit {describe(unit)}" if unit else "no unit"
        raise ValueError(f"{problem} in {describe(text)}: use {unit_names}")
    return Fraction(number) * units[unit]


def _check_type(value: object, expected: str) -> None:
    # bool is an int to Python, but `size = true` is a mistake, not 1 page.
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"expected {expected}, got {describe(value)}")


def parse_size(value: object, *, allow_zero: bool = False) -> int:
    """A size in pages: an int is pages, a string has a unit; bytes are
    rounded down to whole pages."""
    expected = 'a size: a number of pages, or a string such as "4GiB" or "100 pages"'
    _check_type(value, expected)
    amount = value * PAGE_SIZE if isinstance(value, int) else _quantity(
        value, _SIZE_UNITS, expected, "B, KiB, MiB, GiB, TiB (or K, M, G, T) or pages"
    )
    pages = int(amount // PAGE_SIZE)
    if amount < 0 or (amount == 0 and not allow_zero):
        sign = "zero or positive" if allow_zero else "positive"
        raise ValueError(f"must be {sign}, got {describe(value)}")
    if amount > 0 and pages == 0:
        raise ValueError(f"must be at least one page (4KiB), got {describe(value)}")
    if pages > MAX_PAGES:
        raise ValueError(
            f"{describe(value)} is more than the simulator can name:"
            f" at most 2**32 pages ({format_size(MAX_PAGES)})"
        )
    return pages


def parse_duration(value: object, *, positive: bool = False) -> int:
    """A duration in nanoseconds: an int is nanoseconds, a string has a unit."""
    expected = 'a duration: nanoseconds, or a string such as "100us" or "30s"'
    _check_type(value, expected)
    amount = Fraction(value) if isinstance(value, int) else _quantity(
        value, _DURATION_UNITS, expected, "ns, us, ms, s or min"
    )
    if amount < 0 or (amount == 0 and positive):
        sign = "positive" if positive else "zero or positive"
        raise ValueError(f"must be {sign}, got {describe(value)}")
    if amount.denominator != 1:
        raise ValueError(f"{describe(value)} is not a whole number of nanoseconds")
    return int(amount)


def parse_bandwidth(value: object) -> int:
    """A bandwidth in bytes per second: an int is bytes per second, a string
    is a size per second, "1GiB/s" or "500MB/s"."""
    expected = 'a bandwidth: bytes per second, or a string such as "1GiB/s" or "500MB/s"'
    _check_type(value, expected)
    if isinstance(value, int):
        amount = Fraction(value)
    elif value.rstrip().endswith("/s"):
        unit_names = "B, kB, MB, GB, TB (decimal) or KiB, MiB, GiB, TiB (binary), per second"
        amount = _quantity(value.rstrip()[:-2], _BANDWIDTH_UNITS, expected, unit_names)
    else:
        raise ValueError(f"expected {expected}, got {describe(value)}")
    if int(amount) <= 0:
        raise ValueError(f"must be at least 1 byte per second, got {describe(value)}")
    return int(amount)


def parse_count(value: object) -> int:
    """A positive count: an int, or a string with a decimal suffix, "500k",
    "2M", "1.5G"."""
    expected = 'a count: a number, or a string such as "500k" or "2M"'
    _check_type(value, expected)
    amount = Fraction(value) if isinstance(value, int) else _quantity(
        value, _COUNT_UNITS, expected, "no suffix, k, M or G"
    )
    if amount <= 0:
        raise ValueError(f"must be positive, got {describe(value)}")
    if amount.denominator != 1:
        raise ValueError(f"{describe(value)} is not a whole number")
    return int(amount)


def _shortest(amount: int, units: dict[str, int], names: tuple[str, ...]) -> str:
    """`amount` in the largest of `names` that holds it exactly; the last
    name must be the unit of 1."""
    for name in names:
        if amount >= units[name] and amount % units[name] == 0:
            return f"{amount // units[name]}{name}"
    return f"{amount}{names[-1]}"


def format_size(pages: int) -> str:
    return _shortest(pages * PAGE_SIZE, _SIZE_UNITS, _SIZE_FORMATS)


def format_duration(ns: int) -> str:
    return _shortest(ns, _DURATION_UNITS, tuple(_DURATION_UNITS))


def format_bandwidth(bytes_per_second: int) -> str:
    return _shortest(bytes_per_second, _BANDWIDTH_UNITS, _BANDWIDTH_FORMATS) + "/s"
