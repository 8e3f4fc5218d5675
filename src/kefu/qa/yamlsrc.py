"""YAML loading that remembers the line of every key and list item, for `file:line` errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from kefu.qa.errors import RulebookError


class LDict(dict[str, Any]):
    """A mapping that knows its own line and the line of each key."""

    line: int = 0
    file: str = ""
    lines: dict[str, int]


class LList(list[Any]):
    """A sequence that knows its own line and the line of each item."""

    line: int = 0
    file: str = ""
    lines: list[int]


def _convert(node: yaml.Node, loader: yaml.SafeLoader, where: str) -> Any:
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        out = LDict()
        out.line = node.start_mark.line + 1
        out.file = where
        out.lines = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if not isinstance(key, str):
                key = str(key)
            if key in out:
                raise RulebookError([f"{where}:{line}: duplicate key '{key}'"])
            out[key] = _convert(value_node, loader, where)
            out.lines[key] = line
        return out
    if isinstance(node, yaml.SequenceNode):
        seq = LList()
        seq.line = node.start_mark.line + 1
        seq.file = where
        seq.lines = []
        for item in node.value:
            seq.append(_convert(item, loader, where))
            seq.lines.append(item.start_mark.line + 1)
        return seq
    return loader.construct_object(node, deep=True)


def load(path: Path, where: str | None = None) -> Any:
    """Parse one YAML file into LDict/LList values; syntax errors become `file:line` errors."""
    label = where or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RulebookError([f"{label}: cannot read: {exc.strerror or exc}"]) from None
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise RulebookError([f"{label}:1: empty file"])
        return _convert(node, loader, label)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise RulebookError([f"{label}:{line}: YAML syntax: {exc.problem}"]) from None
    finally:
        loader.dispose()


def at(node: Any, key: str | int | None = None) -> str:
    """`file:line` of `node[key]` (or of the node itself)."""
    if isinstance(node, LDict):
        line = node.lines.get(key, node.line) if isinstance(key, str) else node.line
        return f"{node.file}:{line}"
    if isinstance(node, LList):
        if isinstance(key, int) and 0 <= key < len(node.lines):
            return f"{node.file}:{node.lines[key]}"
        return f"{node.file}:{node.line}"
    return "?:?"
