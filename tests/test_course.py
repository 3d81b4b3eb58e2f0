"""The course around the notebooks: every lesson is in the syllabus, every objective points at a
lesson, and every notebook is stored in a state strict nbval can check.

nbval itself (run over notebooks/ by the same pytest command) re-executes every notebook and
compares its text outputs with the stored ones, so stale outputs fail there; these tests catch
what nbval cannot see: cells never executed, stored errors, untagged widget outputs.
"""
import html
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


@pytest.mark.parametrize("notebook", [p for p in NOTEBOOKS if p.stem[:2] not in {"00", "08", "09"}],
                         ids=lambda p: p.stem)
def test_each_lesson_has_goals_an_explorer_and_questions(notebook):
    cells = load(notebook)["cells"]
    first = next("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    assert "After this lesson you can" in first
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    assert re.search(r"\bexplore\w*\(", code), "a lesson needs at least one explorer with sliders"
    markdown = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    assert markdown.count("<details>") >= 3, "a lesson ends with check-yourself questions"


# --- The question indexes (course/questions.md, course/zh/questions.md) and the Chinese syllabus ---
#
# A link into a notebook names a heading or a cell, the way JupyterLab 4 resolves a URL fragment:
# `#cell-id=ID` scrolls to the cell with that id (the notebook's `_findCellById`), any other fragment
# to the heading whose id equals it. JupyterLab gives a rendered Markdown heading the id
# `header.textContent.replace(/ /g, '-')` (packages/rendermime/src/renderers.ts,
# `renderMarkdown.createHeaderId`, applied by `Private.headerAnchors`): the heading's text as
# displayed, case and punctuation kept, each space a hyphen. It compares the fragment with that id
# without decoding it, so the links write the anchor as it is, not percent-encoded.

COURSE = ROOT / "course"
INDEXES = {"en": COURSE / "questions.md", "zh": COURSE / "zh" / "questions.md"}
NOTEBOOK_DIR = {"en": ROOT / "notebooks", "zh": ROOT / "notebooks" / "zh"}
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")


def heading_text(source: str) -> str:
    """The textContent of a rendered ATX heading: code spans kept literally, emphasis, links and
    inline HTML tags stripped to their text, backslash escapes and entities resolved."""
    parts = re.split(r"(`+)(.+?)\1", source)
    out = []
    for i in range(0, len(parts), 3):
        part = parts[i]
        part = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", part)
        part = re.sub(r"<[^>]+>", "", part)
        part = re.sub(r"(\*\*|__)(.+?)\1", r"\2", part)
        part = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*", r"\1", part)
        part = re.sub(r"(?<![\w_])_(?!\s)(.+?)(?<!\s)_(?!\w)", r"\1", part)
        part = re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", part)
        out.append(html.unescape(part))
        if i + 2 < len(parts):
            out.append(parts[i + 2].strip())          # the code span's text, as written
    return "".join(out).strip()


def header_anchor(text: str) -> str:
    return text.replace(" ", "-")


def heading_anchors(notebook: Path) -> list[str]:
    anchors = []
    for cell in load(notebook)["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        fenced = False
        for line in "".join(cell["source"]).splitlines():
            if FENCE.match(line):
                fenced = not fenced
            elif not fenced and (m := ATX.match(line)):
                anchors.append(header_anchor(heading_text(m.group(2) or "")))
    return anchors


def code_cell_ids(notebook: Path) -> set[str]:
    return {c.get("id") for c in load(notebook)["cells"] if c["cell_type"] == "code"}


def markdown_links(text: str) -> list[str]:
    """Destinations of inline links [text](destination); a destination may hold balanced ()."""
    links, start = [], 0
    while (k := text.find("](", start)) >= 0:
        depth, j = 0, k + 2
        while j < len(text) and not (text[j] == ")" and depth == 0) and not text[j].isspace():
            depth += {"(": 1, ")": -1}.get(text[j], 0)
            j += 1
        links.append(text[k + 2:j])
        start = j
    return [link for link in links if not re.match(r"[a-z]+:", link)]   # local links only


def index_links(lang: str) -> list[tuple[str, Path, str]]:
    index = INDEXES[lang]
    out = []
    for link in markdown_links(index.read_text(encoding="utf-8")):
        path, _, fragment = link.partition("#")
        out.append((link, (index.parent / path).resolve() if path else index, fragment))
    return out


def test_the_question_indexes_exist():
    for index in INDEXES.values():
        assert index.is_file(), f"{index.relative_to(ROOT)} is missing"


@pytest.mark.parametrize("lang", sorted(INDEXES))
def test_every_link_of_a_question_index_points_at_a_notebook_heading_or_cell(lang):
    links = index_links(lang)
    assert links, f"{INDEXES[lang].name} ({lang}) links to nothing"
    cache = {}
    for link, target, fragment in links:
        where = f"{INDEXES[lang].relative_to(ROOT)}: ({link})"
        assert target.exists(), f"{where} points to a file that does not exist"
        if target.suffix != ".ipynb":
            continue
        if re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", target.name) and target.name != "09_exercises.ipynb":
            assert target.parent == NOTEBOOK_DIR[lang].resolve(), \
                f"{where}: the {lang} index should link to the lessons in {NOTEBOOK_DIR[lang].relative_to(ROOT)}"
        if not fragment:
            continue
        if target not in cache:
            cache[target] = (heading_anchors(target), code_cell_ids(target))
        anchors, cells = cache[target]
        if fragment.startswith("cell-id="):
            assert fragment[len("cell-id="):] in cells, f"{where}: {target.name} has no code cell with that id"
        else:
            assert fragment in anchors, (f"{where}: {target.name} has no heading with the anchor {fragment!r}; "
                                         f"its anchors are {anchors}")


def syllabus_objectives(text: str) -> dict[str, set[str]]:
    """Objective id -> the lessons that teach it, from a syllabus's objectives table."""
    out = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) >= 4 and re.fullmatch(r"O\d+", cells[0]):
            out[cells[0]] = set(LESSON_NAME.findall(cells[2]))
    return out


def test_the_chinese_syllabus_has_the_same_objectives_and_lessons():
    chinese = (COURSE / "zh" / "syllabus.md").read_text(encoding="utf-8")
    english_objectives, chinese_objectives = syllabus_objectives(SYLLABUS), syllabus_objectives(chinese)
    assert list(chinese_objectives) == list(english_objectives), "the objective ids differ"
    for ident, lessons in english_objectives.items():
        assert chinese_objectives[ident] == lessons, f"{ident} is taught in {sorted(lessons)} in English"
    assert set(LESSON_NAME.findall(chinese)) == set(LESSON_NAME.findall(SYLLABUS)), "the lessons differ"
    for name in set(LESSON_NAME.findall(chinese)):
        assert (ROOT / "notebooks" / "zh" / f"{name}.ipynb").exists() or name == "09_exercises", \
            f"the Chinese syllabus names {name}, which has no Chinese twin"


@pytest.mark.parametrize("lang", sorted(INDEXES))
def test_every_lesson_of_the_syllabus_has_questions_in_the_index(lang):
    lessons = {name for name in LESSON_NAME.findall(SYLLABUS) if name[:2] not in ("00", "09")}
    assert len(lessons) >= 9
    linked = {target.stem for _, target, _ in index_links(lang) if target.suffix == ".ipynb"}
    assert not lessons - linked, f"the {lang} question index links to no section of {sorted(lessons - linked)}"


# --- The Chinese README and course documents ---

README_ZH = ROOT / "README.zh-CN.md"
ZH_DOCUMENTS = [README_ZH, COURSE / "zh" / "syllabus.md", COURSE / "zh" / "instructor-guide.md"]


@pytest.mark.parametrize("document", ZH_DOCUMENTS, ids=lambda p: p.name)
def test_every_local_link_of_a_chinese_document_exists(document):
    for link in markdown_links(document.read_text(encoding="utf-8")):
        path = link.partition("#")[0]
        if path:
            assert (document.parent / path).exists(), f"{document.relative_to(ROOT)}: ({link}) does not exist"


def test_the_chinese_readme_starts_the_chinese_course():
    text = README_ZH.read_text(encoding="utf-8")
    block = re.search(r"```bash\n(.*?)```", text, re.S).group(1)
    assert [line.split()[0] for line in block.splitlines() if line.strip()] == ["bin/lab", "bin/test"]
    binder = "https://mybinder.org/v2/gh/tcplesson/tcplesson/HEAD?urlpath=lab/tree/notebooks/zh/00_start_here.ipynb"
    assert f"[![Binder](https://mybinder.org/badge_logo.svg)]({binder})" in text
    lessons = {name for name in LESSON_NAME.findall(SYLLABUS)}
    for name in lessons:
        assert f"(notebooks/zh/{name}.ipynb)" in text, f"the lesson table does not link notebooks/zh/{name}"


def test_the_chinese_readme_shows_what_its_example_prints():
    import tcplesson as tl

    text = README_ZH.read_text(encoding="utf-8")
    code, shown = re.search(r"```python\n(import tcplesson as tl\ntl\.set_language\(\"zh\"\)\n.*?)```\n\n```\n(.*?)```",
                            text, re.S).groups()
    printed = []
    before = tl.labels.get_language()
    try:
        exec(code, {"print": lambda *a: printed.append(" ".join(map(str, a)))})
    finally:
        tl.set_language(before)
    assert "\n".join(printed).rstrip("\n") == shown.rstrip("\n")
