"""Exercises that grade themselves: the question bank, the checks, release and grading.

Answers are asserted against protocol facts (RFC 9293, docs/protocol-facts.md) computed here from each
variant's given numbers, never against what the code printed. The notebook tests release two
variants once per language (English and Chinese) and grade every notebook they need in one grading
run per language (executing notebooks is the slow part), then read the JUnit report and the score
table.
"""
import contextlib
import copy
import functools
import io
import json
import re
import string
import xml.etree.ElementTree as ET
from types import SimpleNamespace

import pytest

import tcplesson as tl
from tcplesson.exercises import BANK, REVEAL_VARIABLE, Sheet, WrongAnswer, check_seed, words_en, words_zh
from tcplesson.exercises.__main__ import _seed, main
from tcplesson.exercises.grade import _question_reason, _variant, grade
from tcplesson.exercises.release import (BEGIN, END, PLACEHOLDER, SOLUTION_NOTEBOOK, SOLUTION_NOTEBOOKS, execute,
                                         leaks, notebook_language, release, role, strip_solution)
from tcplesson.exercises.answers import Choice

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")
pytest.importorskip("nbval")

SEEDS = list(range(40)) + ["s1234567", "A-7"]
M = 2**32
LANGS = ["en", "zh"]
# what each language's feedback says, for the checks that read it
SAYS = {
    "en": {"unanswered": "is not answered yet", "isn_itself": "the client's ISN itself", "hint": "Hint:",
           "reveal": "Right answer for this variant:", "changed": "the check cell was changed",
           "name_error": "answer cell failed: NameError", "differs": "ask cell failed: its output differs",
           "q2_wrong": r"Q2 \(The acknowledgement number"},
    "zh": {"unanswered": "还没有作答", "isn_itself": "这是客户端的 ISN 本身", "hint": "提示：",
           "reveal": "本变体的正确答案：", "changed": "检查单元格被改动了",
           "name_error": "答案单元格出错：NameError", "differs": "题目单元格出错：它的输出与保存的输出不同",
           "q2_wrong": r"Q2（SYN,ACK 的确认号）"},
}
# the seventeen questions the sheet had before the 408-style ones: their ids and order are fixed
FIRST_17 = ["fin-seq-wrap", "synack-ack", "handshake-loss-open", "old-duplicate-rst", "why-three-way",
            "release-state", "release-loss-next", "release-loss-time", "half-close-ack", "time-wait-end",
            "time-wait-restart", "why-2msl", "no-time-wait", "who-time-wait", "next-state", "three-segment-close",
            "close-unread"]


def posed(seed, qid, lang="en"):
    return Sheet(seed, lang=lang).question(qid)


def expected(seed, qid):
    return posed(seed, qid)._answer.expected


def flat(text):
    """Messages are wrapped for reading; compare them with the line breaks taken out."""
    return " ".join(text.split())


def right_option(seed, qid):
    choice = posed(seed, qid)._answer
    return choice.options[choice.correct].text


# ---------------------------------------------------------------- the bank: answers are protocol facts

def test_the_sheet_has_at_least_12_questions_covering_lessons_1_to_7_and_10_to_12():
    assert len(BANK) >= 12
    assert {spec.lesson for spec in BANK.values()} == set(range(1, 8)) | {10, 11, 12}


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


# ---------------------------------------------------------------- the solution notebooks (English and its Chinese twin)

def solution_notebook(lang="en"):
    return nbformat.read(SOLUTION_NOTEBOOKS[lang], as_version=4)


@pytest.mark.parametrize("lang", LANGS)
def test_the_solution_notebook_asks_every_question_with_marked_solutions(lang):
    nb = solution_notebook(lang)
    assert nb.cells[1].cell_type == "code" and "import tcplesson" in nb.cells[1].source
    assert notebook_language(nb) == lang
    roles = [role(cell) for cell in nb.cells if cell.cell_type == "code"]
    for qid in BANK:
        assert [kind for q, kind in roles if q == qid] == ["ask", "answer", "check"]
    for cell in nb.cells:
        if role(cell)[1] == "answer":
            assert cell.source.count(BEGIN) == 1 and cell.source.count(END) == 1


def _code_without_comments(source):
    return [line.split("#")[0].rstrip() for line in source.splitlines() if not line.strip().startswith("#")
            or line.strip().startswith("###")]


def test_the_chinese_solution_notebook_is_the_twin_of_the_english_one():
    en, zh = solution_notebook("en"), solution_notebook("zh")
    en_code = [c for c in en.cells if c.cell_type == "code"]
    zh_code = [c for c in zh.cells if c.cell_type == "code"]
    assert len(en_code) == len(zh_code)
    first = zh_code[0].source.splitlines()
    assert first[:2] == ["import tcplesson as tl", 'tl.set_language("zh")']
    assert "\n".join(first[:1] + first[2:]) == en_code[0].source
    for a, b in zip(en_code[1:], zh_code[1:]):
        assert a.metadata == b.metadata
        assert _code_without_comments(a.source) == _code_without_comments(b.source)
    assert [c.cell_type for c in en.cells] == [c.cell_type for c in zh.cells]


@pytest.mark.parametrize("lang", LANGS)
def test_the_solutions_are_right_for_every_variant(lang):
    """Run the notebook's code in-process for many seeds: no solution may rely on seed 0's numbers."""
    code = [cell.source for cell in solution_notebook(lang).cells if cell.cell_type == "code"]
    confirmation = {"en": " correct.", "zh": " 正确。"}[lang]
    try:
        for seed in SEEDS:
            namespace = {}
            with contextlib.redirect_stdout(io.StringIO()) as out:
                for source in code:
                    exec(re.sub(r"Sheet\(seed=[^)]*\)", f"Sheet(seed={seed!r})", source), namespace)
            assert out.getvalue().count(confirmation) == len(BANK), seed
    finally:
        tl.set_language("en")


def test_strip_solution_keeps_the_rest_and_rejects_broken_markers():
    source = f"# your answer\n  {BEGIN}\n  answer = 42\n  {END}\nprint(answer)"
    assert strip_solution(source) == f"# your answer\n  {PLACEHOLDER}\nprint(answer)"
    for broken in (f"{BEGIN}\nx = 1", f"x = 1\n{END}", f"{BEGIN}\n{BEGIN}\n{END}"):
        with pytest.raises(ValueError, match="SOLUTION"):
            strip_solution(broken)


# ---------------------------------------------------------------- release and grade, for real, in both languages

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


@pytest.fixture(scope="module", params=LANGS)
def course(request, tmp_path_factory):
    """Two released variants in one language (one by the API, one by the command line) and every
    notebook the tests grade, graded in one run of the grade command; its table and JUnit report
    are kept."""
    lang = request.param
    root = tmp_path_factory.mktemp(f"exercises-{lang}")
    student_path, key_path = release(root / "s42", "s42", solutions=True, lang=lang)
    command = ["release", str(root / "seven"), "--seed", "7", "--solutions"] + (["--lang", lang] if lang != "en" else [])
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        assert main(command) == 0
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
    graded = {"blank": student_path, "key_s42": key_path, "key_7": other_key_path, "solution": SOLUTION_NOTEBOOKS[lang],
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
    return SimpleNamespace(lang=lang, says=SAYS[lang], student=student, key=key,
                           other_student=nbformat.read(other_student_path, as_version=4),
                           other_key=nbformat.read(other_key_path, as_version=4), status=status,
                           table=printed.getvalue(), failures=suites, wrong=wrong,
                           junit=ET.parse(junit).getroot())


def failed(course, name):
    return {qid for qid, reason in course.failures[name].items() if reason}


def test_the_solution_notebook_passes_strict_nbval(course):
    assert failed(course, "solution") == set()


def test_the_blank_release_fails_every_question(course):
    assert failed(course, "blank") == set(BANK)
    assert all(course.says["unanswered"] in flat(reason) for reason in course.failures["blank"].values())


def test_right_answers_in_a_student_copy_pass_also_when_saved_after_running(course):
    assert failed(course, "right") == set()
    assert failed(course, "saved") == set()


def test_a_planted_wrong_answer_fails_exactly_that_question_and_says_why(course):
    assert failed(course, "planted") == {"synack-ack"}
    reason = flat(course.failures["planted"]["synack-ack"])
    assert course.says["isn_itself"] in reason and course.says["hint"] in reason
    assert f"{course.says['reveal']} {course.wrong + 1}".replace("： ", "：") in reason  # shown to the grader only
    if course.lang == "zh":  # a Chinese notebook is graded with Chinese feedback, titles and all
        assert "Hint:" not in reason and "Expected" not in reason
        titles = [case.get("name") for case in course.junit.iter("testcase")]
        assert "Q02 synack-ack: SYN,ACK 的确认号" in titles


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
    assert course.says["changed"] in course.failures["tampered"]["handshake-loss-open"]
    assert course.says["name_error"] in course.failures["tampered"]["release-state"]
    assert course.says["differs"] in course.failures["tampered"]["fin-seq-wrap"]


def test_the_score_table_and_exit_status(course):
    assert course.status == 1  # some notebooks have wrong answers
    lines = course.table.splitlines()
    assert any("right.ipynb" in line and line.endswith(f"{len(BANK)}/{len(BANK)} right") for line in lines)
    assert any("planted.ipynb" in line and line.endswith(f"{len(BANK) - 1}/{len(BANK)} right") for line in lines)
    assert re.search(r"Q2\s+synack-ack\s+WRONG\s+" + course.says["q2_wrong"], course.table)
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
        if kind == "ask":  # the question as this variant asks it, in the notebook's language
            assert "".join(out["text"] for out in student_cell.outputs) == posed("s42", qid, course.lang).text() + "\n"
    assert course.student.metadata["tcplesson"]["seed"] == "s42"
    assert course.student.metadata["tcplesson"]["lang"] == course.lang
    assert notebook_language(course.student) == course.lang


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
    with pytest.raises(ValueError, match="lang must be one of en, zh"):
        release(tmp_path, 1, lang="fr")
    with pytest.raises(ValueError, match="written in 'en', not 'zh'"):
        release(tmp_path, 1, lang="zh", notebook=SOLUTION_NOTEBOOK)
    with pytest.raises(SystemExit), contextlib.redirect_stderr(io.StringIO()) as err:
        main(["release", str(tmp_path), "--lang", "fr"])
    assert "invalid choice: 'fr'" in err.getvalue() and "'en', 'zh'" in err.getvalue()


# ---------------------------------------------------------------- the sheet's language

def test_the_existing_questions_keep_their_ids_and_numbers():
    """Adding questions must not change existing variants: the first 17 come first, in their order
    (each question's numbers depend only on the seed and its own id)."""
    assert list(BANK)[:20] == FIRST_17 + ["release-state-408", "release-ack-uvw", "close-time-2msl"]
    assert list(BANK)[20:23] == ["accept-queue-admitted", "full-queue-client", "syn-cookies-flood"]
    assert list(BANK)[23:26] == ["rst-after-close", "orphan-fin-timeout", "linger-zero"]
    assert list(BANK)[26:29] == ["tw-reuse-isn", "ports-per-destination", "syn-meets-time-wait"]
    assert list(BANK)[29:32] == ["crash-idle-peer", "keepalive-gives-up", "half-open-reconnect"]


def _fields(template):
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_english_key_has_a_chinese_entry_with_the_same_fields():
    assert set(words_en.MESSAGES) <= set(words_zh.MESSAGES)
    for key, template in words_en.MESSAGES.items():
        assert _fields(words_zh.MESSAGES[key]) <= _fields(template) | {"number"}, key
    assert set(BANK) <= set(words_en.QUESTIONS) and set(words_en.QUESTIONS) <= set(words_zh.QUESTIONS)
    for qid, english in words_en.QUESTIONS.items():
        chinese = words_zh.QUESTIONS[qid]
        assert set(english) <= set(chinese), f"{qid} lacks {sorted(set(english) - set(chinese))}"
        for key, template in english.items():
            assert _fields(chinese[key]) <= _fields(template) | {"textbook"}, (qid, key)


CJK = re.compile(r"[\u3400-\u9fff]")


def chinese_share(text):
    """The share of CJK characters among the letters of ``text``, code and numbers left out."""
    text = re.sub(r"`[^`]*`", " ", text)
    text = re.sub(r"[\w.]+\([^)]*\)", " ", text)  # calls: tl.simulate(...), close()
    text = re.sub(r"\b\w+=\S+", " ", text)  # seq=u, handshake="two-way"
    text = re.sub(r"\b\d\d_[a-z0-9_]+\b|'[^']*'", " ", text)  # lesson notebooks, an answer quoted back
    text = re.sub("|".join(sorted((s.value for s in tl.State), key=len, reverse=True)), " ", text)  # RFC names
    cjk, latin = len(CJK.findall(text)), len(re.findall(r"[A-Za-z]", text))
    return cjk / max(1, cjk + latin)


@pytest.mark.parametrize("seed", SEEDS[:8] + SEEDS[-2:])
def test_the_chinese_sheet_is_written_in_chinese(seed, monkeypatch):
    monkeypatch.setenv(REVEAL_VARIABLE, "1")
    sheet = Sheet(seed, lang="zh")
    for qid in BANK:
        q = sheet.question(qid)
        parts = [q.title, q.setting, q.asks, q.hint, q.explanation]
        if isinstance(q._answer, Choice):
            parts += [o.text for o in q._answer.options] + [o.rebuttal for o in q._answer.options if o.rebuttal]
        else:
            parts += list(q._answer.traps.values())
        for part in filter(None, parts):
            assert chinese_share(part) > 0.3, (qid, part)
        assert chinese_share(" ".join(parts)) > 0.5, qid
        assert "Answer with" not in q.text() and "lesson" not in q.text()
        for answer in (..., "nonsense", 12.5):
            with pytest.raises(WrongAnswer) as wrong:
                sheet.check(qid, answer)
            message = str(wrong.value)
            assert chinese_share(message) > 0.4, (qid, message)
            assert not re.search(r"\b(Hint|Expected|See lesson|not right|is not answered)\b", message)


def test_the_language_follows_set_language_and_the_numbers_do_not(capsys):
    try:
        tl.set_language("zh")
        assert Sheet(5).lang == "zh" and "正确" not in Sheet(5, lang="en").question("synack-ack").text()
        chinese = Sheet(5).question("synack-ack")
    finally:
        tl.set_language("en")
    english = Sheet(5).question("synack-ack")
    assert Sheet(5).lang == "en"
    assert chinese.given == english.given and chinese._answer.expected == english._answer.expected
    assert CJK.search(chinese.text()) and not CJK.search(english.text())
    Sheet(5, lang="zh").check("synack-ack", english.client_isn + 1)
    assert capsys.readouterr().out.startswith("Q2 正确。")
    with pytest.raises(ValueError, match="lang must be one of en, zh"):
        Sheet(0, lang="fr")


def test_chinese_sheets_accept_phrases_states_and_letters_in_both_languages(capsys):
    sheet = Sheet(11, lang="zh")
    q = sheet.question("why-2msl")
    assert q.letter("最后一个 ACK 丢失") == q.letter("last ACK is lost") == q._answer.expected
    with pytest.raises(ValueError, match="matches 4 options"):
        q.letter("TIME-WAIT")
    state = expected(11, "release-state")
    textbook = tl.labels.text(f"textbook.{state.value}", "zh")
    for spelling in (state.value, textbook, f" {textbook} "):
        sheet.check("release-state", spelling)
        Sheet(11).check("release-state", spelling)  # the textbook names are accepted on any sheet
    assert capsys.readouterr().out.count("正确。") == 3
    with pytest.raises(WrongAnswer, match="不是状态名"):
        sheet.check("release-state", "等待")


# ---------------------------------------------------------------- the 408-style questions: facts worked out here

# RFC 9293 section 3.6 (figure 5): where each side is at each step of a release A starts
RELEASE_STEPS = {"a_fin_sent": "FIN-WAIT-1", "a_ack_in": "FIN-WAIT-2", "a_fin_in": "TIME-WAIT",
                 "b_fin_in": "CLOSE-WAIT", "b_fin_sent": "LAST-ACK", "b_ack_in": "CLOSED"}


@pytest.mark.parametrize("lang", LANGS)
def test_408_release_states_follow_rfc_9293_section_3_6(lang):
    hosts, firsts = set(), set()
    for seed in SEEDS:
        q = posed(seed, "release-state-408", lang)
        choice = q._answer
        assert choice.options[choice.correct].english == RELEASE_STEPS[q.moment]
        assert q.host == ("A" if q.moment.startswith("a_") else "B")
        assert {q.a, q.b} == {"client", "server"}
        assert len({o.english for o in choice.options}) == 4
        hosts.add(q.host)
        firsts.add(q.a)
    assert hosts == {"A", "B"} and firsts == {"client", "server"}  # A is whoever closes first


@pytest.mark.parametrize("seed", SEEDS)
def test_408_last_ack_is_seq_u_plus_1_ack_w_plus_1(seed):
    q = posed(seed, "release-ack-uvw")
    assert q.w == (q.v + q.n) % M  # the server's ACK at v, its n bytes of half-close data, then its FIN at w
    want = (q.w + 1) % M if q.field == "ack" else (q.u + 1) % M  # RFC 9293 3.4: FIN occupies one number
    assert expected(seed, "release-ack-uvw") == want
    assert expected(seed, "release-ack-uvw") == posed(seed, "release-ack-uvw", "zh")._answer.expected


def test_408_last_ack_variants_cover_both_fields_and_a_half_close():
    qs = [posed(seed, "release-ack-uvw") for seed in SEEDS]
    assert {q.field for q in qs} == {"ack", "seq"}
    assert any(q.n == 0 for q in qs) and any(q.n > 0 for q in qs)


@pytest.mark.parametrize("seed", SEEDS)
def test_408_time_until_both_closed_is_handshake_close_and_2msl(seed):
    q = posed(seed, "close-time-2msl")
    d = q.rtt / 2 if q.link == "rtt" else q.delay
    # SYN, SYN,ACK (the client is open), the client's pause, its FIN, the server's pause, the server's
    # FIN back; then the client waits 2MSL in TIME-WAIT, and the server was CLOSED long before
    want = 2 * d + q.open_wait + d + q.fin_wait + d + 2 * q.msl
    assert expected(seed, "close-time-2msl") == pytest.approx(want, abs=1e-9)


def test_408_time_traps_name_the_usual_mistakes(monkeypatch):
    monkeypatch.delenv(REVEAL_VARIABLE, raising=False)
    q = posed(0, "close-time-2msl")
    d = q.rtt / 2 if q.link == "rtt" else q.delay
    legs = 4 * d + q.open_wait + q.fin_wait
    for lang, notes in (("en", ("2 x MSL in TIME-WAIT", "not one MSL", "not from the moment the connection opened")),
                        ("zh", ("2 x MSL", "不是一个 MSL", "而不是从连接建立时算起"))):
        for answer, note in zip((legs + d, legs + q.msl, legs - 2 * d + 2 * q.msl), notes):
            with pytest.raises(WrongAnswer) as wrong:
                Sheet(0, lang=lang).check("close-time-2msl", round(answer, 3))
            assert note in flat(str(wrong.value))


# ---------------------------------------------------------------- lesson 10: listen queues, worked out here

LINUX_SYN_RETRIES = 6  # tcp_syn_retries on Linux 6.x


@pytest.mark.parametrize("seed", SEEDS)
def test_a_listener_that_never_accepts_admits_backlog_plus_one(seed):
    q = posed(seed, "accept-queue-admitted")
    assert q.n > q.backlog + 1 and q.every > 2 * q.delay  # more clients than fit, one handshake at a time
    # include/net/sock.h sk_acceptq_is_full(): full when the queue is *longer* than the backlog
    assert expected(seed, "accept-queue-admitted") == q.backlog + 1


@pytest.mark.parametrize("seed", SEEDS)
def test_a_syn_dropped_at_a_full_queue_times_out_after_the_syn_retries(seed):
    q = posed(seed, "full-queue-client")
    assert q.n > q.backlog + 1  # the last client's SYN finds the accept queue full (and no RST comes back)
    # Linux 6.x net/ipv4/tcp_timer.c: four timeouts of one RTO (tcp_syn_linear_timeouts), then doubling
    # ones; tcp_write_timeout gives up at the first expiry with tcp_syn_retries + 4 retransmissions sent
    # or tcp_model_timeout(tcp_syn_retries, RTO) = (2^(r+1) - 1) RTOs passed. For r = 1..4: 3, 7, 19, 35 RTOs
    assert expected(seed, "full-queue-client") == pytest.approx(q.rto * {1: 3, 2: 7, 3: 19, 4: 35}[q.syn_retries])
    assert expected(seed, "full-queue-client") > 2 * q.delay  # not a refusal, which takes one round trip


def test_full_queue_variants_cover_both_overflow_settings_and_their_traps(monkeypatch):
    monkeypatch.delenv(REVEAL_VARIABLE, raising=False)
    qs = [posed(seed, "full-queue-client") for seed in SEEDS]
    assert {q.abort for q in qs} == {0, 1}  # tcp_abort_on_overflow acts on the last ACK, never on a SYN
    assert len({q.syn_retries for q in qs}) > 1
    q = qs[0]
    for lang, notes in (("en", ("one round trip", "not Linux's default of 6")), ("zh", ("往返时间", "不是 Linux 默认的 6"))):
        for answer, note in zip((2 * q.delay, q.rto * (2 ** (LINUX_SYN_RETRIES + 1) - 1)), notes):
            with pytest.raises(WrongAnswer) as wrong:
                Sheet(SEEDS[0], lang=lang).check("full-queue-client", round(answer, 3))
            assert note in flat(str(wrong.value))


@functools.lru_cache(maxsize=None)
def flood(seed):
    """The flood question of a variant, built once: each build runs a SYN flood."""
    return posed(seed, "syn-cookies-flood")


@pytest.mark.parametrize("seed", SEEDS)
def test_syn_cookies_let_clients_in_at_once_and_without_them_their_syns_are_dropped(seed):
    q = flood(seed)
    assert q.rate * (q.first - q.start) > q.backlog + 1  # the flood fills the SYN queue before any client
    assert q.first + (q.n - 1) * q.every < q.start + q.duration  # every client connects during the flood
    choice = q._answer
    right = choice.options[choice.correct].english
    # tcp_syncookies=1: a SYN at a full queue gets a cookie SYN,ACK; =0: it is dropped (net/ipv4/tcp_input.c)
    assert right.startswith("Each of them connects within one round trip" if q.cookies == 1 else
                            "Their SYNs are dropped at the full SYN queue")
    assert "refused" not in right and "accept queue" not in right  # no RST; forged SYNs never finish
    if seed in SEEDS[:4]:  # the Chinese sheet asks the same variant
        chinese = posed(seed, "syn-cookies-flood", "zh")._answer
        assert chinese.options[chinese.correct].english == right and chinese.expected == choice.expected


def test_syn_flood_variants_run_with_and_without_cookies():
    assert {flood(seed).cookies for seed in SEEDS} == {0, 1}


# ---------------------------------------------------------------- lesson 11: closing a socket, worked out here

@pytest.mark.parametrize("seed", SEEDS)
def test_data_after_close_gets_an_rst_whose_seq_acknowledges_the_servers_fin(seed):
    q = posed(seed, "rst-after-close")
    # the client's data acknowledges the server's SYN, its k bytes and its FIN, one number each for SYN and FIN
    # (RFC 9293 3.4); a segment with ACK is answered by <SEQ=SEG.ACK><CTL=RST> (3.10.7.1), as Linux does for
    # data that reaches a close()d socket (SHLD-3; observed: data-after-close, RST seq = the byte's ACK)
    assert expected(seed, "rst-after-close") == (q.server_isn + 1 + q.k + 1) % M


@pytest.mark.parametrize("seed", SEEDS)
def test_an_orphans_fin_timeout_ends_without_a_segment_and_late_data_gets_rst(seed):
    q = posed(seed, "orphan-fin-timeout")
    assert q.late > q.fin_timeout >= 3.5 * 1.0  # the byte comes after the timeout; tcp_fin_time's 3.5 RTOs are less
    # Linux drops an orphan's FIN-WAIT-2 silently after tcp_fin_timeout (observed: orphan-fin-wait-2, nothing sent);
    # the byte then reaches no connection: RST (RFC 9293 3.10.7.1)
    assert right_option(seed, "orphan-fin-timeout").startswith("Nothing when the timer runs out")


@pytest.mark.parametrize("seed", SEEDS)
def test_close_with_linger_zero_is_an_abort_with_seq_snd_nxt(seed):
    q = posed(seed, "linger-zero")
    # RFC 9293 3.10.5 ABORT: <SEQ=SND.NXT><CTL=RST>; SND.NXT = ISN + 1 (SYN) + m (RFC 9293 3.4); no FIN, no
    # TIME-WAIT (observed: linger-zero, RST,ACK seq = SND.NXT, only the listener left in ss)
    assert right_option(seed, "linger-zero").startswith(f"An RST with seq = {(q.isn + 1 + q.m) % M};")


@pytest.mark.parametrize("seed", SEEDS)
def test_a_taken_over_time_wait_starts_the_new_connection_65537_above_the_old_snd_nxt(seed):
    q = posed(seed, "tw-reuse-isn")
    # net/ipv4/tcp_ipv4.c tcp_twsk_unique: write_seq = tw_snd_nxt + 65535 + 2; SND.NXT after the FIN is its seq + 1
    # (observed: port-exhaustion-tw-reuse, the sixth SYN = the old FIN's seq + 1 + 65537)
    assert expected(seed, "tw-reuse-isn") == (q.fin + 1 + 65535 + 2) % M


@pytest.mark.parametrize("seed", SEEDS)
def test_time_wait_holds_a_4_tuple_so_each_destination_port_has_the_whole_range(seed):
    q = posed(seed, "ports-per-destination")
    # RFC 9293 3.4.1: a connection is its 4-tuple; __inet_hash_connect skips only 4-tuples in use, TIME-WAIT
    # included (observed: port-exhaustion, four ports then EADDRNOTAVAIL)
    assert q.a > q.n and expected(seed, "ports-per-destination") == q.n + min(q.b, q.n)


@pytest.mark.parametrize("seed", SEEDS)
def test_a_syn_in_time_wait_without_timestamps_is_judged_by_its_seq_against_rcv_nxt(seed):
    q = posed(seed, "syn-meets-time-wait")
    # tcp_timewait_state_process: after(seq, tw_rcv_nxt) -> TCP_TW_SYN, the listener's ISN = tw_snd_nxt + 65537;
    # otherwise TCP_TW_ACK with the old numbers (observed: syn-to-time-wait-accepted, syn-to-time-wait-rejected)
    assert q.above == ((q.syn - q.rcv_nxt) % M < 2**31)
    right = right_option(seed, "syn-meets-time-wait")
    if q.above:
        assert right.startswith(f"A SYN,ACK: the SYN opens a new connection, and the server's ISN is "
                                f"{(q.snd_nxt + 65537) % M}.")
    else:
        assert right.startswith(f"An ACK of the old connection, seq = {q.snd_nxt}, ack = {q.rcv_nxt};")


def test_lesson_11_part_b_variants_take_both_branches_and_vary_the_numbers():
    assert {posed(seed, "syn-meets-time-wait").above for seed in SEEDS} == {True, False}
    assert {posed(seed, "ports-per-destination").n for seed in SEEDS} == {2, 4, 6, 8}
    assert len({posed(seed, "tw-reuse-isn").fin for seed in SEEDS}) >= 30


# ---------------------------------------------------------------- lesson 12: when things break, worked out here

@pytest.mark.parametrize("seed", SEEDS)
def test_after_a_kill_the_idle_server_is_in_close_wait_after_a_power_loss_still_established(seed):
    q = posed(seed, "crash-idle-peer")
    # a killed process's kernel closes its socket: FIN (lesson 11; observed: killed-process); a host without
    # power sends nothing, and an idle connection has no timer (RFC 9293 3.5.1, 3.10.8)
    assert expected(seed, "crash-idle-peer") == (tl.State.CLOSE_WAIT if q.kind == "exit" else tl.State.ESTABLISHED)


@pytest.mark.parametrize("seed", SEEDS)
def test_keepalive_gives_up_one_interval_after_the_last_probe(seed):
    q = posed(seed, "keepalive-gives-up")
    # tcp_keepalive_timer: probes at idle, idle + intvl, ...; RST and ETIMEDOUT at the expiry after the last
    # (observed: keepalive-dead-peer, 1 s + 3 x 1 s after the last segment heard)
    assert expected(seed, "keepalive-gives-up") == pytest.approx(q.idle + q.probes * q.interval)


@pytest.mark.parametrize("seed", SEEDS)
def test_the_rst_that_clears_a_half_open_connection_carries_the_servers_rcv_nxt(seed):
    q = posed(seed, "half-open-reconnect")
    # the challenge ACK is <SEQ=SND.NXT><ACK=RCV.NXT>; SYN-SENT answers it <SEQ=SEG.ACK><CTL=RST> (RFC 9293
    # 3.10.7.3; observed: crash-reboot-reconnect, the RST's seq = the challenge ACK's ack); RCV.NXT counts the
    # client's SYN and its m bytes (RFC 9293 3.4)
    assert expected(seed, "half-open-reconnect") == (q.client_isn + 1 + q.m) % M


def test_lesson_12_variants_take_every_kind_and_vary_the_settings():
    assert {posed(seed, "crash-idle-peer").kind for seed in SEEDS} == {"exit", "crash", "reboot"}
    assert len({(posed(seed, "keepalive-gives-up").idle, posed(seed, "keepalive-gives-up").probes) for seed in SEEDS}) >= 10


def test_lesson_11_variants_vary_the_timeout_and_the_numbers():
    assert len({posed(seed, "orphan-fin-timeout").fin_timeout for seed in SEEDS}) >= 3
    assert len({posed(seed, "linger-zero").m for seed in SEEDS}) >= 10
    assert len({posed(seed, "rst-after-close").k for seed in SEEDS}) >= 10
