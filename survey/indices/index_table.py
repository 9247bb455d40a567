"""An index table's rows: IndexRow, and IndexRows, the sequence that builds them when read.

A national table is ~2x10^5 rows (3,321 units x ~55 measures); building an Estimate and an
IndexRow for each took longer than computing every estimate, interval and rank in arrays
(analysis.indices.index_columns).  A page shows a few hundred of them and a digest one stat,
so :class:`IndexRows` keeps the columns and builds the objects of a block of rows the first
time one of them is read; iterating over all of them costs what a list did.  ``column`` reads
one field of every row as an array, building nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Sequence, cast, overload

import numpy as np

from analysis import Estimate
from analysis.estimate import estimates_from_columns
from analysis.indices import ESTIMATE_COLUMNS

BLOCK = 2_048


@dataclass(frozen=True)
class IndexRow:
    """An index table row: the estimate (with its keys) and what the app knows of its unit."""

    est: Estimate
    unit_code: str
    unit_name: str
    unit_kind: str
    responses: int                 # responses of the unit in the period
    weighted: bool                 # False: no service volumes, print UNWEIGHTED_NOTE
    fallback_responses: int        # weighted by rule 2 or 3 of aggregates' docstring

    # The estimate's keys, typed for the app: an index row always has all four (a bare
    # analysis.Estimate may not), and its unit is a unit id.
    @property
    def unit_id(self) -> int:
        return cast(int, self.est.unit)

    @property
    def period(self) -> str:
        return cast(str, self.est.period)

    @property
    def stat(self) -> str:
        return cast(str, self.est.stat)

    @property
    def measure(self) -> str:
        return cast(str, self.est.measure)


class IndexRows(Sequence[IndexRow]):
    """Rows of index_columns' ``cols`` in ``order``; ``units``: unit id -> (code, name, kind);
    ``flags``: (unit id, period) -> (responses, weighted, fallback responses)."""

    def __init__(self, cols: Mapping[str, np.ndarray], order: np.ndarray,
                 units: Mapping[int, tuple[str, str, str]],
                 flags: Mapping[tuple[int, str], tuple[int, bool, int]], level: float = 0.95
                 ) -> None:
        # The columns stay in index_columns' order; a block of rows gathers its own entries
        # (putting 17 columns of 2x10^5 rows in order up front cost as much as the ranks).
        self._cols = {k: np.asarray(cols[k]) for k in ESTIMATE_COLUMNS}
        self._order = np.asarray(order)
        self._units, self._flags, self._level = units, flags, level
        self._rows: list[IndexRow | None] = [None] * len(order)

    def column(self, name: str) -> np.ndarray:
        """One field of every row (an Estimate's field name), in order, as an array."""
        return self._cols[name][self._order]

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, i: int) -> IndexRow: ...

    @overload
    def __getitem__(self, i: slice) -> list[IndexRow]: ...

    def __getitem__(self, i: int | slice) -> IndexRow | list[IndexRow]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        row = self._rows[i]
        if row is None:
            self._build(i - i % BLOCK)
            row = self._rows[i]
        return cast(IndexRow, row)

    def __iter__(self) -> Iterator[IndexRow]:
        for lo in range(0, len(self), BLOCK):
            if self._rows[lo] is None:
                self._build(lo)
            yield from cast(list[IndexRow], self._rows[lo:lo + BLOCK])

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (list, tuple, IndexRows)):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable cache, compared by value like a list

    def __repr__(self) -> str:
        return f"IndexRows({len(self)} rows)"

    def _build(self, lo: int) -> None:
        hi = min(lo + BLOCK, len(self))
        picked = self._order[lo:hi]
        columns: dict[str, Any] = {k: v[picked].tolist() for k, v in self._cols.items()}
        columns["level"] = [self._level] * (hi - lo)
        new, units, flags = object.__new__, self._units, self._flags
        for at, (e, unit_id, period) in enumerate(
                zip(estimates_from_columns(columns), columns["unit"], columns["period"]), lo):
            # IndexRow's fields in bulk, as analysis.estimate.estimates_from_columns does.
            row = new(IndexRow)
            code, name, kind = units[unit_id]
            responses, weighted, fallback = flags[(unit_id, period)]
            row.__dict__.update(est=e, unit_code=code, unit_name=name, unit_kind=kind,
                                responses=responses, weighted=weighted,
                                fallback_responses=fallback)
            self._rows[at] = row

