"""Grade: run ``pytest --nbval`` on students' notebooks and score them question by question.

Each notebook is run by its own pytest process (nbval, in this Python environment, so the checks
are this tcplesson's). pytest's JUnit report says which cells failed and why; the questions' cell
metadata says which cells belong to which question. A question is right when its three cells
(ask, answer, check) all pass and its check cell is the one that was released, unchanged and not
skipped. A notebook whose variant cell no longer matches the seed it was released with scores
nothing: its answers belong to another variant.

The grader's pytest runs with REVEAL_VARIABLE set, so each failure in the report also names the
right answer for that student's variant (the student, running the notebook, sees only the hint).
A Chinese notebook (released with ``--lang zh``) runs its checks in Chinese, so its feedback is
Chinese; the report's titles and reasons follow the notebook's language too.
"""
from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .._check import check_int_range
from .bank import BANK
from .release import VARIANT_CALL, check_cell_source, notebook_language, role
from .sheet import REVEAL_VARIABLE
from .words import DEFAULT_LANG, message, title

ROLES = ("ask", "answer", "check")
_ANSI = re.compile(r"\x1b\[[0-9;]*m|#x1B\[[0-9;]*m")
_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Answer|Interrupt|Exit)\b")
_PASSING_TAGS = ("nbval-skip", "nbval-raises-exception", "raises-exception")  # tags that make a cell pass anyway


@dataclass
class Score:
    """One question of one notebook."""

    number: int
    id: str
    title: str
    right: bool
    reason: str = ""  # why not, for the report (empty when right)


@dataclass
class Report:
    """One graded notebook."""

    notebook: Path
    seed: object  # the variant the notebook runs (from its variant cell), or None if unreadable
    scores: list[Score] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # failures outside the questions

    @property
    def right(self) -> int:
        return sum(score.right for score in self.scores)


def grade(notebooks, *, junit=None, cell_timeout: float = 120, jobs: int = 1) -> list[Report]:
    """Grade each notebook (``jobs`` at a time, each in its own pytest process); write a JUnit XML file
    (one test case per question) if ``junit`` is given. Reports come in the order of ``notebooks``."""
    paths = [Path(p) for p in notebooks]
    if not paths:
        raise ValueError("notebooks must name at least one notebook")
    for path in paths:
        if not path.is_file():
            raise ValueError(f"notebook {str(path)!r} does not exist")
    if isinstance(cell_timeout, bool) or not isinstance(cell_timeout, (int, float)) or cell_timeout <= 0:
        raise ValueError(f"cell_timeout must be a positive number of seconds, got {cell_timeout!r}")
    jobs = check_int_range("jobs", jobs, 1, 64)
    with ThreadPoolExecutor(max_workers=jobs) as pool:  # the work is in subprocesses; threads only wait
        reports = list(pool.map(lambda path: _grade_one(path, cell_timeout), paths))
    if junit is not None:
        write_junit(reports, junit)
    return reports


def _grade_one(path: Path, cell_timeout: float) -> Report:
    import nbformat

    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as error:  # a broken file is a student's problem, reported, not a crash
        return _unreadable(path, message("grade.unreadable", DEFAULT_LANG, error=error))
    code_cells = sum(cell.cell_type == "code" for cell in nb.cells)
    cells, problem = _run_nbval(path, cell_timeout, cell_timeout * (code_cells + 2))
    return _score(path, nb, cells, problem)


def _run_nbval(path: Path, cell_timeout: float, timeout: float) -> tuple[dict[int, tuple[str, str]], str]:
    """{code cell number: (outcome, message)} from one pytest --nbval run, and a run-level problem if any.

    ``timeout`` bounds the whole run: nbval's own cell timeout cannot stop a kernel that hangs
    between cells."""
    with tempfile.TemporaryDirectory(prefix="tcplesson-grade-") as tmp:
        xml, ini = Path(tmp) / "junit.xml", Path(tmp) / "pytest.ini"
        ini.write_text("[pytest]\n", encoding="utf-8")  # no project settings leak in from around the notebook
        # Only nbval is loaded: no other plugins, and no conftest.py (a submission folder could carry one).
        command = [sys.executable, "-m", "pytest", str(path.resolve()), "-c", str(ini), "--noconftest",
                   "--rootdir", str(path.resolve().parent), "-p", "nbval.plugin", "--nbval", "--nbval-current-env",
                   f"--nbval-cell-timeout={cell_timeout:g}", "-p", "no:cacheprovider", "-q",
                   f"--junitxml={xml}", "-o", "junit_family=xunit2"]
        env = {**os.environ, REVEAL_VARIABLE: "1", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
        try:
            done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=path.resolve().parent,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            return {}, f"grading this notebook took longer than {timeout:g} s and was stopped"
        if not xml.is_file():
            return {}, f"pytest could not run the notebook (exit {done.returncode}): {_last_lines(done.stdout + done.stderr)}"
        cells = {}
        for case in ET.parse(xml).getroot().iter("testcase"):
            found = re.fullmatch(r"Cell (\d+)", case.get("name", ""))
            if not found:
                continue
            outcome, detail = "passed", ""
            for child in case:
                if child.tag in ("failure", "error"):
                    outcome, detail = "failed", (child.get("message", ""), child.text or "")
                elif child.tag == "skipped":
                    outcome, detail = "skipped", "skipped"
            cells[int(found[1])] = (outcome, detail)
        return cells, ""


def _reason(summary: str, text: str, lang: str = DEFAULT_LANG) -> str:
    """The useful part of an nbval failure: the exception and its message, or the output difference."""
    lines = _ANSI.sub("", text).replace("\r", "").splitlines()
    starts = [i for i, line in enumerate(lines) if _EXCEPTION.match(line)]
    if starts:
        return "\n".join(line for line in lines[starts[-1]:] if line.strip())
    if "outputs differ" in text:
        return message("grade.outputs_differ", lang)
    return _ANSI.sub("", summary).strip() or "failed"


def _shorten(text: str, width: int = 90) -> str:
    return text if len(text) <= width else text[:width - 3] + "..."


def _last_lines(text: str, n: int = 5) -> str:
    return " | ".join(line for line in text.strip().splitlines()[-n:])


def _unreadable(path: Path, problem: str) -> Report:
    return Report(path, None, [Score(i + 1, qid, spec.title, False, problem) for i, (qid, spec) in
                               enumerate(BANK.items())], [problem])


def _readable(cells: dict, lang: str) -> dict[int, tuple[str, str]]:
    """nbval's failures turned into reasons in the notebook's language."""
    return {i: (result, _reason(*detail, lang) if isinstance(detail, tuple) else detail)
            for i, (result, detail) in cells.items()}


def _score(path: Path, nb, cells: dict[int, tuple[str, str]], problem: str) -> Report:
    lang = notebook_language(nb)
    cells = _readable(cells, lang)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    outcome = {id(cell): cells.get(i, ("not run", "not run")) for i, cell in enumerate(code)}
    seed, variant_problem = _variant(nb, lang)
    report = Report(path, seed)
    if problem:
        report.problems.append(problem)
    if variant_problem:
        report.problems.append(variant_problem)
    parts = {}
    for cell in code:
        qid, kind = role(cell)
        if qid in BANK and kind in ROLES:
            parts.setdefault(qid, {})[kind] = cell
        elif outcome[id(cell)][0] != "passed":
            report.problems.append(f"cell {code.index(cell)} (not part of a question) {outcome[id(cell)][0]}: "
                                   f"{outcome[id(cell)][1]}")
    for number, (qid, spec) in enumerate(BANK.items(), start=1):
        reason = problem or variant_problem or _question_reason(qid, parts.get(qid, {}), outcome, lang)
        report.scores.append(Score(number, qid, title(qid, lang), not reason, reason))
    return report


def _variant(nb, lang: str | None = None) -> tuple[object, str]:
    """(the seed the notebook runs, a problem if it differs from the seed it was released with)."""
    lang = notebook_language(nb) if lang is None else lang
    cells = [cell for cell in nb.cells if role(cell)[1] == "variant"]
    code = [line.strip() for line in cells[0].source.splitlines()
            if line.strip() and not line.strip().startswith("#")] if len(cells) == 1 else []
    found = VARIANT_CALL.fullmatch(code[0].removeprefix("ex = ")) if len(code) == 1 else None
    if not found or not code[0].startswith("ex = "):
        return None, message("grade.variant_form", lang)
    try:
        seed = ast.literal_eval(found[1])
    except (ValueError, SyntaxError):
        return None, message("grade.variant_changed", lang, call=found[0])
    released = nb.metadata.get("tcplesson", {}).get("seed", seed)
    if seed != released:
        return seed, message("grade.variant_other", lang, released=repr(released), seed=repr(seed))
    return seed, ""


def _question_reason(qid: str, parts: dict, outcome: dict, lang: str = DEFAULT_LANG) -> str:
    missing = [kind for kind in ROLES if kind not in parts]
    if missing:
        parts_ = message("grade.and", lang).join(message(f"grade.role.{kind}", lang) for kind in missing)
        return message("grade.missing", lang, parts=parts_)
    check = parts["check"]
    tags = check.get("metadata", {}).get("tags", [])
    if check.source.strip() != check_cell_source(qid) or any(tag in tags for tag in _PASSING_TAGS):
        return message("grade.changed_check", lang, source=check_cell_source(qid))
    for kind in ROLES:
        result, detail = outcome[id(parts[kind])]
        if result != "passed":
            if kind == "check" and detail.startswith("WrongAnswer: "):
                return detail[len("WrongAnswer: "):]
            return message("grade.cell_failed", lang, kind=message(f"grade.role.{kind}", lang),
                           result=message(f"grade.result.{result}", lang), message=detail)
    return ""


def write_junit(reports: list[Report], path) -> None:
    """JUnit XML for an LMS: one test suite per notebook, one test case per question."""
    suites = ET.Element("testsuites", name="tcplesson exercises",
                        tests=str(sum(len(r.scores) for r in reports)),
                        failures=str(sum(len(r.scores) - r.right for r in reports)))
    for report in reports:
        suite = ET.SubElement(suites, "testsuite", name=str(report.notebook), tests=str(len(report.scores)),
                              failures=str(len(report.scores) - report.right))
        properties = ET.SubElement(suite, "properties")
        ET.SubElement(properties, "property", name="seed", value=repr(report.seed))
        ET.SubElement(properties, "property", name="score", value=f"{report.right}/{len(report.scores)}")
        for problem in report.problems:
            ET.SubElement(properties, "property", name="problem", value=problem)
        for score in report.scores:
            case = ET.SubElement(suite, "testcase", classname=report.notebook.stem,
                                 name=f"Q{score.number:02d} {score.id}: {score.title}")
            if not score.right:
                failure = ET.SubElement(case, "failure", message=score.reason.splitlines()[0])
                failure.text = score.reason
    ET.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)


def table(reports: list[Report]) -> str:
    """The score table: each notebook's questions, then (for several notebooks) how many got each right."""
    out = []
    for report in reports:
        out.append(f"{report.notebook}  (variant: seed {report.seed!r})  {report.right}/{len(report.scores)} right")
        for problem in report.problems:
            out.append(f"  ! {problem.splitlines()[0]}")
        for score in report.scores:
            verdict = "right" if score.right else "WRONG"
            why = "" if score.right else "  " + _shorten(score.reason.splitlines()[0])
            out.append(f"  Q{score.number:<3}{score.id:<22}{verdict}{why}")
    if len(reports) > 1:
        out.append("")
        out.append(f"per question, over {len(reports)} notebooks:")
        for i, (qid, spec) in enumerate(BANK.items()):
            right = sum(report.scores[i].right for report in reports)
            out.append(f"  Q{i + 1:<3}{qid:<22}{right}/{len(reports)} right")
    return "\n".join(out)
