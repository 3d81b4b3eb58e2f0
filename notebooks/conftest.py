"""nbval settings that graders need, so that a bare `pytest --nbval notebooks` works.

Widget outputs carry a fresh random model id on every run and nbval cannot see inside them, so
their MIME type is never compared (their cells are also tagged nbval-ignore-output). Figures are
PNG, which nbval does not compare byte for byte; every text output is compared strictly, after the
rules in sanitize.cfg (used unless the command line names another file).
"""
from pathlib import Path


def pytest_configure(config):
    if getattr(config.option, "nbval_sanitize_with", None) is None:
        config.option.nbval_sanitize_with = str(Path(__file__).with_name("sanitize.cfg"))


def pytest_collectstart(collector):
    if collector.fspath and collector.fspath.ext == ".ipynb":
        collector.skip_compare += ("application/vnd.jupyter.widget-view+json",)
