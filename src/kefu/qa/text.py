"""Text normalisation for matching: one `str.translate` table, applied to phrases at compile
time and to a conversation's concatenated text once per check.

Punctuation and spacing are removed, full-width forms folded, and the written variants the
seeds use are unified (您→你, 嘛→吗, 壹→一), so a phrase matches however it was typed.
"""

from __future__ import annotations

import re
import unicodedata

#: Separates utterances in the concatenated text; never part of a phrase.
SEP = "\x1f"

_VARIANTS = {"您": "你", "嘛": "吗", "壹": "一", "恩": "嗯", "妳": "你"}


def _build_table() -> dict[int, int | None]:
    table: dict[int, int | None] = {}
    for code in range(0x20, 0x3100):
        ch = chr(code)
        cat = unicodedata.category(ch)
        if cat[0] in "PSZ" or ch.isspace():
            table[code] = None
    for code in range(0xFE30, 0xFF66):
        ch = chr(code)
        cat = unicodedata.category(ch)
        if cat[0] in "PSZ":
            table[code] = None
        elif 0xFF10 <= code <= 0xFF5A:
            table[code] = ord(unicodedata.normalize("NFKC", ch).lower())
    for code in range(ord("A"), ord("Z") + 1):
        table[code] = code + 32
    for code in (0x09, 0x0A, 0x0D, 0x3000, 0xA0):
        table[code] = None
    for src, dst in _VARIANTS.items():
        table[ord(src)] = ord(dst)
    # Keep the placeholder characters of the seeds and our separator.
    table.pop(ord(SEP), None)
    return table


TABLE = _build_table()


def normalize(text: str) -> str:
    """The matching form of `text`: no punctuation or spaces, variants unified."""
    return text.translate(TABLE)


def original_offsets(text: str) -> list[int]:
    """For each character of `normalize(text)`, its index in `text` (plus the end index)."""
    table = TABLE
    out = [i for i, ch in enumerate(text) if table.get(ord(ch), 0) is not None]
    out.append(len(text))
    return out


_NUMERALS = str.maketrans(
    {
        "零": "0",
        "〇": "0",
        "洞": "0",
        "幺": "1",
        "一": "1",
        "二": "2",
        "两": "2",
        "三": "3",
        "四": "4",
        "五": "5",
        "六": "6",
        "七": "7",
        "拐": "7",
        "八": "8",
        "九": "9",
        "勾": "9",
    }
)

DIGIT_RUN = re.compile(r"[0-9零〇一二两三四五六七八九幺]{6,}")


def digits_of(run: str) -> str:
    """A digit string written with digits or Chinese numerals (一三八 / 幺三八) as ASCII digits."""
    return run.translate(_NUMERALS)


def bigrams(text: str) -> frozenset[str]:
    """Character bigrams of a normalised text (a single character counts as one gram)."""
    if len(text) < 2:
        return frozenset((text,)) if text else frozenset()
    return frozenset(text[i : i + 2] for i in range(len(text) - 1))
