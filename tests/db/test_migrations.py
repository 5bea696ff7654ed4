"""The Alembic migrations produce exactly the schema declared in siyu/db/tables.py, on both databases."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from siyu.db.migrate import current_revision, downgrade, head_revision, upgrade
from siyu.db.tables import metadata
from siyu.runtime import Runtime


def test_upgrade_head_matches_declared_schema(runtime: Runtime) -> None:
    with runtime.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []


def test_upgrade_is_idempotent_and_reports_head(runtime: Runtime) -> None:
    upgrade(runtime.engine)
    assert current_revision(runtime.engine) == head_revision()


def test_migrations_downgrade_and_upgrade_again(tmp_path) -> None:
    from siyu.db.engine import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'roundtrip.db'}")
    upgrade(engine)
    downgrade(engine, "base")
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == head_revision()
