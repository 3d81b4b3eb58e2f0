"""The README's way to open the course really opens it, also for root in a container.

bin/lab runs exactly as the README says, plus a port and a token of our own. It runs bin/setup
first (pip into .venv: a few seconds when everything is installed). Instead of a web browser,
JupyterLab gets (through the BROWSER variable) a command that writes down the address it was
asked to open, so the test sees what a student's browser would be sent to. Running as root, as
CI does, also checks that bin/lab passes --allow-root, without which JupyterLab refuses to start.
"""
import html
import re
import shlex
import sys
import urllib.request
from pathlib import Path

from _lab import REPO, Lab, wait_until

FIRST_LESSON = "notebooks/00_start_here.ipynb"


def opened_address(recorded: str) -> str:
    """The http address behind what the browser was given: JupyterLab hands it a local HTML file
    that redirects to the address (so the token is not on a command line)."""
    if recorded.startswith("http"):
        return recorded
    page = Path(recorded.removeprefix("file://")).read_text(encoding="utf-8")
    return html.unescape(re.search(r'http://[^"\'\s]+', page)[0])


def test_bin_lab_opens_the_first_lesson(tmp_path):
    assert (REPO / FIRST_LESSON).exists(), f"{FIRST_LESSON} is missing: bin/lab opens it first"
    record = tmp_path / "opened.txt"
    recorder = f"import sys, pathlib; pathlib.Path({str(record)!r}).write_text(sys.argv[1])"
    browser = f"{shlex.quote(sys.executable)} -c {shlex.quote(recorder)} %s"
    with Lab([str(REPO / "bin" / "lab")], cwd=REPO, browser=browser) as lab:
        model = lab.api(f"/api/contents/{FIRST_LESSON}?content=0")
        assert (model["type"], model["path"]) == ("notebook", FIRST_LESSON)

        recorded = wait_until(lambda: record.exists() and record.read_text(), 60, "JupyterLab to open a browser")
        address = opened_address(recorded)
        assert address.startswith(f"{lab.base}/lab/tree/{FIRST_LESSON}"), address
        with urllib.request.urlopen(address, timeout=10) as page:
            assert page.status == 200 and b"JupyterLab" in page.read()
