"""Fixtures shared by the whole suite.

Every test that touches the database runs twice: on SQLite (a file in a temporary directory) and
on PostgreSQL (``SIYU_TEST_POSTGRES_URL``; a fresh database per test session and xdist worker,
built by the Alembic migrations). Outside CI a missing PostgreSQL skips its half; with CI=true it
fails the run. Tests are isolated by workspace: each gets a brand-new one.
"""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from siyu import clock
from siyu.config import Config, normalise_database_url
from siyu.db.engine import write
from siyu.runtime import Runtime
from siyu.workspaces import store as workspace_store
from siyu.workspaces.models import KeyKind, Role

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
BACKENDS = ["sqlite", "postgres"]


def _postgres_base_url() -> str | None:
    return os.environ.get("SIYU_TEST_POSTGRES_URL")


def _create_postgres_database(base_url: str, worker: str) -> tuple[str, str]:
    url = make_url(normalise_database_url(base_url))
    name = f"siyu_test_{worker}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False), name


def _drop_postgres_database(base_url: str, name: str) -> None:
    url = make_url(normalise_database_url(base_url))
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="session")
def database_url(backend: str, tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'siyu.db'}"
        return
    base = _postgres_base_url()
    if not base:
        if IN_CI:
            pytest.fail("CI=true but SIYU_TEST_POSTGRES_URL is not set: the PostgreSQL half must run in CI.")
        pytest.skip("SIYU_TEST_POSTGRES_URL is not set (set it to run the PostgreSQL half)")
    try:
        url, name = _create_postgres_database(base, worker_id)
    except Exception as error:  # noqa: BLE001 - turned into a skip outside CI, a failure in CI
        if IN_CI:
            pytest.fail(f"CI=true and PostgreSQL at {base} is unreachable: {error}")
        pytest.skip(f"PostgreSQL at {base} is unreachable: {error}")
    yield url
    _drop_postgres_database(base, name)


@pytest.fixture
def own_database_url(database_url: str, tmp_path: Path, worker_id: str) -> Iterator[str]:
    """An empty database of the test's own, for tests that run a whole ``siyu worker`` against it.
    The worker serves every workspace and claims a batch at a time, oldest first, so in the session's
    shared database other tests' leftovers (due messages, queued events) would take its claims and
    the test would watch the wrong rows."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'own.db'}"
        return
    base = _postgres_base_url()
    assert base  # database_url's fixture already skipped or failed without one
    url, name = _create_postgres_database(base, f"{worker_id}_own")
    try:
        yield url
    finally:
        _drop_postgres_database(base, name)


@pytest.fixture(scope="session")
def runtime(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    data_dir = tmp_path_factory.mktemp("data")
    config = Config(data_dir=data_dir, database_url=normalise_database_url(database_url), secret="test-secret")
    rt = Runtime.from_config(config, migrate=True)
    yield rt
    rt.engine.dispose()


@pytest.fixture(autouse=True)
def _unfrozen_clock() -> Iterator[None]:
    yield
    clock.unfreeze()


@dataclass
class WorkspaceKeys:
    id: int
    name: str
    write_key: str
    secret_key: str

    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret_key}"}


def make_workspace(rt: Runtime, prefix: str = "ws") -> WorkspaceKeys:
    name = f"{prefix}-{secrets.token_hex(4)}"
    with write(rt.engine) as conn:
        ws = workspace_store.create_workspace(conn, name)
        _, write_key = workspace_store.create_key(conn, ws.id, KeyKind.WRITE)
        _, secret_key = workspace_store.create_key(conn, ws.id, KeyKind.SECRET, role=Role.OWNER)
    return WorkspaceKeys(ws.id, name, write_key, secret_key)


@pytest.fixture
def workspace(runtime: Runtime) -> WorkspaceKeys:
    """A brand-new workspace: the unit of isolation between tests."""
    return make_workspace(runtime)


@pytest.fixture
def other_workspace(runtime: Runtime) -> WorkspaceKeys:
    return make_workspace(runtime, "other")


@pytest.fixture
def app(runtime: Runtime):  # noqa: ANN201
    from siyu.api.app import create_app

    return create_app(runtime)


@pytest.fixture
def client(app):  # noqa: ANN001, ANN201
    from fastapi.testclient import TestClient

    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def artifacts_dir() -> Path:
    path = Path(os.environ.get("SIYU_TEST_ARTIFACTS", "test-artifacts"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def live_server(app) -> Iterator[str]:  # noqa: ANN001
    """The real app under uvicorn on a free loopback port, in a thread; yields its base URL."""
    import threading
    import time

    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=20)
