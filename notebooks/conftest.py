"""nbval settings that graders need, so that a bare `pytest --nbval notebooks` works.

Widget outputs carry a fresh random model id on every run and nbval cannot see inside them, so
their MIME type is never compared (their cells are also tagged nbval-ignore-output). Figures are
PNG, which nbval does not compare byte for byte; every text output is compared strictly.
"""


def pytest_collectstart(collector):
    if collector.fspath and collector.fspath.ext == ".ipynb":
        collector.skip_compare += ("application/vnd.jupyter.widget-view+json",)
