"""How long from moving a slider to seeing the new figure, in JupyterLab in a real browser?

Run: ``.venv/bin/python benchmarks/bench_browser.py``. Prints timings; never a test (timings vary
by machine). Needs /usr/bin/chromium and playwright, like the browser tests.

In one JupyterLab session (headless Chromium driving a real page), for each move of a slider:
from the key press on the slider's handle (the keydown event's timestamp) to the frame that shows
the result, measured in the page: a MutationObserver sees the change arrive from the kernel, the
new image is decoded, and the time is taken after the next animation frame (when the browser has
painted it).

1. The explorer: ``tl.explore("lifecycle")``'s one-way delay slider, moved one step 20 times;
   each move re-simulates, redraws the ladder, and sends a new PNG to the page.
2. The floor: a bare IntSlider whose observer copies its value into a Label, moved 20 times; one
   round trip to the kernel and back, nothing drawn (no widget update can be faster).

Goal: explorer median <= 150 ms on the 2-core machine.
"""
from __future__ import annotations

import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from _lab import Lab, NotebookPage, chromium, lab_command, missing_browser_tools  # noqa: E402

MOVES = 20
WARMUP = 3
GOAL_MS = 150

CELLS = [
    "import ipywidgets as widgets\nimport tcplesson as tl",
    'tl.explore("lifecycle", client_isn=100, server_isn=300)',
    "floor, label = widgets.IntSlider(0, 0, 100, description='floor'), widgets.Label('0')\n"
    "floor.observe(lambda change: setattr(label, 'value', str(change['new'])), names='value')\n"
    "widgets.HBox([floor, label])",
]

# arm(): start the clock at the next keydown on ``handle``; the promise ``result`` resolves with
# the milliseconds until ``target`` changed and the change was painted.
_MEASURE_JS = r"""
([handle, target, image]) => {
  let start = null;
  handle.addEventListener('keydown', e => { start = e.timeStamp; }, {capture: true, once: true});
  window.__latency = new Promise(resolve => {
    const observer = new MutationObserver(async () => {
      observer.disconnect();
      if (image) await target.decode().catch(() => {});
      requestAnimationFrame(() => setTimeout(() => resolve(performance.now() - start), 0));
    });
    observer.observe(target, image ? {attributeFilter: ['src']}
                                   : {childList: true, characterData: true, subtree: true});
  });
}
"""


def notebook(directory: Path) -> str:
    cells = [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
              "source": source} for source in CELLS]
    document = {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                            "language": "python"}},
                "nbformat": 4, "nbformat_minor": 5}
    (directory / "bench.ipynb").write_text(json.dumps(document))
    return "bench.ipynb"


def latencies(page, handle, target, image: bool, key: str = "ArrowRight") -> list[float]:
    """Milliseconds from key press to painted result, for WARMUP + MOVES presses (warm-up dropped)."""
    samples = []
    for _ in range(WARMUP + MOVES):
        page.evaluate(_MEASURE_JS, [handle.element_handle(), target.element_handle(), image])
        handle.press(key)
        samples.append(page.evaluate("() => window.__latency"))
    return samples[WARMUP:]


def describe(samples: list[float]) -> tuple[float, float]:
    median = statistics.median(samples)
    p95 = statistics.quantiles(samples, n=100, method="inclusive")[94]
    print(f"  {len(samples)} moves: median {median:.0f} ms, p95 {p95:.0f} ms, "
          f"min {min(samples):.0f} ms, max {max(samples):.0f} ms")
    return median, p95


def main() -> None:
    missing = missing_browser_tools()
    if missing:
        sys.exit(f"bench_browser needs {missing}")
    with tempfile.TemporaryDirectory(prefix="tcplesson-bench-") as tmp:
        root = Path(tmp) / "course"
        root.mkdir()
        name = notebook(root)
        with Lab(lab_command(f"--ServerApp.root_dir={root}", "--LabApp.news_url=None"), cwd=root) as lab, \
                chromium(Path(tmp) / "profile") as context:
            page = NotebookPage(context, lab, root, name)
            page.run_all()
            problems = page.widget_problems()
            if problems:
                sys.exit(f"the widgets did not render: {problems}")
            (explorer,) = page.explorers()
            handle, _ = explorer.slider("one-way delay (s)")
            print("explorer (lifecycle), one-way delay slider, key press -> new ladder painted:")
            slider_median, slider_p95 = describe(latencies(page.page, handle, explorer.image, image=True))

            floor = page.page.locator(".widget-hbox").filter(
                has=page.page.locator("label.widget-label:text-is('floor')"))
            handle, label = floor.locator(".noUi-handle"), floor.locator(":scope > .widget-label")
            print("floor: IntSlider -> Label, key press -> new text painted:")
            floor_median, _ = describe(latencies(page.page, handle, label, image=False))
            if label.inner_text() != floor.locator(".widget-readout").inner_text():
                sys.exit("the floor's label does not show the slider's value: the measurement is wrong")
    verdict = "met" if slider_median <= GOAL_MS else "NOT met"
    print(f"goal (explorer median <= {GOAL_MS} ms): {verdict}")
    print(f"slider median {slider_median:.0f} ms, p95 {slider_p95:.0f} ms, floor median {floor_median:.0f} ms")


if __name__ == "__main__":
    main()
