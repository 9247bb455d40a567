"""Design-based survey statistics for the SIPAS satisfaction index (no web app imports).

Plain data in (NumPy arrays, aggregate tables), frozen dataclasses out.  R ``survey`` is
the yardstick: see tests/analysis/reference/make_reference.R and make_constant.R.
"""
from .design import Design, DesignError, LonelyPSUError
from .estimate import Estimate
from .estimators import (
                         by,
                         columns_from_moments,
                         difference,
                         difference_from_sums,
                         from_sums,
                         independent_difference,
                         mean,
                         proportion,
)
from .gap import gap_from_sums
from .replicate import jackknife
from .sums import frame_from_rows, moments_from_sums, sums_from_rows

__all__ = [
    "Design", "DesignError", "LonelyPSUError", "Estimate", "mean", "proportion", "by",
    "difference", "from_sums", "difference_from_sums", "independent_difference", "columns_from_moments",
    "gap_from_sums", "jackknife", "sums_from_rows", "frame_from_rows", "moments_from_sums",
]
