"""Build the Chinese font that ships with tcplesson: a subset of Noto Sans CJK SC Regular (SIL OFL 1.1).

Why a subset: the whole face is 16 MB; the course needs the 3,755 common characters of GB 2312
level 1 (what Chinese school texts use), the symbols of GB 2312 (full-width punctuation, Greek,
arrows) and every CJK character the course's own words use. That is about 4,500 glyphs, 1.7 MB
a weight (regular for text, bold for state names and titles), and matplotlib falls back to a
system CJK font, where there is one, for anything else.

Usage (the source is Debian's fonts-noto-cjk package, unpacked without installing it):

    apt-get download fonts-noto-cjk && dpkg -x fonts-noto-cjk_*.deb src
    python tools/build_cjk_font.py src/usr/share/fonts/opentype/noto

It writes tcplesson/fonts/tcplessonCJKSC-Regular.otf and -Bold.otf, renamed "tcplesson CJK SC" so
that they never shadow a full Noto Sans CJK installed on the machine. The same input gives the
same bytes. Run it again when the course's words gain a character outside GB 2312 level 1 (a test
says so).
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tcplesson" / "fonts"
FAMILY = "tcplesson CJK SC"
WEIGHTS = ("Regular", "Bold")
SC_INDEX = 2  # Noto Sans CJK JP, KR, SC, TC, HK ... in the collection
WIDE = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\u3000-\u303f]")
# The course's own words: the Chinese label tables, exercise texts and lessons.
SOURCES = ["tcplesson/**/*.py", "notebooks/zh/*.ipynb", "course/zh/*.md", "README.zh-CN.md"]


def gb2312(rows: range) -> set[str]:
    chars = set()
    for hi in rows:
        for lo in range(0xA1, 0xFF):
            try:
                chars.add(bytes([hi, lo]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return chars


def course_characters() -> set[str]:
    chars = set()
    for pattern in SOURCES:
        for path in sorted(ROOT.glob(pattern)):
            text = path.read_text(encoding="utf-8")
            if path.suffix == ".ipynb":  # the cells' sources, not stored outputs or images
                text = "".join("".join(c["source"]) for c in json.loads(text)["cells"])
            chars.update(WIDE.findall(text))
    return chars


def build(source: Path, weight: str, chars: set[str]) -> Path:
    font = TTCollection(str(source)).fonts[SC_INDEX]
    options = subset.Options()
    options.layout_features = ["*"]
    options.hinting = False
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6, 13, 14]  # keep the copyright and licence records
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(ord(c) for c in chars))
    subsetter.subset(font)
    postscript = "tcplessonCJKSC-" + weight
    names = font["name"]
    for record in list(names.names):
        if record.nameID in (1, 4, 16):
            names.setName(FAMILY if record.nameID != 4 else f"{FAMILY} {weight}",
                          record.nameID, record.platformID, record.platEncID, record.langID)
        elif record.nameID in (3, 6):
            names.setName(postscript, record.nameID, record.platformID, record.platEncID, record.langID)
    font["CFF "].cff.fontNames = [postscript]
    font.recalcTimestamp = False  # no build time in the bytes: the same input gives the same file
    out = OUT / f"{postscript}.otf"
    font.save(str(out))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="the folder with NotoSansCJK-Regular.ttc and -Bold.ttc")
    args = parser.parse_args(argv)
    chars = gb2312(range(0xA1, 0xAA)) | gb2312(range(0xB0, 0xD8)) | course_characters()
    chars |= {chr(c) for c in range(0x20, 0x7F)}
    OUT.mkdir(parents=True, exist_ok=True)
    for weight in WEIGHTS:
        out = build(args.source / f"NotoSansCJK-{weight}.ttc", weight, chars)
        print(f"{out.relative_to(ROOT)}: {len(chars)} characters, {out.stat().st_size / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
