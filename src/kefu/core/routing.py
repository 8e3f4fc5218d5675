"""Caller region and routing rules (CC-02: callers from given regions or numbers go to
designated agents or queues; AG-10: caller ID with region).

The region comes from libphonenumber's offline geocoder (`phonenumbers`), which is pure.
It is cached by number prefix: a Chinese mobile number's region depends only on its first
seven digits (号段) and a landline's on its area code, so a center with millions of callers
parses each prefix once.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import phonenumbers

_PREFIX_CACHE: dict[str, str] = {}
_PREFIX_CACHE_MAX = 1 << 17


def normalize(number: str) -> str:
    """Digits of a Chinese number in national form: '+86 138-0013-8000' -> '13800138000'."""
    digits = number if number.isdigit() else "".join(ch for ch in number if ch.isdigit())
    if len(digits) == 11 and digits[0] == "1":
        return digits  # the common case: a mobile number
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) >= 12:
        digits = digits[2:]
    if len(digits) == 12 and digits.startswith("01") and digits[2] in "3456789":
        digits = digits[1:]  # 0 dialled before a mobile number
    return digits


@functools.lru_cache(maxsize=1 << 14)
def _describe(national: str) -> str:
    # Imported on first use: the geocoder's data takes ~0.35 s to load, which every `kefu`
    # command (even --help) paid when it was imported with this module.
    from phonenumbers import geocoder

    try:
        parsed = phonenumbers.parse(national, "CN")
    except phonenumbers.NumberParseException:
        return ""
    return str(geocoder.description_for_number(parsed, "zh"))


def _prefix_key(national: str) -> str | None:
    if len(national) == 11 and national.startswith("1"):
        return national[:7]
    if national.startswith("0") and len(national) >= 10:
        return national[:3] if national[1] in "12" else national[:4]
    return None


def region_of(number: str) -> str:
    """The caller's region in Chinese (e.g. '广东省深圳市'), or '' when it cannot be told."""
    national = normalize(number)
    key = _prefix_key(national)
    if key is None:
        return _describe(national)
    found = _PREFIX_CACHE.get(key)
    if found is not None:
        return found
    region = _describe(national)
    if region and len(_PREFIX_CACHE) < _PREFIX_CACHE_MAX:
        _PREFIX_CACHE[key] = region
    return region


@dataclass(frozen=True, slots=True)
class RoutingRule:
    """Send matching callers to a queue and/or try designated agents first.

    A rule matches when the caller's number is in `numbers`, or the caller's region starts
    with one of `regions` ('广东' matches '广东省深圳市'). `queues` limits the rule to calls
    first aimed at those queues (empty: all). The first matching rule wins.
    """

    name: str
    regions: tuple[str, ...] = ()
    numbers: frozenset[str] = field(default_factory=frozenset)
    queues: tuple[str, ...] = ()
    to_queue: str | None = None
    to_agents: tuple[str, ...] = ()
    wait: float = 20.0  # how long the designated agents are waited for

    def matches(self, caller: str, region: str, queue: str) -> bool:
        """Whether a caller (national form) from `region`, aimed at `queue`, matches."""
        if self.queues and queue not in self.queues:
            return False
        if caller in self.numbers:
            return True
        return bool(region) and region.startswith(self.regions)


def first_match(
    rules: tuple[RoutingRule, ...], caller: str, region: str, queue: str
) -> RoutingRule | None:
    """The first rule that matches, or None."""
    for rule in rules:
        if rule.matches(caller, region, queue):
            return rule
    return None
