"""The one MetaData every table module adds to, and the column types they share."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, MetaData

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# BIGINT that is still SQLite's rowid alias (SQLite only auto-increments "INTEGER PRIMARY KEY").
BigId = BigInteger().with_variant(Integer(), "sqlite")
