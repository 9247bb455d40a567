"""Text measured in the bundled Noto Sans, shared by the SVG and the matplotlib charts.

Both chart paths place labels by their real width in the file WeasyPrint
embeds, so a label never runs into the plot whichever path drew it.
"""
from __future__ import annotations

import threading
import unicodedata
from functools import lru_cache
from pathlib import Path

from matplotlib.ft2font import FT2Font, LoadFlags

FONT_DIR = Path(__file__).resolve().parent / "fonts"
REGULAR = FONT_DIR / "NotoSans-Regular.ttf"
# FreeType faces are stateful (set_size, set_text), and matplotlib shares its
# cached faces between figures: one measurement or chart at a time.
lock = threading.RLock()


@lru_cache(maxsize=1)
def _face() -> FT2Font:
    return FT2Font(str(REGULAR))


@lru_cache(maxsize=8192)
def text_width(text: str, size: float) -> float:
    """Width in points of one line of `text` set in the bundled regular face.

    Cached: FreeType layout costs ~0,5 ms a call, and the same question
    texts recur in every report of a batch.
    """
    with lock:
        font = _face()
        font.set_size(size, 72)
        font.set_text(text, 0.0)
        return float(font.get_width_height()[0]) / 64


@lru_cache(maxsize=8192)
def advance(text: str, size: float) -> float:
    """Unhinted width in points, as a PDF viewer sets the text: where to put a line's start
    so that it ends (or centres) on a given x. text_width, hinted and a little wider, stays
    the measure for wrapping, so wrapped lines keep a margin."""
    with lock:
        font = _face()
        font.set_size(100.0, 72)
        font.set_text(text, 0.0, flags=LoadFlags.NO_HINTING)
        return float(font.get_width_height()[0]) / 64 * size / 100


@lru_cache(maxsize=4096)
def wrap(text: str, max_pt: float, size: float, lines: int = 2) -> str:
    """Word-wrap to a measured width; the last allowed line ends in "…" if cut."""
    text = unicodedata.normalize("NFC", " ".join(text.split()))
    if text_width(text, size) <= max_pt:
        return text
    words = text.split(" ")
    out: list[str] = []
    line = ""
    for i, word in enumerate(words):
        trial = f"{line} {word}".strip()
        if not line or text_width(trial, size) <= max_pt:
            line = trial
            continue
        out.append(line)
        line = word
        if len(out) == lines - 1:
            rest = " ".join(words[i:])
            if text_width(rest, size) > max_pt:
                # Longest prefix that fits with the ellipsis (binary search: few font calls).
                lo, hi = 0, len(rest)
                while lo < hi:
                    mid = (lo + hi + 1) // 2
                    if text_width(rest[:mid] + "…", size) <= max_pt:
                        lo = mid
                    else:
                        hi = mid - 1
                rest = rest[:lo].rstrip(" ,;") + "…"
            out.append(rest)
            return "\n".join(out)
    out.append(line)
    return "\n".join(out)
