"""The migrations and the models describe the same PostgreSQL schema, and every migration steps back and
forth: upgrade to head, downgrade to base, upgrade again, on a throwaway database of the real cluster."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from booking.extensions import db


def _differences() -> list:
    """What `flask db migrate` would write for the migrated database: nothing when models and migrations agree."""
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        return compare_metadata(context, db.metadata)


def _schema() -> dict:
    """Tables with their columns, indexes, constraints and triggers, as PostgreSQL reports them."""
    inspector = sa.inspect(db.engine)
    tables = {}
    for table in inspector.get_table_names():
        tables[table] = (
            [(c["name"], str(c["type"]), c["nullable"], c.get("default")) for c in inspector.get_columns(table)],
            sorted((i["name"], tuple(i["column_names"]), i["unique"]) for i in inspector.get_indexes(table)),
            sorted(str(u) for u in inspector.get_unique_constraints(table)),
            sorted(str(c) for c in inspector.get_check_constraints(table)),
            sorted(str(k) for k in inspector.get_foreign_keys(table)),
        )
    with db.engine.connect() as conn:
        exclusions = conn.execute(
            sa.text(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
                "FROM pg_constraint WHERE contype = 'x' ORDER BY 2"
            )
        ).all()
    return {"tables": tables, "exclusions": exclusions}


def test_the_models_match_the_migrated_schema(empty_app):
    upgrade()
    assert _differences() == []


def test_every_migration_downgrades_to_base_and_upgrades_again(empty_app):
    upgrade()
    head = _schema()
    assert "bookings" in head["tables"] and head["exclusions"]  # the no-overlap constraint is part of it
    downgrade(revision="base")
    assert set(sa.inspect(db.engine).get_table_names()) <= {"alembic_version"}
    upgrade()
    assert _schema() == head
    assert _differences() == []
