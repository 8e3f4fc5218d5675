"""Masking of phone and ID-card numbers for roles that do not need them in full."""

from __future__ import annotations

import re

_COUNTRY = re.compile(r"^\s*(\+86|0086)[\s-]*")


def mask_phone(number: str) -> str:
    """Keep the first 3 and last 4 digits of the national number: 138****8000.

    Numbers of 7 digits or fewer keep only their last 2 digits.
    """
    prefix_match = _COUNTRY.match(number)
    start = prefix_match.end() if prefix_match else 0
    digits = [i for i, ch in enumerate(number) if ch.isdigit() and i >= start]
    hidden = set(digits[3:-4]) if len(digits) > 7 else set(digits[:-2])
    return "".join("*" if i in hidden else ch for i, ch in enumerate(number))


def mask_id_card(number: str) -> str:
    """Keep the first 6 and last 4 characters of a resident ID number: 110101********1234."""
    if len(number) <= 10:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]
