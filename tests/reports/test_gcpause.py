"""analysis/gcpause.py: what render.py wraps every PDF in."""
from __future__ import annotations

import gc
import weakref

import pytest

from analysis.gcpause import gc_paused


class _Node:
    pass


def _cycle() -> weakref.ref[_Node]:
    a, b = _Node(), _Node()
    a.other, b.other = b, a  # type: ignore[attr-defined]
    return weakref.ref(a)


def test_collect_after_frees_the_cycles_the_block_left():
    gc.collect()
    with gc_paused(collect_after=True):
        assert not gc.isenabled()
        ref = _cycle()
        assert ref() is not None          # only reference counting ran: the cycle is still there
    assert gc.isenabled()
    assert ref() is None                  # the one young collection after the block freed it


def test_collection_is_restored_after_an_error_and_left_off_when_it_was_off():
    with pytest.raises(RuntimeError):
        with gc_paused(collect_after=True):
            raise RuntimeError
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused(collect_after=True):
            ref = _cycle()
        assert not gc.isenabled() and ref() is not None  # the outer owner collects, not this block
    finally:
        gc.enable()
        gc.collect()


def test_a_report_leaves_collection_on():
    from analysis.report import render_posters

    assert render_posters([]).startswith(b"%PDF")
    assert gc.isenabled()
