"""The `kefu qa` contract of CONVERSATION-FORMAT.md: formats, inputs, bad records, exit codes,
input order with --jobs."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from kefu.cli import app

runner = CliRunner()
KEFU = [sys.executable, "-m", "kefu.cli"]


def conv(i: int, text: str = "您好，客服中心，请问有什么可以帮您？") -> dict[str, Any]:
    return {
        "id": f"c-{i:04d}",
        "channel": "voice",
        "events": [
            {"t": 0, "type": "ring"},
            {"t": 4, "type": "answer"},
            {"t": 40, "type": "hangup", "by": "customer"},
        ],
        "utterances": [
            {"role": "agent", "start": 4.5, "end": 10, "text": text},
            {"role": "customer", "start": 10.5, "end": 13, "text": "我想查一下话费。"},
            {
                "role": "agent",
                "start": 13.5,
                "end": 17,
                "text": "好的，我不知道。" if i % 3 == 0 else "好的，请稍等。",
            },
        ],
    }


def write_jsonl(path: Path, records: list[Any]) -> Path:
    path.write_text(
        "".join(
            (r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in records
        ),
        encoding="utf-8",
    )
    return path


def test_good_input_jsonl(tmp_path: Path) -> None:
    f = write_jsonl(tmp_path / "calls.jsonl", [conv(i) for i in range(3)])
    r = runner.invoke(app, ["qa", str(f)])
    assert r.exit_code == 0, r.stderr
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert [x["id"] for x in lines] == ["c-0000", "c-0001", "c-0002"]
    for x in lines:
        assert set(x) >= {"id", "profile", "score", "passed", "findings", "not_applicable"}
    assert "FORBID-WORDS" in {f["rule"] for f in lines[0]["findings"]}
    assert r.stderr == ""


def test_bad_records_do_not_stop_the_run(tmp_path: Path) -> None:
    broken = conv(1)
    broken["utterances"][1]["start"] = "abc"
    unknown_event = conv(2)
    unknown_event["events"].append({"t": 41, "type": "dtmf"})
    records: list[Any] = [
        conv(0),
        broken,
        "{not json",
        unknown_event,
        {"id": "x", "channel": "fax", "utterances": []},
    ]
    f = write_jsonl(tmp_path / "calls.jsonl", records)
    r = runner.invoke(app, ["qa", str(f)])
    assert r.exit_code == 1
    out = [json.loads(x) for x in r.stdout.splitlines()]
    assert len(out) == 5
    assert out[1] == {"id": "c-0001", "error": 'utterances[1].start: expected a number, got "abc"'}
    assert out[2]["id"] is None and "invalid JSON" in out[2]["error"]
    assert "score" in out[3]  # an unknown event type is only a warning
    assert out[4]["id"] == "x" and out[4]["error"].startswith("channel:")
    err = r.stderr.splitlines()
    assert f'{f}:2: utterances[1].start: expected a number, got "abc"' in err
    assert any(line.startswith(f"{f}:3: invalid JSON") for line in err)
    assert any(
        line.startswith(f"{f}:4: warning: events[3].type: unknown event type") for line in err
    )


def test_bad_rulebook_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "version: 1\nrules:\n  - id: A\n    message: m\n    checks:\n      - forbid: {kwd: [x]}\n",
        encoding="utf-8",
    )
    f = write_jsonl(tmp_path / "calls.jsonl", [conv(0)])
    out = tmp_path / "out.jsonl"
    r = runner.invoke(app, ["qa", str(f), "--rules", str(rules), "--output", str(out)])
    assert r.exit_code == 2
    assert r.stdout == ""
    assert r.stderr.strip().endswith("rules.yaml:6: unknown operator 'kwd'")
    assert not out.exists()
    assert list(tmp_path.glob(".kefu-qa-*")) == []


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert runner.invoke(app, ["qa", str(tmp_path / "missing.jsonl")]).exit_code == 2
    assert runner.invoke(app, ["qa", str(tmp_path), "--profile", "no-such-org"]).exit_code == 2
    assert runner.invoke(app, ["qa", str(tmp_path), "--format", "pdf"]).exit_code == 2


def test_json_files_directories_and_globs(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "one.json").write_text(
        json.dumps(conv(7), ensure_ascii=False), encoding="utf-8"
    )
    (tmp_path / "d" / "list.json").write_text(
        json.dumps([conv(8), conv(9)], ensure_ascii=False), encoding="utf-8"
    )
    write_jsonl(tmp_path / "d" / "more.jsonl", [conv(10)])
    by_dir = runner.invoke(app, ["qa", str(tmp_path / "d")])
    assert by_dir.exit_code == 0, by_dir.stderr
    assert [json.loads(x)["id"] for x in by_dir.stdout.splitlines()] == [
        "c-0008",
        "c-0009",
        "c-0010",
        "c-0007",
    ]
    by_glob = runner.invoke(app, ["qa", str(tmp_path / "d" / "*.json")])
    assert [json.loads(x)["id"] for x in by_glob.stdout.splitlines()] == [
        "c-0008",
        "c-0009",
        "c-0007",
    ]


def test_profile_option_and_record_profile(tmp_path: Path) -> None:
    rec = conv(1, "您好，欧飞，很高兴为您服务！")
    f = write_jsonl(tmp_path / "c.jsonl", [rec, {**rec, "id": "p", "profile": "oufei"}])
    default = [json.loads(x) for x in runner.invoke(app, ["qa", str(f)]).stdout.splitlines()]
    assert [x["profile"] for x in default] == ["default", "oufei"]
    forced = [
        json.loads(x)
        for x in runner.invoke(app, ["qa", str(f), "--profile", "oufei"]).stdout.splitlines()
    ]
    assert {x["profile"] for x in forced} == {"oufei"}
    assert "CLOSE-SURVEY" in {f["rule"] for f in forced[0]["findings"]}


def test_jobs_keep_input_order_and_output_file(tmp_path: Path) -> None:
    records: list[Any] = [conv(i) for i in range(300)]
    records[150] = "{broken"
    f = write_jsonl(tmp_path / "calls.jsonl", records)
    out = tmp_path / "out.jsonl"
    proc = subprocess.run(
        [*KEFU, "qa", str(f), "--jobs", "2", "--output", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.startswith(f"{f}:151: invalid JSON")
    got = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    want = [json.loads(x) for x in runner.invoke(app, ["qa", str(f)]).stdout.splitlines()]
    assert got == want
    assert [g["id"] for g in got[:3]] == ["c-0000", "c-0001", "c-0002"] and got[150]["id"] is None


def test_csv_one_row_per_finding(tmp_path: Path) -> None:
    f = write_jsonl(tmp_path / "calls.jsonl", [conv(0), "{bad"])
    r = runner.invoke(app, ["qa", str(f), "--format", "csv"])
    assert r.exit_code == 1
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    result = json.loads(
        runner.invoke(app, ["qa", str(write_jsonl(tmp_path / "one.jsonl", [conv(0)]))]).stdout
    )
    good = [row for row in rows if row["id"] == "c-0000"]
    assert [row["rule"] for row in good] == [f["rule"] for f in result["findings"]]
    word = next(row for row in good if row["rule"] == "FORBID-WORDS")
    assert word["evidence"] == "不知道" and word["utterance"] == "2" and word["points"] == "-3"
    assert rows[-1]["error"].startswith("invalid JSON")


def test_html_report_highlights_findings(tmp_path: Path) -> None:
    f = write_jsonl(tmp_path / "calls.jsonl", [conv(0), conv(1)])
    out = tmp_path / "report.html"
    r = runner.invoke(app, ["qa", str(f), "--format", "html", "--output", str(out)])
    assert r.exit_code == 0, r.stderr
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>")
    assert re.search(r'<mark title="[^"]*FORBID-WORDS[^"]*">[^<]*不知道</mark>', html)
    assert "c-0000" in html and "c-0001" in html and "得分" in html


def test_store_puts_results_and_conversations_in_the_database(
    tmp_path: Path, database_url: str
) -> None:
    """--store writes each good result with its transcript; the bad record is not stored."""
    from sqlalchemy import select

    from kefu.store.db import Database
    from kefu.store.models import QaResult

    f = tmp_path / "calls.jsonl"
    good = [conv(0, "喂，说。"), conv(1)]
    f.write_text(
        json.dumps(good[0], ensure_ascii=False)
        + "\n{broken\n"
        + json.dumps(good[1], ensure_ascii=False)
        + "\n",
        encoding="utf-8",
    )
    r = runner.invoke(app, ["qa", str(f), "--store", "--database-url", database_url])
    assert r.exit_code == 1, r.stderr  # one bad record
    assert "stored 2 result(s)" in r.stderr
    printed = [json.loads(line) for line in r.stdout.splitlines()]
    db = Database.from_url(database_url)
    try:
        with db.session() as s:
            rows = s.scalars(select(QaResult).order_by(QaResult.conversation_id)).all()
            assert [row.conversation_id for row in rows] == ["c-0000", "c-0001"]
            first = rows[0]
            assert printed[0]["findings"], "the rude greeting must produce findings"
            assert first.score == printed[0]["score"] == first.original_score
            assert first.conversation["utterances"][0]["text"] == "喂，说。"
            assert sorted(f.rule for f in first.findings if f.points < 0) == sorted(
                f["rule"] for f in printed[0]["findings"]
            )
    finally:
        db.dispose()


def test_store_with_unreachable_database_fails_before_any_work(tmp_path: Path) -> None:
    f = write_jsonl(tmp_path / "calls.jsonl", [conv(0)])
    r = runner.invoke(
        app, ["qa", str(f), "--store", "--database-url", "postgresql+psycopg://x:y@127.0.0.1:1/z"]
    )
    assert r.exit_code == 2
    assert "KEFU_DATABASE_URL" in r.stderr and "cannot connect" in r.stderr
    assert r.stdout == ""  # nothing half-written
