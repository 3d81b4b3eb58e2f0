"""The course around the notebooks: every lesson is in the syllabus, every objective points at a
lesson, and every notebook is stored in a state strict nbval can check.

nbval itself (run over notebooks/ by the same pytest command) re-executes every notebook and
compares its text outputs with the stored ones, so stale outputs fail there; these tests catch
what nbval cannot see: cells never executed, stored errors, untagged widget outputs.
"""
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SYLLABUS = (ROOT / "course" / "syllabus.md").read_text(encoding="utf-8")
LESSON_NAME = re.compile(r"\b(\d\d_[a-z0-9_]+)\b")
WIDGET = "application/vnd.jupyter.widget-view+json"


def objective_rows():
    """Rows of the syllabus's objectives table: | id | objective | notebooks | questions |."""
    rows = []
    for line in SYLLABUS.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) >= 4 and re.fullmatch(r"O\d+", cells[0]):
            rows.append(cells)
    return rows


def test_there_are_lessons():
    assert len(NOTEBOOKS) >= 8


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_notebook_is_in_the_syllabus(notebook):
    assert notebook.stem in SYLLABUS


def test_every_lesson_the_syllabus_names_exists():
    names = {p.stem for p in NOTEBOOKS}
    missing = set(LESSON_NAME.findall(SYLLABUS)) - names
    assert not missing, f"the syllabus names notebooks that do not exist: {sorted(missing)}"


def test_every_objective_points_at_an_existing_lesson_and_a_question():
    rows = objective_rows()
    assert len(rows) >= 10
    names = {p.stem for p in NOTEBOOKS}
    for ident, text, lessons, questions in (r[:4] for r in rows):
        named = set(LESSON_NAME.findall(lessons))
        assert named, f"objective {ident} ({text}) names no notebook"
        assert named <= names, f"objective {ident} names missing notebooks {sorted(named - names)}"
        assert questions, f"objective {ident} has no check question"


def load(notebook: Path) -> dict:
    return json.loads(notebook.read_text(encoding="utf-8"))


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_outputs_are_fit_for_strict_nbval(notebook):
    for i, cell in enumerate(load(notebook)["cells"]):
        if cell["cell_type"] != "code" or not "".join(cell["source"]).strip():
            continue
        where = f"{notebook.name} cell {i}"
        assert cell.get("execution_count") is not None, f"{where} was never executed"
        tags = cell.get("metadata", {}).get("tags", [])
        for output in cell.get("outputs", []):
            assert output["output_type"] != "error", f"{where} stores an error"
            data = output.get("data", {})
            if WIDGET in data:
                assert "nbval-ignore-output" in tags, f"{where} shows a widget without the nbval-ignore-output tag"
            text = "".join(data.get("text/plain", "")) + "".join(output.get("text", ""))
            assert not re.search(r" at 0x[0-9a-f]+", text), f"{where} prints a memory address"


@pytest.mark.parametrize("notebook", [p for p in NOTEBOOKS if p.stem[:2] in
                                      {"01", "02", "03", "04", "05", "06", "07"}], ids=lambda p: p.stem)
def test_each_lesson_has_goals_an_explorer_and_questions(notebook):
    cells = load(notebook)["cells"]
    first = next("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    assert "After this lesson you can" in first
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    assert "explore(" in code, "a lesson needs at least one explorer with sliders"
    markdown = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    assert markdown.count("<details>") >= 3, "a lesson ends with check-yourself questions"
