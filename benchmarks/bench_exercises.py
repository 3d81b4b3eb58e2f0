"""How long the exercise sheet takes to build, release and grade: prints figures, asserts nothing.

    .venv/bin/python benchmarks/bench_exercises.py

1. Building one variant's whole sheet in-process (every question's runs), per variant, in English
   and in Chinese (the words are looked up, the runs are the same).
2. Releasing one student's copy (rewrite, execute in a kernel, strip), per student.
3. Grading one notebook with pytest --nbval (one pytest process and one kernel), per notebook.
Graders multiply 2 and 3 by the class size.
"""
from __future__ import annotations

import contextlib
import io
import tempfile
import time
from pathlib import Path

from tcplesson.exercises import BANK, Sheet
from tcplesson.exercises.grade import grade
from tcplesson.exercises.release import release


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def build(seed, lang="en") -> None:
    sheet = Sheet(seed, lang=lang)
    for qid in BANK:
        sheet.question(qid)


def main() -> None:
    seeds = range(100)
    total = timed(lambda: [build(seed) for seed in seeds])
    print(f"build a whole sheet ({len(BANK)} questions): {1000 * total / len(seeds):.1f} ms per variant")
    total = timed(lambda: [build(seed, "zh") for seed in seeds])
    print(f"build a whole Chinese sheet: {1000 * total / len(seeds):.1f} ms per variant")
    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stderr(io.StringIO()):
        paths = []
        rounds = [timed(lambda s=s: paths.extend(release(Path(tmp) / str(s), s, solutions=True)))
                  for s in ("s1", "s2", "s3")]
        print(f"release one student's copy: {min(rounds):.2f} s (best of 3)")
        rounds = [timed(lambda p=p: grade([p])) for p in paths[:3]]
        print(f"grade one notebook: {min(rounds):.2f} s (best of 3)")


if __name__ == "__main__":
    main()
