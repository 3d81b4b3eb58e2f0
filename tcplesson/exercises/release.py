"""Release: turn the solution notebook into one student's copy.

The solution notebook (notebooks/09_exercises.ipynb, or its Chinese twin notebooks/zh/09_exercises.ipynb
for ``lang="zh"``: the same code, whose first cell also calls ``tl.set_language("zh")``) is the single
source. For a seed, release
rewrites its variant cell (``ex = Sheet(seed=...)``), executes it in this environment so that every
stored output (the questions with that student's numbers) is right for that variant, and writes

* the student version: each ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` block replaced by a
  placeholder that fails its check until answered; answer and check cells cleared (no outputs, no
  execution count) and tagged ``nbval-ignore-output``, so that under nbval they pass or fail only by
  whether the check raises, whatever the student's saved notebook shows; everything else kept;
* optionally the instructor's key for the same seed (``solutions=True``).

Cells are found by their metadata ``tcplesson: {question, role}``, which survives a student's edits.
"""
from __future__ import annotations

import copy
import re
from pathlib import Path

from .bank import BANK
from .sheet import check_seed
from .words import DEFAULT_LANG, languages

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
PLACEHOLDER = "answer = ...  # replace ... with your answer"
IGNORE_OUTPUT = "nbval-ignore-output"
SOLUTION_NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "09_exercises.ipynb"
SOLUTION_NOTEBOOKS = {DEFAULT_LANG: SOLUTION_NOTEBOOK, "zh": SOLUTION_NOTEBOOK.parent / "zh" / SOLUTION_NOTEBOOK.name}
_SET_LANGUAGE = re.compile(r"""^\s*(?:tl|tcplesson)\.set_language\(\s*["']([A-Za-z_-]+)["']\s*\)""", re.MULTILINE)
VARIANT_CALL = re.compile(r"Sheet\(seed=([^)]*)\)")  # the call the variant cell makes


def role(cell) -> tuple[str | None, str | None]:
    """(question id, role) of a cell: role is "ask", "answer", "check" or "variant"; (None, None) otherwise."""
    meta = cell.get("metadata", {}).get("tcplesson", {})
    return meta.get("question"), meta.get("role")


def notebook_language(nb) -> str:
    """The language a notebook's sheet speaks: the ``tl.set_language(...)`` its code calls (the last
    one), else its metadata ``tcplesson.lang``, else English; a language without exercise words
    counts as English."""
    found = [m[1] for cell in nb.cells if cell.cell_type == "code" for m in _SET_LANGUAGE.finditer(cell.source)]
    lang = found[-1] if found else nb.metadata.get("tcplesson", {}).get("lang", DEFAULT_LANG)
    return lang if lang in languages() else DEFAULT_LANG


def check_cell_source(question_id: str) -> str:
    """The exact source of a question's check cell (grading refuses a changed one)."""
    return f'ex.check("{question_id}", answer)'


def set_variant(nb, seed) -> None:
    """Point the notebook's variant cell at ``seed`` and record the seed in its metadata."""
    seed = check_seed(seed)
    cells = [cell for cell in nb.cells if role(cell)[1] == "variant"]
    if len(cells) != 1 or not VARIANT_CALL.search(cells[0].source):
        raise ValueError("the notebook needs exactly one variant cell (metadata tcplesson.role = 'variant') "
                         "containing Sheet(seed=...)")
    cells[0].source = VARIANT_CALL.sub(f"Sheet(seed={seed!r})", cells[0].source)
    nb.metadata.setdefault("tcplesson", {})["seed"] = seed


def strip_solution(source: str, where: str = "a cell") -> str:
    """Replace every solution block of a cell's source with the placeholder (kept at its indentation)."""
    out, inside = [], False
    for line in source.splitlines():
        marker = line.strip()
        if marker == BEGIN:
            if inside:
                raise ValueError(f"{where}: {BEGIN} inside another solution block")
            inside = True
            out.append(line[:len(line) - len(line.lstrip())] + PLACEHOLDER)
        elif marker == END:
            if not inside:
                raise ValueError(f"{where}: {END} without {BEGIN}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{where}: {BEGIN} without {END}")
    return "\n".join(out)


def student_version(nb):
    """A copy of an executed solution notebook with the solutions taken out (see the module docstring)."""
    student = copy.deepcopy(nb)
    for number, cell in enumerate(student.cells):
        if cell.cell_type != "code":
            continue
        has_solution = BEGIN in cell.source or END in cell.source
        if has_solution:
            cell.source = strip_solution(cell.source, f"cell {number}")
        if has_solution or role(cell)[1] in ("answer", "check"):
            cell.outputs, cell.execution_count = [], None
            tags = cell.metadata.setdefault("tags", [])
            if IGNORE_OUTPUT not in tags:
                tags.append(IGNORE_OUTPUT)
    return student


def solution_lines(nb) -> list[str]:
    """The lines inside the solution blocks that are specific enough to spot if they leaked."""
    lines, inside = [], False
    for cell in nb.cells:
        for line in cell.source.splitlines():
            marker = line.strip()
            if marker in (BEGIN, END):
                inside = marker == BEGIN
            elif inside and len(marker) >= 12 and not marker.startswith("#"):
                lines.append(marker)
    return lines


def leaks(student, solution) -> list[str]:
    """What of the solutions can be found in a student notebook: markers or solution lines, anywhere."""
    text = "\n".join(_all_text(student))
    found = [marker for marker in (BEGIN, END) if marker in text]
    return found + [line for line in solution_lines(solution) if line in text]


def _all_text(nb):
    for cell in nb.cells:
        yield cell.source
        for output in cell.get("outputs", []):
            yield str(output.get("text", ""))
            yield from (str(value) for value in output.get("data", {}).values())


def execute(nb, workdir: Path, timeout: float = 300) -> None:
    """Run every cell in a kernel of this very Python environment (the one tcplesson is installed in)."""
    import ipykernel.kernelspec
    from jupyter_client import KernelManager
    from jupyter_client.kernelspec import KernelSpecManager
    from nbclient import NotebookClient

    class _ThisPython(KernelSpecManager):
        def get_kernel_spec(self, kernel_name):
            return self.kernel_spec_class(resource_dir=ipykernel.kernelspec.RESOURCES,
                                          **ipykernel.kernelspec.get_kernel_dict())

    manager = KernelManager(kernel_name="python3", kernel_spec_manager=_ThisPython())
    NotebookClient(nb, km=manager, timeout=timeout, record_timing=False,
                   resources={"metadata": {"path": str(workdir)}}).execute()


def release(outdir, seed=0, *, notebook=None, solutions: bool = False, lang: str = DEFAULT_LANG) -> list[Path]:
    """Write the student version of ``notebook`` (default: the course's 09_exercises in ``lang``) for
    ``seed`` into ``outdir``, and with ``solutions=True`` also the instructor's key as
    ``NAME.solutions.ipynb``. Returns the paths written."""
    import nbformat

    seed = check_seed(seed)
    if not isinstance(lang, str) or lang not in languages():
        raise ValueError(f"lang must be one of {', '.join(languages())}, got {lang!r}")
    source = Path(notebook) if notebook is not None else SOLUTION_NOTEBOOKS.get(lang)
    if source is None:
        raise ValueError(f"the course has no {lang!r} exercise notebook; pass notebook=")
    if not source.is_file():
        raise ValueError(f"notebook {str(source)!r} does not exist")
    out = Path(outdir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"outdir {str(out)!r} exists and is not a directory")
    nb = nbformat.read(source, as_version=4)
    for cell in nb.cells:  # execution timestamps, if the source was saved with them, say nothing to a student
        cell.metadata.pop("execution", None)
    _check_questions(nb, source)
    written_in = notebook_language(nb)
    if written_in != lang:
        raise ValueError(f"notebook {str(source)!r} is written in {written_in!r}, not {lang!r} (its first code "
                         f"cell must call tl.set_language({lang!r}))")
    set_variant(nb, seed)
    nb.metadata["tcplesson"]["lang"] = lang
    execute(nb, source.parent)
    student = student_version(nb)
    leaked = leaks(student, nb)
    if leaked:
        raise RuntimeError(f"refusing to write a student notebook that shows solutions: {leaked[:3]}")
    out.mkdir(parents=True, exist_ok=True)
    written = [out / source.name]
    nbformat.write(student, written[0])
    if solutions:
        written.append(out / f"{source.stem}.solutions.ipynb")
        nbformat.write(nb, written[1])
    return written


def _check_questions(nb, source: Path) -> None:
    """Every check cell must be the exact, gradable one for its question."""
    for cell in nb.cells:
        qid, kind = role(cell)
        if kind == "check" and (qid not in BANK or cell.source.strip() != check_cell_source(qid)):
            raise ValueError(f"{source.name}: the check cell of question {qid!r} must read "
                             f"{check_cell_source(qid or 'ID')!r}")
