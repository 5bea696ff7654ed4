"""Every setting siyu reads, in one place.

Settings come from ``SIYU_*`` environment variables so that the same code runs on a laptop
(SQLite under ``./siyu-data``) and in production (PostgreSQL, many processes) without files
to edit. ``docs/configuration.md`` lists each one; a test keeps the two in step.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Setting:
    name: str
    default: str | None
    description: str


SETTINGS: tuple[Setting, ...] = (
    Setting("SIYU_DATA_DIR", "./siyu-data", "Directory for the SQLite database, import reports and exports."),
    Setting(
        "SIYU_DATABASE_URL",
        None,
        "SQLAlchemy URL of the operational store; defaults to SQLite at $SIYU_DATA_DIR/siyu.db. "
        "Use postgresql+psycopg://user@host/db (postgresql:// is accepted) for production.",
    ),
    Setting("SIYU_SECRET", None, "Secret for signing console sessions; generated into the data dir if unset."),
    Setting("SIYU_DEDUPE_WINDOW_HOURS", "168", "How long a messageId is remembered for deduplication (hours)."),
    Setting("SIYU_INGEST_RESOLVE", "deferred", "When /v1/* requests are acknowledged: `deferred` (after the "
            "messageIds are claimed and the messages queued; the worker resolves identities within about a second) "
            "or `inline` (after identity resolution and profile updates, in the request)."),
    Setting("SIYU_DEFAULT_REGION", "CN", "Region used to parse phone numbers written without a country code."),
    Setting("SIYU_LOG_LEVEL", "info", "Server log level."),
    Setting("SIYU_ANALYTICS_DIR", None, "Directory of the columnar event mirror (default $SIYU_DATA_DIR/analytics)."),
    Setting("SIYU_ANALYTICS_SYNC_SECONDS", "2", "How often `siyu serve` appends new events to the mirror (seconds)."),
    Setting("SIYU_ANALYTICS_SNAPSHOT_SECONDS", "60", "How often profile-level tables are copied to the mirror."),
    Setting("SIYU_ANALYTICS_MEMORY_LIMIT", "1GB", "DuckDB memory limit of one analytics engine."),
    Setting("SIYU_SEGMENT_REFRESH_MINUTES", "15", "How often `siyu worker` re-evaluates every segment (minutes)."),
    Setting("SIYU_PUBLIC_URL", "http://127.0.0.1:8000", "Address people reach siyu at, for links in messages "
            "(unsubscribe links, tracked links, open pixels); the HTTPS address of the reverse proxy in production."),
)


def _env(name: str) -> str | None:
    for setting in SETTINGS:
        if setting.name == name:
            return os.environ.get(name, setting.default)
    raise KeyError(name)


def normalise_database_url(url: str) -> str:
    """Accept the plain ``postgresql://`` URLs that operators copy from their providers."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


@dataclass(frozen=True)
class Config:
    data_dir: Path
    database_url: str
    dedupe_window_hours: int = 168
    default_region: str = "CN"
    log_level: str = "info"
    secret: str | None = field(default=None, repr=False)
    analytics_dir: Path | None = None  # None: <data_dir>/analytics
    analytics_sync_seconds: float = 2.0
    analytics_snapshot_seconds: float = 60.0
    analytics_memory_limit: str = "1GB"
    segment_refresh_minutes: float = 15.0
    public_url: str = "http://127.0.0.1:8000"
    # Built in code (tests, scripts): inline, so a read right after an ingest sees it. From the
    # environment (serve, worker): SIYU_INGEST_RESOLVE, deferred unless set (siyu.ingest.queue).
    ingest_resolve: str = "inline"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def analytics_path(self) -> Path:
        """Where the columnar event mirror lives (shared storage on multi-node setups)."""
        return self.analytics_dir or self.data_dir / "analytics"


def load_config() -> Config:
    data_dir = Path(_env("SIYU_DATA_DIR") or "./siyu-data")
    url = _env("SIYU_DATABASE_URL") or f"sqlite:///{(data_dir / 'siyu.db').resolve()}"
    return Config(
        data_dir=data_dir,
        database_url=normalise_database_url(url),
        dedupe_window_hours=int(_env("SIYU_DEDUPE_WINDOW_HOURS") or 168),
        default_region=(_env("SIYU_DEFAULT_REGION") or "CN").upper(),
        log_level=_env("SIYU_LOG_LEVEL") or "info",
        secret=_env("SIYU_SECRET"),
        analytics_dir=Path(analytics_dir) if (analytics_dir := _env("SIYU_ANALYTICS_DIR")) else None,
        analytics_sync_seconds=float(_env("SIYU_ANALYTICS_SYNC_SECONDS") or 2),
        analytics_snapshot_seconds=float(_env("SIYU_ANALYTICS_SNAPSHOT_SECONDS") or 60),
        analytics_memory_limit=_env("SIYU_ANALYTICS_MEMORY_LIMIT") or "1GB",
        segment_refresh_minutes=float(_env("SIYU_SEGMENT_REFRESH_MINUTES") or 15),
        public_url=(_env("SIYU_PUBLIC_URL") or "http://127.0.0.1:8000").rstrip("/"),
        ingest_resolve=_ingest_resolve(_env("SIYU_INGEST_RESOLVE") or "deferred"),
    )


def _ingest_resolve(value: str) -> str:
    value = value.strip().lower()
    if value not in ("inline", "deferred"):
        raise ValueError(f"SIYU_INGEST_RESOLVE must be inline or deferred, not {value!r}")
    return value
