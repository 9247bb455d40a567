"""The Alembic migrations build exactly the schema the models describe, on both backends."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from survey.extensions import db
from survey.partitions import include_object


def test_migrations_match_the_models(app):
    with app.app_context(), db.engine.connect() as conn:
        # On PostgreSQL, partitioning by period differs from the models on purpose (survey/partitions.py).
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": include_object})
        diff = compare_metadata(context, db.metadata)
    assert diff == [], diff


def test_downgrade_to_nothing_and_back(app):
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import inspect

    with app.app_context():
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert {"response", "answer", "user_account"} <= set(inspect(db.engine).get_table_names())
