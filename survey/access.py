"""Who may see which units. Every official query goes through here, not only the templates.

An official sees their own unit and everything below it; analysts and administrators see the
whole province. A unit outside a user's scope answers 404, so ids cannot be probed.

A scope is the set of visible unit ids (None: every unit). Read functions should take a scope,
not a user: `visible_unit_ids(user)` once per request, then `restrict(query, visible, column)`.
What a role may *do* is the other half, in survey/permissions.py, checked by survey/gate.py.
"""
from __future__ import annotations

from collections import defaultdict
from typing import AbstractSet, Callable, Optional

from flask import abort, g
from sqlalchemy import Select, false, select
from sqlalchemy.orm import InstrumentedAttribute

from survey.extensions import db
from survey.models import Unit, User
from survey.permissions import ALL_ROLES, PROVINCE_WIDE, REQUIREMENT_ATTR

# The unit ids a user may read; None means every unit (province-wide roles).
Scope = Optional[AbstractSet[int]]


def descendants(root_ids: set[int]) -> set[int]:
    """root_ids and every unit below them (a few thousand rows at most: one query, walk in memory)."""
    children: dict[int | None, list[int]] = defaultdict(list)
    for unit_id, parent_id in db.session.execute(select(Unit.id, Unit.parent_id)):
        children[parent_id].append(unit_id)
    seen, stack = set(), list(root_ids)
    while stack:
        unit_id = stack.pop()
        if unit_id not in seen:
            seen.add(unit_id)
            stack.extend(children.get(unit_id, ()))
    return seen


def visible_unit_ids(user: User) -> Scope:
    """The unit ids `user` may read; None means every unit (province-wide roles)."""
    if user.role in PROVINCE_WIDE:
        return None
    cache = g.setdefault("_visible_units", {})
    if user.id not in cache:
        cache[user.id] = descendants({user.unit_id}) if user.unit_id is not None else set()
    return cache[user.id]


def restrict(query: Select, visible: Scope, unit_column: InstrumentedAttribute) -> Select:
    """`query` restricted to rows whose `unit_column` is in the scope `visible`."""
    if visible is None:
        return query
    return query.where(unit_column.in_(visible) if visible else false())


def in_scope(visible: Scope, unit_id: int) -> bool:
    return visible is None or unit_id in visible


def can_see_unit(user: User, unit_id: int) -> bool:
    return in_scope(visible_unit_ids(user), unit_id)


def scoped_unit(visible: Scope, unit_id: int | None = None, code: str | None = None) -> Unit | None:
    """The unit with this id (or code) when it is in scope; None when absent or not visible."""
    if unit_id is not None:
        unit = db.session.get(Unit, unit_id)
    else:
        unit = db.session.scalar(select(Unit).where(Unit.code == code)) if code else None
    return unit if unit is not None and in_scope(visible, unit.id) else None


def unit_or_404(user: User, unit_id: int) -> Unit:
    unit = scoped_unit(visible_unit_ids(user), unit_id)
    if unit is None:
        abort(404)
    return unit


def roles_required(*roles: str) -> Callable:
    """Alias kept for routes written before the permission table: prefer
    `survey.permissions.requires(Permission.X)`.

    Declares the role set as the route's requirement; the app-wide gate checks it like a
    permission (signed in, active, password changed, then the role), so a role outside the set
    gets 403. Only marks the view: it protects nothing outside a routed view.
    """
    required = frozenset(roles)
    if not required or not required <= ALL_ROLES:
        raise ValueError(f"roles_required: unknown roles {sorted(required - ALL_ROLES)}")

    def mark(view: Callable) -> Callable:
        setattr(view, REQUIREMENT_ATTR, required)
        return view

    return mark
