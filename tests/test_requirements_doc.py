"""docs/requirements.md stays honest: one row per spec ID, and every cited test and path exists.

The spec lives in ../shared/spec next to the main checkout (a worktree under /work/wt/<name>
sits one level deeper, so both places are tried).
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "requirements.md"
SPEC = (
    next(
        (p for p in (ROOT.parent / "shared", ROOT.parents[1] / "shared") if p.is_dir()),
        ROOT.parent / "shared",
    )
    / "spec"
)
STATUSES = ("done", "partial", "not done")
ROW_ID = re.compile(r"^\|\s*`?([A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*)`?\s*\|")
TEST_REF = re.compile(r"(tests/[\w/]+\.py)::(test_\w+)(\[[^\]`]*\])?")
SRC_REF = re.compile(r"`((?:src|bench|docs)/[\w./-]+\.(?:py|yaml|md|html|js))`")


def table_ids(path: Path) -> list[str]:
    """IDs in the first column of the markdown tables of `path`."""
    ids = []
    for line in path.read_text(encoding="utf-8").splitlines():
        m = ROW_ID.match(line)
        if m and m.group(1) != "ID":
            ids.append(m.group(1))
    return ids


def doc_rows() -> dict[str, list[str]]:
    """Row cells of the doc by ID (the first occurrence of each ID)."""
    rows: dict[str, list[str]] = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        m = ROW_ID.match(line)
        if m and m.group(1) != "ID":
            rows.setdefault(m.group(1), [c.strip() for c in line.strip().strip("|").split("|")])
    return rows


@cache
def defined_tests(path: Path) -> frozenset[str]:
    """Names of the test functions a test file defines at module level or in classes."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return frozenset(
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name.startswith("test_")
    )


def test_every_spec_id_has_exactly_one_row() -> None:
    spec = table_ids(SPEC / "REQUIREMENTS.md") + table_ids(SPEC / "QA-RULES.md")
    assert len(spec) >= 90, f"the spec parser found only {len(spec)} IDs"
    assert len(set(spec)) == len(spec), "duplicate IDs in the spec"
    counts = Counter(table_ids(DOC))
    missing = [i for i in spec if counts[i] == 0]
    twice = [i for i in spec if counts[i] > 1]
    unknown = sorted(set(counts) - set(spec))
    assert not missing, f"spec IDs without a row in docs/requirements.md: {missing}"
    assert not twice, f"spec IDs with more than one row: {twice}"
    assert not unknown, f"rows for IDs that are not in the spec: {unknown}"


def test_every_row_has_a_status_and_done_rows_cite_a_test() -> None:
    for rid, cells in doc_rows().items():
        assert len(cells) == 6, (rid, "a row has 6 columns", cells)
        status = cells[2]
        assert status in STATUSES, (rid, status)
        if status == "done":
            assert TEST_REF.search(cells[4]), (rid, "a done row cites a test")
        if status != "done":
            assert cells[5], (rid, "a partial or not-done row says what is missing")


def test_summary_counts_match_the_rows() -> None:
    rows = doc_rows()
    counts = Counter(cells[2] for cells in rows.values())
    text = DOC.read_text(encoding="utf-8")
    m = re.search(r"Summary: (\d+) IDs; (\d+) done, (\d+) partial, (\d+) not done", text)
    assert m, "the summary line is missing"
    total, done, partial, not_done = (int(g) for g in m.groups())
    assert (total, done, partial, not_done) == (
        len(rows),
        counts["done"],
        counts["partial"],
        counts["not done"],
    )


def test_every_cited_test_exists() -> None:
    text = DOC.read_text(encoding="utf-8")
    refs = TEST_REF.findall(text)
    assert refs, "the doc cites no tests"
    bad = []
    for file, name, _param in refs:
        path = ROOT / file
        if not path.is_file() or name not in defined_tests(path):
            bad.append(f"{file}::{name}")
    assert not bad, f"cited tests that do not exist: {sorted(set(bad))}"
    # a bare file reference (e.g. `tests/test_seed_phrases.py`) must exist too
    for file in re.findall(r"`(tests/[\w/]+\.(?:py|jsonl))`", text):
        assert (ROOT / file).is_file(), file


def test_every_cited_source_path_exists() -> None:
    paths = SRC_REF.findall(DOC.read_text(encoding="utf-8"))
    assert paths, "the doc cites no source paths"
    missing = sorted({p for p in paths if not (ROOT / p).exists()})
    assert not missing, f"cited paths that do not exist: {missing}"
