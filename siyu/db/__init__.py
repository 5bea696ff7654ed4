"""The operational store: tables (one MetaData), engines, migrations."""
