"""JupyterLab and headless Chromium, driven the way a student uses the course.

Shared by the browser tests (tests/test_browser.py) and the latency benchmark
(benchmarks/bench_browser.py). Nothing here is downloaded: the browser is the system Chromium,
driven by Playwright for Python through ``executable_path``.

``Lab`` runs a JupyterLab server on a free 127.0.0.1 port with a random token and a throwaway
configuration (no news pop-up, no saved workspace). ``NotebookPage`` is one notebook open in the
browser, with what a student does to it: run all cells, read errors, move a slider, type into a box.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from tcplesson import labels

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
    "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
# Settings a student would click away; here they are set before the page loads. "fetchNews":
# "false" is what keeps the "get notified about official Jupyter news?" pop-up away.
USER_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false", "checkForUpdates": False},
}
START_TIMEOUT = 120.0  # seconds for a JupyterLab server to answer /api/status
MAX_HEIGHT = 16000  # pixels: about the tallest page Chromium captures in one screenshot


def missing_browser_tools() -> str | None:
    """What is missing for the browser tests (None if nothing), said so that a skip can name it."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (Debian package 'chromium')"
    for module, package in (("playwright.sync_api", "playwright"), ("jupyterlab", "jupyterlab")):
        try:
            __import__(module)
        except ImportError:
            return f"the Python package {package!r} is missing (pip install -e '.[test,lab]')"
    return None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lab_environment(home: Path) -> dict:
    """The environment for a JupyterLab server: its own config and runtime dirs under ``home``.

    The config dir holds the user settings (USER_SETTINGS) and the workspaces, so nothing from the
    developer's own ~/.jupyter leaks in and nothing is left behind.
    """
    config = home / "config"
    for name, values in USER_SETTINGS.items():
        path = config / "lab" / "user-settings" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(config), JUPYTER_RUNTIME_DIR=str(home / "runtime"))
    env.pop("JUPYTER_PATH", None)
    return env


class Lab:
    """A JupyterLab server started by ``command`` (argv) with port and token added.

    Use as a context manager: entering waits until /api/status answers, leaving shuts it down
    through the API (so kernels stop too) and kills what is left of its process group.
    ``browser``: a command line (with %s for the address) that JupyterLab runs as "the web
    browser" (through the BROWSER variable); without it JupyterLab opens none (--no-browser).
    """

    def __init__(self, command: list[str], *, cwd: Path, browser: str | None = None) -> None:
        if not command or not all(isinstance(part, str) for part in command):
            raise TypeError("command must be a non-empty list of strings")
        if browser is not None and "%s" not in browser:
            raise ValueError("browser must be a command line with %s where the address goes")
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.home = Path(tempfile.mkdtemp(prefix="tcplesson-lab-"))
        self.browser = browser
        self.command = command + [
            "--ip=127.0.0.1", f"--port={self.port}", "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
        ] + (["--no-browser"] if browser is None else [])
        self.cwd = cwd
        self.log_path = self.home / "server.log"
        self.process: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str, workspace: str = "default") -> str:
        """The page for ``path`` (relative to the server's root), logged in by the token.

        Pages open at the same time need workspaces of their own, or each restores the others' tabs.
        """
        return f"{self.base}/lab/workspaces/{workspace}/tree/{path}?token={self.token}"

    def api(self, path: str, method: str = "GET", timeout: float = 10.0):
        """GET/POST a Jupyter REST path with the token; the decoded JSON answer."""
        request = urllib.request.Request(f"{self.base}{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            body = answer.read()
        return json.loads(body) if body else None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def __enter__(self) -> "Lab":
        env = lab_environment(self.home)
        if self.browser is not None:
            env["BROWSER"] = self.browser
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(self.command, cwd=self.cwd, env=env, stdout=log,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True)
        try:
            self._wait_ready()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.process.returncode}:\n{self.log()[-3000:]}")
            try:
                self.api("/api/status", timeout=2.0)
                return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"JupyterLab did not answer within {START_TIMEOUT:.0f} s:\n"
                                       f"{self.log()[-3000:]}") from None
                time.sleep(0.2)

    def __exit__(self, *exc) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(OSError, urllib.error.URLError):
                self.api("/api/shutdown", method="POST")
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        shutil.rmtree(self.home, ignore_errors=True)


def lab_command(*extra: str) -> list[str]:
    """JupyterLab from this interpreter with ``extra`` arguments, allowed to run as root."""
    command = [sys.executable, "-m", "jupyterlab", *extra]
    if os.geteuid() == 0:
        command.append("--allow-root")
    return command


@contextlib.contextmanager
def chromium(profile: Path, width: int = 1280, height: int = 900):
    """The system Chromium, headless, with a fresh profile; yields a Playwright BrowserContext."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
            viewport={"width": width, "height": height})
        try:
            yield context
        finally:
            context.close()


def wait_until(condition, timeout: float, what: str, interval: float = 0.05):
    """Poll ``condition()`` until it returns something truthy (returned); fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


# Page-side helpers, installed once per page. Explorers are found by their parts: a VBox holding
# exactly one play control, an image and an HTML summary (tl.explore's layout); a flood explorer
# holds no play control but a row with toggle buttons (tl.explore_flood's layout). The figure's
# content is compared by SHA-256 of the PNG bytes behind the <img> (ipywidgets shows them through
# a blob: URL that changes on every update, even for the same picture).
# Draw each character alone on a canvas in the notebook's font; the pixels of two different
# characters differ unless both are the font's "missing glyph" box.
_DISTINCT_GLYPHS = r"""text => {
  const cell = document.querySelector('.jp-RenderedMarkdown') || document.body;
  const font = '32px ' + getComputedStyle(cell).fontFamily;
  const pictures = [...text].map(ch => {
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = 48;
    const g = canvas.getContext('2d');
    g.font = font;
    g.fillText(ch, 4, 36);
    return canvas.toDataURL();
  });
  return new Set(pictures).size === pictures.length;
}"""

_PAGE_JS = r"""
() => {
  if (window.__tcplesson) return;
  const isExplorer = (box) => box.querySelectorAll('.widget-play').length === 1
      && box.querySelector(':scope > img.widget-image') && box.querySelector(':scope > .widget-html');
  // tl.explore_flood's layout: rows of controls with a toggle-buttons row, no play control.
  const isFloodExplorer = (box) => box.querySelectorAll('.widget-play').length === 0
      && box.querySelector(':scope > .widget-hbox .widget-toggle-buttons')
      && box.querySelector(':scope > img.widget-image') && box.querySelector(':scope > .widget-html');
  // A widget output is an output area child of no MIME type (the widget renderer's own node).
  const isWidgetOutput = (out) => !out.hasAttribute('data-mime-type');
  window.__tcplesson = {
    isWidgetOutput,
    problems() {
      const problems = [];
      const outputs = [...document.querySelectorAll('.jp-NotebookPanel .jp-OutputArea-output')];
      for (const out of outputs) {
        if (!isWidgetOutput(out)) continue;
        const text = out.textContent;
        for (const bad of ['Error displaying widget', 'Loading widget', 'Failed to load model class'])
          if (text.includes(bad)) problems.push(`"${bad}" in an output: ${text.slice(0, 200)}`);
        if (!out.querySelector(':scope > .jupyter-widgets')) problems.push('a widget output with no widget in it');
      }
      for (const img of document.querySelectorAll('.jp-NotebookPanel .jp-OutputArea-output img'))
        if (!img.complete || img.naturalWidth === 0 || img.naturalHeight === 0)
          problems.push(`an image that did not load: ${img.className} ${img.src.slice(0, 60)}`);
      for (const select of document.querySelectorAll('.jp-NotebookPanel .widget-dropdown select'))
        if (select.selectedIndex < 0)
          problems.push(`a drop-down showing no choice: ${select.parentElement.innerText.trim()}`);
      return problems;
    },
    markExplorers() {
      const boxes = [...document.querySelectorAll('.jp-Notebook .widget-vbox')].filter(isExplorer);
      boxes.forEach((box, k) => box.setAttribute('data-explorer', String(k)));
      return boxes.length;
    },
    markFloodExplorers() {
      const boxes = [...document.querySelectorAll('.jp-Notebook .widget-vbox')].filter(isFloodExplorer);
      boxes.forEach((box, k) => box.setAttribute('data-flood-explorer', String(k)));
      return boxes.length;
    },
    async digest(img) {
      try {
        const bytes = await (await fetch(img.src)).arrayBuffer();
        const hash = await crypto.subtle.digest('SHA-256', bytes);
        return [...new Uint8Array(hash)].map(b => b.toString(16).padStart(2, '0')).join('');
      } catch (e) {
        return null;  // the blob was replaced while reading: ask again
      }
    },
    watch(box) {
      const img = box.querySelector(':scope > img.widget-image');
      const record = {resized: [], removed: 0, summaries: [], figures: 0};
      const size = () => [img.clientWidth, img.clientHeight].join('x');
      const first = size();
      new ResizeObserver(() => { if (size() !== first) record.resized.push(size()); }).observe(img);
      new MutationObserver(list => {
        for (const m of list) for (const node of m.removedNodes) if (node === img) record.removed++;
      }).observe(box, {childList: true});
      new MutationObserver(() => record.figures++).observe(img, {attributeFilter: ['src']});
      const summary = box.querySelector(':scope > .widget-html .widget-html-content');
      new MutationObserver(() => record.summaries.push(summary.textContent))
        .observe(summary, {childList: true, characterData: true, subtree: true});
      box.__record = record;
    },
  };
}
"""


class NotebookPage:
    """One notebook open in JupyterLab in its own tab and workspace, as a student sees it.

    ``name`` is the notebook's path under ``root``, the directory the server serves; the file is
    read to know when the page shows all of its cells.
    """

    def __init__(self, context, lab: Lab, root: Path, name: str, timeout: float = 120.0) -> None:
        self.name = name
        self.stored = json.loads((root / name).read_text(encoding="utf-8"))
        self.timeout = timeout
        self.page = context.new_page()
        self.page.set_default_timeout(timeout * 1000)
        self.page.goto(lab.url(name, "w-" + secrets.token_hex(4)))
        self.page.evaluate(_PAGE_JS)
        # Loaded: every cell of the file is on the page and the kernel has started and is idle.
        self.page.wait_for_function(
            """cells => document.querySelectorAll('.jp-NotebookPanel .jp-Cell').length === cells
                 && document.querySelector('.jp-NotebookPanel .jp-Notebook-ExecutionIndicator[data-status="idle"]')""",
            arg=len(self.stored["cells"]), polling=100)

    def menu(self, menu: str, item: str) -> None:
        """Click a menu-bar entry, as a student would."""
        self.page.click(f".lm-MenuBar-itemLabel:text-is('{menu}')")
        self.page.click(f".lm-Menu-itemLabel:text-is('{item}')")

    def run_all(self) -> None:
        """Clear every output, run all cells, and wait until the kernel is idle with none queued.

        Clearing first makes "every cell ran" visible: each prompt goes from [ ] to [*] to [n].
        """
        self.menu("Edit", "Clear Outputs of All Cells")
        self.menu("Run", "Run All Cells")
        self.page.wait_for_function(
            """() => {
              const prompts = [...document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell .jp-InputPrompt')];
              const indicator = document.querySelector('.jp-NotebookPanel .jp-Notebook-ExecutionIndicator');
              return prompts.every(p => !p.textContent.includes('*'))
                  && indicator && indicator.getAttribute('data-status') === 'idle';
            }""", polling=100)

    def cells(self) -> list[dict]:
        """Per cell, in order: whether it is code, its prompt, its stderr/error texts, its widgets."""
        return self.page.eval_on_selector_all(".jp-NotebookPanel .jp-Cell", """
          cells => cells.map(cell => ({
            code: cell.classList.contains('jp-CodeCell'),
            prompt: (cell.querySelector('.jp-InputPrompt') || {textContent: ''}).textContent.trim(),
            errors: [...cell.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
                      .map(e => e.textContent),
            widgets: [...cell.querySelectorAll('.jp-OutputArea-output')].filter(window.__tcplesson.isWidgetOutput).length,
          }))""")

    def widget_problems(self, timeout: float = 60.0) -> list[str]:
        """What a student would see as broken in the widgets and figures, once they had time to load.

        Widgets render after the kernel is idle (their state arrives in comm messages), so this
        waits up to ``timeout`` for the page to have none, then says what is still wrong.
        """
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        with contextlib.suppress(PlaywrightTimeout):  # the problems below say what is wrong
            self.page.wait_for_function("() => window.__tcplesson.problems().length === 0",
                                        timeout=timeout * 1000, polling=100)
        return self.page.evaluate("() => window.__tcplesson.problems()")

    def explorers(self) -> list["ExplorerView"]:
        """The tl.explore() explorers on the page, in page order."""
        count = self.page.evaluate("() => window.__tcplesson.markExplorers()")
        return [ExplorerView(self, k) for k in range(count)]

    def flood_explorers(self) -> list["FloodExplorerView"]:
        """The tl.explore_flood() explorers on the page, in page order."""
        count = self.page.evaluate("() => window.__tcplesson.markFloodExplorers()")
        return [FloodExplorerView(self, k) for k in range(count)]

    @property
    def lang(self) -> str:
        """The lesson's language: the Chinese twins live in zh/."""
        return "zh" if self.name.startswith("zh/") else "en"

    def glyphs_render(self, text: str) -> bool:
        """Whether the page's own font draws the characters of ``text`` as themselves: a browser
        with no font for them draws every one as the same empty box."""
        return self.page.evaluate(_DISTINCT_GLYPHS, text)

    # How far the cells reach down the notebook's scrolling element: its scrollHeight would also
    # count the empty space JupyterLab adds after the last cell (as tall as the window).
    _CELLS_HEIGHT = """el => {
      const cells = el.querySelectorAll('.jp-Cell');
      const last = cells[cells.length - 1].getBoundingClientRect().bottom;
      return Math.ceil(last - el.getBoundingClientRect().top + el.scrollTop) + 16;
    }"""

    @contextlib.contextmanager
    def tall(self):
        """The window made as tall as the notebook's cells (up to MAX_HEIGHT pixels), scrolled to
        the top, so that a screenshot shows as much as it can; back to the normal size afterwards.
        Yields the notebook's scrolling element."""
        size = self.page.viewport_size
        scroller = self.page.locator(".jp-NotebookPanel .jp-WindowedPanel-outer")
        try:
            for _ in range(3):  # cells off screen have estimated heights until drawn: measure again
                scroller.evaluate("el => { el.scrollTop = 0; }")
                extra = scroller.evaluate(self._CELLS_HEIGHT) - scroller.evaluate("el => el.clientHeight")
                height = min(self.page.viewport_size["height"] + extra, MAX_HEIGHT)
                if extra <= 0 or height == self.page.viewport_size["height"]:
                    break
                self.page.set_viewport_size({"width": size["width"], "height": height})
            self._images_loaded()
            yield scroller
        finally:
            self.page.set_viewport_size(size)

    def _images_loaded(self) -> None:
        self.page.wait_for_function(
            "() => [...document.querySelectorAll('.jp-NotebookPanel img')].every(i => i.complete)")

    def screenshot(self, path: Path) -> list[Path]:
        """The whole notebook: one picture at ``path``, or, when it is taller than MAX_HEIGHT,
        one per window-full (name-1.png, name-2.png ...). Returns the files written."""
        path.parent.mkdir(parents=True, exist_ok=True)
        for old in [path, *path.parent.glob(f"{path.stem}-[0-9]*{path.suffix}")]:
            old.unlink(missing_ok=True)
        with self.tall() as scroller:
            total, window = scroller.evaluate(self._CELLS_HEIGHT), scroller.evaluate("el => el.clientHeight")
            count = -(-total // window)
            paths = [path] if count == 1 else [path.with_name(f"{path.stem}-{k}{path.suffix}")
                                                for k in range(1, count + 1)]
            for k, part in enumerate(paths):
                scroller.evaluate("(el, top) => { el.scrollTop = top; }", k * window)
                self._images_loaded()
                self.page.screenshot(path=str(part))
        return paths

    def close(self) -> None:
        self.page.close()


class FigureBoxView:
    """What every explorer on the page has: sliders, a figure and a summary line under it.

    ``marker`` is the attribute the page helpers put on the explorer's box, ``k`` its number.
    """

    def __init__(self, notebook: NotebookPage, marker: str, k: int) -> None:
        self.notebook = notebook
        self.page = notebook.page
        self.timeout = 30.0  # for one kernel round trip and a redraw: generous
        self.root = self.page.locator(f"[{marker}='{k}']")
        self.image = self.root.locator(":scope > img.widget-image")

    def slider(self, label: str):
        """(handle, readout) of the slider whose label reads ``label``."""
        box = self.root.locator(".widget-slider").filter(
            has=self.page.locator(f"label.widget-label:text-is('{label}')"))
        return box.locator(".noUi-handle"), box.locator(".widget-readout")

    def summary(self) -> str:
        return self.root.locator(":scope > .widget-html .widget-html-content").inner_text()

    def digest(self) -> str:
        """SHA-256 of the PNG on show now."""
        return wait_until(lambda: self.image.evaluate("img => window.__tcplesson.digest(img)"),
                          self.timeout, "the figure's bytes")

    def press(self, label: str, key: str, expect: str | None = None) -> str:
        """Focus a slider's handle and press ``key`` (ArrowRight, Home, End ...); the new readout.

        Waits until the readout shows ``expect`` (for Home/End, which may leave it where it is) or
        otherwise until it changes.
        """
        handle, readout = self.slider(label)
        before = readout.inner_text()
        handle.press(key)

        def moved():
            now = readout.inner_text()
            return now if (now == expect if expect is not None else now != before) else None

        return wait_until(moved, self.timeout, f"the {label!r} readout after {key}")

    def settle(self, what: str, summary_ok, figure_ok=lambda digest: True) -> tuple[str, str]:
        """Wait until the summary satisfies ``summary_ok`` and the figure's digest ``figure_ok``;
        then (summary, digest). The kernel sets the figure before the summary, so once the summary
        is right the figure on show is the one that goes with it."""
        def ready():
            text = self.summary()
            if not summary_ok(text):
                return None
            figure = self.digest()
            return (text, figure) if figure_ok(figure) else None

        try:
            return wait_until(ready, self.timeout, what)
        except AssertionError as error:
            raise AssertionError(f"{error}; the summary reads {self.summary()!r}") from None

    def watch(self) -> None:
        """Start recording, in the page, every summary shown, every new figure, and anything a
        student would see flicker (the figure's element replaced or resized); see record()."""
        self.root.evaluate("box => window.__tcplesson.watch(box)")

    def record(self) -> dict:
        """{"summaries": [...], "figures": n, "removed": n, "resized": [...]} since watch()."""
        return self.root.evaluate("box => box.__record")

    def screenshot(self, path: Path) -> None:
        """The explorer alone, all of it."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with self.notebook.tall():
            self.root.scroll_into_view_if_needed()
            self.root.screenshot(path=str(path))


class ExplorerView(FigureBoxView):
    """One tl.explore() explorer on the page: its controls, figure and summary line."""

    def __init__(self, notebook: NotebookPage, k: int) -> None:
        super().__init__(notebook, "data-explorer", k)
        # Found by its label: a box nobody can tell the purpose of would fail here.
        drop = labels.text("control.drop", notebook.lang)
        self.drop_box = self.root.locator(".widget-text").filter(
            has=self.page.locator(f"label:text-is('{drop}')")).locator("input")
        self.play_button = self.root.locator(".widget-play button").first

    def drops(self) -> list[str]:
        """The numbers in the drop box, as the page shows them."""
        return self.drop_box.input_value().replace(",", " ").split()

    def type_drops(self, text: str, key: str = "Enter") -> None:
        """Clear the drop box, type ``text`` as a student would, and press ``key`` to commit it."""
        self.drop_box.click()
        self.drop_box.fill("")
        self.drop_box.press_sequentially(text)
        self.drop_box.press(key)

    def add_drop(self, number: int) -> None:
        """Add a segment number to the drop box and press Enter."""
        self.type_drops(" ".join(self.drops() + [str(number)]))
        wait_until(lambda: str(number) in self.drops(), self.timeout, f"{number} in the drop box")

    def clear_drops(self) -> None:
        """Empty the drop box and press Enter."""
        if self.drops():
            self.type_drops("")


class FloodExplorerView(FigureBoxView):
    """One tl.explore_flood() explorer on the page: sliders, the tcp_syncookies buttons, the queue
    plot and the summary line."""

    def __init__(self, notebook: NotebookPage, k: int) -> None:
        super().__init__(notebook, "data-flood-explorer", k)
        self.buttons = self.root.locator(".widget-toggle-buttons .widget-toggle-button")

    def chosen(self) -> str:
        """The label of the toggle button pressed now (ipywidgets marks it mod-active)."""
        return self.root.locator(".widget-toggle-buttons .widget-toggle-button.mod-active").text_content().strip()

    def choose(self, label: str) -> None:
        """Click the toggle button that reads ``label`` and wait until it shows as pressed."""
        self.buttons.filter(has_text=re.compile(f"^{re.escape(label)}$")).click()
        wait_until(lambda: self.chosen() == label, self.timeout, f"the {label!r} button to be pressed")

    def readout(self, label: str) -> str:
        """What the slider labelled ``label`` reads now."""
        return self.slider(label)[1].text_content().strip()
