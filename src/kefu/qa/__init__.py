"""QA (质检): check every call and chat against the rulebook, with evidence and a score.

Python API::

    from kefu.qa.engine import Engine

    engine = Engine.load("default")          # or a profile ("oufei") or a YAML path
    result = engine.check(record)            # never raises for a bad record
    result["score"], result["passed"], result["findings"], result["not_applicable"]

Modules: `rulebook` (YAML loading, `file:line` validation, profiles, compilation),
`operators` (the conditions), `context` (one conversation prepared: one automaton pass,
the timeline), `engine` (rules, scoring, output dicts), `record` (input validation),
`batch` and `report` (`kefu qa` input and output), `stc3` (import), `store` (`--store` hook),
`commands` (the CLI). Rules live in `rules/default.yaml` and `rules/profiles/*.yaml`.
"""
