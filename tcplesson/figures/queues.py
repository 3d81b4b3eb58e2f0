"""A listener's two queues over time: half-open connections (SYN queue) and those waiting for accept().

Read beside the flood's start and end (a shaded band) and the legitimate clients' fates (a row of
marks along the bottom: a filled triangle when a client's connect() succeeded, a cross when it
failed). The queues are step lines that differ in style as well as colour; the limit
min(backlog, somaxconn) is a dotted line (Linux lets one more in than the limit).
"""
from __future__ import annotations

from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import blended_transform_factory

from .. import labels
from ..states import State
from ..trace import SIDES
from ._common import BLACK, BLUE, GREEN, GREY, VERMILION, check_ax, check_fontsize, check_lang, record
from ._fonts import font

_SIZE = (10.0, 5.6)


def plot_queues(trace, host: str = "server", port: int | None = None, ax=None, *, fontsize: float = 12,
                lang: str | None = None):
    """Draw ``host``'s listen queues on ``port`` (its only listener if None) from a NetworkTrace; returns the Axes."""
    from ..nettrace import NetworkTrace

    if not isinstance(trace, NetworkTrace):
        raise TypeError(f"trace must be a NetworkTrace (a run of tl.simulate with a Network), "
                        f"got {type(trace).__name__}")
    check_ax(ax)
    fs, lang = check_fontsize(fontsize), check_lang(lang)
    ports = [p for h, p in trace.queues if h == host]
    if port is None:
        if len(ports) != 1:
            raise ValueError(f"{host} listens on {len(ports)} ports ({ports}); name one with port=")
        port = ports[0]
    series = trace.queues.get((host, port))
    if series is None:
        raise ValueError(f"{host} does not listen on port {port} in this run (listeners: "
                         f"{', '.join(f'{h}:{p}' for h, p in trace.queues) or 'none'})")
    if ax is None:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=_SIZE)
        ax = fig.add_axes((0.08, 0.32, 0.9, 0.58))
    words = font(lang)
    t = lambda key, **fields: labels.text(key, lang, **fields)  # noqa: E731

    outcomes = trace.connect_times()
    marks = [(r["started"] + r["connected"], True) if r["connected"] is not None else
             (_failed_at(trace, r), False) for r in outcomes]
    end = max([series[-1][0]] + [m for m, _ in marks] + list(trace.flood or ()))
    end = end * 1.04 + 0.1
    times = [s[0] for s in series] + [end]
    syn = [s[1] for s in series] + [series[-1][1]]
    accept = [s[2] for s in series] + [series[-1][2]]
    limit = trace.limits[(host, port)]

    if trace.flood:
        ax.axvspan(*trace.flood, color=GREY, alpha=0.18, lw=0, gid="queues.flood")
        ax.text((trace.flood[0] + trace.flood[1]) / 2, 1.01, t("queues.flood"), transform=blended_transform_factory(
            ax.transData, ax.transAxes), ha="center", va="bottom", fontsize=fs, color=BLACK, **words)
    ax.step(times, syn, where="post", color=VERMILION, lw=2.4, label=t("queues.syn"), gid="queues.syn")
    ax.step(times, accept, where="post", color=BLUE, lw=2.4, ls=(0, (6, 3)), label=t("queues.accept"),
            gid="queues.accept")
    ax.axhline(limit, color=BLACK, lw=1.4, ls=":", label=t("queues.limit", limit=limit), gid="queues.limit")
    rug = blended_transform_factory(ax.transData, ax.transAxes)
    ok = [m for m, good in marks if good]
    bad = [m for m, good in marks if not good and m is not None]
    if ok:
        ax.plot(ok, [0.04] * len(ok), "^", ms=9, color=GREEN, transform=rug, clip_on=False,
                label=t("queues.connect"), gid="queues.connected")
    if bad:
        ax.plot(bad, [0.04] * len(bad), "x", ms=10, mew=2.2, color=BLACK, transform=rug, clip_on=False,
                label=t("queues.failed"), gid="queues.failed")
    top = max(max(syn), max(accept), limit + 1)
    ax.set_ylim(-0.06 * top - 0.3, top * 1.12 + 0.5)
    ax.set_xlim(0, end)
    ax.set_xlabel(t("queues.x"), fontsize=fs, **words)
    ax.set_ylabel(t("queues.y"), fontsize=fs, **words)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.tick_params(labelsize=fs - 1)
    shown = t(host) if host in SIDES else host  # the default host names are words of the figure too
    ax.set_title(t("queues.title", host=shown, port=port), fontsize=fs + 1, loc="left", pad=fs * 1.6, **words)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    legend = ax.legend(loc="upper left", bbox_to_anchor=(0.0, -0.16), ncol=2, frameon=False,
                       prop=dict(size=fs - 1, **words))
    legend.set_gid("queues.legend")
    record(ax, "queues", {"host": host, "port": port, "limit": limit, "series": list(series),
                          "flood": trace.flood, "connected": ok, "failed": bad})
    return ax


def _failed_at(trace, row) -> float | None:
    """When a legitimate client's connect() gave up (its connection's last state change)."""
    conn = next(c for c in trace.clients[row["client"]] if c[1] == row["port"])
    states = trace.connections[conn].states["client"]
    return states[-1][0] if states[-1][1] is State.CLOSED else None


