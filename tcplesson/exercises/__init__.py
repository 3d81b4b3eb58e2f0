"""Exercises that grade themselves: a question bank, per-student variants, release and grading.

In a notebook::

    from tcplesson.exercises import Sheet
    ex = Sheet(seed=0)                  # the variant: a student id in a released copy
    q = ex.ask("synack-ack")            # prints the question with this variant's numbers
    answer = q.client_isn + 1
    ex.check("synack-ack", answer)      # prints a confirmation, or raises WrongAnswer with a hint

The sheet speaks the language ``tl.set_language()`` chose (or ``Sheet(seed, lang="zh")``): the
same numbers and answers, every word from words_en.py / words_zh.py.

For instructors (see course/instructor-guide.md)::

    python -m tcplesson.exercises release OUTDIR --seed STUDENT_ID   # the student's copy (--lang zh: Chinese)
    python -m tcplesson.exercises grade NOTEBOOK... --junit FILE     # pytest --nbval, scored per question

Every expected answer is computed from a run of the model in that student's variant; nothing in a
notebook holds an answer.
"""
from .bank import BANK, LESSONS
from .sheet import REVEAL_VARIABLE, Posed, Sheet, WrongAnswer, check_seed
from .words import languages

__all__ = ["BANK", "LESSONS", "REVEAL_VARIABLE", "Posed", "Sheet", "WrongAnswer", "check_seed", "languages"]
