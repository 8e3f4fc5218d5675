"""Errors of the QA engine: a bad rulebook or a bad conversation record."""

from __future__ import annotations

from kefu.errors import KefuError


class QAError(KefuError):
    """Base of every error the QA package raises on purpose."""


class RulebookError(QAError):
    """A rulebook is wrong; every problem is `file:line: problem`."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class RecordError(QAError):
    """A conversation record is malformed: `path: problem` (e.g. `utterances[3].start: ...`)."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}" if path else problem)
