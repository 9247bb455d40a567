"""Cyclic garbage collection kept out of allocation bursts (reports, index reads).

Rendering one unit report allocates ~250,000 short-lived objects (WeasyPrint's boxes, styles,
Pango wrappers), many in reference cycles. With the default thresholds that burst sets off
dozens of young collections and full ones over every long-lived object of the process (the
app, WeasyPrint's and matplotlib's modules, fonts): about a tenth of a report's CPU.
"""
from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator

__all__ = ["gc_paused"]


@contextmanager
def gc_paused(collect_after: bool = False) -> Iterator[None]:
    """No cyclic garbage collection inside the block.

    ``collect_after``: one young collection when the block ends, for the cycles it left (a
    report's boxes point at their parents): they are all young, so that one pass frees them
    instead of the many the burst would have set off. Nested or concurrent blocks: only the
    one that turned collection off turns it back on (and collects)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
            if collect_after:
                gc.collect(0)

