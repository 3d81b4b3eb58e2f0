"""Exercises that grade themselves: the question bank, the checks, release and grading.

Answers are asserted against protocol facts (RFC 9293, FACTS.md) computed here from each
variant's given numbers, never against what the code printed. The notebook tests release two
variants once and grade every notebook they need in one grading run (executing notebooks is the
slow part), then read the JUnit report and the score table.
"""
import contextlib
import copy
import io
import json
import re
import xml.etree.ElementTree as ET
from types import SimpleNamespace

import pytest

from tcplesson.exercises import BANK, REVEAL_VARIABLE, Sheet, WrongAnswer, check_seed
from tcplesson.exercises.__main__ import _seed, main
from tcplesson.exercises.grade import _question_reason, _variant, grade
from tcplesson.exercises.release import (BEGIN, END, PLACEHOLDER, SOLUTION_NOTEBOOK, execute, leaks, release,
                                         role, strip_solution)

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")
pytest.importorskip("nbval")

SEEDS = list(range(40)) + ["s1234567", "A-7"]
M = 2**32


def posed(seed, qid):
    return Sheet(seed).question(qid)


def expected(seed, qid):
    return posed(seed, qid)._answer.expected


def flat(text):
    """Messages are wrapped for reading; compare them with the line breaks taken out."""
    return " ".join(text.split())


def right_option(seed, qid):
    choice = posed(seed, qid)._answer
    return choice.options[choice.correct].text


# ---------------------------------------------------------------- the bank: answers are protocol facts

def test_the_sheet_has_at_least_12_questions_covering_lessons_1_to_7():
    assert len(BANK) >= 12
    assert {spec.lesson for spec in BANK.values()} == set(range(1, 8))


@pytest.mark.parametrize("seed", SEEDS[:20] + SEEDS[-2:])
def test_sequence_number_answers_follow_rfc_9293_section_3_4(seed):
    q = posed(seed, "fin-seq-wrap")
    assert q.isn + 1 + q.n >= M, "this question is about the wrap"
    assert expected(seed, "fin-seq-wrap") == (q.isn + 1 + q.n) % M
    q = posed(seed, "synack-ack")
    assert expected(seed, "synack-ack") == (q.client_isn + 1) % M
    q = posed(seed, "old-duplicate-rst")  # RST answering a segment with ACK: seq = SEG.ACK (3.10.7.1)
    assert expected(seed, "old-duplicate-rst") == (q.stale_seq + 1) % M
    q = posed(seed, "half-close-ack")  # the server's SYN, its data after the client's FIN, its FIN
    assert expected(seed, "half-close-ack") == (q.server_isn + 1 + q.n + 1) % M


@pytest.mark.parametrize("seed", SEEDS)
def test_timer_answers_follow_the_rto_and_2msl_rules(seed):
    q = posed(seed, "handshake-loss-open")
    d, rto = q.delay, q.rto
    if q.lost == 3:  # the client opened on the SYN,ACK; the server repeats its SYN,ACK after one RTO
        want = 2 * d if q.who == "client" else d + rto + 2 * d
    else:  # the client's SYN timer repeats the SYN after one RTO
        want = rto + 2 * d if q.who == "client" else rto + 3 * d
    assert expected(seed, "handshake-loss-open") == pytest.approx(want)
    q = posed(seed, "release-loss-time")
    assert expected(seed, "release-loss-time") == pytest.approx(q.sent[4 if q.lost == 4 else 6] + q.rto)
    q = posed(seed, "time-wait-end")
    assert expected(seed, "time-wait-end") == pytest.approx(q.sent[7] + 2 * q.msl)
    q = posed(seed, "time-wait-restart")  # TIME-WAIT restarts when it re-ACKs the repeated FIN
    assert expected(seed, "time-wait-restart") == pytest.approx(q.sent[6] + q.rto + q.delay + 2 * q.msl)


@pytest.mark.parametrize("seed", SEEDS)
def test_state_answers_follow_the_rfc_state_machine(seed):
    q = posed(seed, "release-state")
    after = {"client": ["FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT", "TIME-WAIT"],
             "server": ["CLOSE-WAIT", "CLOSE-WAIT", "LAST-ACK", "CLOSED"]}
    assert expected(seed, "release-state").value == after[q.who][q.k - 1]
    q = posed(seed, "who-time-wait")  # TIME-WAIT is on the side that sent the first FIN
    assert expected(seed, "who-time-wait").value == ("TIME-WAIT" if q.sender[4] == "server" else "CLOSED")
    q = posed(seed, "next-state")
    figure_5 = {("FIN-WAIT-1", "rcv_fin"): "CLOSING", ("FIN-WAIT-1", "rcv_fin_ack_of_fin"): "TIME-WAIT",
                ("FIN-WAIT-2", "rcv_fin"): "TIME-WAIT", ("SYN-SENT", "rcv_syn"): "SYN-RECEIVED",
                ("SYN-SENT", "rcv_rst"): "CLOSED", ("SYN-RECEIVED", "rcv_rst_passive"): "LISTEN",
                ("ESTABLISHED", "rcv_rst"): "CLOSED", ("CLOSE-WAIT", "close"): "LAST-ACK",
                ("LAST-ACK", "rcv_ack_of_fin"): "CLOSED"}
    assert expected(seed, "next-state").value == figure_5[(q.state, q.event)]
    q = posed(seed, "three-segment-close")  # the delayed ACK rides on the FIN when the server closes first
    assert expected(seed, "three-segment-close") == (3 if q.close_after < q.delayed_ack else 4)


@pytest.mark.parametrize("seed", SEEDS)
def test_the_confirmed_option_is_the_true_explanation(seed):
    assert "old duplicate SYN" in right_option(seed, "why-three-way")
    assert "last ACK is lost" in right_option(seed, "why-2msl")
    assert right_option(seed, "close-unread").startswith("An RST")
    q = posed(seed, "no-time-wait")
    assert right_option(seed, "no-time-wait").startswith("Connection reset" if q.time_wait == 0 else "A clean close")
    q = posed(seed, "release-loss-next")
    if q.lost == 4 or (q.lost == 5 and q.rto < 1 + 2 * q.delay):
        assert right_option(seed, "release-loss-next").startswith("The client sends its FIN again")
    elif q.lost == 5:  # the server's FIN (sent 1 s after the client's FIN arrived) acks the client's FIN first
        assert right_option(seed, "release-loss-next").startswith("Nothing is sent again")
    else:
        assert right_option(seed, "release-loss-next").startswith("The server sends its FIN again")


def test_variants_differ_in_numbers_and_option_order():
    for qid in BANK:
        texts = {posed(seed, qid).text() for seed in SEEDS}
        assert len(texts) >= 3, f"{qid} hardly varies"
    assert {posed(seed, "handshake-loss-open").lost for seed in SEEDS} == {1, 2, 3}
    assert {posed(seed, "release-loss-next").lost for seed in SEEDS} == {4, 5, 6, 7}
    assert {posed(seed, "no-time-wait").time_wait for seed in SEEDS} == {0.0, None}


def test_a_variant_is_the_same_every_time():
    assert [posed("s1", qid).text() for qid in BANK] == [Sheet("s1").question(qid).text() for qid in BANK]
    assert posed(7, "synack-ack").text() != posed("7", "synack-ack").text()  # 7 and "7" are two variants


# ---------------------------------------------------------------- the check: confirmation or a teaching error

def test_a_right_answer_prints_a_stable_confirmation(capsys):
    q = posed(3, "synack-ack")
    Sheet(3).check("synack-ack", q.client_isn + 1)
    Sheet(3).check("synack-ack", float(q.client_isn + 1))
    first, second = capsys.readouterr().out.splitlines()[:2]
    assert first.startswith("Q2 correct.") and second == first
    assert str(q.client_isn) not in capsys.readouterr().out


def test_a_known_mistake_gets_its_own_explanation(monkeypatch):
    monkeypatch.delenv(REVEAL_VARIABLE, raising=False)
    q = posed(3, "synack-ack")
    with pytest.raises(WrongAnswer) as wrong:
        Sheet(3).check("synack-ack", q.client_isn)
    message = flat(str(wrong.value))
    assert isinstance(wrong.value, AssertionError)
    assert "Q2" in message and "the client's ISN itself" in message
    assert 'Expected: the answer to "What acknowledgement number does the server\'s SYN,ACK carry?"' in message
    assert "Hint:" in message and "02_three_way_handshake" in message
    assert str(q.client_isn + 1) not in message, "a student's own check must not give the answer away"


def test_the_grader_sees_the_right_answer(monkeypatch):
    monkeypatch.setenv(REVEAL_VARIABLE, "1")
    q = posed(3, "synack-ack")
    with pytest.raises(WrongAnswer) as wrong:
        Sheet(3).check("synack-ack", 5)
    assert f"Right answer for this variant: {q.client_isn + 1}." in flat(str(wrong.value))


@pytest.mark.parametrize("qid, answer, says", [
    ("synack-ack", ..., "not answered yet"),
    ("synack-ack", "1234", "must be a number"),
    ("synack-ack", 12.5, "whole numbers"),
    ("synack-ack", True, "must be a number"),
    ("release-state", "FIN_WAIT", "not a state name"),
    ("release-state", 3, "not a state name"),
    ("why-2msl", "e", "one of the letters a, b, c, d"),
    ("why-2msl", ["a"], "one of the letters"),
    ("time-wait-end", float("nan"), "finite"),
])
def test_malformed_answers_are_wrong_with_a_reason(qid, answer, says):
    with pytest.raises(WrongAnswer) as wrong:
        Sheet(0).check(qid, answer)
    assert says in flat(str(wrong.value))


def test_answers_are_accepted_in_the_usual_spellings(capsys):
    sheet = Sheet(11)
    state = expected(11, "release-state")
    for spelling in (state, state.value, state.value.lower().replace("-", "_"), f" {state.value} "):
        sheet.check("release-state", spelling)
    letter = expected(11, "why-2msl")
    for spelling in (letter, letter.upper(), f"({letter})", f"{letter})"):
        sheet.check("why-2msl", spelling)
    sheet.check("time-wait-end", round(expected(11, "time-wait-end"), 3))
    assert capsys.readouterr().out.count("correct.") == 9


def test_a_wrong_option_is_rebutted_from_the_runs():
    choice = posed(0, "why-three-way")._answer
    wrong = next(letter for letter in choice.letters if letter != choice.expected)
    with pytest.raises(WrongAnswer, match=re.escape(f"({wrong}) is not right: ")):
        Sheet(0).check("why-three-way", wrong)


def test_inputs_are_checked_with_the_parameter_named():
    with pytest.raises(ValueError, match="question_id"):
        Sheet(0).check("no-such-question", 1)
    with pytest.raises(TypeError, match="seed"):
        Sheet(1.5)
    with pytest.raises(ValueError, match="seed"):
        Sheet(-1)
    with pytest.raises(ValueError, match="seed"):
        check_seed("has space")
    with pytest.raises(TypeError, match="multiple-choice"):
        posed(0, "synack-ack").letter("x")
    with pytest.raises(ValueError, match="matches 4 options"):
        posed(0, "why-2msl").letter("TIME-WAIT")
    with pytest.raises(AttributeError, match="client_isn, server_isn"):
        posed(0, "synack-ack").no_such_number


def test_command_line_seeds():
    assert _seed("7") == 7 and _seed("0") == 0
    assert _seed("007") == "007" and _seed("s123") == "s123"


# ---------------------------------------------------------------- the solution notebook

def solution_notebook():
    return nbformat.read(SOLUTION_NOTEBOOK, as_version=4)


def test_the_solution_notebook_asks_every_question_with_marked_solutions():
    nb = solution_notebook()
    assert nb.cells[1].cell_type == "code" and "import tcplesson" in nb.cells[1].source
    roles = [role(cell) for cell in nb.cells if cell.cell_type == "code"]
    for qid in BANK:
        assert [kind for q, kind in roles if q == qid] == ["ask", "answer", "check"]
    for cell in nb.cells:
        if role(cell)[1] == "answer":
            assert cell.source.count(BEGIN) == 1 and cell.source.count(END) == 1


def test_the_solutions_are_right_for_every_variant():
    """Run the notebook's code in-process for many seeds: no solution may rely on seed 0's numbers."""
    code = [cell.source for cell in solution_notebook().cells if cell.cell_type == "code"]
    for seed in SEEDS:
        namespace = {}
        with contextlib.redirect_stdout(io.StringIO()) as out:
            for source in code:
                exec(re.sub(r"Sheet\(seed=[^)]*\)", f"Sheet(seed={seed!r})", source), namespace)
        assert out.getvalue().count(" correct.") == len(BANK), seed


def test_strip_solution_keeps_the_rest_and_rejects_broken_markers():
    source = f"# your answer\n  {BEGIN}\n  answer = 42\n  {END}\nprint(answer)"
    assert strip_solution(source) == f"# your answer\n  {PLACEHOLDER}\nprint(answer)"
    for broken in (f"{BEGIN}\nx = 1", f"x = 1\n{END}", f"{BEGIN}\n{BEGIN}\n{END}"):
        with pytest.raises(ValueError, match="SOLUTION"):
            strip_solution(broken)


# ---------------------------------------------------------------- release and grade, for real

def solution_code(key, qid):
    """The code between the markers of a question's answer cell in an instructor's key."""
    source = next(cell.source for cell in key.cells if role(cell) == (qid, "answer"))
    return source.split(BEGIN)[1].split(END)[0].strip("\n")


def answered(student, key, replace=None):
    """The student's copy with every placeholder replaced by the key's solution (or by ``replace[qid]``)."""
    nb = copy.deepcopy(student)
    for cell in nb.cells:
        qid, kind = role(cell)
        if kind == "answer":
            code = (replace or {}).get(qid) or solution_code(key, qid)
            cell.source = cell.source.replace(PLACEHOLDER, code)
    return nb


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """Two released variants (one by the API, one by the command line) and every notebook the tests
    grade, graded in one run of the grade command; its table and JUnit report are kept."""
    root = tmp_path_factory.mktemp("exercises")
    student_path, key_path = release(root / "s42", "s42", solutions=True)
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        assert main(["release", str(root / "seven"), "--seed", "7", "--solutions"]) == 0
    other_student_path, other_key_path = [root / "seven" / name for name in
                                          ("09_exercises.ipynb", "09_exercises.solutions.ipynb")]
    assert printed.getvalue().split() == [str(other_student_path), str(other_key_path)]
    student, key = (nbformat.read(p, as_version=4) for p in (student_path, key_path))
    wrong = posed("s42", "synack-ack").client_isn  # a planted, classic mistake: the ISN itself
    tampered = answered(student, key, {"release-state": "answer = undefined_name"})
    for cell in tampered.cells:
        if role(cell) == ("handshake-loss-open", "check"):
            cell.source = "# NBVAL_SKIP\n" + cell.source
        if role(cell) == ("fin-seq-wrap", "ask"):  # saved from another variant, say
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="Q1. something else\n")]
    saved = answered(student, key)  # as a student leaves it: run in Jupyter and saved, outputs and all
    execute(saved, root)
    made = {"right": answered(student, key), "planted": answered(student, key, {"synack-ack": f"answer = {wrong}"}),
            "tampered": tampered, "saved": saved}
    for name, nb in made.items():
        nbformat.write(nb, root / f"{name}.ipynb")
    graded = {"blank": student_path, "key_s42": key_path, "key_7": other_key_path, "solution": SOLUTION_NOTEBOOK,
              **{name: root / f"{name}.ipynb" for name in made}}
    junit = root / "scores.xml"
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        status = main(["grade", *map(str, graded.values()), "--junit", str(junit), "--jobs", "2"])
    suites = {}
    for suite in ET.parse(junit).getroot().iter("testsuite"):
        name = next(n for n, p in graded.items() if str(p) == suite.get("name"))
        suites[name] = {case.get("name").split()[1].rstrip(":"):
                        (case.find("failure").text if case.find("failure") is not None else "")
                        for case in suite.iter("testcase")}
    return SimpleNamespace(student=student, key=key, other_student=nbformat.read(other_student_path, as_version=4),
                           other_key=nbformat.read(other_key_path, as_version=4), status=status,
                           table=printed.getvalue(), failures=suites, wrong=wrong)


def failed(course, name):
    return {qid for qid, reason in course.failures[name].items() if reason}


def test_the_solution_notebook_passes_strict_nbval(course):
    assert failed(course, "solution") == set()


def test_the_blank_release_fails_every_question(course):
    assert failed(course, "blank") == set(BANK)
    assert all("is not answered yet" in flat(reason) for reason in course.failures["blank"].values())


def test_right_answers_in_a_student_copy_pass_also_when_saved_after_running(course):
    assert failed(course, "right") == set()
    assert failed(course, "saved") == set()


def test_a_planted_wrong_answer_fails_exactly_that_question_and_says_why(course):
    assert failed(course, "planted") == {"synack-ack"}
    reason = flat(course.failures["planted"]["synack-ack"])
    assert "the client's ISN itself" in reason and "Hint:" in reason
    assert f"Right answer for this variant: {course.wrong + 1}" in reason  # shown to the grader only


def test_two_seeds_give_different_numbers_and_both_keys_pass(course):
    assert failed(course, "key_s42") == set() and failed(course, "key_7") == set()
    asked = {}
    for nb in (course.student, course.other_student):
        for cell in nb.cells:
            if role(cell)[1] == "ask":
                asked.setdefault(role(cell)[0], []).append("".join(out["text"] for out in cell.outputs))
    differ = [qid for qid, (a, b) in asked.items() if a != b]
    assert len(differ) >= len(BANK) - 2, f"only {differ} differ between the two variants"


def test_the_grader_refuses_skipped_checks_and_reports_cell_errors_and_output_changes(course):
    assert failed(course, "tampered") == {"handshake-loss-open", "release-state", "fin-seq-wrap"}
    assert "the check cell was changed" in course.failures["tampered"]["handshake-loss-open"]
    assert "answer cell failed: NameError" in course.failures["tampered"]["release-state"]
    assert "ask cell failed: its output differs" in course.failures["tampered"]["fin-seq-wrap"]


def test_the_score_table_and_exit_status(course):
    assert course.status == 1  # some notebooks have wrong answers
    lines = course.table.splitlines()
    assert any("right.ipynb" in line and line.endswith(f"{len(BANK)}/{len(BANK)} right") for line in lines)
    assert any("planted.ipynb" in line and line.endswith(f"{len(BANK) - 1}/{len(BANK)} right") for line in lines)
    assert re.search(r"Q2\s+synack-ack\s+WRONG\s+Q2 \(The acknowledgement number", course.table)
    assert "per question, over 8 notebooks:" in course.table
    assert re.search(r"Q2\s+synack-ack\s+6/8 right", course.table)  # wrong only in the blank and planted copies


def test_the_student_copy_leaks_no_solution(course):
    for student, key, seed in ((course.student, course.key, "s42"), (course.other_student, course.other_key, 7)):
        assert leaks(student, key) == []
        text = nbformat.writes(student)
        assert "SOLUTION" not in text
        for qid in BANK:
            value = expected(seed, qid)
            if isinstance(value, int) and value >= 10**5:
                assert str(value) not in text, f"{qid}'s answer {value} is in the student copy"
            if isinstance(value, float):
                cells = [c for c in student.cells if role(c)[0] == qid]
                assert f"{value:.3f}" not in json.dumps([c.get("outputs", []) for c in cells])


def test_the_student_copy_keeps_everything_but_the_solutions(course):
    for student_cell, key_cell in zip(course.student.cells, course.key.cells, strict=True):
        qid, kind = role(key_cell)
        if kind in ("answer", "check"):
            assert student_cell.outputs == [] and student_cell.execution_count is None
            assert "nbval-ignore-output" in student_cell.metadata["tags"]
            if kind == "check":
                assert student_cell.source == key_cell.source
        else:
            assert student_cell == key_cell
        if kind == "ask":  # the question as this variant asks it
            assert "".join(out["text"] for out in student_cell.outputs) == posed("s42", qid).text() + "\n"
    assert course.student.metadata["tcplesson"]["seed"] == "s42"


def test_a_changed_variant_scores_nothing():
    nb = solution_notebook()
    assert _variant(nb) == (0, "")
    nb.metadata["tcplesson"]["seed"] = "s42"  # as released to that student, who then went back to seed 0
    seed, problem = _variant(nb)
    assert seed == 0 and "changed from seed 's42' to 0" in problem
    variant = next(cell for cell in nb.cells if role(cell)[1] == "variant")
    variant.source = "ex = Sheet(seed='s42'); ex.check = print"
    assert "must be just" in _variant(nb)[1]


def test_a_check_cell_tagged_to_pass_anyway_is_refused():
    nb = solution_notebook()
    parts = {role(cell)[1]: cell for cell in nb.cells if role(cell)[0] == "synack-ack"}
    passed = {id(cell): ("passed", "") for cell in parts.values()}
    assert _question_reason("synack-ack", parts, passed) == ""
    for tag in ("raises-exception", "nbval-raises-exception", "nbval-skip"):
        parts["check"].metadata["tags"] = [tag]
        assert "the check cell was changed" in _question_reason("synack-ack", parts, passed)


def test_grade_and_release_check_their_inputs(tmp_path):
    with pytest.raises(ValueError, match="notebook"):
        grade([tmp_path / "missing.ipynb"])
    with pytest.raises(ValueError, match="notebooks"):
        grade([])
    with pytest.raises(ValueError, match="cell_timeout"):
        grade([SOLUTION_NOTEBOOK], cell_timeout=0)
    with pytest.raises(ValueError, match="jobs"):
        grade([SOLUTION_NOTEBOOK], jobs=0)
    with pytest.raises(ValueError, match="seed"):
        release(tmp_path, "no spaces allowed")
    with pytest.raises(ValueError, match="notebook"):
        release(tmp_path, 1, notebook=tmp_path / "missing.ipynb")
    with pytest.raises(SystemExit):
        with contextlib.redirect_stderr(io.StringIO()):
            main(["release", str(tmp_path), "--seed", "bad seed!"])
