"""`kefu serve`, `kefu db upgrade` and `kefu admin`: real processes, real databases."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kefu.security.password import verify_password
from kefu.store.db import Database
from kefu.store.repositories import UserRepository

KEFU = [sys.executable, "-m", "kefu"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def kefu_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEFU_")}
    env.update(extra)
    return env


def run(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*KEFU, *args], cwd=cwd, env=env or kefu_env(), capture_output=True, text=True, timeout=120
    )


class Server:
    def __init__(self, proc: subprocess.Popen[str], port: int, first_output: str) -> None:
        self.proc = proc
        self.url = f"http://127.0.0.1:{port}"
        self.first_output = first_output


def start_server(cwd: Path, env: dict[str, str], port: int) -> Server:
    proc = subprocess.Popen(
        [*KEFU, "serve", "--port", str(port)],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "kefu serving on" in line:
            break
    out = "".join(lines)
    for _ in range(100):
        try:
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
            return Server(proc, port, out)
        except httpx.TransportError:
            if proc.poll() is not None:
                break
            time.sleep(0.1)
    proc.kill()
    raise AssertionError(f"server did not start:\n{out}{proc.stdout.read()}")


def stop(server: Server) -> None:
    server.proc.terminate()
    server.proc.wait(timeout=20)


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path


def test_serve_first_start_migrates_creates_admin_and_answers_health(
    database_url: str, workdir: Path
) -> None:
    env = kefu_env(KEFU_DATABASE_URL=database_url, KEFU_DATA_DIR=str(workdir / "data"))
    server = start_server(workdir, env, free_port())
    try:
        match = re.search(r"user admin with password (\S+)", server.first_output)
        assert match, server.first_output
        password = match.group(1)
        health = httpx.get(server.url + "/health").json()
        assert health["status"] == "ok"
        assert health["database"] == database_url.split(":")[0].split("+")[0]
        assert httpx.get(server.url + "/docs").status_code == 200
        assert "/health" in httpx.get(server.url + "/openapi.json").json()["paths"]
    finally:
        stop(server)
    db = Database.from_url(database_url)
    try:
        with db.session() as s:
            admin = UserRepository(s).by_username("admin")
            assert admin is not None and admin.must_change_password
            assert admin.password_hash.startswith("$argon2id$")
            assert verify_password(admin.password_hash, password)
    finally:
        db.dispose()
    # Second start: the password is not printed again and not changed.
    server = start_server(workdir, env, free_port())
    try:
        assert "password" not in server.first_output
    finally:
        stop(server)


def test_sqlite_default_lives_in_data_dir(tmp_path: Path) -> None:
    env = kefu_env(KEFU_DATA_DIR=str(tmp_path / "d"))
    result = run("db", "upgrade", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert "revision" in result.stdout
    assert (tmp_path / "d" / "kefu.db").exists()
    # The default data directory is ./var.
    result = run("db", "upgrade", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "var" / "kefu.db").exists()


def test_admin_reset_password_and_create_user(tmp_path: Path) -> None:
    env = kefu_env(KEFU_DATA_DIR=str(tmp_path))
    created = run(
        "admin",
        "create-user",
        "lina",
        "--role",
        "agent",
        "--agent-no",
        "1024",
        "--extension",
        "8001",
        cwd=tmp_path,
        env=env,
    )
    assert created.returncode == 0, created.stderr
    reset = run("admin", "reset-password", "lina", cwd=tmp_path, env=env)
    assert reset.returncode == 0, reset.stderr
    new_password = re.search(r"lina: (\S+)", reset.stdout)
    assert new_password
    db = Database.from_url(f"sqlite:///{tmp_path / 'kefu.db'}")
    try:
        with db.session() as s:
            user = UserRepository(s).by_username("lina")
            assert user is not None and user.agent is not None
            assert user.agent.extension == "8001"
            assert verify_password(user.password_hash, new_password.group(1))
    finally:
        db.dispose()
    missing = run("admin", "reset-password", "nobody", cwd=tmp_path, env=env)
    assert missing.returncode == 2
    assert "no user named 'nobody'" in missing.stderr
    assert "Traceback" not in missing.stderr


def _one_line_error(result: subprocess.CompletedProcess[str], setting: str) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert setting in lines[0]
    return lines[0]


@pytest.mark.parametrize(
    ("url", "expect"),
    [
        ("not a url", "is not a database URL"),
        ("mysql://u:p@localhost/db", "not supported"),
        ("postgresql+psycopg://nobody:wrong@127.0.0.1:1/none", "cannot connect"),
    ],
)
def test_bad_database_url_is_one_line_error(tmp_path: Path, url: str, expect: str) -> None:
    result = run("serve", cwd=tmp_path, env=kefu_env(KEFU_DATABASE_URL=url))
    line = _one_line_error(result, "KEFU_DATABASE_URL")
    assert expect in line
    assert "wrong" not in line  # the password is never echoed


def test_unwritable_data_dir_is_one_line_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = run("serve", "--data-dir", str(blocker / "sub"), cwd=tmp_path)
    _one_line_error(result, "KEFU_DATA_DIR")


def test_port_in_use_is_one_line_error(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run(
            "serve", "--port", str(port), cwd=tmp_path, env=kefu_env(KEFU_DATA_DIR=str(tmp_path))
        )
    _one_line_error(result, "KEFU_PORT")


def test_bad_setting_value_is_one_line_error(tmp_path: Path) -> None:
    result = run("serve", cwd=tmp_path, env=kefu_env(KEFU_PORT="eighty"))
    _one_line_error(result, "KEFU_PORT")


def test_help_lists_commands(tmp_path: Path) -> None:
    result = run("--help", cwd=tmp_path)
    assert result.returncode == 0
    for command in ("serve", "db", "admin"):
        assert command in result.stdout
