"""Survey designs: weights, strata, primary sampling units (PSUs), lonely-PSU rule.

A :class:`Design` describes the sample once; every estimator takes it (as in R's
``svydesign``).  It can be built two ways:

* :meth:`Design.from_arrays` from row-level arrays (one entry per response);
* :meth:`Design.from_aggregates` from a per-stratum frame (stratum label and the number of
  PSUs the stratum has in the *whole* sample), for use with SQL aggregates
  (see :mod:`analysis.sums`), so millions of rows never become Python objects.

PSU ids are nested within strata: PSU "1" of stratum A and PSU "1" of stratum B are
different PSUs (R's ``svydesign(..., nest=TRUE)``).  Without PSU ids every row is its own
PSU (R's ``ids=~1``); we call such a design an *element* design.

Weights must be positive and finite.  R allows zero weights; we refuse them so that
"rows in a domain" and "rows with non-zero weight" (which R uses for ``degf`` and the
``deff`` sample size) are the same thing.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

LONELY_PSU_RULES = ("error", "certainty", "adjust", "average")


class DesignError(ValueError):
    """The design or data cannot be used (bad weights, unknown strata, ...)."""


class LonelyPSUError(DesignError):
    """A stratum has a single PSU and the lonely-PSU rule is "error" (R: ``"fail"``)."""


def _labels(values: Any, n: int, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Dense integer codes 0..k-1 for arbitrary labels, with the sorted unique labels."""
    arr = np.asarray(values)
    if arr.shape != (n,):
        raise DesignError(f"{what} must have one value per row ({n}), got shape {arr.shape}")
    if arr.dtype.kind == "f" and np.isnan(arr).any():
        raise DesignError(f"{what} has missing values")
    if arr.dtype == object and any(v is None for v in arr):
        raise DesignError(f"{what} has missing values")
    uniq, codes = np.unique(arr, return_inverse=True)
    return uniq, codes.astype(np.int64)


def _check_rule(lonely_psu: str) -> str:
    if lonely_psu not in LONELY_PSU_RULES:
        raise DesignError(
            f"lonely_psu must be one of {', '.join(LONELY_PSU_RULES)}; got {lonely_psu!r}")
    return lonely_psu


@dataclass(frozen=True, eq=False)
class Design:
    """A one-stage stratified cluster design (with-replacement PSU approximation).

    ``strata`` holds the H stratum labels (sorted), ``n_psu[h]`` the number of PSUs of
    stratum h in the whole sample.  Row-built designs also keep ``weights``,
    ``row_stratum`` (index into ``strata``) and ``row_psu`` (dense global PSU index).
    """

    strata: np.ndarray
    n_psu: np.ndarray
    lonely_psu: str = "error"
    elements: bool = True
    weights: np.ndarray | None = None
    row_stratum: np.ndarray | None = None
    row_psu: np.ndarray | None = None

    @classmethod
    def from_arrays(cls, weights: Sequence[float] | np.ndarray | None = None,
                    strata: Sequence[Any] | np.ndarray | None = None,
                    psu: Sequence[Any] | np.ndarray | None = None,
                    lonely_psu: str = "error", n: int | None = None) -> "Design":
        """Design from row-level arrays; missing pieces default to SRS (weights 1)."""
        _check_rule(lonely_psu)
        sizes = {len(a) for a in (weights, strata, psu) if a is not None}
        if n is not None:
            sizes.add(n)
        if len(sizes) != 1:
            raise DesignError("weights, strata and psu must have the same length"
                              if sizes else "give at least one array or n")
        (nrows,) = sizes
        if weights is None:
            w = np.ones(nrows)
        else:
            w = np.asarray(weights, dtype=float)
            if not np.all(np.isfinite(w)) or np.any(w <= 0):
                raise DesignError("weights must be positive and finite")
        if strata is None:
            labels, row_stratum = np.array([0]), np.zeros(nrows, dtype=np.int64)
        else:
            labels, row_stratum = _labels(strata, nrows, "strata")
        if psu is None:
            row_psu = np.arange(nrows, dtype=np.int64)
            n_psu = np.bincount(row_stratum, minlength=len(labels))
            elements = True
        else:
            _, psu_codes = _labels(psu, nrows, "psu")
            # Nest PSUs in strata: the pair (stratum, psu) is the PSU.
            pair = row_stratum * (psu_codes.max() + 1) + psu_codes
            first, row_psu = np.unique(pair, return_inverse=True)
            row_psu = row_psu.astype(np.int64)
            n_psu = np.bincount(first // (psu_codes.max() + 1), minlength=len(labels))
            elements = False
        return cls(strata=labels, n_psu=n_psu.astype(np.int64), lonely_psu=lonely_psu,
                   elements=elements, weights=w, row_stratum=row_stratum, row_psu=row_psu)

    @classmethod
    def from_aggregates(cls, strata: Sequence[Any] | np.ndarray,
                        n_psu: Sequence[int] | np.ndarray, lonely_psu: str = "error",
                        elements: bool = True) -> "Design":
        """Design from a per-stratum frame: one row per stratum with its PSU count.

        ``n_psu`` counts the PSUs of the stratum in the whole sample, including PSUs
        with no row in the domain being estimated: domain estimation needs it.  For an
        element design (every response is its own PSU) it is the number of responses.
        """
        _check_rule(lonely_psu)
        labels = np.asarray(strata)
        counts = np.asarray(n_psu, dtype=np.int64)
        if labels.ndim != 1 or labels.shape != counts.shape:
            raise DesignError("strata and n_psu must be 1-d arrays of the same length")
        if np.any(counts < 1):
            raise DesignError("every stratum needs at least one PSU")
        order = np.argsort(labels, kind="stable")
        labels, counts = labels[order], counts[order]
        if len(labels) > 1 and np.any(labels[1:] == labels[:-1]):
            raise DesignError("stratum labels in the frame must be unique")
        return cls(strata=labels, n_psu=counts, lonely_psu=lonely_psu, elements=elements)

    @property
    def has_rows(self) -> bool:
        return self.weights is not None

    def rows(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """weights, row_stratum, row_psu of a row-built design (DesignError otherwise)."""
        if self.weights is None or self.row_stratum is None or self.row_psu is None:
            raise DesignError("an aggregate-built design has no rows")
        return self.weights, self.row_stratum, self.row_psu

    @property
    def n_rows(self) -> int:
        if self.weights is None:
            raise DesignError("an aggregate-built design has no rows")
        return len(self.weights)

    @property
    def df(self) -> int:
        """Design degrees of freedom: number of PSUs minus number of strata."""
        return int(self.n_psu.sum() - len(self.strata))

    def with_lonely_psu(self, lonely_psu: str) -> "Design":
        """The same design under another lonely-PSU rule."""
        from dataclasses import replace
        return replace(self, lonely_psu=_check_rule(lonely_psu))

    def stratum_index(self, labels: Sequence[Any] | np.ndarray) -> np.ndarray:
        """Map stratum labels (e.g. from an aggregate table) to indices into ``strata``."""
        arr = np.asarray(labels)
        n = len(self.strata)
        if (arr.dtype.kind in "iu" and self.strata.dtype.kind in "iu" and n
                and self.strata[0] == 0 and self.strata[-1] == n - 1):
            # Sorted distinct integers from 0 to n-1 are 0..n-1: a label is its own index.
            if len(arr) and (arr.min() < 0 or arr.max() >= n):
                bad = arr[(arr < 0) | (arr >= n)]
                raise DesignError(f"stratum {bad[0]!r} is not in the design frame")
            return arr.astype(np.int64, copy=False)
        idx = np.searchsorted(self.strata, arr)
        idx = np.clip(idx, 0, len(self.strata) - 1)
        bad = self.strata[idx] != arr
        if np.any(bad):
            raise DesignError(f"stratum {arr[bad][0]!r} is not in the design frame")
        return idx.astype(np.int64)
