"""The course in a real browser: JupyterLab in headless Chromium, used the way a student uses it.

nbval runs the notebooks in a headless kernel; it cannot see a widget that does not render, a
figure that flickers or a slider that does nothing. These tests open every notebook in JupyterLab,
run all cells from the menu, and look at the page: no error output, every widget drawn, every image
loaded. In the lessons with explorers they then move the controls with the keyboard and check that
the figure and its summary line follow (byte for byte the same picture when the controls come
back), that the step and play controls walk the run, and that the figure never flickers. A
screenshot of each notebook and explorer goes to artifacts/screenshots/.

The "drop segment #" box is typed into as a student would ("1, 2") and committed with Enter.

They need /usr/bin/chromium (Debian's "chromium") and the Python package playwright; without
either they skip, saying which is missing. No browser is ever downloaded.
"""
from __future__ import annotations

import json
import re
import shutil

import pytest

from _lab import REPO, Lab, NotebookPage, chromium, lab_command, missing_browser_tools, wait_until

from tcplesson import explore_flood, labels

pytestmark = pytest.mark.browser

NOTEBOOKS = sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb"))
CHINESE_NOTEBOOKS = sorted(f"zh/{p.name}" for p in (REPO / "notebooks" / "zh").glob("*.ipynb"))
SCREENSHOTS = REPO / "artifacts" / "screenshots"


def code_of(name: str) -> str:
    cells = json.loads((REPO / "notebooks" / name).read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")


WITH_EXPLORERS = [name for name in NOTEBOOKS if "explore(" in code_of(name)]
WITH_FLOOD_EXPLORERS = [name for name in NOTEBOOKS + CHINESE_NOTEBOOKS if "explore_flood(" in code_of(name)]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A copy of notebooks/ served by JupyterLab (so a run can never change the originals)."""
    missing = missing_browser_tools()
    if missing:
        pytest.skip(f"browser tests skipped: {missing}")
    root = tmp_path_factory.mktemp("course")
    shutil.copytree(REPO / "notebooks", root, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    with Lab(lab_command(f"--ServerApp.root_dir={root}", "--LabApp.news_url=None"), cwd=root) as lab:
        yield lab, root


@pytest.fixture(scope="module")
def browser(course, tmp_path_factory):
    with chromium(tmp_path_factory.mktemp("chromium-profile")) as context:
        yield context


@pytest.fixture(scope="module")
def notebook(course, browser, request):
    """The notebook named by the test's parameter, opened and run once for all tests that take
    the same name (pytest runs them one after the other), then closed with its kernel."""
    lab, root = course
    page = NotebookPage(browser, lab, root, request.param)
    page.run_all()
    yield page
    page.close()
    for session in lab.api("/api/sessions"):
        lab.api(f"/api/sessions/{session['id']}", method="DELETE")


@pytest.mark.parametrize("notebook", NOTEBOOKS + [n for n in WITH_FLOOD_EXPLORERS if n.startswith("zh/")],
                         indirect=True)
def test_every_cell_runs_and_every_widget_renders(notebook):
    problems = notebook.widget_problems()
    cells = notebook.cells()
    notebook.screenshot(SCREENSHOTS / f"{notebook.name.removesuffix('.ipynb')}.png")

    assert len(cells) == len(notebook.stored["cells"])
    not_run = [k for k, cell in enumerate(cells)
               if cell["code"] and not re.fullmatch(r"\[\d+\]:", cell["prompt"])]
    assert not not_run, f"cells that did not run (index: {not_run})"
    errors = {k: cell["errors"] for k, cell in enumerate(cells) if cell["errors"]}
    assert not errors, f"error output in cells {errors}"
    assert not problems
    # Each widget the stored run showed is on the page too (not an empty output area).
    widget = "application/vnd.jupyter.widget-view+json"
    stored = [sum(widget in out.get("data", {}) for out in cell.get("outputs", []))
              for cell in notebook.stored["cells"]]
    assert [cell["widgets"] for cell in cells] == stored


ALL_LOST = re.compile(r"\b(\d+) segments, \1 lost")


def connection_open_at(summary: str) -> float | None:
    found = re.search(r"connection open at ([\d.]+) s", summary)
    return float(found[1]) if found else None


def showing(summaries: list[str]) -> list[int]:
    """The step numbers in "showing K of N segments" summaries, in the order they appeared."""
    return [int(m[1]) for s in summaries if (m := re.search(r"showing (\d+) of", s))]


@pytest.mark.parametrize("notebook", WITH_EXPLORERS, indirect=True)
def test_explorers_follow_the_controls(notebook):
    notebook.widget_problems()  # waits until the widgets are drawn
    explorers = notebook.explorers()
    assert explorers, "the notebook calls explore() but no explorer is on the page"
    for k, ex in enumerate(explorers):
        ex.watch()
        # A lossless run first: loss at its minimum, every chosen drop removed.
        ex.press("loss probability", "Home", expect="0.00")
        ex.clear_drops()
        summary0, figure0 = ex.settle("a run with nothing lost", lambda s: ", 0 lost," in s and "showing" not in s)
        total = re.search(r"\b(\d+) segments,", summary0)[1]

        # The step control: nothing shown, one segment, then the whole run again.
        ex.press("step", "Home", expect="0")
        _, nothing = ex.settle("step 0", lambda s: f"showing 0 of {total} segments" in s)
        ex.press("step", "ArrowRight", expect="1")
        _, one = ex.settle("step 1", lambda s: f"showing 1 of {total} segments" in s)
        assert len({nothing, one, figure0}) == 3, "stepping did not change the figure"
        ex.press("step", "End", expect=total)
        ex.settle("the whole run again", summary0.__eq__, figure0.__eq__)

        # Loss 1.0: every segment is lost, and no side can reach ESTABLISHED.
        ex.press("loss probability", "End", expect="1.00")
        summary1, _ = ex.settle("every segment lost", ALL_LOST.search, figure_ok=figure0.__ne__)
        assert "no connection" in summary1
        # The same controls give the same picture.
        ex.press("loss probability", "Home", expect="0.00")
        ex.settle("the lossless run again, the same picture byte for byte", summary0.__eq__, figure0.__eq__)

        # Drop the first segment: exactly one is lost, and the figure shows it.
        ex.add_drop(1)
        ex.settle("segment 1 lost", lambda s: ", 1 lost," in s, figure_ok=figure0.__ne__)
        ex.clear_drops()
        ex.settle("the lossless run again, the same picture byte for byte", summary0.__eq__, figure0.__eq__)

        # A longer one-way delay: the arrows slant more and the connection opens later.
        before = ex.slider("one-way delay (s)")[1].inner_text()
        assert float(ex.press("one-way delay (s)", "ArrowRight")) > float(before)
        opened = connection_open_at(summary0)
        ex.settle("the slower run", lambda s: opened is None or (connection_open_at(s) or 0) > opened,
                  figure_ok=figure0.__ne__)
        assert ex.press("one-way delay (s)", "ArrowLeft") == before, "one step back is not where it started"
        ex.settle("the lossless run again, the same picture byte for byte", summary0.__eq__, figure0.__eq__)

        # Play starts again from step 0 and walks forward on its own, a new figure at each step;
        # pressed again, it pauses.
        start = ex.record()
        ex.play_button.click()
        wait_until(lambda: 1 in showing(ex.record()["summaries"][len(start["summaries"]):]),
                   ex.timeout, "play to reach step 1")
        ex.play_button.click()
        after = ex.record()
        assert showing(after["summaries"][len(start["summaries"]):])[:2] == [0, 1]
        assert after["figures"] >= start["figures"] + 2

        record = ex.record()
        assert record["removed"] == 0 and record["resized"] == [], f"the figure flickered: {record}"
        ex.screenshot(SCREENSHOTS / f"{notebook.name.removesuffix('.ipynb')}-explorer{k}.png")


def flood_run(settings: dict, lang: str) -> tuple[str, list[dict]]:
    """(summary, connect() times) of the flood explorer's run for ``settings``, computed here in
    Python with the same model the kernel runs: what the page must show for those controls."""
    trace = explore_flood(**settings, lang=lang).trace
    return trace.summary(lang), trace.connect_times()


@pytest.mark.parametrize("notebook", WITH_FLOOD_EXPLORERS, indirect=True)
def test_the_flood_explorer_follows_its_controls(notebook):
    """A student under the SYN flood: cookies off, then on, then off again; the backlog moved.

    The summary must be the model's for the controls on show, and it must say what the protocol
    implies: with tcp_syncookies=0 the full SYN queue drops SYNs, so some client waits for a SYN
    retransmission (at least the initial RTO, 1 s: RFC 6298 section 2.1, Linux TCP_TIMEOUT_INIT);
    with tcp_syncookies=1 every SYN gets a cookie SYN,ACK (tcp_conn_request in
    net/ipv4/tcp_input.c), so every client gets in within its first round trip.
    """
    notebook.widget_problems()  # waits until the widgets are drawn
    (ex,) = notebook.flood_explorers()
    ex.root.scroll_into_view_if_needed()  # section 8, where the student scrolls to
    ex.watch()
    lang = notebook.lang
    t = lambda key, **fields: labels.text(key, lang, **fields)  # noqa: E731
    off, when_full = t("flood.cookies0"), t("flood.cookies1")
    cookies = {t(f"flood.cookies{v}"): v for v in (0, 1, 2)}
    settings = {name: int(ex.readout(t(f"flood.{name}"))) for name in ("rate", "backlog", "synack_retries")}
    settings["cookies"] = cookies[ex.chosen()]
    assert settings["cookies"] == 0, "the lesson's explorer starts with cookies off"
    clients = t("net.clients", n=10, ok=10)
    dropped, cookie_sent = t("host.SYN dropped (SYN queue full)"), t("host.cookie sent")

    # Cookies off: the SYN queue overflows, SYNs are dropped, some client retransmits its SYN.
    expected0, times0 = flood_run(settings, lang)
    summary0, figure0 = ex.settle("the run with cookies off", expected0.__eq__)
    assert dropped in summary0 and cookie_sent not in summary0
    assert max(r["connected"] for r in times0 if r["connected"] is not None) >= 1.0

    # Cookies when full: no SYN of a client is dropped; all of them in, each within one round trip.
    ex.choose(when_full)
    expected1, times1 = flood_run(dict(settings, cookies=1), lang)
    summary1, figure1 = ex.settle("the run with cookies when full", expected1.__eq__, figure0.__ne__)
    assert clients in summary1 and cookie_sent in summary1 and dropped not in summary1
    assert all(r["connected"] is not None and r["connected"] < 1.0 for r in times1)

    # Cookies off again: the same run, the same picture byte for byte.
    ex.choose(off)
    ex.settle("the run with cookies off again, the same picture byte for byte", summary0.__eq__, figure0.__eq__)

    # One more slot in the backlog: the model's summary for it, then back to the first run.
    backlog = t("flood.backlog")
    assert ex.press(backlog, "ArrowRight") == str(settings["backlog"] + 1)
    expected2, _ = flood_run(dict(settings, backlog=settings["backlog"] + 1), lang)
    assert expected2 != expected0, "the model gives the same summary for two backlogs: pick another key"
    ex.settle("the run with one more backlog slot", expected2.__eq__, figure0.__ne__)
    assert ex.press(backlog, "ArrowLeft") == str(settings["backlog"])
    ex.settle("the first run again, the same picture byte for byte", summary0.__eq__, figure0.__eq__)

    record = ex.record()
    assert record["removed"] == 0 and record["resized"] == [], f"the figure flickered: {record}"
    ex.screenshot(SCREENSHOTS / f"{notebook.name.removesuffix('.ipynb').replace('/', '-')}-flood-explorer.png")


CHINESE_LESSON = "zh/02_three_way_handshake.ipynb"


@pytest.mark.parametrize("notebook", [CHINESE_LESSON], indirect=True)
def test_a_chinese_lesson_runs_and_its_slider_moves(notebook):
    """A student reading the Chinese lesson: Chinese prose, figure and controls, all working."""
    notebook.widget_problems()
    errors = {k: cell["errors"] for k, cell in enumerate(notebook.cells()) if cell["errors"]}
    assert not errors, f"error output in cells {errors}"
    notebook.screenshot(SCREENSHOTS / "zh-02_three_way_handshake.png")
    assert notebook.glyphs_render("三次握手的报文段"), "the page draws Chinese as empty boxes"
    ex = notebook.explorers()[0]
    loss = labels.text("control.loss", "zh")
    ex.press(loss, "Home", expect="0.00")
    ex.clear_drops()
    summary0, figure0 = ex.settle("a run with nothing lost", lambda s: "丢失 0 个" in s)
    assert "连接在" in summary0 and "建立" in summary0
    ex.press(loss, "End", expect="1.00")
    summary1, _ = ex.settle("every segment lost", lambda s: "没有建立连接" in s, figure_ok=figure0.__ne__)
    ex.press(loss, "Home", expect="0.00")
    ex.settle("the lossless run again, the same picture byte for byte", summary0.__eq__, figure0.__eq__)
    ex.screenshot(SCREENSHOTS / "zh-02_three_way_handshake-explorer0.png")


@pytest.mark.parametrize("notebook", WITH_EXPLORERS[:1], indirect=True)
def test_enter_in_the_drop_box_reruns_with_those_segments_lost(notebook):
    """A student types "1, 2" and presses Enter: both are lost (once a tags box did nothing on Enter)."""
    notebook.widget_problems()  # waits until the widgets are drawn
    ex = notebook.explorers()[0]
    ex.press("loss probability", "Home", expect="0.00")
    ex.clear_drops()
    summary0, _ = ex.settle("a run with nothing lost", lambda s: ", 0 lost," in s)
    ex.type_drops("1, 2", key="Enter")
    ex.settle("segments 1 and 2 lost", lambda s: ", 2 lost," in s)
    assert ex.drops() == ["1", "2"]
    ex.type_drops("1, x", key="Enter")
    ex.settle("a word that is not a number is named", lambda s: "'x' is not a transmission number" in s)
    ex.clear_drops()
    ex.settle("the first run again", summary0.__eq__)
