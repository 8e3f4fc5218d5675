"""DTMF grammars: digits, amounts with * as the decimal point, dates as YYYYMMDD."""

from __future__ import annotations

import pytest

from kefu.core.ivr_grammar import DATE_GRAMMAR, Grammar, GrammarKind, Step, feed, value_of

DIGITS = Grammar(GrammarKind.DIGITS, 4, 6)
AMOUNT = Grammar(GrammarKind.AMOUNT, 1, 9)


def run(grammar: Grammar, keys: str) -> tuple[str, Step]:
    """Feed keys until the grammar says the entry is done or corrected."""
    entry, step = "", Step.CONTINUE
    for key in keys:
        entry, step = feed(grammar, entry, key)
        if step in (Step.DONE, Step.CORRECT):
            break
    return entry, step


def test_hash_ends_a_digit_entry() -> None:
    entry, step = run(DIGITS, "1234#")
    assert (entry, step) == ("1234", Step.DONE)
    assert value_of(DIGITS, entry) == "1234"


def test_digit_entry_ends_by_itself_at_its_maximum() -> None:
    assert run(DIGITS, "123456") == ("123456", Step.DONE)


def test_too_short_digit_entry_is_invalid() -> None:
    entry, step = run(DIGITS, "12#")
    assert step is Step.DONE and value_of(DIGITS, entry) is None


def test_star_corrects_a_digit_entry() -> None:
    assert run(DIGITS, "12*") == ("", Step.CORRECT)


@pytest.mark.parametrize(
    ("keys", "value"),
    [("125*50", "125.50"), ("125*5#", "125.50"), ("125#", "125.00"), ("0*05", "0.05")],
)
def test_amount_uses_star_as_the_decimal_point(keys: str, value: str) -> None:
    entry, step = run(AMOUNT, keys)
    assert step is Step.DONE
    assert value_of(AMOUNT, entry) == value


def test_a_second_star_corrects_an_amount_and_a_leading_star_too() -> None:
    assert run(AMOUNT, "12*3*") == ("", Step.CORRECT)
    assert run(AMOUNT, "*") == ("", Step.CORRECT)


def test_amount_without_digits_is_invalid() -> None:
    entry, step = run(AMOUNT, "#")
    assert step is Step.DONE and value_of(AMOUNT, entry) is None


@pytest.mark.parametrize(
    ("keys", "value"),
    [("20260315", "2026-03-15"), ("20240229", "2024-02-29")],
)
def test_dates_are_real_dates(keys: str, value: str) -> None:
    entry, step = run(DATE_GRAMMAR, keys)
    assert step is Step.DONE and value_of(DATE_GRAMMAR, entry) == value


@pytest.mark.parametrize("keys", ["20260230#", "20251301#", "20250229#", "2026031#"])
def test_impossible_or_short_dates_are_invalid(keys: str) -> None:
    entry, step = run(DATE_GRAMMAR, keys)
    assert step is Step.DONE and value_of(DATE_GRAMMAR, entry) is None


def test_letters_are_ignored() -> None:
    assert feed(DIGITS, "12", "A") == ("12", Step.IGNORED)
