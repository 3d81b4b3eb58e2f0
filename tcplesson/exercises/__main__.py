"""Command line for instructors: release student copies, grade collected notebooks.

    python -m tcplesson.exercises release OUTDIR [--seed STUDENT_ID] [--lang en|zh] [--solutions] [--notebook PATH]
    python -m tcplesson.exercises grade NOTEBOOK... [--junit FILE] [--cell-timeout SECONDS] [--jobs N]

grade exits with 0 when every question of every notebook is right, 1 when some are not, 2 on a
usage error.
"""
from __future__ import annotations

import argparse
import sys

from .words import languages


def _seed(text: str):
    """A seed as typed: a plain number is an integer seed, anything else a student id string."""
    return int(text) if text.isdigit() and str(int(text)) == text else text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tcplesson.exercises",
                                     description="Release and grade the tcplesson exercise notebooks.")
    commands = parser.add_subparsers(dest="command", required=True)
    rel = commands.add_parser("release", help="write a student's copy (solutions taken out) for one variant")
    rel.add_argument("outdir", help="directory to write into (created if needed)")
    rel.add_argument("--seed", type=_seed, default=0, help="the variant: a student id or number (default 0)")
    rel.add_argument("--lang", default="en", choices=languages(),
                     help="the language of the sheet: its texts, hints and feedback (default en)")
    rel.add_argument("--solutions", action="store_true", help="also write the instructor's key for this variant")
    rel.add_argument("--notebook", help="the solution notebook (default: the course's notebooks/09_exercises.ipynb, "
                                        "or notebooks/zh/09_exercises.ipynb with --lang zh)")
    gra = commands.add_parser("grade", help="run pytest --nbval on notebooks and score each question")
    gra.add_argument("notebooks", nargs="+", help="students' notebooks")
    gra.add_argument("--junit", help="also write the scores as JUnit XML (one test case per question)")
    gra.add_argument("--cell-timeout", type=float, default=120, help="seconds a cell may run (default 120)")
    gra.add_argument("--jobs", type=int, default=1, help="notebooks graded at once (default 1; about one per core)")
    args = parser.parse_args(argv)
    try:
        if args.command == "release":
            from .release import release

            for path in release(args.outdir, args.seed, notebook=args.notebook, solutions=args.solutions,
                                lang=args.lang):
                print(path)
            return 0
        from .grade import grade, table

        reports = grade(args.notebooks, junit=args.junit, cell_timeout=args.cell_timeout, jobs=args.jobs)
    except (TypeError, ValueError) as error:
        parser.error(str(error))
    print(table(reports))
    return 0 if all(report.right == len(report.scores) for report in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
