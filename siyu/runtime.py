"""What a running siyu process holds: its configuration and its database engine.

The API app, the CLI and the tests build one :class:`Runtime` and pass it down explicitly; there
is no module-level engine, so tests can run the same code against SQLite and PostgreSQL side by side.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from siyu.config import Config, load_config
from siyu.db.engine import make_engine
from siyu.db.migrate import upgrade


@dataclass
class Runtime:
    config: Config
    engine: Engine
    extras: dict[str, Any] = field(default_factory=dict)  # per-process services (the ingest writer, caches)

    @classmethod
    def from_config(cls, config: Config | None = None, *, migrate: bool = False) -> Runtime:
        config = config or load_config()
        engine = make_engine(config.database_url)
        if migrate:
            upgrade(engine)
        return cls(config=config, engine=engine)

    def session_secret(self) -> str:
        """The console's cookie-signing secret: SIYU_SECRET, else one kept in the data directory."""
        if self.config.secret:
            return self.config.secret
        path = self.config.data_dir / "secret"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(32))
            path.chmod(0o600)
        return path.read_text().strip()
