"""DTMF input grammars of the IVR (CC-03): digits, amounts and dates.

How a key is read, per grammar:
- `0`-`9` append to the entry.
- `#` ends the entry; the entry is then checked.
- `*` corrects: the entry so far is cleared and the prompt is played again. In the amount
  grammar the first `*` is the decimal point (125*50# is 125.50), and a second `*` corrects.
- An entry that reaches its maximum length ends by itself (a date ends at 8 digits).

Pure functions over an immutable entry string; the session keeps the entry.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from decimal import Decimal

DTMF_KEYS = frozenset("0123456789*#ABCD")


class GrammarKind(enum.Enum):
    """What a collect node reads."""

    DIGITS = "digits"
    AMOUNT = "amount"
    DATE = "date"


class Step(enum.Enum):
    """What one key did to the entry."""

    CONTINUE = "continue"  # keep reading
    DONE = "done"  # the entry is complete: check it
    CORRECT = "correct"  # the caller pressed `*`: clear and prompt again
    IGNORED = "ignored"  # a key the grammar does not use (A-D, a digit past the maximum)


@dataclass(frozen=True, slots=True)
class Grammar:
    """A DTMF grammar: its kind, the digit counts allowed and the amount's decimals."""

    kind: GrammarKind
    min_digits: int = 1
    max_digits: int = 32
    decimals: int = 2  # amount only

    def describe(self) -> str:
        """A short name for traces and commands, e.g. `digits(6..6)`."""
        if self.kind is GrammarKind.DATE:
            return "date"
        return f"{self.kind.value}({self.min_digits}..{self.max_digits})"


DATE_GRAMMAR = Grammar(GrammarKind.DATE, 8, 8)


def feed(grammar: Grammar, entry: str, key: str) -> tuple[str, Step]:
    """Apply one key to `entry`; return the new entry and what happened."""
    if key == "#":
        return entry, Step.DONE
    if key == "*":
        if grammar.kind is GrammarKind.AMOUNT and "." not in entry and entry:
            return entry + ".", Step.CONTINUE
        return "", Step.CORRECT
    if not key.isdigit():
        return entry, Step.IGNORED
    if grammar.kind is GrammarKind.AMOUNT:
        whole, _, frac = entry.partition(".")
        if "." in entry:
            if len(frac) >= grammar.decimals:
                return entry, Step.IGNORED
            grown = entry + key
            done = len(frac) + 1 == grammar.decimals
            return grown, Step.DONE if done else Step.CONTINUE
        if len(whole) >= grammar.max_digits:
            return entry, Step.IGNORED
        return entry + key, Step.CONTINUE
    if len(entry) >= grammar.max_digits:
        return entry, Step.IGNORED
    grown = entry + key
    return grown, Step.DONE if len(grown) == grammar.max_digits else Step.CONTINUE


def value_of(grammar: Grammar, entry: str) -> str | None:
    """The value of a complete entry (`125.50`, `2026-03-15`, `123456`), or None if invalid."""
    if grammar.kind is GrammarKind.DIGITS:
        ok = entry.isdigit() and grammar.min_digits <= len(entry) <= grammar.max_digits
        return entry if ok else None
    if grammar.kind is GrammarKind.AMOUNT:
        whole, _, frac = entry.partition(".")
        if not whole.isdigit() or not grammar.min_digits <= len(whole) <= grammar.max_digits:
            return None
        if frac and not frac.isdigit():
            return None
        amount = Decimal(f"{whole}.{frac or '0'}").quantize(Decimal(1).scaleb(-grammar.decimals))
        return str(amount)
    return _date_value(entry)


def _date_value(entry: str) -> str | None:
    if len(entry) != 8 or not entry.isdigit():
        return None
    try:
        day = dt.date(int(entry[:4]), int(entry[4:6]), int(entry[6:]))
    except ValueError:  # 20260230 and the like: not a real date
        return None
    return day.isoformat()
