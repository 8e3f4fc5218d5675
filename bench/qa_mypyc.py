"""What compiling the QA hot path with mypyc would give: the same check, interpreted vs compiled.

Copies src/kefu to a temporary folder, compiles the modules a check runs through
(text, record, context, operators, engine) with mypyc (from the test extras' mypy; needs a C
compiler), then times `engine.check` and the `kefu qa` per-line path (parse + check + dumps)
in two subprocesses, one per build, on the same generated calls, and checks that both
builds give identical result lines. Nothing in the worktree is changed.

    python bench/qa_mypyc.py [--n 2000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODULES = ["text", "record", "context", "operators", "engine"]

CHILD = r"""
import gc, hashlib, json, sys, time
sys.path.insert(0, {bench!r})
from qa_throughput import generate
import kefu.qa.engine as E
from kefu.qa.batch import Checker, Item
from kefu.qa.report import dumps
n, repeat = {n}, {repeat}
calls = generate(n)
lines = [json.dumps(c, ensure_ascii=False) for c in calls]
eng = E.Engine.load("default")
checker = Checker(eng, keep_records=False)
items = [Item("b", line) for line in lines]
def best(fn, xs):
    b = float("inf")
    for _ in range(repeat):
        gc.collect(); t = time.process_time()
        for x in xs: fn(x)
        b = min(b, time.process_time() - t)
    return b
t_check = best(eng.check, calls)
t_line = best(lambda it: dumps(checker(it).result), items)
corpus = {corpus!r}
out = [dumps(checker(it).result) for it in items]
out += [dumps(eng.check(json.loads(l))) for l in open(corpus, encoding="utf-8")]
digest = hashlib.sha256("\n".join(out).encode()).hexdigest()
print(E.__file__.endswith(".so"), t_check, t_line, digest)
"""


def measure(src: Path, n: int, repeat: int) -> tuple[bool, float, float, str]:
    """(compiled?, check seconds, per-line seconds, digest of all result lines) for one build."""
    code = CHILD.format(
        bench=str(ROOT / "bench"), n=n, repeat=repeat,
        corpus=str(ROOT / "tests" / "qa_corpus" / "corpus.jsonl"),
    )  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
    ).stdout.split()
    return out[0] == "True", float(out[1]), float(out[2]), out[3]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    mypyc = Path(sys.executable).with_name("mypyc")
    with tempfile.TemporaryDirectory() as tmp:
        plain = Path(tmp) / "plain"
        built = Path(tmp) / "built"
        for dest in (plain, built):
            shutil.copytree(ROOT / "src" / "kefu", dest / "kefu")
        (built / "mypy.ini").write_text("[mypy]\nignore_missing_imports = True\n")
        targets = [f"kefu/qa/{m}.py" for m in MODULES]
        subprocess.run(
            [str(mypyc), "--config-file", "mypy.ini", *targets],
            cwd=built, check=True, capture_output=True,
        )  # fmt: skip
        for m in MODULES:  # the compiled module must be the one imported
            (built / "kefu" / "qa" / f"{m}.py").unlink()
        rows = [("interpreted", *measure(plain, args.n, args.repeat))]
        rows.append(("mypyc", *measure(built, args.n, args.repeat)))
    n = args.n
    print(f"{n} generated calls, best of {args.repeat}; modules compiled: {', '.join(MODULES)}")
    print(f"{'build':12} {'check conv/s':>13} {'per line conv/s':>16} {'µs/line':>8}")
    for label, _, t_check, t_line, _ in rows:
        print(f"{label:12} {n / t_check:13.0f} {n / t_line:16.0f} {t_line / n * 1e6:8.1f}")
    (_, c0, ch0, l0, d0), (_, c1, ch1, l1, d1) = rows
    assert not c0 and c1, "the builds did not load as intended"
    print(f"mypyc / interpreted: check {ch0 / ch1:.2f}x, per line {l0 / l1:.2f}x faster")
    print(f"result lines identical (bench calls + corpus): {d0 == d1}")


if __name__ == "__main__":
    main()
