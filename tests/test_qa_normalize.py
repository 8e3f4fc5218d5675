"""text.normalize (replace + range regex) equals the plain translate table on any text."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from kefu.qa.text import SEP, TABLE, normalize

_ALPHABET = st.characters(min_codepoint=0x09, max_codepoint=0xFFFF, exclude_categories=("Cs",))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=_ALPHABET, max_size=200))
def test_normalize_is_the_translate_table(text: str) -> None:
    assert normalize(text) == text.translate(TABLE)


def test_normalize_on_mixed_chinese_text() -> None:
    rnd = random.Random(3)
    pool = "您好，请问有什么可以帮您？嘛壹恩妳。！、 ABCｘＹ０１２“”「」…—\t\n" + SEP
    for _ in range(500):
        text = "".join(rnd.choice(pool) for _ in range(rnd.randint(0, 80)))
        assert normalize(text) == text.translate(TABLE)
    assert normalize("您好，ＡＢ０！") == "你好ab0"
