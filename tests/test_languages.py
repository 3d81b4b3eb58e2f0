"""Two languages, one course: the switch, the tables, the fonts, and the lesson twins.

The Chinese course must never drift from the English one: every label has its Chinese entry with
the same fields, every lesson its twin whose code is the English code, and Chinese figures render
with the font that ships with the package (no empty boxes) on a machine that has no CJK font.
"""
import io
import json
import re
import string
import tokenize
import warnings
from pathlib import Path

import matplotlib
import pytest
from matplotlib.figure import Figure

matplotlib.use("Agg")

import tcplesson as tl  # noqa: E402
from tcplesson import labels  # noqa: E402
from tcplesson.figures import _fonts  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ENGLISH = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
CHINESE = sorted((ROOT / "notebooks" / "zh").glob("[0-9][0-9]_*.ipynb"))
LANGUAGE_LINE = 'tl.set_language("zh")'
CJK = re.compile(r"[\u4e00-\u9fff]")
LATIN = re.compile(r"[A-Za-z]")


@pytest.fixture(autouse=True)
def english_afterwards():
    yield
    tl.set_language("en")


# ---------------------------------------------------------------- the switch

def test_the_default_language_is_english():
    assert tl.get_language() == "en"
    assert "SYN seq=100" in tl.simulate("handshake", client_isn=100).table()
    assert tl.simulate("handshake").summary().startswith("connection open at")


def test_set_language_switches_tables_and_summaries_and_back():
    trace = tl.simulate("lifecycle", client_isn=100, server_isn=300, drop=[7])
    english = trace.summary(), trace.table()
    tl.set_language("zh")
    assert tl.get_language() == "zh"
    summary, table = trace.summary(), trace.table()
    assert summary.startswith("连接在 0.15 秒建立")
    assert "丢失 1 个" in summary and "客户端在 3.20-244.20 秒处于 TIME-WAIT" in summary
    assert "客户端 -> 服务器" in table and "重传" in table
    # segments and state names stay what the RFC and ss call them
    assert "FIN,ACK seq=301 ack=102" in table and "TIME-WAIT (3.200)" in table
    tl.set_language("en")
    assert (trace.summary(), trace.table()) == english


def test_the_readme_shows_the_real_chinese_summary():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    shown = re.search(r"^# (连接在.*)$", readme, re.M)[1]
    tl.set_language("zh")
    assert tl.simulate("lifecycle", client_isn=100, server_isn=300).summary() == shown


def test_an_explicit_lang_wins_over_the_switch():
    trace = tl.simulate("refused")
    tl.set_language("zh")
    assert "connection refused" in trace.summary(lang="en")
    assert "连接被拒绝" in trace.summary()


@pytest.mark.parametrize("bad", ["fr", "ZH", "", None, 3])
def test_an_unknown_language_is_refused_with_the_known_ones(bad):
    with pytest.raises(ValueError, match="en, zh"):
        tl.set_language(bad)
    assert tl.get_language() == "en"


def test_chinese_table_columns_line_up_in_a_monospaced_font():
    tl.set_language("zh")
    lines = tl.simulate("handshake", client_isn=100, server_isn=300, drop=[2]).table().splitlines()
    rows = [line for line in lines if re.match(r"\s+\d+\s", line)]
    starts = {_columns(line[:re.search(r"[A-Z]{3}", line).start()]) for line in rows}
    assert len(starts) == 1, "the segment column starts at the same terminal column on every row"
    assert _columns(lines[0][:lines[0].index("报文段")]) == starts.pop()


def _columns(text: str) -> int:
    return sum(2 if CJK.match(ch) else 1 for ch in text)


# ---------------------------------------------------------------- the tables

def test_every_label_has_a_chinese_entry_and_no_other():
    english, chinese = set(labels.TEXTS["en"]), set(labels.TEXTS["zh"])
    assert not english - chinese, f"no Chinese for {sorted(english - chinese)}"
    assert not chinese - english, f"Chinese keys English lacks: {sorted(chinese - english)}"


def test_both_languages_fill_the_same_fields():
    for key, template in labels.TEXTS["en"].items():
        fields = {f for _, f, _, _ in string.Formatter().parse(template) if f}
        zh = {f for _, f, _, _ in string.Formatter().parse(labels.TEXTS["zh"][key]) if f}
        assert fields == zh, f"{key}: English fills {fields}, Chinese {zh}"


def test_chinese_words_are_chinese():
    shown = {k: v for k, v in labels.TEXTS["zh"].items()
             if v and not k.startswith(("state.", "flag.")) and k not in {"2MSL", "control.msl"}}
    for key, words in shown.items():
        letters = re.sub(r"\{[^}]*\}|RTO|ISN|MSL|TIME-WAIT|ESTABLISHED|SYN|ACK|FIN|RST|2MSL", "", words)
        if LATIN.search(letters) or CJK.search(letters):
            assert CJK.search(letters), f"{key} = {words!r} is not Chinese"


def test_the_textbook_names_are_the_standard_ones():
    # 谢希仁《计算机网络》's names for the states; CLOSING is the course's choice (labels_zh.py says why)
    expected = {"CLOSED": "关闭", "LISTEN": "监听", "SYN-SENT": "同步已发送", "SYN-RECEIVED": "同步收到",
                "ESTABLISHED": "已建立连接", "FIN-WAIT-1": "终止等待1", "FIN-WAIT-2": "终止等待2",
                "CLOSE-WAIT": "关闭等待", "LAST-ACK": "最后确认", "TIME-WAIT": "时间等待", "CLOSING": "同时关闭"}
    for state in tl.State:
        assert labels.state_label(state, "zh") == f"{state.value}\n{expected[state.value]}"
        assert labels.state_label(state, "en") == state.value


# ---------------------------------------------------------------- fonts and figures

def _draw_every_figure(lang):
    trace = tl.simulate("lifecycle", client_isn=100, server_isn=300, drop=[7])
    axes = [tl.plot_ladder(trace, lang=lang), tl.plot_ladder(trace, relative=True, lang=lang),
            tl.plot_state_diagram(trace, who="server", lang=lang), tl.plot_state_diagram(errors=True, lang=lang),
            tl.plot_timeline(trace, lang=lang), tl.plot_header(trace.transmissions[1], lang=lang),
            tl.plot_ladder(tl.simulate("refused"), lang=lang), tl.plot_ladder(tl.simulate("handshake", loss=1.0),
                                                                              lang=lang)]
    images = []
    for ax in axes:
        buffer = io.BytesIO()
        ax.figure.savefig(buffer, format="png", metadata={"Software": None})
        images.append(buffer.getvalue())
        matplotlib.pyplot.close(ax.figure)
    return images


def test_chinese_figures_need_no_system_font_and_miss_no_glyph(monkeypatch, caplog):
    monkeypatch.setattr(_fonts, "SYSTEM_CJK", ())  # as on a machine with no CJK font at all
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # matplotlib warns "Glyph ... missing from font(s)"
        _draw_every_figure("zh")
    assert not [r for r in caplog.records if r.name.startswith("matplotlib")], "findfont complained"
    assert _fonts.families("zh")[:2] == ("DejaVu Sans", "tcplesson CJK SC")


def test_a_figure_of_your_own_gets_the_course_fonts_and_draws_chinese_without_a_missing_glyph(monkeypatch):
    """tl.figures.font(): lesson 05 draws its own plot with a Chinese legend (prop=tl.figures.font())."""
    monkeypatch.setattr(_fonts, "SYSTEM_CJK", ())
    assert tl.figures.font("en") == {}
    assert tl.figures.font("zh")["family"][:2] == ["DejaVu Sans", "tcplesson CJK SC"]
    fig = Figure()
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], label="服务器先关闭")
    ax.legend(prop=tl.figures.font("zh"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # "Glyph ... missing from font(s)"
        fig.savefig(io.BytesIO(), format="png")


def test_chinese_figures_on_this_machines_own_fonts_log_no_complaint(caplog):
    """Whatever CJK fonts the machine has (CI installs WenQuanYi Micro Hei, which has no bold face),
    drawing logs nothing: a notebook would print it, and strict nbval would fail on it."""
    _draw_every_figure("zh")
    assert not [r.getMessage() for r in caplog.records if r.name.startswith("matplotlib")]


def test_a_system_cjk_font_without_a_bold_face_is_no_fallback(monkeypatch):
    fake = {"DejaVu Sans": frozenset({400, 700}), "tcplesson CJK SC": frozenset({400, 700}),
            "WenQuanYi Micro Hei": frozenset({400}), "Noto Sans CJK SC": frozenset({400, 700})}
    monkeypatch.setattr(_fonts, "_installed", lambda: fake)
    assert _fonts.families("zh") == ("DejaVu Sans", "tcplesson CJK SC", "Noto Sans CJK SC")


def test_chinese_figures_are_the_same_bytes_every_time():
    assert _draw_every_figure("zh") == _draw_every_figure("zh")


def test_the_language_switch_reaches_the_figures():
    tl.set_language("zh")
    ax = tl.plot_ladder(tl.simulate("handshake"))
    words = {t.get_text() for t in ax.texts}
    assert "客户端" in words and "client" not in words
    tl.set_language("en")
    ax = tl.plot_ladder(tl.simulate("handshake"))
    assert "client" in {t.get_text() for t in ax.texts}


def test_the_shipped_font_covers_every_chinese_word_of_the_library():
    from fontTools.ttLib import TTFont

    words = "".join(labels.TEXTS["zh"].values())
    for path in _fonts.SHIPPED:
        cmap = TTFont(path)["cmap"].getBestCmap()
        missing = sorted({ch for ch in words if ord(ch) > 0x7F and ord(ch) not in cmap
                          and ch not in "…×"})  # DejaVu Sans draws these two
        assert not missing, f"{path.name} lacks {''.join(missing)}: run tools/build_cjk_font.py again"
        # GB 2312 level 1 (the 3,755 common characters) is in, for instructors' own labels
        assert all(ord(bytes([0xB0, lo]).decode("gb2312")) in cmap for lo in range(0xA1, 0xFF))
    assert {p.name for p in _fonts.SHIPPED} == {"tcplessonCJKSC-Regular.otf", "tcplessonCJKSC-Bold.otf"}


def test_chinese_figures_save_as_pdf_and_svg():
    ax = tl.plot_state_diagram(tl.simulate("lifecycle"), lang="zh")
    for fmt in ("pdf", "svg"):
        buffer = io.BytesIO()
        ax.figure.savefig(buffer, format=fmt)
        assert len(buffer.getvalue()) > 10_000


# ---------------------------------------------------------------- the lesson twins

def _cells(path: Path, kind: str) -> list[dict]:
    return [c for c in json.loads(path.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == kind]


def _code(cell: dict) -> list[tuple]:
    """The cell's tokens without comments, layout or the language line: what the twins must share."""
    source = "".join(cell["source"]).replace(LANGUAGE_LINE, "")
    lines = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
    return [(t.type, t.string) for t in tokenize.generate_tokens(io.StringIO(lines + "\n").readline)
            if t.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT)]


def test_every_lesson_has_its_twin():
    assert {p.name for p in ENGLISH} == {p.name for p in CHINESE}
    assert len(CHINESE) >= 10


@pytest.mark.parametrize("name", [p.name for p in ENGLISH])
def test_twins_share_their_code(name):
    english, chinese = ENGLISH[0].parent / name, CHINESE[0].parent / name
    en, zh = _cells(english, "code"), _cells(chinese, "code")
    assert len(en) == len(zh), f"{name}: {len(en)} code cells in English, {len(zh)} in Chinese"
    for k, (a, b) in enumerate(zip(en, zh)):
        assert _code(a) == _code(b), f"{name} code cell {k} differs beyond the language line and comments"
        assert a.get("metadata", {}).get("tags", []) == b.get("metadata", {}).get("tags", []), f"{name} cell {k} tags"
    first = "".join(zh[0]["source"]).splitlines()
    assert LANGUAGE_LINE in first and first.index(LANGUAGE_LINE) == first.index("import tcplesson as tl") + 1
    assert not any(LANGUAGE_LINE in "".join(c["source"]) for c in en), "the English lesson keeps the default"


def _letters(markdown: str) -> tuple[int, int]:
    text = re.sub(r"```.*?```|`[^`]*`|<[^>]+>|\([^)]*\.(ipynb|md|pcap|json)[^)]*\)|https?://\S+", "", markdown,
                  flags=re.S)
    return len(CJK.findall(text)), len(LATIN.findall(text))


@pytest.mark.parametrize("name", [p.name for p in ENGLISH])
def test_chinese_prose_is_chinese_and_english_prose_english(name):
    zh = "\n".join("".join(c["source"]) for c in _cells(CHINESE[0].parent / name, "markdown"))
    en = "\n".join("".join(c["source"]) for c in _cells(ENGLISH[0].parent / name, "markdown"))
    cjk, latin = _letters(zh)
    assert cjk > latin, f"notebooks/zh/{name}: {cjk} CJK letters, {latin} Latin ones"
    cjk, latin = _letters(en)
    assert latin > 10 * cjk, f"notebooks/{name}: the English lesson has {cjk} CJK letters"


@pytest.mark.parametrize("name", [p.name for p in ENGLISH if p.name[:2] in {"01", "02", "03", "04", "05", "06", "07"}])
def test_each_chinese_lesson_has_goals_an_explorer_and_questions(name):
    cells = json.loads((CHINESE[0].parent / name).read_text(encoding="utf-8"))["cells"]
    first = next("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    assert "学完这一课，你能够" in first
    markdown = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    assert markdown.count("<details>") >= 3 and "答案" in markdown


def test_jupyterlab_can_switch_its_own_menus_to_chinese():
    """The lab extra (bin/lab, Binder) brings the language pack behind Settings > Language > 中文."""
    from importlib.metadata import entry_points

    pytest.importorskip("jupyterlab", reason="JupyterLab is not installed (the lab extra)")
    assert "zh_CN" in {e.name for e in entry_points(group="jupyterlab.languagepack")}
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert "jupyterlab-language-pack-zh-CN" in pyproject
    assert ".[lab]" in (ROOT / "binder" / "requirements.txt").read_text(encoding="utf-8")
