"""Agent assist (SV-03, SV-04): scenario recognition, standard scripts, the draft guard.

from kefu.assist import Playbook, suggest, opening, closing, guard
book = Playbook.load("default")
suggest(utterances, book, day=date(2026, 10, 1))   # -> [Suggestion, ...]
guard("喂，大声点！")                                # -> [GuardHit, ...]
"""

from kefu.assist.guard import GuardHit, guard, guard_with
from kefu.assist.playbook import Playbook
from kefu.assist.scenario import (
    Recognition,
    Scenario,
    Suggestion,
    Utterance,
    closing,
    opening,
    recognise,
    suggest,
)

__all__ = [
    "GuardHit",
    "Playbook",
    "Recognition",
    "Scenario",
    "Suggestion",
    "Utterance",
    "closing",
    "guard",
    "guard_with",
    "opening",
    "recognise",
    "suggest",
]
