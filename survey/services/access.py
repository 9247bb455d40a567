"""Who may see which units. Every official query goes through here, not only the templates.

An official sees their own unit and everything below it; analysts and administrators see the
whole province. A unit outside a user's scope answers 404, so ids cannot be probed.
"""
from __future__ import annotations

from collections import defaultdict
from functools import wraps
from typing import Callable

from flask import abort, g
from flask_login import current_user
from sqlalchemy import Select, select
from sqlalchemy.orm import InstrumentedAttribute

from survey.extensions import db
from survey.models import Unit, User

PROVINCE_WIDE = ("admin", "analyst")


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


def visible_unit_ids(user: User) -> set[int] | None:
    """The unit ids `user` may read; None means every unit (province-wide roles)."""
    if user.role in PROVINCE_WIDE:
        return None
    cache = g.setdefault("_visible_units", {})
    if user.id not in cache:
        cache[user.id] = descendants({user.unit_id}) if user.unit_id is not None else set()
    return cache[user.id]


def scope(query: Select, user: User, unit_column: InstrumentedAttribute) -> Select:
    """`query` restricted to rows whose `unit_column` is a unit `user` may read."""
    ids = visible_unit_ids(user)
    if ids is None:
        return query
    return query.where(unit_column.in_(ids) if ids else False)


def can_see_unit(user: User, unit_id: int) -> bool:
    ids = visible_unit_ids(user)
    return ids is None or unit_id in ids


def unit_or_404(user: User, unit_id: int) -> Unit:
    unit = db.session.get(Unit, unit_id)
    if unit is None or not can_see_unit(user, unit_id):
        abort(404)
    return unit


def roles_required(*roles: str) -> Callable:
    """Only these roles; others get 403 (they are logged in, the page exists, it is not theirs)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                from survey.extensions import login_manager

                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator
