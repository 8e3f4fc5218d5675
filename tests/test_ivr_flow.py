"""Loading and checking IVR flow files: every problem is reported as file:line: problem."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from kefu.core.ivr_flow import (
    FlowDirectory,
    FlowError,
    MenuNode,
    NodeType,
    lint_flow,
    load_flow,
    load_flows,
    parse_flow,
)
from kefu.core.ivr_grammar import GrammarKind

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "ivr"

GOOD = """\
flow: tiny
version: 3
numbers: ["4001", "4002"]
start: menu
nodes:
  menu:
    type: menu
    prompts: [m]
    choices:
      1: end
  end:
    type: hangup
"""


def problems_of(text: str) -> list[str]:
    with pytest.raises(FlowError) as info:
        parse_flow(textwrap.dedent(text), "f.yaml")
    return info.value.problems


def test_a_good_flow_loads_with_its_version_and_numbers() -> None:
    flow = parse_flow(GOOD, "f.yaml")
    assert flow.name == "tiny"
    assert flow.version == 3
    assert flow.numbers == ("4001", "4002")
    menu = flow.nodes["menu"]
    assert isinstance(menu, MenuNode)
    assert dict(menu.choices) == {"1": "end"}  # an unquoted YAML key 1 is the key "1"


def test_the_example_flows_load_and_share_numbers_per_flow() -> None:
    directory = load_flows(sorted(EXAMPLES.glob("*.yaml")))
    assert {f.name for f in directory.flows} == {"phone_bank", "elderly_care", "expert_appointment"}
    care = directory.for_number("02088886666")
    assert care is not None and care is directory.for_number("02088887777")
    assert directory.for_number("110") is None
    kinds = {type(n).__name__ for f in directory.flows for n in f.nodes.values()}
    assert len(kinds) == len(NodeType)  # the examples use every node type


def test_unknown_node_type_is_reported_on_its_line() -> None:
    problems = problems_of(GOOD.replace("type: hangup", "type: hangupp"))
    assert len(problems) == 1
    assert problems[0].startswith("f.yaml:12: node end: unknown node type 'hangupp'")


def test_missing_target_node_is_reported_where_it_is_named() -> None:
    problems = problems_of(GOOD.replace("1: end", "1: ending"))
    assert problems == ["f.yaml:10: no node named 'ending'"]


def test_bad_grammars_are_reported() -> None:
    text = """\
    flow: g
    version: 1
    start: a
    nodes:
      a:
        type: collect
        grammar: {type: money}
        variable: x
        next: b
      b:
        type: collect
        grammar: {type: digits, min: 6, max: 4}
        variable: y
        next: c
      c:
        type: collect
        grammar: {type: date, max: 6}
        variable: z
        next: d
      d:
        type: hangup
    """
    problems = problems_of(text)
    assert problems == [
        "f.yaml:7: node a: unknown grammar 'money' (digits, amount, date)",
        "f.yaml:12: node b: grammar max (4) is below min (6)",
        "f.yaml:17: node c: a date grammar is always 8 digits (YYYYMMDD)",
    ]


def test_every_problem_is_listed_at_once_in_line_order() -> None:
    text = """\
    flow: many
    start: nowhere
    colour: blue
    nodes:
      a:
        type: menu
        choices:
          "12": a
          "#": b
        retries: -1
      b:
        type: hours
        schedule:
          workday: ["8-12", "14:00-13:00"]
          weekend: []
        open: a
        closed: a
      c:
        type: transfer
        number: "call me"
    """
    problems = problems_of(text)
    assert problems == [
        "f.yaml:1: flow: missing 'version'",
        "f.yaml:2: no node named 'nowhere'",
        "f.yaml:3: flow: unknown field 'colour' (defaults, description, flow, nodes, numbers, "
        "start, timezone, version, zero_out)",
        "f.yaml:8: node a: choice '12' is not one DTMF key (quote * and #)",
        "f.yaml:10: node a: 'retries' must be a whole number >= 0",
        "f.yaml:14: node b: '8-12' is not HH:MM-HH:MM (quote it)",
        "f.yaml:14: node b: '14:00-13:00' ends before it starts",
        "f.yaml:15: node b schedule: unknown field 'weekend' (fri, holiday, mon, restday, sat, "
        "sun, thu, tue, wed, workday)",
        "f.yaml:20: node c: 'call me' is not a phone number",
    ]


def test_invalid_yaml_names_its_line() -> None:
    problems = problems_of("flow: x\nversion: 1\nnodes:\n  a: [unclosed\n")
    assert len(problems) == 1 and problems[0].startswith("f.yaml:5: not valid YAML")


def test_a_loop_of_nodes_that_never_wait_is_refused() -> None:
    text = """\
    flow: loop
    version: 1
    start: a
    nodes:
      a:
        type: set
        values: {x: 1}
        next: b
      b:
        type: branch
        variable: x
        cases: {"1": a}
        default: c
      c:
        type: hangup
    """
    assert problems_of(text) == ["f.yaml:5: node a: loops back to itself without waiting"]


def test_duplicate_nodes_and_missing_fields() -> None:
    text = """\
    flow: dup
    version: 1
    start: a
    nodes:
      a:
        type: play
        next: b
      b:
        type: queue
      a:
        type: hangup
    """
    assert problems_of(text) == [
        "f.yaml:8: node b: missing 'queue'",
        "f.yaml:10: node a: defined twice",
    ]


def test_a_file_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(GOOD.replace("start: menu", "start: menuu"), encoding="utf-8")
    with pytest.raises(FlowError) as info:
        load_flow(path)
    assert str(info.value) == f"{path}:4: no node named 'menuu'"


def test_two_flows_cannot_claim_one_number() -> None:
    one = parse_flow(GOOD, "one.yaml")
    two = parse_flow(GOOD.replace("flow: tiny", "flow: other"), "two.yaml")
    with pytest.raises(FlowError) as info:
        FlowDirectory.of([one, two])
    assert (
        info.value.problems[0] == "two.yaml:1: number 4001 is already used by flow tiny (one.yaml)"
    )


def test_grammar_shorthand_and_password_defaults() -> None:
    text = """\
    flow: p
    version: 1
    start: pw
    nodes:
      pw:
        type: password
        account_variable: account
        next: end
        locked: end
      end:
        type: hangup
    """
    flow = parse_flow(textwrap.dedent(text))
    node = flow.nodes["pw"]
    assert node.grammar.kind is GrammarKind.DIGITS  # type: ignore[union-attr]
    assert node.max_failures_per_day == 5  # type: ignore[union-attr]


def test_lint_finds_unreachable_nodes_and_prompts_without_audio() -> None:
    text = GOOD + "  orphan:\n    type: play\n    prompts: [lost]\n    next: end\n"
    flow = parse_flow(text, "f.yaml")
    assert lint_flow(flow) == ["f.yaml:13: node orphan: no call can reach it"]
    assert lint_flow(flow, uploaded_prompts={"lost"}) == [
        "f.yaml:6: node menu: prompt 'm' has no audio",
        "f.yaml:13: node orphan: no call can reach it",
    ]


def test_the_examples_have_no_unreachable_nodes() -> None:
    for path in sorted(EXAMPLES.glob("*.yaml")):
        assert lint_flow(load_flow(path)) == []
