"""Fixtures of the citizen path's tests."""
from __future__ import annotations

import uuid

import pytest

from survey.extensions import limiter


@pytest.fixture
def redis_limits(monkeypatch):
    from limits.storage import RedisStorage

    storage = RedisStorage("redis://127.0.0.1:6379/13", key_prefix=f"test-{uuid.uuid4().hex}")
    monkeypatch.setattr(limiter, "_storage", storage)
    yield storage
    storage.reset()
