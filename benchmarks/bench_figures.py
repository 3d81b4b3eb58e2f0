"""How long figures take: is a slider that re-simulates and redraws fast enough to feel live?

Run: ``python benchmarks/bench_figures.py``. Prints timings; never a test (timings vary by machine).

1. Ladder render time (draw + Agg render) for traces of about 10, 100 and 1000 transmissions
   (a custom scenario that sends N bytes of data).
2. Median and 95th percentile of one widget update, "simulate + redraw + render", next to a bare
   matplotlib figure of the same size rendered the same way (the floor no figure can beat).
"""
from __future__ import annotations

import statistics
import time

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import tcplesson as tl  # noqa: E402


def bulk(nbytes: int):
    return tl.Scenario("bulk", [
        ("server", "listen", 0),
        ("client", "connect", 0),
        ("client", "send", "ESTABLISHED+0.1", b"x" * nbytes),
        ("client", "close", "ESTABLISHED+2"),
        ("server", "close", "CLOSE-WAIT+1"),
    ])


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def p95(xs):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(0.95 * (len(xs) - 1))))]


def ladder_sizes() -> None:
    print("ladder: draw + Agg render (new figure each time)")
    for nbytes, repeat in ((1, 7), (60_000, 5), (700_000, 3)):
        trace = tl.simulate(bulk(nbytes), client_isn=1, server_isn=2)

        def run():
            ax = tl.plot_ladder(trace)
            ax.figure.canvas.draw()
            size = ax.figure.get_size_inches()
            plt.close(ax.figure)
            return size

        times = timed(run, repeat)
        size = run()
        print(f"  {len(trace.transmissions):5d} transmissions: median {statistics.median(times) * 1000:8.1f} ms"
              f"  (figure {size[0]:.0f} x {size[1]:.1f} in)")


def widget_update(repeat: int = 40) -> None:
    print(f"widget update on one reused figure (10 x 7.5 in, {repeat} runs, drop slider moving)")
    fig = Figure(figsize=(10, 7.5))
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.1, 0.02, 0.88, 0.96))
    drops = [[], [1], [3], [7], [4], [2]]

    def update(i=[0]):
        i[0] += 1
        trace = tl.simulate("lifecycle", drop=drops[i[0] % len(drops)], seed=i[0] % 5)
        ax.clear()
        tl.plot_ladder(trace, ax=ax)
        fig.canvas.draw()

    update()
    ours = timed(update, repeat)
    bare_fig = Figure(figsize=(10, 7.5))
    FigureCanvasAgg(bare_fig)
    bare_ax = bare_fig.add_axes((0.1, 0.02, 0.88, 0.96))

    def bare():
        bare_ax.clear()
        bare_ax.plot([0, 1], [0, 1])
        bare_fig.canvas.draw()

    bare()
    floor = timed(bare, repeat)
    sim = timed(lambda: tl.simulate("lifecycle", drop=[7]), repeat)
    print(f"  simulate only               median {statistics.median(sim) * 1000:7.2f} ms   p95 {p95(sim) * 1000:7.2f} ms")
    print(f"  simulate + redraw + render  median {statistics.median(ours) * 1000:7.1f} ms   p95 {p95(ours) * 1000:7.1f} ms")
    print(f"  bare figure, same size      median {statistics.median(floor) * 1000:7.1f} ms   p95 {p95(floor) * 1000:7.1f} ms")


if __name__ == "__main__":
    ladder_sizes()
    widget_update()
