"""How a report names the interval methods of its estimates (read from the estimates themselves)."""
from __future__ import annotations

from typing import Any, Iterable

from ..estimate import Estimate

__all__ = ["METHOD_LABELS", "JACKKNIFE", "method_label", "ci_method_text"]


def _checked(value: Any, name: str) -> Estimate:
    # One estimate type end to end: a dict or a look-alike here is a caller's bug, caught at
    # construction rather than as a wrong figure in a PDF.
    if not isinstance(value, Estimate):
        raise TypeError(f"{name}: expected analysis.Estimate or None, got {type(value).__name__}")
    return value


# How each interval method is named in a report: Estimate.method -> (Vietnamese, English).
METHOD_LABELS: dict[str, tuple[str, str]] = {
    "mean": ("t (Student)", "Student t"),
    "logit": ("logit", "logit"),
    "beta": ("Korn–Graubard", "Korn–Graubard"),
    "wilson": ("Wilson", "Wilson"),
    "difference": ("t (Student) trên hiệu số", "Student t on the difference"),
    # Reports use it for a unit's change between two periods only, hence "hai kỳ".
    "independent_difference": ("t (Student) trên hiệu số, bậc tự do của hai kỳ cộng lại",
                               "Student t on the difference, degrees of freedom of the two "
                               "periods added"),
    "JK1": ("jackknife", "jackknife"),
    "JKn": ("jackknife", "jackknife"),
}
JACKKNIFE = frozenset({"JK1", "JKn"})


def method_label(method: str, lang: str = "vi") -> str:
    """The printed name of an interval method (the key itself if the table lacks it)."""
    labels = METHOD_LABELS.get(method)
    return method if labels is None else labels[0 if lang == "vi" else 1]


def ci_method_text(groups: Iterable[tuple[str, Iterable[Estimate | None]]], lang: str = "vi") -> str:
    """What a report prints as its interval methods, read from the estimates themselves.

    `groups` are (what, estimates) pairs, e.g. ("chỉ số chung và thành phần", [...]); each
    names the methods its estimates carry, so a label can never say logit for a t interval.
    """
    parts = []
    found_all: set[str] = set()
    for what, estimates in groups:
        found = {_checked(e, what).method for e in estimates if e is not None}
        if found:
            found_all |= found
            keys = [key for key in METHOD_LABELS if key in found] + sorted(found - METHOD_LABELS.keys())
            labels = [method_label(key, lang) for key in keys]
            parts.append(f"{what}: {', '.join(dict.fromkeys(labels))}")
    if not parts:
        return ""
    variance = [name for name, used in (("Taylor", bool(found_all - JACKKNIFE)),
                                        ("jackknife", bool(found_all & JACKKNIFE))) if used]
    variance_word = "variance" if lang == "en" else "phương sai"
    return f"{variance_word} {', '.join(variance)}; " + "; ".join(parts)
