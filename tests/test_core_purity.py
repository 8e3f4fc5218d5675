"""kefu.core stays pure: no module in it imports I/O, networking, async or database code."""

from __future__ import annotations

import ast
from pathlib import Path

import kefu.core

FORBIDDEN = {
    "asyncio",
    "socket",
    "ssl",
    "select",
    "selectors",
    "threading",
    "multiprocessing",
    "subprocess",
    "sqlite3",
    "sqlalchemy",
    "psycopg",
    "alembic",
    "aiosipua",
    "aiortp",
    "fastapi",
    "starlette",
    "uvicorn",
    "httpx",
    "requests",
    "urllib",
    "http",
    "time",
    "kefu.store",
    "kefu.web",
    "kefu.telephony",
    "kefu.services",
    "kefu.audio",
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_core_modules_import_nothing_impure() -> None:
    root = Path(kefu.core.__file__).parent
    modules = sorted(root.rglob("*.py"))
    assert len(modules) >= 10
    offenders = []
    for path in modules:
        for name in _imports(path):
            if any(name == f or name.startswith(f + ".") for f in FORBIDDEN):
                offenders.append(f"{path.relative_to(root)}: {name}")
    assert offenders == []


def test_the_scanner_catches_an_impure_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import asyncio\nfrom sqlalchemy.orm import Session\n", encoding="utf-8")
    assert {"asyncio", "sqlalchemy.orm"} <= _imports(bad)
