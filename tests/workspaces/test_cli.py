"""The `siyu workspace`, `siyu keys` and `siyu db` commands, run as a user would run them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import select

from siyu.db.engine import read
from siyu.db.migrate import head_revision
from siyu.db.tables import api_keys
from siyu.runtime import Runtime
from siyu.workspaces.secrets import key_digest


def siyu(database_url: str, *args: str, input_text: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SIYU_DATABASE_URL": database_url}
    return subprocess.run([sys.executable, "-m", "siyu", *args], capture_output=True, text=True, env=env,
                          input=input_text, timeout=120)


def test_workspace_create_json_prints_the_contract(runtime: Runtime, database_url: str) -> None:
    result = siyu(database_url, "workspace", "create", "perfect-diary-cli", "--json")
    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    assert set(created) == {"workspace_id", "write_key", "secret_key"}
    with read(runtime.engine) as conn:
        rows = {r.key_hash: r for r in conn.execute(select(api_keys).where(
            api_keys.c.workspace_id == created["workspace_id"]))}
    assert rows[key_digest(created["write_key"])].kind == "write"
    secret = rows[key_digest(created["secret_key"])]
    assert (secret.kind, secret.role) == ("secret", "owner")


def test_a_duplicate_workspace_name_exits_2_with_a_message(runtime: Runtime, database_url: str) -> None:
    assert siyu(database_url, "workspace", "create", "twice-cli").returncode == 0
    again = siyu(database_url, "workspace", "create", "twice-cli")
    assert again.returncode == 2
    assert "already exists" in again.stderr
    assert "Traceback" not in again.stderr


@pytest.mark.parametrize("args", [
    ("workspace", "create", "Not A Valid Name"),
    ("keys", "create", "--workspace", "no-such-workspace", "--role", "owner"),
    ("keys", "create", "--workspace", "1", "--kind", "secret"),
    ("keys", "create", "--workspace", "1", "--kind", "root"),
])
def test_bad_input_exits_2_without_a_traceback(runtime: Runtime, database_url: str, args: tuple[str, ...]) -> None:
    result = siyu(database_url, *args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and result.stderr.strip()


def test_keys_create_by_workspace_name(runtime: Runtime, database_url: str) -> None:
    siyu(database_url, "workspace", "create", "keys-by-name")
    result = siyu(database_url, "keys", "create", "--workspace", "keys-by-name", "--role", "analyst", "--json")
    assert result.returncode == 0, result.stderr
    key = json.loads(result.stdout)
    with read(runtime.engine) as conn:
        role = conn.execute(select(api_keys.c.role).where(api_keys.c.key_hash == key_digest(key["key"]))).scalar_one()
    assert role == "analyst"


def test_db_upgrade_reports_the_revision(runtime: Runtime, database_url: str) -> None:
    result = siyu(database_url, "db", "upgrade")
    assert result.returncode == 0 and head_revision() in result.stdout
