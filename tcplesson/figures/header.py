"""The 20-byte TCP header as RFC 9293 section 3.1 draws it, filled in with one segment's values.

Rows of 32 bits, a bit ruler on top; the eight flag bits stand in their own one-bit cells, the
ones this segment sets filled and marked 1, the others pale and marked 0 (so the figure reads
the same in black and white).
"""
from __future__ import annotations

from matplotlib.patches import Rectangle

from .. import labels
from ._fonts import font
from ..segment import Flags, Segment
from ..trace import Transmission
from ._common import (MARGINS, axes_points, check_ax, check_fontsize, check_lang, clear_axes, measure, new_axes,
                      record)

FLAG_ORDER = ("CWR", "ECE", "URG", "ACK", "PSH", "RST", "SYN", "FIN")  # bits 8..15 of the 4th row
DEFAULT_PORTS = {"client": 50000, "server": 80}
_LIT, _DIM = "#F0B64D", "#F4F4F4"


def plot_header(segment, ax=None, *, src_port: int | None = None, dst_port: int | None = None,
                fontsize: float = 12, lang: str | None = None):
    """Draw the header of ``segment`` (a Segment, or a Transmission from a trace) and return the Axes.

    Ports default to client 50000, server 80; a Transmission tells which way the segment went.
    """
    sender = "client"
    if isinstance(segment, Transmission):
        sender = segment.sender
        segment = segment.segment
    if not isinstance(segment, Segment):
        raise TypeError(f"segment must be a tcplesson Segment or Transmission, got {type(segment).__name__}")
    receiver = "server" if sender == "client" else "client"
    src = DEFAULT_PORTS[sender] if src_port is None else src_port
    dst = DEFAULT_PORTS[receiver] if dst_port is None else dst_port
    for name, port in (("src_port", src), ("dst_port", dst)):
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"{name} must be an integer port between 0 and 65535, got {port!r}")
    check_ax(ax)
    fs = check_fontsize(fontsize)
    lang = check_lang(lang)
    if ax is None:
        ax = new_axes((11.0, 5.6), MARGINS["header"])
    _draw(ax, segment, src, dst, fs, lang)
    return ax


def _draw(ax, seg: Segment, src: int, dst: int, fs: float, lang: str) -> None:
    clear_axes(ax)
    w_pt, h_pt = axes_points(ax)
    # x: one unit per bit; y: rows from the top, in units of a 32-bit row's height
    ax.set_xlim(-0.2, 32.2)
    rows_h = [1.0, 1.0, 1.0, 1.5, 1.0]
    top_space, bottom_space = 1.6, 1.0
    total = top_space + sum(rows_h) + bottom_space
    ax.set_ylim(total, 0)
    words_font = font(lang)
    t = lambda key, **kw: labels.text(key, lang, **kw)  # noqa: E731

    ax.text(0, 0.35, t("header_title", segment=labels.segment_label(seg, lang=lang)), ha="left", va="center",
            fontsize=fs + 2, fontweight="bold", gid="header.title", **words_font)
    for bit in range(32):
        ax.text(bit + 0.5, top_space - 0.3, str(bit), ha="center", va="center", fontsize=max(11, fs - 1),
                color="#555555", gid=f"header.bit:{bit}", **words_font)

    ack_on = bool(seg.flags & Flags.ACK)
    fields = [
        [(0, 16, t("header.src_port"), str(src), True), (16, 32, t("header.dst_port"), str(dst), True)],
        [(0, 32, t("header.seq"), str(seg.seq), True)],
        [(0, 32, t("header.ack") if ack_on else t("header.ack_ignored"), str(seg.ack), ack_on)],
        [(0, 4, t("header.offset"), t("header.offset_value", words=5, bytes=20), True),
         (4, 8, t("header.reserved"), "0", True), (16, 32, t("header.window"), str(seg.window), True)],
        [(0, 16, t("header.checksum"), t("header.checksum_value"), True),
         (16, 32, t("header.urgent"), "0", True)],
    ]
    info = {"fields": {}, "flags": {}, "lit": set()}
    y = top_space
    unit_pt = w_pt / 32.4
    for r, row in enumerate(fields):
        h = rows_h[r]
        for x0, x1, name, value, relevant in row:
            rect = Rectangle((x0, y), x1 - x0, h, facecolor="white", edgecolor="#222222", lw=1.4,
                             gid=f"header.field:{r}:{x0}")
            ax.add_artist(rect)
            colour = "#111111" if relevant else "#9A9A9A"
            name_fs = max(11, fs - 1)
            if measure(name, name_fs, "normal", lang)[0] > (x1 - x0) * unit_pt - 6:
                name = name.replace(" ", "\n", 1)
            ax.text((x0 + x1) / 2, y + 0.08 * h, name, ha="center", va="top", fontsize=name_fs, color=colour,
                    linespacing=1.0, gid=f"header.name:{r}:{x0}", **words_font)
            value_fs = fs + 2
            while value_fs > 11 and measure(value, value_fs, "bold", lang)[0] > (x1 - x0) * unit_pt - 8:
                value_fs -= 1
            if measure(value, value_fs, "bold", lang)[0] > (x1 - x0) * unit_pt - 8:
                value = value.replace(" ", "\n", 1)
            ax.text((x0 + x1) / 2, y + 0.68 * h, value, ha="center", va="center", fontsize=value_fs,
                    linespacing=1.0,
                    fontweight="bold" if relevant else "normal", color=colour, gid=f"header.value:{r}:{x0}",
                    **words_font)
            info["fields"][name.replace("\n", " ")] = value
        if r == 3:
            for i, flag in enumerate(FLAG_ORDER):
                on = bool(seg.flags & Flags[flag])
                x0 = 8 + i
                rect = Rectangle((x0, y), 1, h, facecolor=_LIT if on else _DIM, edgecolor="#222222",
                                 lw=2.2 if on else 1.0, hatch=None, gid=f"header.flag:{flag}")
                ax.add_artist(rect)
                ax.text(x0 + 0.5, y + 0.08 * h, t(f"flag.{flag}"), ha="center", va="top", rotation=90,
                        fontsize=max(11, fs - 1), fontweight="bold" if on else "normal",
                        color="#111111" if on else "#A0A0A0", gid=f"header.flag_name:{flag}", **words_font)
                ax.text(x0 + 0.5, y + 0.83 * h, "1" if on else "0", ha="center", va="center", fontsize=fs + 1,
                        fontweight="bold" if on else "normal", color="#111111" if on else "#A0A0A0",
                        gid=f"header.flag_bit:{flag}", **words_font)
                info["flags"][flag] = rect
                if on:
                    info["lit"].add(flag)
        y += h
    payload = t("header.payload", n=len(seg.payload)) if seg.payload else t("header.no_payload")
    ax.add_artist(Rectangle((0, y), 32, 0.7, facecolor="white", edgecolor="#777777", lw=1.0, linestyle="--",
                           gid="header.payload_box"))
    ax.text(16, y + 0.35, payload, ha="center", va="center", fontsize=max(11, fs - 1), color="#444444",
            style="italic", gid="header.payload", **words_font)
    record(ax, "header", info)
