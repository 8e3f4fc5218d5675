"""STC-3 import and a QA run over all 4,090 dialogues (both files)."""

from __future__ import annotations

import json
import math
from pathlib import Path

from typer.testing import CliRunner

from kefu.cli import app
from kefu.qa.engine import Engine
from kefu.qa.stc3 import read, spearman
from shared_dir import STC3

TIME_RULES = {
    "OPEN-ANSWER-SPEED", "LISTEN-INTERRUPT", "LISTEN-RATE", "HOLD-THANK", "HOLD-CHECKIN",
    "HOLD-MAX", "HOLD-CALLBACK", "DEAD-AIR", "CLOSE-HANGUP-ORDER", "SIL-PROCEDURE",
}  # fmt: skip


def test_import_command_writes_conversation_jsonl(tmp_path: Path) -> None:
    out = tmp_path / "stc3.jsonl"
    r = CliRunner().invoke(app, ["import", "stc3", str(STC3 / "test_data_cn.json"), "-o", str(out)])
    assert r.exit_code == 0, r.stderr
    records = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 390
    first = records[0]
    assert first["channel"] == "chat"
    assert {u["role"] for r in records for u in r["utterances"]} == {"agent", "customer"}
    # The QA command reads what the importer wrote.
    qa = CliRunner().invoke(app, ["qa", str(out)])
    assert qa.exit_code == 0, qa.stderr
    assert len(qa.stdout.splitlines()) == 390


def test_mean_human_score_is_kept() -> None:
    train = list(read(STC3 / "train_data_cn.json"))
    raw = json.loads((STC3 / "train_data_cn.json").read_text(encoding="utf-8"))
    s = [a["quality"]["S"] for a in raw[0]["annotations"]]
    assert train[0]["stc3"]["mean_s"] == sum(s) / len(s)
    assert train[0]["utterances"][0]["role"] == "customer"


def test_qa_over_all_stc3_dialogues() -> None:
    engine = Engine.load("default")
    records = [r for f in sorted(STC3.glob("*.json")) for r in read(f)]
    assert len(records) == 4090
    results = [engine.check(r) for r in records]
    assert not [r for r in results if "error" in r]
    for res in results:
        assert set(res["not_applicable"]) >= TIME_RULES
        assert "OPEN-GREETING" not in res["not_applicable"]
        assert "CLOSE-THANKS" not in res["not_applicable"]
    rules = {f["rule"] for r in results for f in r["findings"]}
    assert {"OPEN-GREETING", "CLOSE-THANKS", "CLOSE-ASK-MORE"} <= rules
    pairs = [
        (res["score"], rec["stc3"]["mean_s"])
        for res, rec in zip(results, records, strict=True)
        if "stc3" in rec
    ]
    assert len(pairs) == 3700
    rho = spearman([float(a) for a, _ in pairs], [b for _, b in pairs])
    print(f"Spearman rho(QA score, mean human S) over {len(pairs)} dialogues: {rho:.3f}")
    assert math.isfinite(rho) and -1.0 <= rho <= 1.0


def test_spearman_matches_the_textbook() -> None:
    # Ties get average ranks; perfect monotone relations give +1 and -1.
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == 1.0
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == -1.0
    rho = spearman([1, 2, 2, 3], [1, 3, 2, 4])
    # Hand-computed: ranks (1, 2.5, 2.5, 4) vs (1, 3, 2, 4): cov 4.5, var 4.5 and 5.
    assert abs(rho - 4.5 / math.sqrt(4.5 * 5)) < 1e-12
