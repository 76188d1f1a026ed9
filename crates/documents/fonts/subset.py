#!/usr/bin/python3
"""Makes the two fonts the documents embed, from Debian's fonts-noto-cjk:
Noto Serif CJK SC Regular (body) and Noto Sans CJK SC Bold (titles and
labels), each cut to the characters of GB 2312 (6,763 hanzi and its
symbols) plus ASCII, Latin-1, general punctuation, arrows, enclosed
numbers, box drawing, geometric shapes, CJK punctuation and full-width
forms. Needs python3-fonttools and fonts-noto-cjk:

    apt-get install fonts-noto-cjk python3-fonttools
    crates/documents/fonts/subset.py

A character outside the set is drawn from the fonts named by
`[documents] extra_fonts` in the configuration, when given.
"""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
NOTO = "/usr/share/fonts/opentype/noto"
RANGES = [
    (0x20, 0x7E), (0xA0, 0xFF), (0x2000, 0x206F), (0x2100, 0x218F),
    (0x2190, 0x21FF), (0x2200, 0x22FF), (0x2460, 0x24FF), (0x2500, 0x257F),
    (0x25A0, 0x25FF), (0x2600, 0x26FF), (0x2700, 0x27BF), (0x3000, 0x303F),
    (0xFF00, 0xFFEF),
]


def characters():
    chars = set()
    for hi in range(0xA1, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                chars.add(bytes([hi, lo]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    for a, b in RANGES:
        chars.update(chr(c) for c in range(a, b + 1))
    return "".join(sorted(chars))


def main():
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write(characters())
        text = f.name
    # Font number 2 of each collection is the simplified-Chinese face.
    for source, out in [
        ("NotoSerifCJK-Regular.ttc", "NotoSerifSC-Regular-GB2312.otf"),
        ("NotoSansCJK-Bold.ttc", "NotoSansSC-Bold-GB2312.otf"),
    ]:
        subprocess.run(
            [sys.executable, "-m", "fontTools.subset", os.path.join(NOTO, source),
             "--font-number=2", f"--text-file={text}", "--no-hinting",
             f"--output-file={os.path.join(HERE, out)}"],
            check=True,
        )
    os.unlink(text)


if __name__ == "__main__":
    main()
