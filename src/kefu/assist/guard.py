"""The chat guard (SV-03): catch a forbidden phrase in the agent's draft before it is sent.

The matching is the QA engine's own (the profile's FORBID-* and FILLER rules: the same
phrases, the same exceptions such as 这是我们应该做的 and quotes of the customer), run on the
draft as a one-line chat. Each hit carries its span in the draft and a standard phrase to
say instead, from the playbook.
"""

from __future__ import annotations

from dataclasses import dataclass

from kefu.assist.playbook import Playbook
from kefu.qa.text import normalize


@dataclass(frozen=True, slots=True)
class GuardHit:
    """A forbidden phrase in a draft: where it is, which rule, what to say instead."""

    rule: str
    phrase: str
    start: int
    end: int
    replacement: str
    message: str


def guard_with(draft: str, book: Playbook) -> list[GuardHit]:
    """The forbidden phrases of `draft` under the playbook's profile, in draft order."""
    if not draft.strip():
        return []
    record = {
        "id": "draft",
        "channel": "chat",
        "utterances": [{"role": "agent", "text": draft}],
    }
    result = book.guard_engine.check(record)
    hits: list[GuardHit] = []
    for f in result.get("findings", []):
        span = f.get("span")
        if f.get("utterance") != 0 or not span:
            continue
        start, end = int(span[0]), int(span[1])
        phrase = draft[start:end]
        hits.append(
            GuardHit(
                rule=str(f["rule"]),
                phrase=phrase,
                start=start,
                end=end,
                replacement=_replacement(book, str(f["rule"]), phrase),
                message=str(f.get("message", "")),
            )
        )
    hits.sort(key=lambda h: (h.start, -h.end))
    return hits


def guard(draft: str, profile: str = "default") -> list[GuardHit]:
    """`guard_with` for a profile by name (its playbook is loaded once and kept)."""
    return guard_with(draft, Playbook.load(profile))


def _replacement(book: Playbook, rule: str, phrase: str) -> str:
    norm = normalize(phrase)
    text = next((repl for key, repl in book.by_phrase if key and key in norm), None)
    if text is None:
        text = book.by_rule.get(rule, "")
    return text.replace("{org}", book.org)
