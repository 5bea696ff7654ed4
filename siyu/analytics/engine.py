"""The analytics engine: DuckDB, in process, over one workspace's columnar mirror.

An :class:`AnalyticsEngine` is an in-memory DuckDB database (``memory_limit`` from
``SIYU_ANALYTICS_MEMORY_LIMIT``, two threads, spilling to disk beyond the limit) whose views carry
the operational tables' names and columns — ``events``, ``profiles``, ``profile_tags``,
``identities``, ``consents``, ``profile_scores``, ``segment_members`` — over the Parquet files the
manifest lists. Timestamps stay epoch-millisecond BIGINTs and JSON columns are DuckDB ``JSON``, so
one SQLAlchemy Core ``select()`` over :mod:`siyu.db.tables` runs unchanged on the operational store
and here: statements are compiled by the ``duckdb_engine`` dialect (PostgreSQL-flavoured, so
``traits['city'].as_string()`` becomes ``->>``), and results go through the same column types
(Timestamps come back as datetimes).

The ``events`` view resolves what changed after an event was mirrored, without rewriting files
on every sync: ``profile_id`` becomes the surviving profile of a merge (``coalesce(canonical_id,
profile_id)`` over the profile map), and the personal fields of an erased person's events read
as NULL, exactly as erasure left them in the operational store. Compaction and erasure write the
same expression into the files (:func:`resolved_events_sql`), so a rebuilt mirror and an
incrementally synced one answer alike.

Two more views read the mirror's pre-aggregated tables (:mod:`siyu.analytics.mirror_aggregates`),
resolved through the same profile map: ``person_days`` (a person's events per local day and
event name) and ``first_touch`` (their first event of their own and first channel). Reports use
them only when :meth:`AnalyticsEngine.aggregates_ready` says they summarise exactly the events the
``events`` view holds, in the report's time zone; otherwise they read ``events``.

Columns of the operational ``events`` table that are not mirrored: ``message_id``, ``sent_at``,
``traits`` and ``context``. Two are added: ``revenue`` (``properties.total``, else
``properties.revenue``, as rollups count an order) and ``channel`` (:func:`siyu.profiles.rollups.channel_of`).

An engine reads the file list once when opened (or on :meth:`AnalyticsEngine.refresh`); files
dropped by a later compaction are kept for ``RETIRE_GRACE`` (10 minutes), so open one per report
or request rather than one per process.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Executable,
    Float,
    Integer,
    MetaData,
    Result,
    String,
    Table,
    create_engine,
    event,
    text,
)
from sqlalchemy.pool import StaticPool

from siyu.analytics import mirror_aggregates
from siyu.analytics.mirror_files import FileEntry, Manifest, MirrorDirectory, arrow_type
from siyu.analytics.mirror_rewrite import THREADS
from siyu.analytics.mirror_store import SNAPSHOT_TABLES, is_json
from siyu.analytics.mirror_views import (
    DUCK_TYPES,
    empty,
    first_touch_sql,
    person_days_sql,
    quote,
    resolved_events_sql,
)
from siyu.db.types import JSONType, Timestamp
from siyu.runtime import Runtime

# The engine's ``events`` view for reports that use the extracted columns; for everything else
# ``siyu.db.tables.events`` compiles against the view as it is.
mirror_events = Table(
    "events",
    MetaData(),
    Column("id", BigInteger),
    Column("workspace_id", Integer),
    Column("profile_id", BigInteger),
    Column("type", String),
    Column("name", String),
    Column("timestamp", Timestamp),
    Column("received_at", Timestamp),
    Column("source", String),
    Column("anonymous_id", String),
    Column("user_id", String),
    Column("properties", JSONType),
    Column("revenue", Float),
    Column("channel", String),
)


def _table_sql(directory: MirrorDirectory, table: Table, names: list[str], entry: FileEntry | None) -> str:
    columns = []
    for name in names:
        duck = DUCK_TYPES[str(arrow_type(table.c[name]))]
        if duck == "VARCHAR" and is_json(table.c[name]):
            duck = "JSON"
        columns.append((name, duck))
    if entry is None:
        return empty(columns)
    select_list = ", ".join(f'CAST("{n}" AS {t}) AS "{n}"' if t == "JSON" else f'"{n}"' for n, t in columns)
    return f"SELECT {select_list} FROM read_parquet({quote(str(directory.file(entry.file)))})"


class AnalyticsEngine:
    """One workspace's mirror as a SQL database: Core statements in, SQLAlchemy results out."""

    def __init__(
        self,
        directory: MirrorDirectory,
        *,
        memory_limit: str = "1GB",
        threads: int = THREADS,
        use_aggregates: bool = True,
    ) -> None:
        """``use_aggregates=False``: reports read raw events only (the reference the aggregates are tested against)."""
        import duckdb_engine  # noqa: F401 - registers the "duckdb" SQLAlchemy dialect

        self.directory = directory
        self.use_aggregates = use_aggregates
        # Its own spill directory: engines in other processes may share the analytics root.
        self.spill = directory.path.parent / "duckdb-spill" / f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.spill.parent.mkdir(parents=True, exist_ok=True)  # DuckDB creates the last directory only
        # One DuckDB connection for the engine's life: StaticPool, since every new connection to
        # ":memory:" would be a different, empty database.
        self.sql_engine: Engine = create_engine(
            "duckdb:///:memory:",
            poolclass=StaticPool,
            connect_args={
                "config": {"memory_limit": memory_limit, "threads": threads, "temp_directory": str(self.spill)}
            },
        )
        # No progress bar: DuckDB prints it to stdout for long queries and would corrupt `--json` output.
        event.listen(self.sql_engine, "connect",
                     lambda dbapi, _record: dbapi.execute("SET enable_progress_bar = false"))
        self.manifest: Manifest | None = None
        self.refresh(force=True)

    def refresh(self, *, force: bool = False) -> bool:
        """Re-read the manifest and re-point the views if it changed; True when it did."""
        manifest = self.directory.read_manifest() or Manifest(workspace_id=self.directory.workspace_id)
        if not force and self.manifest is not None and manifest.generation == self.manifest.generation:
            return False
        aggregates = manifest.aggregates
        workspace_id = self.directory.workspace_id
        views = {
            "events": resolved_events_sql(self.directory, manifest.parts, manifest.profile_map, json_properties=True),
            "person_days": person_days_sql(
                self.directory, aggregates.person_days if aggregates else [], manifest.profile_map, workspace_id
            ),
            "first_touch": first_touch_sql(
                self.directory, aggregates.first_touch if aggregates else [], manifest.profile_map, workspace_id
            ),
        }
        for name, (table, wanted) in SNAPSHOT_TABLES.items():
            views[name] = _table_sql(
                self.directory, table, list(wanted or table.columns.keys()), manifest.tables.get(name)
            )
        with self.sql_engine.begin() as conn:
            for name, body in views.items():
                conn.exec_driver_sql(f'CREATE OR REPLACE VIEW "{name}" AS {body}')
        self.manifest = manifest
        return True

    def aggregates_ready(self, zone: ZoneInfo) -> bool:
        """True when ``person_days`` and ``first_touch`` summarise every event of ``events``, cut in ``zone``."""
        return (
            self.use_aggregates
            and self.manifest is not None
            and mirror_aggregates.complete(self.manifest, zone.key)
        )

    def execute(self, statement: Executable | str, parameters: dict[str, Any] | None = None) -> Result[Any]:
        """Run a Core statement (or SQL text) and return its buffered result."""
        if isinstance(statement, str):
            statement = text(statement)
        with self.sql_engine.connect() as conn:
            result = conn.execute(statement, parameters or {})
            return result.freeze()()

    def scalar(self, statement: Executable | str, parameters: dict[str, Any] | None = None) -> Any:
        return self.execute(statement, parameters).scalar()

    def close(self) -> None:
        self.sql_engine.dispose()
        shutil.rmtree(self.spill, ignore_errors=True)


@contextmanager
def open_engine(runtime: Runtime, workspace_id: int, *, use_aggregates: bool = True) -> Iterator[AnalyticsEngine]:
    """An engine over the workspace's mirror as it is now (empty views before the first sync)."""
    directory = MirrorDirectory(runtime.config.analytics_path, workspace_id)
    engine = AnalyticsEngine(
        directory, memory_limit=runtime.config.analytics_memory_limit, use_aggregates=use_aggregates
    )
    try:
        yield engine
    finally:
        engine.close()
